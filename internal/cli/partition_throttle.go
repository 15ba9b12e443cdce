package cli

// Replication throttles for reassignments, as kafka-reassign-partitions
// --throttle and --verify do: before a reassignment starts, every broker
// involved (holding a replica before or after) gets the rate as
// leader.replication.throttled.rate and follower.replication.throttled.rate,
// and each topic lists the current replicas in
// leader.replication.throttled.replicas (they may send) and the new ones in
// follower.replication.throttled.replicas (they fetch). --verify reports
// each reassignment and removes the throttles once none is in progress.

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
)

// The throttle configs, Kafka's names (internal/config defines them).
const (
	leaderThrottledRate       = "leader.replication.throttled.rate"
	followerThrottledRate     = "follower.replication.throttled.rate"
	leaderThrottledReplicas   = "leader.replication.throttled.replicas"
	followerThrottledReplicas = "follower.replication.throttled.replicas"
)

// move is one partition reassignment from the command line; nil brokers
// cancels one in progress.
type move struct {
	topic     string
	partition int32
	brokers   []int32
}

// reassignThrottle is what --throttle sets: the rate on brokers, and per
// topic the PARTITION:BROKER items of its two throttled replica lists.
type reassignThrottle struct {
	brokers   []int32
	leaders   map[string][]string
	followers map[string][]string
}

// planThrottle derives the throttle of moves from the current replicas.
// Cancellations move nothing and are not throttled.
func planThrottle(moves []move, md kadm.Metadata) (reassignThrottle, error) {
	plan := reassignThrottle{leaders: map[string][]string{}, followers: map[string][]string{}}
	involved := map[int32]bool{}
	for _, m := range moves {
		if m.brokers == nil {
			continue
		}
		p, ok := md.Topics[m.topic].Partitions[m.partition]
		if !ok {
			return plan, fmt.Errorf("partition %s-%d not found", m.topic, m.partition)
		}
		for _, b := range p.Replicas {
			involved[b] = true
			plan.leaders[m.topic] = append(plan.leaders[m.topic], replicaItem(m.partition, b))
		}
		for _, b := range m.brokers {
			involved[b] = true
			if !slices.Contains(p.Replicas, b) {
				plan.followers[m.topic] = append(plan.followers[m.topic], replicaItem(m.partition, b))
			}
		}
	}
	for b := range involved {
		plan.brokers = append(plan.brokers, b)
	}
	slices.Sort(plan.brokers)
	return plan, nil
}

func replicaItem(partition, broker int32) string {
	return strconv.Itoa(int(partition)) + ":" + strconv.Itoa(int(broker))
}

// setThrottle applies a plan. Replica lists are appended to, so throttles
// of other reassignments of the same topic stay.
func setThrottle(ctx context.Context, adm *kadm.Client, plan reassignThrottle, rate int64, stdout io.Writer) error {
	rateText := strconv.FormatInt(rate, 10)
	brokerAlters := []kadm.AlterConfig{
		{Op: kadm.SetConfig, Name: leaderThrottledRate, Value: &rateText},
		{Op: kadm.SetConfig, Name: followerThrottledRate, Value: &rateText},
	}
	resps, err := adm.AlterBrokerConfigs(ctx, brokerAlters, plan.brokers...)
	if err != nil {
		return fmt.Errorf("setting the throttle on brokers %s: %w", joinIDs(plan.brokers), err)
	}
	if err := alterFailures("broker", resps); err != nil {
		return err
	}
	for _, topic := range sortedKeys(plan.leaders, plan.followers) {
		var alters []kadm.AlterConfig
		for _, list := range []struct {
			name  string
			items []string
		}{{leaderThrottledReplicas, plan.leaders[topic]}, {followerThrottledReplicas, plan.followers[topic]}} {
			if len(list.items) > 0 {
				v := strings.Join(list.items, ",")
				alters = append(alters, kadm.AlterConfig{Op: kadm.AppendConfig, Name: list.name, Value: &v})
			}
		}
		resps, err := adm.AlterTopicConfigs(ctx, alters, topic)
		if err != nil {
			return fmt.Errorf("setting throttled replicas of topic %q: %w", topic, err)
		}
		if err := alterFailures("topic", resps); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "throttle of %d bytes/s set on brokers %s\n", rate, joinIDs(plan.brokers))
	return nil
}

// alterFailures joins the per-resource errors of an alter.
func alterFailures(kind string, resps kadm.AlterConfigsResponses) error {
	var failures []string
	for _, r := range resps {
		if r.Err != nil {
			failures = append(failures, fmt.Sprintf("altering configs of %s %s: %s", kind, r.Name, withDetail(r.Err, r.ErrMessage)))
		}
	}
	return joinFailures(failures)
}

func sortedKeys(maps ...map[string][]string) []string {
	seen := map[string]bool{}
	var keys []string
	for _, m := range maps {
		for k := range m {
			if !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	sort.Strings(keys)
	return keys
}

// verifyReassignment reports each move and removes the throttles once no
// reassignment is in progress: the topics' replica lists when none of the
// topic's partitions moves any more, the brokers' rates when nothing in
// the cluster moves any more (a rate may serve another reassignment).
func verifyReassignment(ctx context.Context, adm *kadm.Client, moves []move, stdout io.Writer) error {
	md, err := adm.Metadata(ctx)
	if err != nil {
		return err
	}
	all := kadm.TopicsSet{}
	for name, t := range md.Topics {
		for _, p := range t.Partitions {
			all.Add(name, p.Partition)
		}
	}
	ongoing, err := adm.ListPartitionReassignments(ctx, all)
	if err != nil {
		return err
	}
	moving := map[string]bool{}
	for _, r := range ongoing.Sorted() {
		moving[r.Topic] = true
	}
	topics := map[string]bool{}
	for _, m := range moves {
		topics[m.topic] = true
		fmt.Fprintln(stdout, moveStatus(m, md, ongoing))
	}
	var failures []string
	for _, topic := range sortedSet(topics) {
		if moving[topic] {
			fmt.Fprintf(stdout, "throttled replicas of topic %q kept: a reassignment of it is in progress\n", topic)
			continue
		}
		resps, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{
			{Op: kadm.DeleteConfig, Name: leaderThrottledReplicas},
			{Op: kadm.DeleteConfig, Name: followerThrottledReplicas},
		}, topic)
		if err == nil {
			err = alterFailures("topic", resps)
		}
		if err != nil {
			failures = append(failures, err.Error())
			continue
		}
		fmt.Fprintf(stdout, "throttled replicas of topic %q removed\n", topic)
	}
	if len(moving) > 0 {
		fmt.Fprintln(stdout, "broker throttle rates kept: reassignments are in progress; run --verify again")
		return joinFailures(failures)
	}
	brokers := md.Brokers.NodeIDs()
	resps, err := adm.AlterBrokerConfigs(ctx, []kadm.AlterConfig{
		{Op: kadm.DeleteConfig, Name: leaderThrottledRate},
		{Op: kadm.DeleteConfig, Name: followerThrottledRate},
	}, brokers...)
	if err == nil {
		err = alterFailures("broker", resps)
	}
	if err != nil {
		failures = append(failures, err.Error())
	} else {
		fmt.Fprintf(stdout, "throttle rates removed from brokers %s\n", joinIDs(brokers))
	}
	return joinFailures(failures)
}

// moveStatus says where one reassignment stands, as Kafka's --verify.
func moveStatus(m move, md kadm.Metadata, ongoing kadm.ListPartitionReassignmentsResponses) string {
	name := fmt.Sprintf("%s-%d", m.topic, m.partition)
	if _, ok := ongoing[m.topic][m.partition]; ok {
		return "reassignment of " + name + " is still in progress"
	}
	p, ok := md.Topics[m.topic].Partitions[m.partition]
	switch {
	case !ok:
		return "partition " + name + " not found"
	case m.brokers != nil && !slices.Equal(p.Replicas, m.brokers):
		return fmt.Sprintf("no reassignment of %s in progress, but its replicas are %s rather than %s", name, joinIDs(p.Replicas), joinIDs(m.brokers))
	}
	return "reassignment of " + name + " is complete"
}

func sortedSet(set map[string]bool) []string {
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// throttleReassignment sets the throttle of moves before they start.
func throttleReassignment(ctx context.Context, adm *kadm.Client, moves []move, rate int64, stdout io.Writer) error {
	topics := map[string]bool{}
	for _, m := range moves {
		topics[m.topic] = true
	}
	md, err := adm.Metadata(ctx, sortedSet(topics)...)
	if err != nil {
		return err
	}
	plan, err := planThrottle(moves, md)
	if err != nil {
		return err
	}
	if len(plan.brokers) == 0 {
		return nil // only cancellations
	}
	return setThrottle(ctx, adm, plan, rate, stdout)
}
