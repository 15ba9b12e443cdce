package assign

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// joined is one member of the JoinGroup response with its decoded
// subscription, or the error decoding it.
type joined struct {
	id  string
	sub Subscription
	err error
}

// memberBalancer runs on the leader for one rebalance.
type memberBalancer struct {
	cfg      BalancerConfig
	members  []joined
	leaderID string
}

var (
	_ kgo.GroupMemberBalancerOrError = (*memberBalancer)(nil)
	_ kgo.GroupMemberBalancerInfo    = (*memberBalancer)(nil)
)

// SetBalanceInfo learns the leader's member id: only the leader is told to
// come back for a probing rebalance, as in Kafka, so that one member, not
// all, starts it.
func (mb *memberBalancer) SetBalanceInfo(info kgo.BalanceInfo) { mb.leaderID = info.LeaderID }

// Balance is required by kgo.GroupMemberBalancer, which calls
// BalanceOrError instead.
func (mb *memberBalancer) Balance(partitionCounts map[string]int32) kgo.IntoSyncAssignment {
	into, err := mb.BalanceOrError(partitionCounts)
	if err != nil {
		return nil
	}
	return into
}

// BalanceOrError plans with the owner, assigns, and encodes each member's
// partitions and Assignment. An error (from Plan, or an assignment that
// does not fit the wire) fails this rebalance; kgo then rejoins.
func (mb *memberBalancer) BalanceOrError(partitionCounts map[string]int32) (kgo.IntoSyncAssignment, error) {
	out := make(map[string]Assignment, len(mb.members))
	var valid []joined
	for _, m := range mb.members {
		switch {
		case m.err == nil:
			valid = append(valid, m)
		case errors.Is(m.err, ErrUnsupportedVersion):
			out[m.id] = Assignment{ErrorCode: ErrorVersionProbing}
		default:
			out[m.id] = Assignment{ErrorCode: ErrorAssignment}
		}
	}
	if slices.ContainsFunc(valid, func(m joined) bool { return m.sub.ErrorCode == ErrorShutdownRequested }) {
		for _, m := range mb.members {
			out[m.id] = Assignment{ErrorCode: ErrorShutdownRequested}
		}
		return encodeSync(out, nil)
	}
	if len(valid) == 0 {
		return encodeSync(out, nil)
	}
	tasks, taskPartitions, endOffsetSums, err := mb.cfg.Plan(mb.cfg.Context, partitionCounts)
	if err != nil {
		return nil, fmt.Errorf("assign: planning the assignment: %w", err)
	}
	clients, endpoints := groupClients(valid)
	res, err := Assign(Input{Tasks: tasks, Clients: clients, EndOffsetSums: endOffsetSums, Config: mb.cfg.Assignor})
	if err != nil {
		return nil, err
	}
	byHost, standbyByHost := partitionsByHost(res, endpoints, taskPartitions)
	for _, c := range clients {
		for id, tasks := range res.Clients[c.ProcessID].Members {
			a := Assignment{
				Active:                  tasks.Active,
				Standby:                 sortedTasks(append(slices.Clone(tasks.Standby), tasks.Warmup...)),
				PartitionsByHost:        byHost,
				StandbyPartitionsByHost: standbyByHost,
			}
			if res.ProbingRebalance && (id == mb.leaderID || !mb.hasMember(mb.leaderID)) {
				a.NextRebalanceIn = mb.cfg.ProbingRebalanceInterval
			}
			out[id] = a
		}
	}
	return encodeSync(out, taskPartitions)
}

func (mb *memberBalancer) hasMember(id string) bool {
	return slices.ContainsFunc(mb.members, func(m joined) bool { return m.id == id })
}

// groupClients gathers members into clients by process id. Members of one
// process should report the same endpoint and offset sums; if they
// differ, the lowest member id's endpoint wins and each task keeps its
// most caught-up offset sum.
func groupClients(members []joined) ([]Client, map[string]string) {
	slices.SortFunc(members, func(a, b joined) int { return strings.Compare(a.id, b.id) })
	index := map[string]int{}
	var clients []Client
	endpoints := map[string]string{}
	for _, m := range members {
		i, ok := index[m.sub.ProcessID]
		if !ok {
			i = len(clients)
			index[m.sub.ProcessID] = i
			clients = append(clients, Client{ProcessID: m.sub.ProcessID, TaskOffsetSums: map[TaskID]int64{}})
			endpoints[m.sub.ProcessID] = m.sub.Endpoint
		}
		c := &clients[i]
		c.Members = append(c.Members, Member{ID: m.id, PrevActive: m.sub.PrevActive, PrevStandby: m.sub.PrevStandby})
		for t, sum := range m.sub.TaskOffsetSums {
			if old, ok := c.TaskOffsetSums[t]; !ok || old != LatestOffset && (sum == LatestOffset || sum > old) {
				c.TaskOffsetSums[t] = sum
			}
		}
	}
	return clients, endpoints
}

// partitionsByHost maps each endpoint to the source partitions of its
// client's active tasks, and of its standbys and warm-ups.
func partitionsByHost(res Result, endpoints map[string]string, taskPartitions func(TaskID) []TopicPartition) (
	active, standby map[string][]TopicPartition) {
	active, standby = map[string][]TopicPartition{}, map[string][]TopicPartition{}
	for process, tasks := range res.Clients {
		host := endpoints[process]
		if host == "" {
			continue
		}
		for _, t := range tasks.Active {
			active[host] = append(active[host], taskPartitions(t)...)
		}
		for _, t := range append(slices.Clone(tasks.Standby), tasks.Warmup...) {
			standby[host] = append(standby[host], taskPartitions(t)...)
		}
	}
	return active, standby
}

// syncAssignments is the leader's answer, one entry per member.
type syncAssignments []kmsg.SyncGroupRequestGroupAssignment

func (s syncAssignments) IntoSyncAssignment() []kmsg.SyncGroupRequestGroupAssignment { return s }

// encodeSync encodes each member's partitions (those of its active tasks)
// and Assignment, in member id order. It refuses a partition given to two
// tasks: the owner's plan is broken, and two members would consume it.
func encodeSync(out map[string]Assignment, taskPartitions func(TaskID) []TopicPartition) (kgo.IntoSyncAssignment, error) {
	ids := make([]string, 0, len(out))
	for id := range out {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	owner := map[TopicPartition]TaskID{}
	sync := make(syncAssignments, 0, len(ids))
	for _, id := range ids {
		a := out[id]
		userData, err := a.Encode()
		if err != nil {
			return nil, fmt.Errorf("assignment of member %q: %w", id, err)
		}
		ka := kmsg.NewConsumerMemberAssignment()
		ka.UserData = userData
		var tps []TopicPartition
		for _, t := range a.Active {
			for _, tp := range taskPartitions(t) {
				if other, dup := owner[tp]; dup {
					return nil, fmt.Errorf("%w: tasks %s and %s both claim %s partition %d",
						ErrInvalidInput, other, t, tp.Topic, tp.Partition)
				}
				owner[tp] = t
				tps = append(tps, tp)
			}
		}
		slices.SortFunc(tps, compareTopicPartitions)
		for _, tp := range tps {
			if n := len(ka.Topics); n == 0 || ka.Topics[n-1].Topic != tp.Topic {
				topic := kmsg.NewConsumerMemberAssignmentTopic()
				topic.Topic = tp.Topic
				ka.Topics = append(ka.Topics, topic)
			}
			last := &ka.Topics[len(ka.Topics)-1]
			last.Partitions = append(last.Partitions, tp.Partition)
		}
		entry := kmsg.NewSyncGroupRequestGroupAssignment()
		entry.MemberID = id
		entry.MemberAssignment = ka.AppendTo(nil)
		sync = append(sync, entry)
	}
	return sync, nil
}
