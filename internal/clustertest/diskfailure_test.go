package clustertest_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

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
	adm := kadm.NewClient(cl)
	const topic = "disk"
	resp, err := adm.CreateTopic(ctx, 1, 3, map[string]*string{"min.insync.replicas": kadm.StringPtr("2")}, topic)
	if err != nil || resp.Err != nil {
		t.Fatalf("create topic: %v %v", err, resp.Err)
	}
	var leader int32
	eventually(t, ctx, "a leader with a full ISR", func() (bool, string) {
		p, err := partitionState(ctx, c.Nodes[0], topic)
		leader = p.Leader
		return err == nil && p.Leader >= 0 && len(p.ISR) == 3, fmt.Sprintf("%+v %v", p, err)
	})

	load := startLoad(ctx, cl, topic)
	load.waitAcked(t, ctx, 300)

	failed := c.Node(leader)
	failed.FS.SetInjector(func(vfs.Op, string) error { return syscall.EIO })
	t.Logf("node %d's disk fails after %d acknowledged records", leader, load.ackedCount())
	other := c.Nodes[leader%3] // another node
	moveCtx, moveCancel := context.WithTimeout(ctx, 30*time.Second)
	defer moveCancel()
	eventually(t, moveCtx, "leadership moved off the failed disk and its ISR shrunk", func() (bool, string) {
		p, err := partitionState(ctx, other, topic)
		return err == nil && p.Leader >= 0 && p.Leader != leader && !slices.Contains(p.ISR, leader),
			fmt.Sprintf("%+v %v", p, err)
	})
	if !strings.Contains(failed.Log(), "log directory failed") {
		t.Errorf("node %d did not log its log directory failure", leader)
	}
	moved := load.ackedCount()
	load.waitAcked(t, ctx, moved+300)

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
	eventually(t, ctx, "the restarted node back in the ISR", func() (bool, string) {
		p, err := partitionState(ctx, other, topic)
		return err == nil && len(p.ISR) == 3, fmt.Sprintf("%+v %v", p, err)
	})
	load.waitAcked(t, ctx, load.ackedCount()+100)
	acked := load.stop(t)

	checkAllAcked(ctx, t, c, topic, acked)
}

// load produces numbered records with acks=all, one at a time in flight
// per batch of 10, recording every acknowledged number.
type load struct {
	cancel context.CancelFunc
	done   chan struct{}
	mu     sync.Mutex
	acked  []int
	cond   chan struct{} // closed and replaced on every acknowledgement
}

func startLoad(parent context.Context, cl *kgo.Client, topic string) *load {
	ctx, cancel := context.WithCancel(parent)
	l := &load{cancel: cancel, done: make(chan struct{}), cond: make(chan struct{})}
	go func() {
		defer close(l.done)
		for next := 0; ctx.Err() == nil; next += 10 {
			var recs []*kgo.Record
			for i := range 10 {
				recs = append(recs, &kgo.Record{Topic: topic, Value: []byte(strconv.Itoa(next + i))})
			}
			for _, r := range cl.ProduceSync(ctx, recs...) {
				if r.Err != nil {
					continue
				}
				n, _ := strconv.Atoi(string(r.Record.Value))
				l.mu.Lock()
				l.acked = append(l.acked, n)
				close(l.cond)
				l.cond = make(chan struct{})
				l.mu.Unlock()
			}
		}
	}()
	return l
}

func (l *load) ackedCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.acked)
}

// waitAcked waits until n records are acknowledged.
func (l *load) waitAcked(t *testing.T, ctx context.Context, n int) {
	t.Helper()
	for {
		l.mu.Lock()
		got, cond := len(l.acked), l.cond
		l.mu.Unlock()
		if got >= n {
			return
		}
		select {
		case <-cond:
		case <-ctx.Done():
			t.Fatalf("%d of %d records acknowledged before the deadline", got, n)
		}
	}
}

// stop stops producing and returns the acknowledged numbers.
func (l *load) stop(t *testing.T) []int {
	l.cancel()
	<-l.done
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.acked)
}

// checkAllAcked reads the partition from its start to its high watermark
// and checks that every acknowledged number is there exactly once, and
// that the numbers are in the order they were sent.
func checkAllAcked(ctx context.Context, t *testing.T, c *clustertest.Cluster, topic string, acked []int) {
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
	seen := map[int]int{}
	last := -1
	for next := int64(0); next < end.Offset; {
		fetches := cons.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("final read stopped at offset %d of %d: %v", next, end.Offset, ctx.Err())
		}
		fetches.EachError(func(_ string, _ int32, err error) { t.Logf("final read: %v", err) })
		fetches.EachRecord(func(r *kgo.Record) {
			n, err := strconv.Atoi(string(r.Value))
			if err != nil {
				t.Fatalf("offset %d: value %q", r.Offset, r.Value)
			}
			seen[n]++
			if n < last {
				t.Errorf("offset %d: %d after %d, out of send order", r.Offset, n, last)
			}
			last = max(last, n)
			next = r.Offset + 1
		})
	}
	var lost []int
	for _, n := range acked {
		if seen[n] != 1 {
			lost = append(lost, n)
		}
	}
	if len(lost) > 0 {
		t.Fatalf("%d of %d acknowledged records not read exactly once (first: %v)", len(lost), len(acked), lost[:min(10, len(lost))])
	}
	t.Logf("%d acknowledged records, %d records read up to the high watermark %d", len(acked), len(seen), end.Offset)
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

func eventually(t *testing.T, ctx context.Context, what string, cond func() (bool, string)) {
	t.Helper()
	ticker := time.NewTicker(50 * time.Millisecond)
	defer ticker.Stop()
	last := ""
	for {
		ok, desc := cond()
		if ok {
			return
		}
		last = desc
		select {
		case <-ctx.Done():
			t.Fatalf("%s: not reached before the deadline; last: %s", what, last)
		case <-ticker.C:
		}
	}
}
