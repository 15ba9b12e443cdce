package txn

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// harness runs a coordinator with one elected partition over fakes.
type harness struct {
	t       *testing.T
	c       *Coordinator
	clock   *fakeClock
	log     *fakeLog
	markers *fakeMarkers
	changed chan struct{}
	nextID  atomic.Int64
	// known, when set, is the partitions that exist.
	known map[TopicPartition]bool
	stop  func()
}

func newHarness(t *testing.T, cfg Config, log *fakeLog) *harness {
	t.Helper()
	h := &harness{t: t, clock: &fakeClock{now: time.UnixMilli(1_700_000_000_000)}, markers: &fakeMarkers{},
		changed: make(chan struct{}, 1)}
	if log == nil {
		log = &fakeLog{}
	}
	h.log = log
	h.log.notify, h.markers.notify = h.poke, h.poke
	h.nextID.Store(1000)
	if cfg.NumPartitions == 0 {
		cfg.NumPartitions = 1
	}
	h.c = New(Options{
		Config:      cfg,
		ProducerIDs: func(context.Context) (int64, error) { return h.nextID.Add(1) - 1, nil },
		Markers:     h.markers,
		OffsetsPartition: func(group string) (TopicPartition, error) {
			return TopicPartition{Topic: "__consumer_offsets", Partition: 7}, nil
		},
		PartitionExists: func(topic string, partition int32) bool {
			return h.known == nil || h.known[TopicPartition{topic, partition}]
		},
		Clock:  h.clock,
		Logger: slog.New(slog.DiscardHandler),
	})
	h.c.onStep = h.poke
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.c.Run(ctx)
	}()
	h.stop = func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("Run did not return after its context ended")
		}
	}
	t.Cleanup(h.stop)
	h.c.Elect(0, 1, h.log)
	h.waitLoaded(0)
	return h
}

func (h *harness) poke() {
	select {
	case h.changed <- struct{}{}:
	default:
	}
}

// waitUntil waits for cond, re-checking it after each change the fakes and
// the coordinator report. The deadline only bounds a failing test.
func (h *harness) waitUntil(what string, cond func() bool) {
	h.t.Helper()
	deadline := time.After(10 * time.Second)
	for !cond() {
		select {
		case <-h.changed:
		case <-deadline:
			h.c.mu.Lock()
			var dump []string
			for _, p := range h.c.mu.partitions {
				for id, m := range p.txns {
					j := "nil"
					if m.job != nil {
						j = fmt.Sprintf("%+v", *m.job)
					}
					dump = append(dump, fmt.Sprintf("%s %v pending=%v job=%s", id, m.cur.state, m.pending != nil, j))
				}
			}
			h.c.mu.Unlock()
			h.clock.mu.Lock()
			dump = append(dump, fmt.Sprintf("now %v timers %d", h.clock.now, len(h.clock.timers)))
			for _, tm := range h.clock.timers {
				dump = append(dump, fmt.Sprintf("timer %v done %v", tm.at, tm.done))
			}
			h.clock.mu.Unlock()
			h.t.Fatalf("timed out waiting for %s: %v", what, dump)
		}
	}
}

func (h *harness) waitLoaded(partition int32) {
	h.t.Helper()
	h.waitUntil("partition loaded", func() bool {
		h.c.mu.Lock()
		defer h.c.mu.Unlock()
		p := h.c.mu.partitions[partition]
		return p != nil && !p.loading
	})
}

func (h *harness) waitState(id string, state kmsg.TransactionState) kmsg.DescribeTransactionsResponseTransactionState {
	h.t.Helper()
	var st kmsg.DescribeTransactionsResponseTransactionState
	h.waitUntil(id+" in "+state.String(), func() bool {
		st = h.describe(id)
		return st.ErrorCode == 0 && st.State == state.String()
	})
	return st
}

func (h *harness) init(id string, version int16, producerID int64, epoch int16) *kmsg.InitProducerIDResponse {
	h.t.Helper()
	req := kmsg.NewPtrInitProducerIDRequest()
	req.Version, req.TransactionalID, req.TransactionTimeoutMillis = version, &id, 60_000
	req.ProducerID, req.ProducerEpoch = producerID, epoch
	return h.c.Handle(context.Background(), req).(*kmsg.InitProducerIDResponse)
}

// begin initializes id and returns its producer id and epoch.
func (h *harness) begin(id string) (int64, int16) {
	h.t.Helper()
	resp := h.init(id, 5, -1, -1)
	if resp.ErrorCode != 0 {
		h.t.Fatalf("InitProducerId(%s): error %d", id, resp.ErrorCode)
	}
	return resp.ProducerID, resp.ProducerEpoch
}

func (h *harness) add(id string, version int16, producerID int64, epoch int16, tps ...TopicPartition) *kmsg.AddPartitionsToTxnResponse {
	h.t.Helper()
	req := kmsg.NewPtrAddPartitionsToTxnRequest()
	req.Version, req.TransactionalID, req.ProducerID, req.ProducerEpoch = version, id, producerID, epoch
	for _, tps := range byTopic(tps) {
		rt := kmsg.NewAddPartitionsToTxnRequestTopic()
		rt.Topic = tps[0].Topic
		for _, tp := range tps {
			rt.Partitions = append(rt.Partitions, tp.Partition)
		}
		req.Topics = append(req.Topics, rt)
	}
	return h.c.Handle(context.Background(), req).(*kmsg.AddPartitionsToTxnResponse)
}

// addCode is the code of a v3 AddPartitionsToTxn, checked to be the same for
// every partition.
func (h *harness) addCode(id string, producerID int64, epoch int16, tps ...TopicPartition) int16 {
	h.t.Helper()
	return oneCode(h.t, h.add(id, 3, producerID, epoch, tps...))
}

func oneCode(t *testing.T, resp *kmsg.AddPartitionsToTxnResponse) int16 {
	t.Helper()
	code := int16(-100)
	for _, rt := range resp.Topics {
		for _, p := range rt.Partitions {
			if code != -100 && p.ErrorCode != code {
				t.Fatalf("partitions answered different codes: %+v", resp.Topics)
			}
			code = p.ErrorCode
		}
	}
	return code
}

func (h *harness) end(id string, version int16, producerID int64, epoch int16, commit bool) *kmsg.EndTxnResponse {
	h.t.Helper()
	req := kmsg.NewPtrEndTxnRequest()
	req.Version, req.TransactionalID, req.ProducerID, req.ProducerEpoch, req.Commit = version, id, producerID, epoch, commit
	return h.c.Handle(context.Background(), req).(*kmsg.EndTxnResponse)
}

func (h *harness) describe(id string) kmsg.DescribeTransactionsResponseTransactionState {
	req := kmsg.NewPtrDescribeTransactionsRequest()
	req.TransactionalIDs = []string{id}
	return h.c.Handle(context.Background(), req).(*kmsg.DescribeTransactionsResponse).TransactionStates[0]
}

func tp(topic string, partition int32) TopicPartition {
	return TopicPartition{Topic: topic, Partition: partition}
}
