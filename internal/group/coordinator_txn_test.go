package group

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// memLog is an offsets partition in memory. A transactional append from a
// producer epoch below fencedBelow is refused, as the partition's producer
// state refuses it.
type memLog struct {
	mu          sync.Mutex
	entries     []LogRecord
	fencedBelow map[int64]int16
}

func newMemLog() *memLog { return &memLog{fencedBelow: map[int64]int16{}} }

func (l *memLog) Append(records []Record, txn *Producer) (int64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if txn != nil && txn.Epoch < l.fencedBelow[txn.ID] {
		return 0, fmt.Errorf("appending to the offsets partition: %w", kerr.InvalidProducerEpoch)
	}
	for _, r := range records {
		rec := LogRecord{Offset: int64(len(l.entries)), ProducerID: -1, Key: r.Key, Value: r.Value}
		if txn != nil {
			rec.ProducerID, rec.Transactional = txn.ID, true
		}
		l.entries = append(l.entries, rec)
	}
	return int64(len(l.entries)), nil
}

func (l *memLog) WaitDurable(int64) error { return nil }

func (l *memLog) Load(ctx context.Context, fn func(LogRecord) error) error {
	l.mu.Lock()
	entries := append([]LogRecord(nil), l.entries...)
	l.mu.Unlock()
	for _, rec := range entries {
		if err := fn(rec); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// writeMarker appends pid's marker, as the broker's WriteTxnMarkers does.
func (l *memLog) writeMarker(pid int64, commit bool) int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	offset := int64(len(l.entries))
	l.entries = append(l.entries, LogRecord{Offset: offset, ProducerID: pid, Transactional: true, Marker: true, Commit: commit})
	return offset
}

// stoppedClock never moves and its timers never fire.
type stoppedClock struct{}

func (stoppedClock) Now() time.Time { return time.Unix(1000, 0) }
func (stoppedClock) NewTimer(time.Duration) (<-chan time.Time, func() bool) {
	return nil, func() bool { return true }
}

// startCoordinator runs a coordinator of one offsets partition until the
// test ends, and waits for its goroutine then.
func startCoordinator(t *testing.T) *Coordinator {
	c := New(Options{Config: Config{NumPartitions: 1}, Clock: stoppedClock{}})
	ctx, cancel := context.WithCancel(context.Background())
	go c.Run(ctx)
	t.Cleanup(func() {
		cancel()
		<-c.done
	})
	return c
}

func fetchReq(requireStable bool) *kmsg.OffsetFetchRequest {
	req := kmsg.NewPtrOffsetFetchRequest()
	req.Version, req.RequireStable = 8, requireStable
	req.Groups = []kmsg.OffsetFetchRequestGroup{{Group: "g", Topics: []kmsg.OffsetFetchRequestGroupTopic{{Topic: "t", Partitions: []int32{0}}}}}
	return req
}

// fetch returns t-0's offset and error code, once the partition is loaded:
// an election is applied by the coordinator goroutine in its own time.
func fetch(t *testing.T, c *Coordinator, requireStable bool) (int64, int16) {
	t.Helper()
	for range 100000 {
		resp, err := c.Do(context.Background(), Request{Msg: fetchReq(requireStable)})
		if err != nil {
			t.Fatal(err)
		}
		g := resp.(*kmsg.OffsetFetchResponse).Groups[0]
		if g.ErrorCode == kerr.NotCoordinator.Code {
			continue
		}
		return g.Topics[0].Partitions[0].Offset, g.Topics[0].Partitions[0].ErrorCode
	}
	t.Fatal("partition never loaded")
	return 0, 0
}

func doTxnCommit(t *testing.T, c *Coordinator, epoch int16, offset int64) *kmsg.TxnOffsetCommitResponse {
	t.Helper()
	req := txnReq(4, 7, "", -1, "t", 0, offset)
	req.ProducerEpoch = epoch
	resp, err := c.Do(context.Background(), Request{Msg: req})
	if err != nil {
		t.Fatal(err)
	}
	return resp.(*kmsg.TxnOffsetCommitResponse)
}

func TestCoordinatorTxnOffsetCommit(t *testing.T) {
	c, log := startCoordinator(t), newMemLog()
	c.Elect(0, log)
	fetch(t, c, false)
	log.fencedBelow[7] = 3
	// A fenced epoch: refused as Kafka refuses it, nothing written or
	// pending, and the partition still served.
	resp := doTxnCommit(t, c, 2, 10)
	if got := resp.Topics[0].Partitions[0].ErrorCode; got != kerr.InvalidProducerEpoch.Code {
		t.Fatalf("fenced epoch: %v", kerr.ErrorForCode(got))
	}
	if off, code := fetch(t, c, true); code != 0 || off != -1 || len(log.entries) != 0 {
		t.Fatalf("after a refused commit: offset %d %v, %d entries", off, kerr.ErrorForCode(code), len(log.entries))
	}
	if got := doTxnCommit(t, c, 3, 10).Topics[0].Partitions[0].ErrorCode; got != 0 {
		t.Fatalf("current epoch: %v", kerr.ErrorForCode(got))
	}
	if _, code := fetch(t, c, true); code != kerr.UnstableOffsetCommit.Code {
		t.Fatalf("pending offset with RequireStable: %v", kerr.ErrorForCode(code))
	}
	if err := c.CompleteTransaction(context.Background(), 0, 7, true, log.writeMarker(7, true)); err != nil {
		t.Fatal(err)
	}
	if off, code := fetch(t, c, true); code != 0 || off != 10 {
		t.Fatalf("after the commit marker: %d %v", off, kerr.ErrorForCode(code))
	}
}

// TestCoordinatorCompletionRacesLoad: a marker written while the partition
// is being elected is applied exactly once, whichever the coordinator
// goroutine sees first; a repeated completion of a loaded marker does not
// commit the producer's next transaction.
func TestCoordinatorCompletionRacesLoad(t *testing.T) {
	for i := range 50 {
		c, log := startCoordinator(t), newMemLog()
		if _, err := log.Append([]Record{offsetCommitRecord("g", topicPartition{Topic: "t"}, offsetCommit{Offset: 10})}, &Producer{ID: 7}); err != nil {
			t.Fatal(err)
		}
		marker := log.writeMarker(7, true)
		var wg sync.WaitGroup
		wg.Go(func() { c.Elect(0, log) })
		wg.Go(func() {
			if err := c.CompleteTransaction(context.Background(), 0, 7, true, marker); err != nil {
				t.Error(err)
			}
		})
		wg.Wait()
		if off, code := fetch(t, c, true); code != 0 || off != 10 {
			t.Fatalf("run %d: %d %v", i, off, kerr.ErrorForCode(code))
		}
		if got := doTxnCommit(t, c, 0, 11).Topics[0].Partitions[0].ErrorCode; got != 0 {
			t.Fatal(kerr.ErrorForCode(got))
		}
		if err := c.CompleteTransaction(context.Background(), 0, 7, true, marker); err != nil {
			t.Fatal(err)
		}
		if off, code := fetch(t, c, true); code != kerr.UnstableOffsetCommit.Code {
			t.Fatalf("run %d: the next transaction was ended by an old marker: %d %v", i, off, kerr.ErrorForCode(code))
		}
	}
}

func TestCompleteTransactionStopped(t *testing.T) {
	c := New(Options{Config: Config{NumPartitions: 1}, Clock: stoppedClock{}})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.CompleteTransaction(ctx, 0, 7, true, 0); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled context: %v", err)
	}
	c.Run(ctx)
	if err := c.CompleteTransaction(context.Background(), 0, 7, true, 0); !errors.Is(err, ErrStopped) {
		t.Fatalf("stopped coordinator: %v", err)
	}
}
