package e2e

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// crashAck is one acknowledged record of the crash test: where the broker
// said it stored the value, and in which server generation (number of
// restarts before it) the producer first handed it to the client.
type crashAck struct {
	partition  int32
	offset     int64
	value      string
	generation int64
}

// ackLog collects acknowledgements from producer callbacks and lets the
// test wait for a count of them.
type ackLog struct {
	mu struct {
		sync.Mutex
		acks []crashAck
		errs int
	}
	changed chan struct{} // one pending signal: "the count moved"
}

func newAckLog() *ackLog { return &ackLog{changed: make(chan struct{}, 1)} }

func (l *ackLog) add(a crashAck) {
	l.mu.Lock()
	l.mu.acks = append(l.mu.acks, a)
	l.mu.Unlock()
	select {
	case l.changed <- struct{}{}:
	default:
	}
}

func (l *ackLog) failed() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.mu.errs++
}

func (l *ackLog) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.mu.acks)
}

func (l *ackLog) snapshot() []crashAck {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.mu.acks)
}

// waitFor blocks until at least n acknowledgements arrived.
func (l *ackLog) waitFor(t *testing.T, ctx context.Context, n int) {
	t.Helper()
	for l.count() < n {
		select {
		case <-l.changed:
		case <-ctx.Done():
			t.Fatalf("waiting for %d acknowledgements: have %d: %v", n, l.count(), ctx.Err())
		}
	}
}

// maxOffsets is the highest acknowledged offset per partition.
func maxOffsets(acks []crashAck) map[int32]int64 {
	out := map[int32]int64{}
	for _, a := range acks {
		if o, ok := out[a.partition]; !ok || a.offset > o {
			out[a.partition] = a.offset
		}
	}
	return out
}

// TestCrashKill9WhileProducing kills the broker with SIGKILL three times
// while an idempotent acks=all producer runs, restarts it on the same data
// directory each time, and then checks the log against every
// acknowledgement: fsync before ack means nothing acknowledged is lost.
func TestCrashKill9WhileProducing(t *testing.T) {
	const (
		topic      = "crash"
		partitions = 3
		kills      = 3
		acksPerRun = 400 // acknowledgements to wait for between kills
	)
	s := startServer(t, nil)
	ctx := testContext(t, 4*time.Minute)
	createTopic(t, ctx, newAdmin(t, s.Addr), topic, partitions, nil)

	acks := newAckLog()
	var generation atomic.Int64
	cl := newKgo(t, s.Addr,
		kgo.DefaultProduceTopic(topic),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.MaxBufferedRecords(200),
		kgo.ProducerLinger(0),
		kgo.RetryBackoffFn(func(int) time.Duration { return 50 * time.Millisecond }))

	produceCtx, stopProducing := context.WithCancel(ctx)
	var producer sync.WaitGroup
	producer.Add(1)
	go func() {
		defer producer.Done()
		for i := 0; produceCtx.Err() == nil; i++ {
			gen := generation.Load()
			value := fmt.Sprintf("v%08d", i)
			r := &kgo.Record{Key: fmt.Appendf(nil, "k%02d", i%30), Value: []byte(value)}
			cl.Produce(produceCtx, r, func(r *kgo.Record, err error) {
				if err != nil {
					acks.failed()
					return
				}
				acks.add(crashAck{partition: r.Partition, offset: r.Offset, value: value, generation: gen})
			})
		}
	}()
	t.Cleanup(func() { stopProducing(); producer.Wait() })

	// beforeKill[k] is the highest offset per partition acknowledged before
	// kill k; a record first sent after restart k must land above it.
	var beforeKill []map[int32]int64
	for k := range kills {
		acks.waitFor(t, ctx, (k+1)*acksPerRun)
		s.Kill()
		beforeKill = append(beforeKill, maxOffsets(acks.snapshot()))
		s.Restart(t)
		generation.Store(int64(k + 1))
	}
	acks.waitFor(t, ctx, (kills+1)*acksPerRun+acksPerRun/2)
	stopProducing()
	producer.Wait()
	flushCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := cl.Flush(flushCtx); err != nil {
		t.Fatalf("flush after the last restart: %v", err)
	}

	checkCrashLog(t, ctx, s.Addr, topic, acks.snapshot(), beforeKill)
}

// checkCrashLog reads every partition from the beginning and checks the
// acknowledgements against it.
func checkCrashLog(t *testing.T, ctx context.Context, addr, topic string, acks []crashAck, beforeKill []map[int32]int64) {
	t.Helper()
	end := offsetsOf(t, ctx, newAdmin(t, addr), topic, true)
	logged := consumeKgo(t, ctx, addr, topic, int(sumOffsets(end)))
	byPartition := map[int32][]rec{}
	seen := map[string]rec{}
	for _, r := range logged {
		if prev, dup := seen[r.Value]; dup {
			t.Errorf("value %s stored twice: %d/%d and %d/%d (idempotent retry not deduplicated)", r.Value, prev.Partition, prev.Offset, r.Partition, r.Offset)
		}
		seen[r.Value] = r
		byPartition[r.Partition] = append(byPartition[r.Partition], r)
	}
	for p, rs := range byPartition {
		slices.SortFunc(rs, func(a, b rec) int { return int(a.Offset - b.Offset) })
		for i, r := range rs {
			if r.Offset != int64(i) {
				t.Fatalf("partition %d: offset %d at position %d; offsets not contiguous from 0", p, r.Offset, i)
			}
		}
		if int64(len(rs)) != end[p] {
			t.Errorf("partition %d: read %d records, end offset %d", p, len(rs), end[p])
		}
	}
	t.Logf("%d acknowledged, %d stored, %d kills", len(acks), len(logged), len(beforeKill))
	for _, a := range acks {
		rs := byPartition[a.partition]
		if a.offset < 0 || a.offset >= int64(len(rs)) || rs[a.offset].Value != a.value {
			got := "nothing"
			if a.offset >= 0 && a.offset < int64(len(rs)) {
				got = rs[a.offset].Value
			}
			t.Errorf("acknowledged %s at %d/%d; the log holds %s there (acknowledged write lost)", a.value, a.partition, a.offset, got)
			continue
		}
		if a.generation > 0 {
			if limit, ok := beforeKill[a.generation-1][a.partition]; ok && a.offset <= limit {
				t.Errorf("%s first sent after restart %d got offset %d/%d, not above %d acknowledged before the kill (offset reused)", a.value, a.generation, a.partition, a.offset, limit)
			}
		}
	}
}
