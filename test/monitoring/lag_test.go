package monitoring

// Acceptance of issue 18 item 3: lag in time is right within a second for
// a group that stops consuming while a producer continues at a known rate,
// and its status moves from OK to STALLED (member present, commits
// stopped), then STOPPED (no members); read through the broker's HTTP API,
// /metrics and `fjord group describe`.

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/fjordhq/fjord/internal/clustertest"
	"github.com/fjordhq/fjord/internal/fjordtest"
	"github.com/fjordhq/fjord/internal/lag"
)

const (
	// lagRate is the producer's records per second.
	lagRate = 20
	// lagStatusTimeout bounds the wait for a status: STALLED needs a full
	// window (lag.DefaultWindow polls of lag.DefaultInterval).
	lagStatusTimeout = 60 * time.Second
	// lagTolerance is the accuracy issue 18 asks of the lag in time.
	lagTolerance = time.Second
)

// lagProducer writes lagRate records a second, each stamped with the time
// it is produced, and remembers each offset's stamp.
type lagProducer struct {
	cl     *kgo.Client
	cancel context.CancelFunc
	done   chan struct{}
	mu     sync.Mutex
	stamps map[int64]time.Time
}

func lagStartProducer(t *testing.T, addr, topic string) *lagProducer {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.DefaultProduceTopic(topic))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &lagProducer{cl: cl, cancel: cancel, done: make(chan struct{}), stamps: map[int64]time.Time{}}
	go p.run(ctx)
	t.Cleanup(p.stop)
	return p
}

func (p *lagProducer) run(ctx context.Context) {
	defer close(p.done)
	tick := time.NewTicker(time.Second / lagRate)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		// Millisecond stamps: what a record batch holds.
		r := &kgo.Record{Value: []byte("v"), Timestamp: time.UnixMilli(time.Now().UnixMilli())}
		if err := p.cl.ProduceSync(ctx, r).FirstErr(); err != nil {
			continue // the test's checks tell whether enough was written
		}
		p.mu.Lock()
		p.stamps[r.Offset] = r.Timestamp
		p.mu.Unlock()
	}
}

// stampAt is the produce time of the record at offset.
func (p *lagProducer) stampAt(t *testing.T, offset int64) time.Time {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	ts, ok := p.stamps[offset]
	if !ok {
		t.Fatalf("no record produced at offset %d", offset)
	}
	return ts
}

func (p *lagProducer) stop() {
	p.cancel()
	<-p.done
	p.cl.Close()
}

// lagConsumer is a group member that polls and commits what it polled
// until stopPolling; its client stays open, so it stays a member
// (franz-go heartbeats on its own) until close.
type lagConsumer struct {
	cl     *kgo.Client
	cancel context.CancelFunc
	done   chan struct{}
	closed sync.Once
}

func lagStartConsumer(t *testing.T, addr, group, topic string) *lagConsumer {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic),
		kgo.DisableAutoCommit(), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &lagConsumer{cl: cl, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(c.done)
		for ctx.Err() == nil {
			c.cl.PollFetches(ctx)
			if ctx.Err() == nil {
				_ = c.cl.CommitUncommittedOffsets(ctx)
			}
		}
	}()
	t.Cleanup(c.close)
	return c
}

func (c *lagConsumer) stopPolling() {
	c.cancel()
	<-c.done
}

// close leaves the group.
func (c *lagConsumer) close() {
	c.closed.Do(func() {
		c.stopPolling()
		c.cl.Close()
	})
}

// lagGroup reads group's lag from the broker's HTTP API; ok is false on
// 404 (not sampled yet).
func lagGroup(t *testing.T, s *fjordtest.Server, group string) (lag.GroupLag, bool) {
	t.Helper()
	code, body := httpGetBody(t, s.HTTPURL(t, "/api/v1/groups/"+group+"/lag"))
	if code == http.StatusNotFound {
		return lag.GroupLag{}, false
	}
	if code != http.StatusOK {
		t.Fatalf("lag API: status %d: %s", code, body)
	}
	var g lag.GroupLag
	if err := json.Unmarshal([]byte(body), &g); err != nil {
		t.Fatalf("lag API: %v: %s", err, body)
	}
	return g, true
}

// lagWaitStatus polls the HTTP API until group has status want.
func lagWaitStatus(t *testing.T, s *fjordtest.Server, group string, want lag.Status) lag.GroupLag {
	t.Helper()
	deadline := time.Now().Add(lagStatusTimeout)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var last lag.GroupLag
	for {
		if g, ok := lagGroup(t, s, group); ok {
			if last = g; g.Status == want && len(g.Partitions) > 0 {
				return g
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("group %s is %s after %v, want %s: %+v", group, last.Status, lagStatusTimeout, want, last)
		}
		<-tick.C
	}
}

// lagCommitted is group's committed offset of topic's partition 0.
func lagCommitted(t *testing.T, addr, group, topic string) int64 {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), metricsTimeout)
	defer cancel()
	offsets, err := kadm.NewClient(cl).FetchOffsets(ctx, group)
	if err != nil {
		t.Fatal(err)
	}
	o, ok := offsets.Lookup(topic, 0)
	if !ok || o.Err != nil {
		t.Fatalf("no committed offset of %s-0 for %s: %v", topic, group, o.Err)
	}
	return o.At
}

// lagWithin fails unless got, a lag in seconds sampled at some instant
// between earliest and latest, is within lagTolerance of the true age then
// of the first record not consumed, produced at stamp.
func lagWithin(t *testing.T, what string, got float64, stamp, earliest, latest time.Time) {
	t.Helper()
	lo, hi := earliest.Sub(stamp)-lagTolerance, latest.Sub(stamp)+lagTolerance
	if got < lo.Seconds() || got > hi.Seconds() {
		t.Errorf("%s: %.3f s, want %.3f to %.3f s (the true age %v to %v, within %v)", what, got, lo.Seconds(), hi.Seconds(),
			earliest.Sub(stamp), latest.Sub(stamp), lagTolerance)
	}
	t.Logf("%s: %.3f s, true age %.3f to %.3f s", what, got, earliest.Sub(stamp).Seconds(), latest.Sub(stamp).Seconds())
}

func TestLagInTimeStalledThenStopped(t *testing.T) {
	const topic, group = "lag-events", "lag-app"
	// Port 0: the node reports the port it bound as http.listener, which
	// `fjord group describe` reads to find the lag API.
	srv := fjordtest.Start(t, fjordtest.Options{HTTP: true})
	srv.CreateTopics(t, map[string]int32{topic: 1})
	producer := lagStartProducer(t, srv.Addr, topic)
	consumer := lagStartConsumer(t, srv.Addr, group, topic)

	ok := lagWaitStatus(t, srv, group, lag.StatusOK)
	t.Logf("consuming: %s, lag %d records, %.3f s", ok.Status, ok.TotalLag, ok.MaxLagSeconds)
	// Over more than a full window, so the trend rules had their say.
	lagHoldStatus(t, srv, group, lag.StatusOK, time.Duration(lag.DefaultWindow+1)*lag.DefaultInterval)
	consumer.stopPolling()
	committed := lagCommitted(t, srv.Addr, group, topic)

	stalled := lagWaitStatus(t, srv, group, lag.StatusStalled)
	p := stalled.Partitions[0]
	if stalled.Members != 1 || p.Committed != committed || p.Lag != p.End-committed || p.Lag <= 0 {
		t.Fatalf("stalled group %+v, want 1 member, committed %d and lag above 0", stalled, committed)
	}
	// The first record not consumed is the one at the committed offset.
	stamp := producer.stampAt(t, committed)
	lagWithin(t, "HTTP API lag_seconds", p.LagSeconds, stamp, stalled.Evaluated, stalled.Evaluated)
	// Exactly, to the millisecond of the stamps: one record off would be
	// 50 ms off at this rate.
	if d := p.LagSeconds - stalled.Evaluated.Sub(stamp).Seconds(); math.Abs(d) > 0.001 {
		t.Errorf("lag_seconds is %.3f s off the age of the record at the committed offset %d", d, committed)
	}

	// /metrics shows the latest poll, up to one interval old.
	before := time.Now()
	sc := scrapeMetrics(t, srv)
	labels := []string{"group", group, "topic", topic, "partition", "0"}
	lagWithin(t, "/metrics fjord_consumer_group_lag_seconds", sc.MustValue(t, "fjord_consumer_group_lag_seconds", labels...),
		stamp, before.Add(-lag.DefaultInterval), time.Now())
	if v := sc.MustValue(t, "fjord_consumer_group_status", "group", group, "status", string(lag.StatusStalled)); v != 1 {
		t.Errorf("fjord_consumer_group_status{status=STALLED} = %v, want 1", v)
	}
	if v := sc.MustValue(t, "fjord_consumer_group_lag_offsets", labels...); v <= 0 {
		t.Errorf("fjord_consumer_group_lag_offsets = %v, want above 0", v)
	}

	lagCheckDescribe(t, srv, group, topic, stamp, lag.StatusStalled)

	consumer.close()
	stopped := lagWaitStatus(t, srv, group, lag.StatusStopped)
	if stopped.Members != 0 || stopped.Partitions[0].Committed != committed {
		t.Fatalf("after the member left: %+v, want no members, committed %d", stopped, committed)
	}
	lagWithin(t, "HTTP API lag_seconds once STOPPED", stopped.Partitions[0].LagSeconds, stamp,
		stopped.Evaluated, stopped.Evaluated)
}

// lagCheckDescribe runs `fjord group describe` and checks the LAG-TIME of
// topic's partition 0, whose first record not consumed was produced at
// stamp, and the Status line as the broker's monitor reports it.
func lagCheckDescribe(t *testing.T, srv *fjordtest.Server, group, topic string, stamp time.Time, want lag.Status) {
	t.Helper()
	before := time.Now()
	out, errOut, err := fjordtest.Run(t, nil, "group", "describe", group, "--brokers", srv.Addr)
	if err != nil {
		t.Fatalf("fjord group describe: %v: %s", err, errOut)
	}
	// The coordinator's latest poll, up to one interval before the command.
	lagWithin(t, "fjord group describe LAG-TIME", lagDescribeColumn(t, out, topic).Seconds(), stamp,
		before.Add(-lag.DefaultInterval), time.Now())
	if line := fmt.Sprintf("Status: %s (broker ", want); !strings.Contains(out, line) {
		t.Errorf("describe lacks %q:\n%s", line, out)
	}
}

// lagDescribeColumn parses the LAG-TIME of topic's partition 0 in a
// describe's output.
func lagDescribeColumn(t *testing.T, out, topic string) time.Duration {
	t.Helper()
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		// TOPIC PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG CONSUMER-ID HOST CLIENT-ID LAG-TIME
		if len(f) == 9 && f[0] == topic && f[1] == "0" {
			d, err := time.ParseDuration(f[8])
			if err != nil {
				t.Fatalf("LAG-TIME %q: %v\n%s", f[8], err, out)
			}
			return d
		}
	}
	t.Fatalf("no row for %s-0 in describe:\n%s", topic, out)
	return 0
}

// TestLagDescribeWithoutHTTP: against a broker without an HTTP listener,
// describe computes LAG-TIME itself from one sample, and a group with lag
// and no members is STOPPED.
func TestLagDescribeWithoutHTTP(t *testing.T) {
	const topic, group = "lag-old", "lag-idle"
	srv := fjordtest.Start(t, fjordtest.Options{})
	srv.CreateTopics(t, map[string]int32{topic: 1})
	base := time.UnixMilli(time.Now().Add(-time.Minute).UnixMilli())
	lagProduceStamped(t, srv.Addr, topic, base, 10)
	lagCommit(t, srv.Addr, group, topic, 3)

	before := time.Now()
	out, errOut, err := fjordtest.Run(t, nil, "group", "describe", group, "--brokers", srv.Addr)
	if err != nil {
		t.Fatalf("fjord group describe: %v: %s", err, errOut)
	}
	lagWithin(t, "LAG-TIME sampled by the CLI", lagDescribeColumn(t, out, topic).Seconds(), base.Add(3*time.Second),
		before, time.Now())
	if want := "Status: STOPPED (one sample by this command)"; !strings.Contains(out, want) {
		t.Errorf("describe lacks %q:\n%s", want, out)
	}
}

// lagProduceStamped writes n records to topic's partition 0, the i-th
// stamped base + i seconds.
func lagProduceStamped(t *testing.T, addr, topic string, base time.Time, n int) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.DefaultProduceTopic(topic))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), metricsTimeout)
	defer cancel()
	for i := range n {
		r := &kgo.Record{Value: []byte("v"), Timestamp: base.Add(time.Duration(i) * time.Second)}
		if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
}

// lagCommit commits offset for group on topic's partition 0, as a group
// without members (a tool's commit).
func lagCommit(t *testing.T, addr, group, topic string, offset int64) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), metricsTimeout)
	defer cancel()
	var offsets kadm.Offsets
	offsets.AddOffset(topic, 0, offset, -1)
	resp, err := kadm.NewClient(cl).CommitOffsets(ctx, group, offsets)
	if err == nil {
		err = resp.Error()
	}
	if err != nil {
		t.Fatal(err)
	}
}

// TestLagMonitorKafkaSource runs a Monitor with a fake clock over the real
// binary through KafkaSource: committed at a transaction marker, the first
// record not consumed is the next data record, whose stamp gives the lag
// in time exactly.
func TestLagMonitorKafkaSource(t *testing.T) {
	const topic, group = "lag-txn", "lag-txn-app"
	srv := fjordtest.Start(t, fjordtest.Options{})
	srv.CreateTopics(t, map[string]int32{topic: 1})
	base := time.UnixMilli(time.Now().Add(-time.Hour).UnixMilli())
	// Offsets 0-2, commit marker at 3, offsets 4-5, marker at 6.
	lagProduceTransactions(t, srv.Addr, topic, base, 3, 2)
	lagCommit(t, srv.Addr, group, topic, 3)

	cl, err := kgo.NewClient(kgo.SeedBrokers(srv.Addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	now := base.Add(time.Hour)
	m := lag.NewMonitor(lag.KafkaSource(cl), lag.Options{Window: 3, Now: func() time.Time { return now }})
	ctx, cancel := context.WithTimeout(context.Background(), metricsTimeout)
	defer cancel()
	if err := m.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	g, ok := m.Group(group)
	if !ok || len(g.Partitions) != 1 {
		t.Fatalf("group %s: %+v (reported %v)", group, g, ok)
	}
	p := g.Partitions[0]
	// Offset 4 is the 4th record produced: base + 3 s.
	wantAge := now.Sub(base.Add(3 * time.Second)).Seconds()
	if p.Committed != 3 || p.End != 7 || p.Lag != 4 || math.Abs(p.LagSeconds-wantAge) > 0.001 {
		t.Fatalf("partition %+v, want committed 3, end 7, lag 4, %.3f s", p, wantAge)
	}
	if g.Status != lag.StatusStopped || g.Members != 0 {
		t.Fatalf("a group with lag and no members: %s, want STOPPED", g.Status)
	}
}

// lagProduceTransactions writes one committed transaction per count in
// sizes, records stamped base + i seconds for the i-th record overall.
func lagProduceTransactions(t *testing.T, addr, topic string, base time.Time, sizes ...int) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.DefaultProduceTopic(topic), kgo.TransactionalID("lag-txn"))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), metricsTimeout)
	defer cancel()
	i := 0
	for _, n := range sizes {
		if err := cl.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		for range n {
			r := &kgo.Record{Value: []byte("v"), Timestamp: base.Add(time.Duration(i) * time.Second)}
			i++
			if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
		if err := cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
			t.Fatal(err)
		}
	}
}

// TestLagAcrossBrokers: in a three-node cluster, only the group's
// coordinator reports it, and it reads the partitions other nodes lead
// through them (ListOffsets and Fetch between brokers).
func TestLagAcrossBrokers(t *testing.T) {
	const topic, group, partitions = "lag-spread", "lag-spread-app", 3
	servers := lagStartCluster(t, 3)
	cl, err := kgo.NewClient(kgo.SeedBrokers(servers[0].Addr), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(context.Background(), lagStatusTimeout)
	defer cancel()
	leaders := lagCreateSpreadTopic(ctx, t, adm, topic, partitions)

	// Partition p's i-th record is stamped base + (100p + i) seconds; the
	// group committed offset 2+p of partition p.
	base := time.UnixMilli(time.Now().Add(-time.Hour).UnixMilli())
	stamp := func(p int32, i int64) time.Time { return base.Add(time.Duration(100*int64(p)+i) * time.Second) }
	var offsets kadm.Offsets
	for p := range int32(partitions) {
		for i := range int64(10) {
			r := &kgo.Record{Topic: topic, Partition: p, Value: []byte("v"), Timestamp: stamp(p, i)}
			if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
		offsets.AddOffset(topic, p, 2+int64(p), -1)
	}
	if resp, err := adm.CommitOffsets(ctx, group, offsets); err != nil || resp.Error() != nil {
		t.Fatalf("commit: %v %v", err, resp.Error())
	}
	described, err := adm.DescribeGroups(ctx, group)
	if err != nil {
		t.Fatal(err)
	}
	coordinator := described[group].Coordinator.NodeID
	t.Logf("coordinator %d, partition leaders %v", coordinator, leaders)

	var g lag.GroupLag
	for _, s := range servers {
		if lagNodeID(t, servers, s) != coordinator {
			continue
		}
		g = lagWaitStatus(t, s, group, lag.StatusStopped)
	}
	if len(g.Partitions) != partitions {
		t.Fatalf("coordinator reports %+v, want %d partitions", g, partitions)
	}
	for _, p := range g.Partitions {
		want := g.Evaluated.Sub(stamp(p.Partition, 2+int64(p.Partition))).Seconds()
		if p.Committed != 2+int64(p.Partition) || p.End != 10 || math.Abs(p.LagSeconds-want) > 0.001 {
			t.Errorf("partition %d (leader %d): %+v, want committed %d, end 10, %.3f s", p.Partition,
				leaders[p.Partition], p, 2+p.Partition, want)
		}
	}
	for _, s := range servers {
		if id := lagNodeID(t, servers, s); id != coordinator {
			if _, ok := lagGroup(t, s, group); ok {
				t.Errorf("node %d, not the coordinator, reports group %s too", id, group)
			}
			if _, ok := scrapeMetrics(t, s).Value("fjord_consumer_group_status", "group", group, "status", "STOPPED"); ok {
				t.Errorf("node %d, not the coordinator, exports the lag of group %s", id, group)
			}
			// Its web console asks the coordinator instead.
			code, body := httpGetBody(t, s.HTTPURL(t, "/console/api/groups/"+group))
			var page struct{ LagSource, Status string }
			if err := json.Unmarshal([]byte(body), &page); code != http.StatusOK || err != nil ||
				page.LagSource != "coordinator" || page.Status != string(lag.StatusStopped) {
				t.Errorf("node %d's console: %d %s, want the coordinator's STOPPED", id, code, body)
			}
		}
	}
}

// lagStartCluster starts n nodes, each a controller with an HTTP listener.
func lagStartCluster(t *testing.T, n int) []*fjordtest.Server {
	t.Helper()
	var voters []string
	for i, port := range clustertest.FreeLoopbackPorts(t, n) {
		voters = append(voters, fmt.Sprintf("%d@127.0.0.1:%d", i+1, port))
	}
	var opts []fjordtest.Options
	for i := range n {
		opts = append(opts, fjordtest.Options{HTTP: true, Args: []string{"--node-id", strconv.Itoa(i + 1),
			"--controllers", strings.Join(voters, ",")}})
	}
	return fjordtest.StartAll(t, opts...)
}

// lagNodeID is s's node id: its position in servers, as lagStartCluster
// numbers them.
func lagNodeID(t *testing.T, servers []*fjordtest.Server, s *fjordtest.Server) int32 {
	t.Helper()
	for i, other := range servers {
		if other == s {
			return int32(i + 1)
		}
	}
	t.Fatal("server not in the cluster")
	return 0
}

// lagCreateSpreadTopic creates topic with one replica per partition once
// every broker registered, and returns the partitions' leaders, which
// must be at least two brokers.
func lagCreateSpreadTopic(ctx context.Context, t *testing.T, adm *kadm.Client, topic string, partitions int32) map[int32]int32 {
	t.Helper()
	lagEventually(ctx, t, "three brokers registered", func() (bool, string) {
		md, err := adm.Metadata(ctx)
		return err == nil && len(md.Brokers) == 3, fmt.Sprint(md.Brokers, err)
	})
	if resp, err := adm.CreateTopic(ctx, partitions, 1, nil, topic); err != nil || resp.Err != nil {
		t.Fatalf("create %s: %v %v", topic, err, resp.Err)
	}
	leaders := map[int32]int32{}
	lagEventually(ctx, t, "every partition has a leader", func() (bool, string) {
		md, err := adm.Metadata(ctx, topic)
		if err == nil {
			for _, p := range md.Topics[topic].Partitions {
				if p.Leader >= 0 {
					leaders[p.Partition] = p.Leader
				}
			}
		}
		return len(leaders) == int(partitions), fmt.Sprint(leaders, err)
	})
	distinct := map[int32]bool{}
	for _, l := range leaders {
		distinct[l] = true
	}
	if len(distinct) < 2 {
		t.Fatalf("every partition of %s led by one broker: %v", topic, leaders)
	}
	return leaders
}

// lagEventually checks cond every 50 ms until it holds or ctx ends.
func lagEventually(ctx context.Context, t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		ok, state := cond()
		if ok {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s: not after %v: %s", what, lagStatusTimeout, state)
		case <-tick.C:
		}
	}
}

// lagHoldStatus checks that group keeps status want for d: a consumer
// that keeps up is never STALLED or WARNING, whatever the window holds.
func lagHoldStatus(t *testing.T, s *fjordtest.Server, group string, want lag.Status, d time.Duration) {
	t.Helper()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for end := time.Now().Add(d); time.Now().Before(end); <-tick.C {
		if g, ok := lagGroup(t, s, group); !ok || g.Status != want {
			t.Fatalf("group %s is %s while consuming, want %s throughout: %+v", group, g.Status, want, g)
		}
	}
}
