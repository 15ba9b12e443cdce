package e2e

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/fjordhq/fjord/internal/checker"
)

// What TestTxnChain watches while the chain runs: a read_committed
// consumer on every topic (the input's polls go into the checker history)
// and each stage group's committed offsets.

// chainRecord is one record of a chain topic as a reader saw it.
type chainRecord struct {
	Partition int32  `json:"p"`
	Offset    int64  `json:"o"`
	Value     string `json:"v,omitempty"`
	// Txn is the copier transaction that wrote it (its last txnHeader).
	Txn           string `json:"txn,omitempty"`
	ProducerID    int64  `json:"pid"`
	ProducerEpoch int16  `json:"epoch"`
	LeaderEpoch   int32  `json:"leader_epoch"` // of its batch
	Transactional bool   `json:"transactional,omitempty"`
	// Control is "commit" or "abort" for a transaction marker.
	Control string `json:"control,omitempty"`
	// Read is when a monitor's poll returned it (zero for final reads).
	Read time.Time `json:"read,omitzero"`
}

func chainRecordFromKgo(r *kgo.Record) chainRecord {
	cr := chainRecord{Partition: r.Partition, Offset: r.Offset, Value: string(r.Value), ProducerID: r.ProducerID,
		ProducerEpoch: r.ProducerEpoch, LeaderEpoch: r.LeaderEpoch, Transactional: r.Attrs.IsTransactional()}
	for _, h := range r.Headers {
		if h.Key == txnHeader {
			cr.Txn = string(h.Value)
		}
	}
	if r.Attrs.IsControl() {
		cr.Value = ""
		// The key of a control record: version (int16), type (int16):
		// 0 abort, 1 commit.
		switch {
		case len(r.Key) >= 4 && binary.BigEndian.Uint16(r.Key[2:]) == 1:
			cr.Control = "commit"
		case len(r.Key) >= 4 && binary.BigEndian.Uint16(r.Key[2:]) == 0:
			cr.Control = "abort"
		default:
			cr.Control = fmt.Sprintf("unknown key %x", r.Key)
		}
	}
	return cr
}

// topicMonitor reads one topic read_committed from the start for the
// whole run, as one consumer session.
type topicMonitor struct {
	topic string
	grew  chan struct{} // signalled (not closed) when records arrive

	mu     sync.Mutex
	seen   []chainRecord
	maxSeq map[int32]int  // per partition, the latest input sequence number read
	resets []monitorReset // client resets after detected data loss
	errs   []string       // first fetch errors
}

// reached reports whether the monitor read, in every partition, a value
// the input produced at sequence number seq or later; if not, it says
// where it stands.
func (m *topicMonitor) reached(seq int) (bool, string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for p := range int32(txnChainPartitions) {
		if got, ok := m.maxSeq[p]; !ok || got < seq {
			return false, fmt.Sprintf("%s partition %d at input sequence %d of %d", m.topic, p, got, seq)
		}
	}
	return true, ""
}

func (m *topicMonitor) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.seen)
}

// monitorReset is a client reset after kgo detected a data loss
// (kgo.ErrDataLoss): OffsetForLeaderEpoch said the log at the last
// consumed leader epoch ends below the consumed offset.
type monitorReset struct {
	Partition  int32  `json:"p"`
	ConsumedTo int64  `json:"consumed_to"`
	ResetTo    int64  `json:"reset_to"`
	Seen       int    `json:"seen"` // records the monitor had read before it
	Err        string `json:"err"`
}

// snapshot returns what the monitor read so far and its resets.
func (m *topicMonitor) snapshot() ([]chainRecord, []monitorReset) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]chainRecord(nil), m.seen...), append([]monitorReset(nil), m.resets...)
}

// monitorSession is the input monitor's session in the checker history.
const monitorSession = consumerSessionBase + 1

// startTopicMonitors starts one monitor per chain topic, stopped when the
// test ends; the input's records its polls as h's.
func startTopicMonitors(t *testing.T, ctx context.Context, addrs []string, h *history) []*topicMonitor {
	t.Helper()
	monCtx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	var out []*topicMonitor
	for stage := 0; stage <= txnChainStages; stage++ {
		m := &topicMonitor{topic: txnChainTopic(stage), grew: make(chan struct{}, 1), maxSeq: map[int32]int{}}
		offsets := map[int32]kgo.Offset{}
		var assigned []checker.Assigned
		for p := range int32(txnChainPartitions) {
			offsets[p] = kgo.NewOffset().AtStart()
			assigned = append(assigned, checker.Assigned{Partition: p, From: 0})
		}
		cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...),
			kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{m.topic: offsets}),
			kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.FetchMaxWait(200*time.Millisecond),
			kgo.MetadataMinAge(100*time.Millisecond), kgo.RequestTimeoutOverhead(clientRequestTimeout))
		if err != nil {
			t.Fatalf("monitor of %s: %v", m.topic, err)
		}
		var rec *checker.Recorder
		if stage == 0 {
			rec = h.rec
			rec.Assign(monitorSession, monitorSession, assigned)
		}
		out = append(out, m)
		wg.Go(func() {
			defer cl.Close()
			m.run(monCtx, cl, rec)
		})
	}
	return out
}

// run polls until ctx ends; rec, when not nil, records the polls.
func (m *topicMonitor) run(ctx context.Context, cl *kgo.Client, rec *checker.Recorder) {
	for ctx.Err() == nil {
		var id int64
		if rec != nil {
			id = rec.InvokePoll(monitorSession, monitorSession)
		}
		fetches := cl.PollFetches(ctx)
		returned := time.Now()
		var records []checker.Record
		m.mu.Lock()
		fetches.EachRecord(func(r *kgo.Record) {
			cr := chainRecordFromKgo(r)
			cr.Read = returned
			m.seen = append(m.seen, cr)
			if seq, ok := inputSequence(string(r.Value)); ok {
				m.maxSeq[r.Partition] = max(m.maxSeq[r.Partition], seq)
			}
			records = append(records, checker.Record{Partition: r.Partition, Offset: r.Offset, Value: string(r.Value)})
		})
		fetches.EachError(func(_ string, p int32, err error) {
			var loss *kgo.ErrDataLoss
			switch {
			case errors.As(err, &loss):
				m.resets = append(m.resets, monitorReset{Partition: p, ConsumedTo: loss.ConsumedTo, ResetTo: loss.ResetTo,
					Seen: len(m.seen), Err: err.Error()})
				if rec != nil {
					rec.Assign(monitorSession, monitorSession, []checker.Assigned{{Partition: p, From: loss.ResetTo}})
				}
			case ctx.Err() != nil:
			case len(m.errs) < 10:
				m.errs = append(m.errs, fmt.Sprintf("partition %d: %v", p, err))
			}
		})
		m.mu.Unlock()
		if rec != nil {
			rec.PollOK(id, records)
		}
		if len(records) > 0 {
			select {
			case m.grew <- struct{}{}:
			default:
			}
		}
	}
}

// inputSequence is the input producer's sequence number of a chain value:
// "k07-000012" is the 13th value of key 7, sent as number 12*txnChainKeys+7.
func inputSequence(v string) (int, bool) {
	var key, n int
	if _, err := fmt.Sscanf(v, "k%02d-%06d", &key, &n); err != nil {
		return 0, false
	}
	return n*txnChainKeys + key, true
}

// offsetSampler reads every stage group's committed offsets over the run,
// to check that they never go backwards.
type offsetSampler struct {
	mu        sync.Mutex
	samples   []offsetSample
	backwards []string
	last      map[string]map[int32]int64 // group -> partition -> offset
}

// offsetSample is one group's committed offsets at one time.
type offsetSample struct {
	At      time.Duration   `json:"at"`
	Group   string          `json:"group"`
	Offsets map[int32]int64 `json:"offsets"`
}

// offsetSampleInterval spaces the samples: frequent enough to see most
// commits' effect, cheap for the coordinators.
const offsetSampleInterval = 250 * time.Millisecond

func startOffsetSampler(t *testing.T, ctx context.Context, adm *kadm.Client, prefix string) *offsetSampler {
	t.Helper()
	s := &offsetSampler{last: map[string]map[int32]int64{}}
	sampleCtx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	began := time.Now()
	wg.Go(func() {
		ticker := time.NewTicker(offsetSampleInterval)
		defer ticker.Stop()
		for {
			for stage := 1; stage <= txnChainStages; stage++ {
				s.sample(sampleCtx, adm, chainGroup(prefix, stage), txnChainTopic(stage-1), time.Since(began))
			}
			select {
			case <-sampleCtx.Done():
				return
			case <-ticker.C:
			}
		}
	})
	return s
}

func (s *offsetSampler) sample(ctx context.Context, adm *kadm.Client, group, topic string, at time.Duration) {
	reqCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	resp, err := adm.FetchOffsets(reqCtx, group)
	if err != nil {
		return // coordinator moving or down: the next sample will do
	}
	offsets := map[int32]int64{}
	for p, o := range resp[topic] {
		if o.Err == nil {
			offsets[p] = o.At
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.samples = append(s.samples, offsetSample{At: at, Group: group, Offsets: offsets})
	last := s.last[group]
	if last == nil {
		last = map[int32]int64{}
		s.last[group] = last
	}
	for p, o := range offsets {
		if prev, ok := last[p]; ok && o < prev && len(s.backwards) < 10 {
			s.backwards = append(s.backwards, fmt.Sprintf("group %s partition %d: committed offset %d after %d (at %v)", group, p, o, prev, at))
		}
		last[p] = max(last[p], o)
	}
}

func (s *offsetSampler) snapshot() ([]offsetSample, []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]offsetSample(nil), s.samples...), append([]string(nil), s.backwards...)
}
