package checker

import (
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

// builder writes synthetic histories through a Recorder with a counting
// clock, so tests read like the run they describe.
type builder struct {
	r     *Recorder
	clock time.Duration
}

func newBuilder() *builder {
	b := &builder{}
	b.r = NewRecorder(func() time.Duration { b.clock += time.Millisecond; return b.clock })
	return b
}

// sent records a send of value to partition by session, acknowledged at
// offset before anything else happens.
func (b *builder) sent(session int, partition int32, value string, offset int64) {
	b.r.SendOK(b.r.InvokeSend(session, session, partition, value), offset)
}

// polled records one poll of session returning records.
func (b *builder) polled(session int, records ...Record) {
	b.r.PollOK(b.r.InvokePoll(session, session), records)
}

// assign records that session reads partitions from offset 0.
func (b *builder) assign(session int, partitions ...int32) {
	var as []Assigned
	for _, p := range partitions {
		as = append(as, Assigned{Partition: p, From: 0})
	}
	b.r.Assign(session, session, as)
}

func rec(p int32, o int64, v string) Record { return Record{Partition: p, Offset: o, Value: v} }

// final is a final read from records grouped by their partition.
func final(records ...Record) FinalRead {
	f := FinalRead{}
	for _, r := range records {
		f[r.Partition] = append(f[r.Partition], r)
	}
	return f
}

// expect fails unless the report names exactly the anomalies want.
func expect(t *testing.T, r Report, want ...string) {
	t.Helper()
	slices.Sort(want)
	if got := r.Names(); !slices.Equal(got, want) {
		t.Fatalf("anomalies %v, want %v\n%s\n%s", got, want, r.Summary(), r.Details())
	}
	if r.Valid != (len(want) == 0) {
		t.Fatalf("valid %v with anomalies %v", r.Valid, want)
	}
}

// TestCleanHistory: two producers, two partitions, two consumers (one of
// them reassigned and re-reading from the start), a final read that
// matches: no anomaly, nothing unseen.
func TestCleanHistory(t *testing.T) {
	b := newBuilder()
	b.assign(10, 0, 1)
	b.assign(11, 0, 1)
	b.sent(1, 0, "a", 0)
	b.sent(2, 0, "b", 1)
	b.polled(10, rec(0, 0, "a"))
	b.sent(1, 1, "c", 0)
	b.polled(10, rec(0, 1, "b"), rec(1, 0, "c"))
	// Pipelined sends of one session, acknowledged in order.
	x := b.r.InvokeSend(2, 2, 1, "d")
	y := b.r.InvokeSend(2, 2, 1, "e")
	b.r.SendOK(x, 1)
	b.r.SendOK(y, 2)
	// An info send that landed, and a failed one that did not.
	z := b.r.InvokeSend(1, 1, 0, "f")
	b.r.SendInfo(z, fmt.Errorf("timeout"))
	w := b.r.InvokeSend(1, 1, 0, "g")
	b.r.SendFail(w, fmt.Errorf("MESSAGE_TOO_LARGE"))
	b.polled(11, rec(0, 0, "a"), rec(0, 1, "b"), rec(0, 2, "f"), rec(1, 0, "c"), rec(1, 1, "d"), rec(1, 2, "e"))
	b.polled(10, rec(1, 1, "d"), rec(1, 2, "e"))
	b.assign(10, 0) // a reset: re-reading from the start is no anomaly
	b.polled(10, rec(0, 0, "a"), rec(0, 1, "b"), rec(0, 2, "f"))
	r := Check(b.r.History(), final(rec(0, 0, "a"), rec(0, 1, "b"), rec(0, 2, "f"),
		rec(1, 0, "c"), rec(1, 1, "d"), rec(1, 2, "e")))
	expect(t, r)
	if r.Unseen != 0 {
		t.Fatalf("unseen %d, want 0", r.Unseen)
	}
	want := Stats{Ops: 27, Sends: 7, SendsOK: 5, SendsFailed: 1, SendsInfo: 1, Polls: 5,
		PolledRecords: 14, FinalRecords: 6, FinalRead: true}
	if r.Stats != want {
		t.Fatalf("stats %+v, want %+v", r.Stats, want)
	}
}

func TestInconsistentOffsets(t *testing.T) {
	b := newBuilder()
	b.assign(10, 0)
	x := b.r.InvokeSend(1, 1, 0, "a")
	y := b.r.InvokeSend(2, 2, 0, "b")
	b.r.SendOK(x, 0)
	b.r.SendOK(y, 0) // concurrent with a, so not a realtime-order violation
	b.polled(10, rec(0, 0, "a"))
	expect(t, Check(b.r.History(), nil), InconsistentOffsets)
}

func TestDuplicate(t *testing.T) {
	b := newBuilder()
	b.assign(10, 0)
	b.sent(1, 0, "a", 0)
	b.polled(10, rec(0, 0, "a"), rec(0, 1, "a"))
	expect(t, Check(b.r.History(), final(rec(0, 0, "a"), rec(0, 1, "a"))), Duplicate)
}

func TestMisrouted(t *testing.T) {
	b := newBuilder()
	b.assign(10, 1)
	b.r.SendInfo(b.r.InvokeSend(1, 1, 0, "a"), fmt.Errorf("timeout"))
	b.polled(10, rec(1, 0, "a"))
	expect(t, Check(b.r.History(), final(rec(1, 0, "a"))), Misrouted)
}

func TestUnknownValue(t *testing.T) {
	b := newBuilder()
	b.assign(10, 0)
	b.polled(10, rec(0, 0, "z"))
	expect(t, Check(b.r.History(), final(rec(0, 0, "z"))), UnknownValue)
}

func TestLostWrite(t *testing.T) {
	b := newBuilder()
	b.assign(10, 0)
	b.sent(1, 0, "a", 0)
	b.sent(1, 0, "b", 1)
	b.polled(10, rec(0, 0, "a"))
	r := Check(b.r.History(), final(rec(0, 0, "a")))
	expect(t, r, LostWrite)
	if r.Unseen != 1 {
		t.Fatalf("unseen %d, want 1 (b)", r.Unseen)
	}
}

// TestLostWriteInRun: b was acknowledged before a poll positioned at 0
// returned offset 2; no poll ever returned b. The skip over offset 1 is the
// cause and is reported too, as the package doc says.
func TestLostWriteInRun(t *testing.T) {
	b := newBuilder()
	b.assign(10, 0)
	b.sent(1, 0, "a", 0)
	b.sent(1, 0, "b", 1)
	b.sent(1, 0, "c", 2)
	b.polled(10, rec(0, 0, "a"), rec(0, 2, "c"))
	r := Check(b.r.History(), nil)
	expect(t, r, LostWriteInRun, PollSkip)
	if ex := r.Anomalies[LostWriteInRun].Examples[0]; ex.Value != "b" || ex.Offset != 1 {
		t.Fatalf("lost-write-in-run example %+v, want b at 1", ex)
	}
}

// TestLostWriteInRunNeedsAckBeforePoll: the same skip, but b was
// acknowledged only after the poll began, and a second session never
// positioned: the in-run rule does not apply.
func TestLostWriteInRunNeedsAckBeforePoll(t *testing.T) {
	b := newBuilder()
	b.assign(10, 0)
	b.sent(1, 0, "a", 0)
	x := b.r.InvokeSend(1, 1, 0, "b")
	b.sent(2, 0, "c", 2)
	poll := b.r.InvokePoll(10, 10)
	b.r.SendOK(x, 1)
	b.r.PollOK(poll, []Record{rec(0, 0, "a"), rec(0, 2, "c")})
	b.r.Assign(11, 11, []Assigned{{Partition: 0, From: -1}})
	b.polled(11, rec(0, 2, "c"))
	expect(t, Check(b.r.History(), nil), PollSkip)
}

func TestAbortedRead(t *testing.T) {
	b := newBuilder()
	b.assign(10, 0)
	b.r.SendFail(b.r.InvokeSend(1, 1, 0, "a"), fmt.Errorf("MESSAGE_TOO_LARGE"))
	b.polled(10, rec(0, 0, "a"))
	expect(t, Check(b.r.History(), final(rec(0, 0, "a"))), AbortedRead)
}

func TestReadThenLost(t *testing.T) {
	b := newBuilder()
	b.assign(10, 0)
	b.r.SendInfo(b.r.InvokeSend(1, 1, 0, "a"), fmt.Errorf("timeout"))
	b.polled(10, rec(0, 0, "a"))
	expect(t, Check(b.r.History(), FinalRead{0: nil}), ReadThenLost)
}

func TestNonmonotonicPoll(t *testing.T) {
	b := newBuilder()
	b.assign(10, 0)
	b.sent(1, 0, "a", 0)
	b.sent(1, 0, "b", 1)
	b.polled(10, rec(0, 0, "a"), rec(0, 1, "b"))
	b.polled(10, rec(0, 1, "b"))
	expect(t, Check(b.r.History(), final(rec(0, 0, "a"), rec(0, 1, "b"))), NonmonotonicPoll)
}

func TestPollSkip(t *testing.T) {
	b := newBuilder()
	b.assign(10, 0)
	b.assign(11, 0)
	b.sent(1, 0, "a", 0)
	b.sent(1, 0, "b", 1)
	b.sent(1, 0, "c", 2)
	b.polled(11, rec(0, 0, "a"), rec(0, 1, "b"), rec(0, 2, "c"))
	b.polled(10, rec(0, 0, "a"), rec(0, 2, "c"))
	expect(t, Check(b.r.History(), final(rec(0, 0, "a"), rec(0, 1, "b"), rec(0, 2, "c"))), PollSkip)
}

func TestNonmonotonicSend(t *testing.T) {
	b := newBuilder()
	b.assign(10, 0)
	x := b.r.InvokeSend(1, 1, 0, "a")
	y := b.r.InvokeSend(1, 1, 0, "b")
	b.r.SendOK(x, 1)
	b.r.SendOK(y, 0)
	b.polled(10, rec(0, 0, "b"), rec(0, 1, "a"))
	expect(t, Check(b.r.History(), final(rec(0, 0, "b"), rec(0, 1, "a"))), NonmonotonicSend)
}

func TestRealtimeOrder(t *testing.T) {
	b := newBuilder()
	b.assign(10, 0)
	b.sent(1, 0, "a", 1)
	b.sent(2, 0, "b", 0) // invoked after a was acknowledged, yet below it
	b.polled(10, rec(0, 0, "b"), rec(0, 1, "a"))
	expect(t, Check(b.r.History(), final(rec(0, 0, "b"), rec(0, 1, "a"))), RealtimeOrder)
}

// TestExamplesCappedAndJSON: counts are exact, examples stop at
// MaxExamples, and the report encodes as JSON.
func TestExamplesCappedAndJSON(t *testing.T) {
	b := newBuilder()
	b.assign(10, 0)
	var fin []Record
	for i := range 40 {
		v := fmt.Sprintf("v%d", i)
		b.sent(1, 0, v, int64(i))
		b.polled(10, rec(0, int64(i), v), rec(0, int64(100+i), v))
		fin = append(fin, rec(0, int64(i), v))
	}
	for i := range 40 {
		fin = append(fin, rec(0, int64(100+i), fmt.Sprintf("v%d", i)))
	}
	r := Check(b.r.History(), final(fin...))
	expect(t, r, Duplicate, NonmonotonicPoll, PollSkip)
	if a := r.Anomalies[Duplicate]; a.Count != 40 || len(a.Examples) != MaxExamples {
		t.Fatalf("duplicate count %d with %d examples, want 40 and %d", a.Count, len(a.Examples), MaxExamples)
	}
	data, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatalf("%v in %s", err, data)
	}
	if back.Count(Duplicate) != 40 || back.Valid {
		t.Fatalf("decoded report %+v", back)
	}
}

// TestHistoryJSONReplay: a saved history and final read decode to the
// same report, so a failed run can be replayed offline.
func TestHistoryJSONReplay(t *testing.T) {
	b := newBuilder()
	b.assign(10, 0)
	b.sent(1, 0, "a", 0)
	b.r.SendInfo(b.r.InvokeSend(1, 1, 0, "b"), fmt.Errorf("timeout"))
	b.r.Revoke(10, 10, []int32{0})
	b.polled(10, rec(0, 1, "a"))
	fin := final(rec(0, 0, "a"))
	want := Check(b.r.History(), fin)
	hist, err := json.Marshal(b.r.History())
	if err != nil {
		t.Fatal(err)
	}
	finData, err := json.Marshal(fin)
	if err != nil {
		t.Fatal(err)
	}
	var h History
	var f FinalRead
	if err := json.Unmarshal(hist, &h); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(finData, &f); err != nil {
		t.Fatal(err)
	}
	got := Check(h, f)
	expect(t, got, Duplicate, ReadThenLost)
	if got.Summary() != want.Summary() {
		t.Fatalf("replayed %s, recorded %s", got.Summary(), want.Summary())
	}
	var bad Type
	if err := bad.UnmarshalText([]byte("maybe")); err == nil {
		t.Fatal("an unknown type name decoded")
	}
}

// TestRecorderConcurrent: producers and consumers record at once; every
// completion follows its invoke and the history checks clean.
func TestRecorderConcurrent(t *testing.T) {
	r := NewRecorder(nil)
	const producers, perProducer = 4, 500
	var mu sync.Mutex
	next := int64(0) // the broker: one partition, offsets in ack order
	var wg sync.WaitGroup
	for p := range producers {
		wg.Go(func() {
			for i := range perProducer {
				id := r.InvokeSend(p, p, 0, fmt.Sprintf("%d-%d", p, i))
				mu.Lock()
				o := next
				next++
				r.SendOK(id, o)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	h := r.History()
	if len(h) != 2*producers*perProducer {
		t.Fatalf("%d events, want %d", len(h), 2*producers*perProducer)
	}
	rep := Check(h, nil)
	expect(t, rep)
	if rep.Stats.SendsOK != producers*perProducer {
		t.Fatalf("stats %+v", rep.Stats)
	}
}

func TestCompletingTwicePanics(t *testing.T) {
	r := NewRecorder(nil)
	id := r.InvokeSend(1, 1, 0, "a")
	r.SendOK(id, 0)
	defer func() {
		if recover() == nil {
			t.Fatal("a second completion of one send did not panic")
		}
	}()
	r.SendInfo(id, nil)
}

// largeHistory is a clean run: producers pipelining sends to partitions,
// two consumers polling batches, and the matching final read.
func largeHistory(sends int) (History, FinalRead) {
	b := newBuilder()
	const partitions, producers = 3, 2
	b.assign(10, 0, 1, 2)
	b.assign(11, 0, 1, 2)
	next := make([]int64, partitions)
	fin := FinalRead{}
	var batch []Record
	for i := range sends {
		p := int32(i % partitions)
		v := fmt.Sprintf("%d", i)
		b.sent(1+i%producers, p, v, next[p])
		r := rec(p, next[p], v)
		next[p]++
		fin[p] = append(fin[p], r)
		batch = append(batch, r)
		if len(batch) == 30 {
			b.polled(10, batch...)
			b.polled(11, batch...)
			batch = nil
		}
	}
	b.polled(10, batch...)
	b.polled(11, batch...)
	return b.r.History(), fin
}

func TestLargeHistory(t *testing.T) {
	h, fin := largeHistory(50_000)
	r := Check(h, fin)
	expect(t, r)
	if r.Stats.Ops < 100_000 || r.Unseen != 0 {
		t.Fatalf("%s", r.Summary())
	}
}

func BenchmarkCheck(b *testing.B) {
	h, fin := largeHistory(50_000)
	b.ReportAllocs()
	for b.Loop() {
		Check(h, fin)
	}
}
