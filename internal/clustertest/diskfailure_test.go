package clustertest_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/fjordhq/fjord/internal/clustertest"
	"github.com/fjordhq/fjord/internal/recordbatch"
	"github.com/fjordhq/fjord/internal/vfs"
)

// clusterProps make failures show quickly: a fenced broker after 2 s
// without heartbeats, a lagging follower out of the ISR after 1.5 s.
var clusterProps = map[string]string{
	"replica.lag.time.max.ms":      "1500",
	"broker.session.timeout.ms":    "2000",
	"broker.heartbeat.interval.ms": "300",
}

// TestLeaderDiskFailsUnderLoad is KIP-112 end to end: acks=all producing
// to a topic replicated on three nodes (min.insync.replicas=2) while the
// partition leader's disk starts failing every write. The leader takes
// its log directory offline and reports it; the controller moves the
// leadership and shrinks the ISR; producing goes on through the new
// leader; the failed node answers KAFKA_STORAGE_ERROR for the partition
// meanwhile. After a restart on a healthy disk the node catches up and
// rejoins the ISR, and a final read finds every acknowledged record once,
// in the order each was sent.
func TestLeaderDiskFailsUnderLoad(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c := clustertest.Start(t, 3, clusterProps)
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.Addrs()...), kgo.ProducerLinger(time.Millisecond),
		kgo.RetryTimeout(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	const topic = "disk"
	leader := createReplicated(ctx, t, c, cl, topic, 2)

	load := startLoad(ctx, map[string]sendBatch{"kgo": kgoSender(cl, topic), "sarama": saramaSender(t, c.Addrs(), topic)})
	defer load.stop()
	load.waitAcked(t, ctx, nil, 150)

	failed := c.Node(leader)
	failed.FS.SetInjector(func(vfs.Op, string) error { return syscall.EIO })
	t.Logf("node %d's disk fails after acknowledgements %v", leader, load.snapshot())
	other := c.Nodes[leader%3] // another node
	moveCtx, moveCancel := context.WithTimeout(ctx, 30*time.Second)
	defer moveCancel()
	clustertest.Eventually(t, moveCtx, "leadership moved off the failed disk and its ISR shrunk", func() (bool, string) {
		p, err := partitionState(ctx, other, topic)
		return err == nil && p.Leader >= 0 && p.Leader != leader && !slices.Contains(p.ISR, leader),
			fmt.Sprintf("%+v %v", p, err)
	})
	if !strings.Contains(failed.Log(), "log directory failed") {
		t.Errorf("node %d did not log its log directory failure", leader)
	}
	load.waitAcked(t, ctx, load.snapshot(), 150)

	// The failed node answers for the partition with KAFKA_STORAGE_ERROR.
	if code := produceOne(ctx, t, failed, topic); code != kerr.KafkaStorageError.Code {
		t.Errorf("produce on the failed disk: error code %d, want KAFKA_STORAGE_ERROR", code)
	}
	if code := fetchOne(ctx, t, failed, topic); code != kerr.KafkaStorageError.Code {
		t.Errorf("fetch on the failed disk: error code %d, want KAFKA_STORAGE_ERROR", code)
	}

	// A restart on a healthy disk: the node recovers its log, catches
	// up and rejoins the ISR, while the load goes on.
	failed.FS.SetInjector(nil)
	failed.Restart()
	clustertest.Eventually(t, ctx, "the restarted node back in the ISR", func() (bool, string) {
		p, err := partitionState(ctx, other, topic)
		return err == nil && len(p.ISR) == 3, fmt.Sprintf("%+v %v", p, err)
	})
	load.waitAcked(t, ctx, load.snapshot(), 50)
	acked := load.stop()

	checkAllAcked(ctx, t, c, topic, acked)
}

// createReplicated creates topic with one partition on every node of c,
// with minISR as min.insync.replicas, and returns its leader once the ISR
// is full.
func createReplicated(ctx context.Context, t *testing.T, c *clustertest.Cluster, cl *kgo.Client, topic string, minISR int) int32 {
	t.Helper()
	resp, err := kadm.NewClient(cl).CreateTopic(ctx, 1, int16(len(c.Nodes)),
		map[string]*string{"min.insync.replicas": kadm.StringPtr(strconv.Itoa(minISR))}, topic)
	if err != nil || resp.Err != nil {
		t.Fatalf("create topic: %v %v", err, resp.Err)
	}
	var leader int32
	clustertest.Eventually(t, ctx, "a leader with a full ISR", func() (bool, string) {
		p, err := partitionState(ctx, c.Nodes[0], topic)
		leader = p.Leader
		return err == nil && p.Leader >= 0 && len(p.ISR) == len(c.Nodes), fmt.Sprintf("%+v %v", p, err)
	})
	return leader
}

// load runs producers that send numbered values ("<producer>-<n>") with
// acks=all, one batch of 10 at a time each, recording every value
// acknowledged.
type load struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	acked  []string
	counts map[string]int // acknowledged values per producer
	cond   chan struct{}  // closed and replaced on every acknowledgement
}

// sendBatch sends values and returns those acknowledged.
type sendBatch func(ctx context.Context, values []string) []string

func startLoad(parent context.Context, producers map[string]sendBatch) *load {
	ctx, cancel := context.WithCancel(parent)
	l := &load{cancel: cancel, cond: make(chan struct{}), counts: map[string]int{}}
	for name, send := range producers {
		l.counts[name] = 0
		l.wg.Go(func() {
			for next := 0; ctx.Err() == nil; next += 10 {
				var values []string
				for i := range 10 {
					values = append(values, fmt.Sprintf("%s-%d", name, next+i))
				}
				acked := send(ctx, values)
				l.mu.Lock()
				l.acked = append(l.acked, acked...)
				l.counts[name] += len(acked)
				close(l.cond)
				l.cond = make(chan struct{})
				l.mu.Unlock()
			}
		})
	}
	return l
}

// kgoSender sends through a franz-go client.
func kgoSender(cl *kgo.Client, topic string) sendBatch {
	return func(ctx context.Context, values []string) []string {
		var recs []*kgo.Record
		for _, v := range values {
			recs = append(recs, &kgo.Record{Topic: topic, Value: []byte(v)})
		}
		var acked []string
		for _, r := range cl.ProduceSync(ctx, recs...) {
			if r.Err == nil {
				acked = append(acked, string(r.Record.Value))
			}
		}
		return acked
	}
}

// saramaSender sends through an idempotent sarama producer.
func saramaSender(t *testing.T, addrs []string, topic string) sendBatch {
	cfg := sarama.NewConfig()
	cfg.Version = sarama.V3_6_0_0
	cfg.Producer.Return.Successes = true
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Producer.Idempotent = true
	cfg.Net.MaxOpenRequests = 1
	cfg.Producer.Retry.Max = 100
	cfg.Producer.Retry.Backoff = 50 * time.Millisecond
	cfg.Metadata.Retry.Backoff = 50 * time.Millisecond
	p, err := sarama.NewSyncProducer(addrs, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return func(_ context.Context, values []string) []string {
		var msgs []*sarama.ProducerMessage
		for _, v := range values {
			msgs = append(msgs, &sarama.ProducerMessage{Topic: topic, Value: sarama.StringEncoder(v)})
		}
		err := p.SendMessages(msgs)
		var failed sarama.ProducerErrors
		errors.As(err, &failed)
		refused := map[*sarama.ProducerMessage]bool{}
		for _, f := range failed {
			refused[f.Msg] = true
		}
		var acked []string
		for i, m := range msgs {
			// A failure other than ProducerErrors leaves every outcome
			// unknown: none counts as acknowledged.
			if err == nil || len(failed) > 0 && !refused[m] {
				acked = append(acked, values[i])
			}
		}
		return acked
	}
}

// snapshot is how many values each producer had acknowledged.
func (l *load) snapshot() map[string]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return maps.Clone(l.counts)
}

// waitAcked waits until every producer has had n more values acknowledged
// than in since.
func (l *load) waitAcked(t *testing.T, ctx context.Context, since map[string]int, n int) {
	t.Helper()
	for {
		l.mu.Lock()
		done, cond := true, l.cond
		for name := range l.counts {
			done = done && l.counts[name] >= since[name]+n
		}
		counts := maps.Clone(l.counts)
		l.mu.Unlock()
		if done {
			return
		}
		select {
		case <-cond:
		case <-ctx.Done():
			t.Fatalf("acknowledged values per producer %v, want %d more than %v before the deadline", counts, n, since)
		}
	}
}

// stop stops producing and returns the acknowledged values.
func (l *load) stop() []string {
	l.cancel()
	l.wg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.acked)
}

// checkAllAcked reads the partition from its start to its high watermark,
// with franz-go and with kcat (librdkafka), and checks that every
// acknowledged value is there exactly once and that each producer's values
// are in the order it sent them.
func checkAllAcked(ctx context.Context, t *testing.T, c *clustertest.Cluster, topic string, acked []string) {
	t.Helper()
	adm := kadm.NewClient(newClient(t, c.Addrs()...))
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	end, _ := ends.Lookup(topic, 0)
	if end.Err != nil {
		t.Fatal(end.Err)
	}
	cons := newClient(t, c.Addrs()...)
	cons.AddConsumePartitions(map[string]map[int32]kgo.Offset{topic: {0: kgo.NewOffset().AtStart()}})
	var read []string
	for next := int64(0); next < end.Offset; {
		fetches := cons.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("final read stopped at offset %d of %d: %v", next, end.Offset, ctx.Err())
		}
		fetches.EachError(func(_ string, _ int32, err error) { t.Logf("final read: %v", err) })
		fetches.EachRecord(func(r *kgo.Record) {
			if r.Offset < end.Offset {
				read = append(read, string(r.Value))
			}
			next = r.Offset + 1
		})
	}
	checkRead(t, "franz-go", read, acked)
	if kcatRead, ok := readWithKcat(ctx, t, c, topic, end.Offset); ok {
		checkRead(t, "kcat", kcatRead, acked)
	}
	t.Logf("%d acknowledged values, %d records read up to the high watermark %d", len(acked), len(read), end.Offset)
}

// checkRead checks one final read against the acknowledged values.
func checkRead(t *testing.T, reader string, read, acked []string) {
	t.Helper()
	seen := map[string]int{}
	last := map[string]int{} // producer -> last number read
	for i, v := range read {
		seen[v]++
		name, num, ok := strings.Cut(v, "-")
		n, err := strconv.Atoi(num)
		if !ok || err != nil {
			t.Fatalf("%s: record %d: value %q", reader, i, v)
		}
		if prev, ok := last[name]; ok && n <= prev {
			t.Errorf("%s: record %d: %s after %s-%d, out of send order", reader, i, v, name, prev)
		}
		last[name] = n
	}
	var lost []string
	for _, v := range acked {
		if seen[v] != 1 {
			lost = append(lost, fmt.Sprintf("%s (read %d times)", v, seen[v]))
		}
	}
	if len(lost) > 0 {
		t.Fatalf("%s: %d of %d acknowledged values not read exactly once: %v", reader, len(lost), len(acked), lost[:min(10, len(lost))])
	}
}

// readWithKcat reads partition 0 of topic up to end with kcat, or reports
// false when kcat is not installed and not required.
func readWithKcat(ctx context.Context, t *testing.T, c *clustertest.Cluster, topic string, end int64) ([]string, bool) {
	t.Helper()
	path, err := clustertest.LookKcat(t)
	if err != nil {
		t.Logf("no librdkafka read: %v", err)
		return nil, false
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, "-b", strings.Join(c.Addrs(), ","), "-C", "-t", topic, "-p", "0",
		"-o", "beginning", "-c", strconv.FormatInt(end, 10), "-q", "-f", "%s\n")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("kcat: %v", err)
	}
	return strings.Fields(string(out)), true
}

func newClient(t *testing.T, seeds ...string) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// nodeBroker returns a client connection to nd only.
func nodeBroker(t *testing.T, nd *clustertest.Node) *kgo.Broker {
	return newClient(t, nd.Addr()).SeedBrokers()[0]
}

// partitionInfo is what Metadata says of a partition.
type partitionInfo struct {
	TopicID [16]byte
	Leader  int32
	ISR     []int32
}

// partitionState is partition 0 of topic in nd's metadata.
func partitionState(ctx context.Context, nd *clustertest.Node, topic string) (partitionInfo, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(nd.Addr()))
	if err != nil {
		return partitionInfo{}, err
	}
	defer cl.Close()
	req := kmsg.NewPtrMetadataRequest()
	rt := kmsg.NewMetadataRequestTopic()
	rt.Topic = kmsg.StringPtr(topic)
	req.Topics = append(req.Topics, rt)
	resp, err := cl.SeedBrokers()[0].Request(ctx, req)
	if err != nil {
		return partitionInfo{}, err
	}
	md := resp.(*kmsg.MetadataResponse)
	if len(md.Topics) != 1 || len(md.Topics[0].Partitions) != 1 {
		return partitionInfo{}, errors.New("no partition 0 in the metadata")
	}
	p := md.Topics[0].Partitions[0]
	return partitionInfo{TopicID: md.Topics[0].TopicID, Leader: p.Leader, ISR: p.ISR}, kerr.ErrorForCode(p.ErrorCode)
}

// produceOne sends one acks=all record for partition 0 of topic to nd and
// returns the partition's error code.
func produceOne(ctx context.Context, t *testing.T, nd *clustertest.Node, topic string) int16 {
	t.Helper()
	req := kmsg.NewPtrProduceRequest()
	req.Acks, req.TimeoutMillis = -1, 5000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic, rt.TopicID = topic, topicID(ctx, t, nd, topic)
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Records = oneRecordBatch()
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := nodeBroker(t, nd).Request(ctx, req)
	if err != nil {
		t.Fatalf("produce to node %d: %v", nd.ID, err)
	}
	return resp.(*kmsg.ProduceResponse).Topics[0].Partitions[0].ErrorCode
}

// fetchOne fetches partition 0 of topic from offset 0 at nd and returns
// the partition's error code.
func fetchOne(ctx context.Context, t *testing.T, nd *clustertest.Node, topic string) int16 {
	t.Helper()
	req := kmsg.NewPtrFetchRequest()
	req.ReplicaID, req.MaxBytes = -1, 1<<20
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic, rt.TopicID = topic, topicID(ctx, t, nd, topic)
	rp := kmsg.NewFetchRequestTopicPartition()
	rp.PartitionMaxBytes = 1 << 20
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := nodeBroker(t, nd).Request(ctx, req)
	if err != nil {
		t.Fatalf("fetch from node %d: %v", nd.ID, err)
	}
	return resp.(*kmsg.FetchResponse).Topics[0].Partitions[0].ErrorCode
}

// topicID is topic's id in nd's metadata: Produce and Fetch name topics
// by id from v13.
func topicID(ctx context.Context, t *testing.T, nd *clustertest.Node, topic string) [16]byte {
	t.Helper()
	p, err := partitionState(ctx, nd, topic)
	if p.TopicID == [16]byte{} {
		t.Fatalf("no id for %s at node %d: %v", topic, nd.ID, err)
	}
	return p.TopicID
}

// oneRecordBatch is a v2 record batch of one record.
func oneRecordBatch() []byte {
	return recordbatch.Build(recordbatch.BuildSpec{ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1,
		BaseTimestamp: time.Now().UnixMilli(), Records: []recordbatch.Record{{Value: []byte("probe")}}})
}
