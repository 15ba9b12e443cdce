package replicas

import (
	"context"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/fjordhq/fjord/internal/config"
	"github.com/fjordhq/fjord/internal/metadata"
	"github.com/fjordhq/fjord/internal/recordbatch"
	"github.com/fjordhq/fjord/internal/storage"
	"github.com/fjordhq/fjord/internal/testclock"
	"github.com/fjordhq/fjord/internal/vfs"
)

// fixture is broker 1's replica manager under a one-node metadata quorum,
// leading partition 0 of a topic replicated on brokers 1, 2 and 3, with 2
// in the ISR and 3 out of it (a replica being added by a reassignment).
// Brokers 2 and 3 are registered but not running: the test fetches as
// them.
type fixture struct {
	t     *testing.T
	ctx   context.Context
	meta  *metadata.Node
	m     *Manager
	stop  func() error // stops and closes m
	clock *testclock.Clock
	topic string
}

func newFixture(t *testing.T) *fixture {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	addr, trans := raft.NewInmemTransport("node-1")
	meta, err := metadata.Start(ctx, metadata.Options{Dir: t.TempDir(), NodeID: 1, Transport: trans, LocalAddr: addr})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { meta.Close(); trans.Close() })
	if err := meta.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	for id := int32(1); id <= 3; id++ {
		if err := meta.RegisterBroker(ctx, metadata.BrokerRegistration{NodeID: id, Host: "localhost", Port: 9000 + id}); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := config.ParseBroker(map[string]string{})
	if err != nil {
		t.Fatal(err)
	}
	fs := vfs.NewMem()
	if err := fs.MkdirAll("/data", 0o755); err != nil {
		t.Fatal(err)
	}
	clock := testclock.At(time.Unix(1_000_000, 0))
	f := &fixture{t: t, ctx: ctx, meta: meta, clock: clock, topic: "moving"}
	f.m = f.start(Options{NodeID: 1, DataDir: "/data", Config: cfg, FS: fs, Meta: meta, Now: clock.Now})
	topic, err := meta.CreateTopic(ctx, metadata.CreateTopicSpec{Name: f.topic, NumPartitions: -1, ReplicationFactor: -1,
		Assignments: map[int32][]int32{0: {1, 2, 3}}})
	if err != nil {
		t.Fatal(err)
	}
	pi := topic.Partitions[0]
	if _, err := meta.AlterPartition(ctx, topic.ID, 0, 1, pi.LeaderEpoch, pi.PartitionEpoch, []int32{1, 2}, nil); err != nil {
		t.Fatal(err)
	}
	f.applied()
	f.produce(10)
	f.fetch(2, 100) // the in-sync follower caught up: the high watermark is 100
	return f
}

// start starts a manager on opts with its image apply loop (not the rest
// of Run: a test runs the loops it wants, so that none acts behind its
// back); it is stopped and closed when the test ends, or by stop.
func (f *fixture) start(opts Options) *Manager {
	f.t.Helper()
	m := New(opts)
	if err := m.Start(f.ctx); err != nil {
		f.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(f.ctx)
	ran := make(chan struct{})
	go func() { defer close(ran); m.applyLoop(ctx) }()
	f.stop = func() error {
		cancel()
		<-ran
		return m.Close()
	}
	stop := f.stop
	f.t.Cleanup(func() { _ = stop() })
	return m
}

// restart stops the manager and starts another on the same data.
func (f *fixture) restart() {
	f.t.Helper()
	if err := f.stop(); err != nil {
		f.t.Fatal(err)
	}
	f.m = f.start(f.m.opts)
}

// applied waits until the manager applied the metadata as it is now.
func (f *fixture) applied() {
	f.t.Helper()
	if err := f.m.WaitApplied(f.ctx, f.meta.Image().Offset()); err != nil {
		f.t.Fatal(err)
	}
}

// partition is the fixture's partition replica.
func (f *fixture) partition() *Replica { return f.m.Partition(f.topic, 0) }

// produce appends batches of 10 records of 100 bytes on the leader.
func (f *fixture) produce(batches int) {
	p := f.partition()
	for range batches {
		var records []recordbatch.Record
		for range 10 {
			records = append(records, recordbatch.Record{Value: make([]byte, 100)})
		}
		res := f.append(p, records...)
		if err := p.WaitDurable(res.LastOffset); err != nil {
			f.t.Fatal(err)
		}
	}
	f.m.onLeaderAppend(f.m.leaderRoleOf(p))
}

func (f *fixture) alter(rt metadata.ResourceType, name string, ops ...metadata.ConfigOp) {
	if err := f.meta.AlterConfigs(f.ctx, rt, name, ops, false); err != nil {
		f.t.Fatal(err)
	}
	f.applied()
}

// fetch reads partition 0 from offset as replica (-1: a consumer), as the
// Fetch handler does, and returns the record bytes.
func (f *fixture) fetch(replica int32, offset int64) int64 {
	f.t.Helper()
	return f.fetchAs(replica, -1, offset, 0)
}

// fetchAs is fetch with the follower's broker epoch (KIP-903) and log
// start.
func (f *fixture) fetchAs(replica int32, brokerEpoch, offset, logStart int64) int64 {
	f.t.Helper()
	p := f.partition()
	upTo, throttled := p.HighWatermark(), false
	if replica >= 0 {
		read, err := f.m.FollowerFetch(p, replica, brokerEpoch, storage.Offset(offset), logStart)
		if err != nil {
			f.t.Fatalf("fetch as replica %d: %v", replica, err)
		}
		if read.Hold {
			return 0
		}
		upTo, throttled = read.UpTo, read.Throttled
	}
	if storage.Offset(offset) >= upTo {
		return 0
	}
	slice, err := p.Log().Read(storage.Offset(offset), 1<<20, upTo)
	if err != nil {
		f.t.Fatal(err)
	}
	slice.Release()
	if throttled {
		f.m.RecordThrottled(slice.Size)
	}
	return slice.Size
}

// TestLeaderThrottleHoldsOutOfSyncFollowers checks the leader side with a
// stopped clock: once the leader quota is spent, a throttled partition gets
// no records for its out-of-sync follower, while its in-sync follower and
// consumers are served; time, a higher rate, or removing the throttled
// replica list lets the follower fetch again.
func TestLeaderThrottleHoldsOutOfSyncFollowers(t *testing.T) {
	f := newFixture(t)
	set := func(name, value string) metadata.ConfigOp {
		return metadata.ConfigOp{Name: name, Op: metadata.OpSet, Value: value}
	}
	if n := f.fetch(3, 0); n == 0 {
		t.Fatal("no records before any throttle")
	}

	f.alter(metadata.ResourceBroker, "1", set(config.LeaderReplicationThrottledRate, "1000"))
	f.alter(metadata.ResourceTopic, f.topic, set(config.LeaderReplicationThrottledReplicas, "0:1"))
	if n := f.fetch(3, 0); n == 0 {
		t.Fatal("the first throttled fetch got nothing: a new throttle starts with a second's worth")
	}
	// That fetch took more than the second's worth of 1000 bytes.
	if n := f.fetch(3, 0); n != 0 {
		t.Fatalf("out-of-sync follower got %d bytes with the leader quota spent", n)
	}
	if got := f.m.leaderQuota.ThrottledSends(); got != 1 {
		t.Fatalf("throttled sends %d, want 1", got)
	}
	if n := f.fetch(2, 0); n == 0 {
		t.Fatal("in-sync follower held by the throttle")
	}
	if n := f.fetch(-1, 0); n == 0 {
		t.Fatal("consumer held by the replication throttle")
	}

	f.clock.Advance(time.Hour) // refills one second's worth
	if n := f.fetch(3, 0); n == 0 {
		t.Fatal("follower still held after the quota refilled")
	}
	if n := f.fetch(3, 0); n != 0 {
		t.Fatal("follower not held after spending the refill")
	}

	// Another broker's throttled replica does not make this one throttle.
	f.alter(metadata.ResourceTopic, f.topic, set(config.LeaderReplicationThrottledReplicas, "0:2,0:3"))
	if n := f.fetch(3, 0); n == 0 {
		t.Fatal("follower held while this broker's replica is not listed")
	}
	f.alter(metadata.ResourceTopic, f.topic, set(config.LeaderReplicationThrottledReplicas, "*"))
	if n := f.fetch(3, 0); n != 0 {
		t.Fatal("follower not held under *")
	}
	// Removing the rate (back to the default, no limit) releases it too.
	f.alter(metadata.ResourceBroker, "1", metadata.ConfigOp{Name: config.LeaderReplicationThrottledRate, Op: metadata.OpDelete})
	if n := f.fetch(3, 0); n == 0 {
		t.Fatal("follower held after the rate was removed")
	}
	// A cluster-wide default rate applies when the broker has none.
	f.alter(metadata.ResourceBroker, "", set(config.LeaderReplicationThrottledRate, "0"))
	if n := f.fetch(3, 0); n != 0 {
		t.Fatal("follower not held at the cluster default rate 0")
	}
	if got := f.m.leaderQuota.Rate(); got != 0 {
		t.Fatalf("leader quota rate %d, want the cluster default 0", got)
	}
}

// TestFollowerThrottleFollowsConfigs checks that the follower quota's rate
// and the fetcher's throttled partitions follow the configs.
func TestFollowerThrottleFollowsConfigs(t *testing.T) {
	f := newFixture(t)
	set := func(name, value string) metadata.ConfigOp {
		return metadata.ConfigOp{Name: name, Op: metadata.OpSet, Value: value}
	}
	if got := f.m.followerQuota.Rate(); got != config.UnthrottledRate {
		t.Fatalf("follower quota rate %d before any config", got)
	}
	f.alter(metadata.ResourceBroker, "", set(config.FollowerReplicationThrottledRate, "5000"))
	if got := f.m.followerQuota.Rate(); got != 5000 {
		t.Fatalf("follower quota rate %d, want the cluster default 5000", got)
	}
	f.alter(metadata.ResourceBroker, "1", set(config.FollowerReplicationThrottledRate, "7000"))
	if got := f.m.followerQuota.Rate(); got != 7000 {
		t.Fatalf("follower quota rate %d, want this broker's 7000", got)
	}
	if got := f.m.leaderQuota.Rate(); got != config.UnthrottledRate {
		t.Fatalf("leader quota rate %d changed with the follower rate", got)
	}
}
