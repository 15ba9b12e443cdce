package group

import (
	"container/heap"
	"crypto/rand"
	"encoding/hex"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Config holds the coordinator's settings, from the broker's group.* and
// offsets.* properties.
type Config struct {
	// NumPartitions is the partition count of __consumer_offsets
	// (offsets.topic.num.partitions when the topic was created).
	NumPartitions int32
	// InitialRebalanceDelay is group.initial.rebalance.delay.ms.
	InitialRebalanceDelay time.Duration
	// MinSessionTimeout and MaxSessionTimeout are
	// group.min.session.timeout.ms and group.max.session.timeout.ms.
	MinSessionTimeout, MaxSessionTimeout time.Duration
	// MaxSize is group.max.size; 0 means no limit below maxMembers.
	MaxSize int32
	// OffsetMetadataMaxBytes is offset.metadata.max.bytes.
	OffsetMetadataMaxBytes int32
	// PartitionExists says whether a committed offset's partition exists;
	// nil accepts every partition. It must be safe to call from the
	// coordinator goroutine and cheap (the broker reads its immutable
	// metadata image).
	PartitionExists func(topic string, partition int32) bool
	// NewMemberID makes a member id from a prefix (the client id, or the
	// group.instance.id of a static member); nil uses prefix + "-" + a
	// random UUID as Kafka does. Tests inject a counter.
	NewMemberID func(prefix string) string

	// ConsumerSessionTimeout is group.consumer.session.timeout.ms and
	// ConsumerHeartbeatInterval group.consumer.heartbeat.interval.ms, for
	// consumer (KIP-848) groups.
	ConsumerSessionTimeout, ConsumerHeartbeatInterval time.Duration
	// ConsumerAssignor is the default server assignor, the first of
	// group.consumer.assignors ("uniform" or "range").
	ConsumerAssignor string
	// Topics returns the current topics, for consumer groups' assignors
	// and regular expressions; nil means no topic exists. Same rules as
	// PartitionExists.
	Topics func() Topics
}

// Limits that have no Kafka config name. They bound memory on bad input.
const (
	// maxGroups bounds the groups one coordinator keeps; a client creating
	// groups without end gets COORDINATOR_NOT_AVAILABLE past it.
	maxGroups = 1 << 20
	// maxMembers caps group.max.size, whose Kafka default is unbounded.
	maxMembers = 10000
	// maxGroupIDBytes keeps group ids to what a record key can hold.
	maxGroupIDBytes = 32767
)

// Request is one group API request and the client that sent it.
type Request struct {
	Msg        kmsg.Request
	ClientID   string
	ClientHost string
}

// reply completes one request. Partition is the __consumer_offsets partition
// whose appends must be durable before the response is sent, or -1.
type reply struct {
	id        uint64
	partition int32
	resp      kmsg.Response
}

// persist is records to append to one partition of __consumer_offsets, as
// one batch.
type persist struct {
	partition int32
	records   []Record
	// commits are the offsets the records write, index for index (nil for
	// other records): each learns its record's log offset once appended.
	commits []*offsetCommit
	// txn is set for a TxnOffsetCommit's records, appended alone as a
	// transactional batch of its producer.
	txn *txnBatch
}

// effects is what one step of the core asks the driver to do, in order:
// append every persist, then send every reply.
type effects struct {
	persists []persist
	replies  []reply
}

// core is the pure state machine of the coordinator. Only the goroutine
// that owns it calls its methods.
type core struct {
	cfg    Config
	groups map[string]*group
	// owned are the partitions this coordinator leads and has loaded.
	owned map[int32]bool
	// timers holds at most a few entries per group: its next deadline
	// (lazily invalidated), see schedule.
	timers    deadlineHeap
	scheduled map[string]time.Time
	out       effects

	// openTxns names, per partition and producer, the groups that may
	// hold pending transactional offsets of that producer, so that a
	// marker finds them. It may name groups that no longer do.
	openTxns map[txnKey]map[string]bool
	// positions is what the core knows of each loaded partition's log.
	positions map[int32]*logPosition
	// rebalances are read by metrics (metricsview.go).
	rebalances rebalanceCounters
}

func newCore(cfg Config) *core {
	if cfg.NewMemberID == nil {
		cfg.NewMemberID = randomMemberID
	}
	if cfg.MaxSize <= 0 || cfg.MaxSize > maxMembers {
		cfg.MaxSize = maxMembers
	}
	if cfg.ConsumerSessionTimeout <= 0 {
		cfg.ConsumerSessionTimeout = defaultConsumerSessionTimeout
	}
	if cfg.ConsumerHeartbeatInterval <= 0 {
		cfg.ConsumerHeartbeatInterval = defaultConsumerHeartbeatInterval
	}
	if !SupportedAssignor(cfg.ConsumerAssignor) {
		cfg.ConsumerAssignor = defaultConsumerAssignor
	}
	if cfg.NumPartitions <= 0 {
		cfg.NumPartitions = 1
	}
	return &core{
		cfg: cfg, groups: map[string]*group{}, owned: map[int32]bool{}, scheduled: map[string]time.Time{},
		openTxns: map[txnKey]map[string]bool{}, positions: map[int32]*logPosition{},
	}
}

func randomMemberID(prefix string) string {
	var u [16]byte
	_, _ = rand.Read(u[:])
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	h := hex.EncodeToString(u[:])
	return prefix + "-" + h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// takeEffects returns and clears what the last steps produced.
func (c *core) takeEffects() effects {
	out := c.out
	c.out = effects{}
	return out
}

func (c *core) respond(id uint64, partition int32, resp kmsg.Response) {
	c.out.replies = append(c.out.replies, reply{id: id, partition: partition, resp: resp})
}

func (c *core) persist(partition int32, records ...Record) {
	c.persistCommits(partition, records, nil)
}

// persistCommits appends records to the current batch of partition, or
// starts one; commits are the offsets the first records write.
func (c *core) persistCommits(partition int32, records []Record, commits []*offsetCommit) {
	if len(records) == 0 {
		return
	}
	commits = append(commits, make([]*offsetCommit, len(records)-len(commits))...)
	if n := len(c.out.persists); n > 0 && c.out.persists[n-1].partition == partition && c.out.persists[n-1].txn == nil {
		last := &c.out.persists[n-1]
		last.records = append(last.records, records...)
		last.commits = append(last.commits, commits...)
		return
	}
	c.out.persists = append(c.out.persists, persist{partition: partition, records: records, commits: commits})
}

// appended tells the core that p is in its log from offset base: its
// offsets learn where their records are, and a transactional batch's
// offsets become pending.
func (c *core) appended(p persist, base int64) {
	pos := c.position(p.partition)
	if base != pos.appendEnd {
		// Entries the coordinator did not write (markers) lie between
		// its previous append and this one.
		pos.runStart = base
	}
	pos.appendEnd = base + int64(len(p.records))
	for i, commit := range p.commits {
		if commit != nil {
			commit.recordOffset = base + int64(i)
		}
	}
	if p.txn != nil {
		c.addPending(p.partition, p.txn, p.commits)
	}
}

// coordinatorError is the error for a group this coordinator cannot serve
// now, or 0 when it can.
func (c *core) coordinatorError(groupID string) int16 {
	if !c.owned[PartitionFor(groupID, c.cfg.NumPartitions)] {
		return kerr.NotCoordinator.Code
	}
	return 0
}

// lookup returns a live group.
func (c *core) lookup(groupID string) *group {
	g := c.groups[groupID]
	if g == nil || g.state == StateDead {
		return nil
	}
	return g
}

// create returns the group, creating it empty; nil when the coordinator
// holds too many groups.
func (c *core) create(groupID string, now time.Time) *group {
	if g := c.lookup(groupID); g != nil {
		return g
	}
	if len(c.groups) >= maxGroups {
		return nil
	}
	g := newGroup(groupID, PartitionFor(groupID, c.cfg.NumPartitions), now)
	c.groups[groupID] = g
	return g
}

// schedule makes sure tick runs for g no later than its next deadline.
func (c *core) schedule(g *group) {
	next := g.nextDeadline()
	if next.IsZero() {
		return
	}
	if at, ok := c.scheduled[g.id]; ok && !at.After(next) {
		return
	}
	c.scheduled[g.id] = next
	heap.Push(&c.timers, deadline{at: next, group: g.id})
}

// nextDeadline is when the driver must call tick next; zero for never.
func (c *core) nextDeadline() time.Time {
	if len(c.timers) == 0 {
		return time.Time{}
	}
	return c.timers[0].at
}

// tick fires every deadline at or before now.
func (c *core) tick(now time.Time) {
	for len(c.timers) > 0 && !c.timers[0].at.After(now) {
		d := heap.Pop(&c.timers).(deadline)
		if at, ok := c.scheduled[d.group]; !ok || !at.Equal(d.at) {
			continue
		}
		delete(c.scheduled, d.group)
		if g := c.lookup(d.group); g != nil {
			if g.consumer != nil {
				c.expireConsumer(g, now)
			} else {
				c.expire(g, now)
			}
			c.schedule(g)
		}
	}
}

type deadline struct {
	at    time.Time
	group string
}

type deadlineHeap []deadline

func (h deadlineHeap) Len() int           { return len(h) }
func (h deadlineHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h deadlineHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *deadlineHeap) Push(x any)        { *h = append(*h, x.(deadline)) }
func (h *deadlineHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// handle dispatches one request.
func (c *core) handle(now time.Time, id uint64, req Request) {
	switch msg := req.Msg.(type) {
	case *kmsg.JoinGroupRequest:
		c.join(now, id, req, msg)
	case *kmsg.SyncGroupRequest:
		c.syncGroup(now, id, msg)
	case *kmsg.HeartbeatRequest:
		c.heartbeat(now, id, msg)
	case *kmsg.LeaveGroupRequest:
		c.leave(now, id, msg)
	case *kmsg.OffsetCommitRequest:
		c.commitOffsets(now, id, msg)
	case *kmsg.TxnOffsetCommitRequest:
		c.commitTxnOffsets(now, id, msg)
	case *kmsg.OffsetFetchRequest:
		c.fetchOffsets(id, msg)
	case *kmsg.OffsetDeleteRequest:
		c.deleteOffsets(now, id, msg)
	case *kmsg.ListGroupsRequest:
		c.listGroups(id, msg)
	case *kmsg.DescribeGroupsRequest:
		c.describeGroups(id, msg)
	case *kmsg.DeleteGroupsRequest:
		c.deleteGroups(id, msg)
	case *kmsg.ConsumerGroupHeartbeatRequest:
		c.consumerHeartbeat(now, id, req, msg)
	case *kmsg.ConsumerGroupDescribeRequest:
		c.consumerGroupDescribe(id, msg)
	default:
		// The broker routes only the APIs above here; anything else is a
		// wiring bug, answered rather than dropped so no caller hangs.
		resp := msg.ResponseKind()
		setErrorCode(resp, kerr.UnknownServerError.Code)
		c.respond(id, -1, resp)
	}
}
