package checker

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// begin records that transactional producer session began txn.
func (b *builder) begin(session int, txn string) { b.r.BeginTxn(session, session, txn) }

// txnSent records a send of value to partition inside txn, acknowledged at
// offset.
func (b *builder) txnSent(session int, txn string, partition int32, value string, offset int64) {
	b.r.SendOK(b.r.InvokeTxnSend(session, session, txn, partition, value), offset)
}

// end records a commit (commit true) or an abort of txn completing as typ.
func (b *builder) end(session int, txn string, commit bool, typ Type) {
	id := b.r.InvokeEndTxn(session, session, txn, commit)
	switch typ {
	case OK:
		b.r.EndTxnOK(id)
	case Fail:
		b.r.EndTxnFail(id, errors.New("OPERATION_NOT_ATTEMPTED"))
	case Info:
		b.r.EndTxnInfo(id, errors.New("i/o timeout"))
	}
}

// rcPolled records one read_committed poll of session returning records.
func (b *builder) rcPolled(session int, records ...Record) {
	b.r.PollOK(b.r.InvokeReadCommittedPoll(session, session), records)
}

// reads are the final reads: the read_uncommitted one of uncommitted and
// the read_committed one of committed.
func reads(uncommitted, committed []Record) FinalReads {
	return FinalReads{Uncommitted: final(uncommitted...), Committed: final(committed...)}
}

// TestTxnCleanHistory: a non-transactional producer and a transactional one
// whose transactions span two partitions: one committed, one aborted on
// purpose, one whose commit had an unknown outcome and took effect, one
// whose commit had an unknown outcome and did not, one whose commit failed
// and was aborted. A read_uncommitted session reads everything; a
// read_committed session and a read_committed group skip what was not
// committed (markers take offsets, which hold no value). The final reads
// agree. Two transactions write two partitions in opposite orders, a write
// cycle (G0), which Kafka's model allows. No anomaly.
func TestTxnCleanHistory(t *testing.T) {
	b := newBuilder()
	b.assign(10, 0, 1)
	b.r.Assign(11, 11, []Assigned{{Partition: 0, From: 0}, {Partition: 1, From: 0}})
	b.sent(1, 0, "n0", 0)
	b.begin(2, "t1")
	b.txnSent(2, "t1", 0, "a0", 1)
	b.txnSent(2, "t1", 1, "a1", 0)
	b.end(2, "t1", true, OK) // markers at p0@2, p1@1
	b.begin(2, "t2")
	b.txnSent(2, "t2", 0, "b0", 3)
	b.txnSent(2, "t2", 1, "b1", 2)
	b.polled(10, rec(0, 0, "n0"), rec(0, 1, "a0"), rec(0, 3, "b0"), rec(1, 0, "a1"), rec(1, 2, "b1"))
	b.end(2, "t2", false, OK) // markers at p0@4, p1@3
	b.rcPolled(11, rec(0, 0, "n0"), rec(0, 1, "a0"), rec(1, 0, "a1"))
	b.begin(2, "t3")
	b.txnSent(2, "t3", 0, "c0", 5)
	b.txnSent(2, "t3", 1, "c1", 4)
	b.end(2, "t3", true, Info) // took effect: markers at p0@6, p1@5
	b.begin(2, "t4")
	b.txnSent(2, "t4", 0, "d0", 7)
	b.txnSent(2, "t4", 1, "d1", 6)
	b.end(2, "t4", true, Info) // did not: aborted by the next producer epoch
	b.end(2, "t4", false, OK)  // markers at p0@8, p1@7
	b.begin(2, "t5")
	b.txnSent(2, "t5", 0, "e0", 9)
	b.end(2, "t5", true, Fail)
	b.end(2, "t5", false, OK) // marker at p0@10
	// The write cycle: t6 writes p0 before t7, t7 writes p1 before t6.
	b.begin(3, "t6")
	b.begin(4, "t7")
	b.txnSent(3, "t6", 0, "f0", 11)
	b.txnSent(4, "t7", 1, "g1", 8)
	b.txnSent(4, "t7", 0, "g0", 12)
	b.txnSent(3, "t6", 1, "f1", 9)
	b.end(3, "t6", true, OK)
	b.end(4, "t7", true, OK) // markers at p0@13, 14 and p1@10, 11
	b.polled(10, rec(0, 5, "c0"), rec(0, 7, "d0"), rec(0, 9, "e0"), rec(0, 11, "f0"), rec(0, 12, "g0"),
		rec(1, 4, "c1"), rec(1, 6, "d1"), rec(1, 8, "g1"), rec(1, 9, "f1"))
	b.rcPolled(11, rec(0, 5, "c0"), rec(0, 11, "f0"), rec(0, 12, "g0"), rec(1, 4, "c1"), rec(1, 8, "g1"), rec(1, 9, "f1"))
	// A read_committed group member: it skips what was not committed and
	// commits past it.
	b.groupAssign(20, "g", 0)
	b.rcPolled(20, rec(0, 0, "n0"), rec(0, 1, "a0"), rec(0, 5, "c0"), rec(0, 11, "f0"), rec(0, 12, "g0"))
	b.committed(20, "g", 0, 15)
	uncommitted := []Record{rec(0, 0, "n0"), rec(0, 1, "a0"), rec(0, 3, "b0"), rec(0, 5, "c0"), rec(0, 7, "d0"),
		rec(0, 9, "e0"), rec(0, 11, "f0"), rec(0, 12, "g0"),
		rec(1, 0, "a1"), rec(1, 2, "b1"), rec(1, 4, "c1"), rec(1, 6, "d1"), rec(1, 8, "g1"), rec(1, 9, "f1")}
	committed := []Record{rec(0, 0, "n0"), rec(0, 1, "a0"), rec(0, 5, "c0"), rec(0, 11, "f0"), rec(0, 12, "g0"),
		rec(1, 0, "a1"), rec(1, 4, "c1"), rec(1, 8, "g1"), rec(1, 9, "f1")}
	r := CheckReads(b.r.History(), reads(uncommitted, committed))
	expect(t, r)
	if r.Unseen != 0 {
		t.Fatalf("unseen %d, want 0: %v", r.Unseen, r.UnseenExamples)
	}
	st := r.Stats
	if st.Transactions != 7 || st.TxnCommitted != 3 || st.TxnAborted != 2 || st.TxnUnknown != 2 || st.TxnOpen != 0 ||
		st.ReadCommittedPolls != 3 || st.FinalCommittedRecords != 9 || !st.FinalCommittedRead {
		t.Fatalf("stats %+v", st)
	}
	if !strings.Contains(r.Summary(), "7 transactions (3 committed, 2 aborted, 2 unknown, 0 open)") {
		t.Fatalf("summary %q", r.Summary())
	}
}

// TestTxnAbortedRead: read_committed reads of values of transactions that
// cannot have committed, one case each: aborted on purpose (a poll and
// the final read both return it: one example), a commit that failed, and a
// commit of unknown outcome whose values the final read_committed read
// does not hold although a poll returned one.
func TestTxnAbortedRead(t *testing.T) {
	b := newBuilder()
	b.r.Assign(11, 11, []Assigned{{Partition: 0, From: 0}})
	b.begin(2, "t1")
	b.txnSent(2, "t1", 0, "a", 0)
	b.end(2, "t1", false, OK)
	b.begin(2, "t2")
	b.txnSent(2, "t2", 0, "b", 2)
	b.end(2, "t2", true, Fail)
	b.begin(2, "t3")
	b.txnSent(2, "t3", 0, "c", 4)
	b.end(2, "t3", true, Info)
	b.rcPolled(11, rec(0, 0, "a"), rec(0, 2, "b"), rec(0, 4, "c"))
	uncommitted := []Record{rec(0, 0, "a"), rec(0, 2, "b"), rec(0, 4, "c")}
	r := CheckReads(b.r.History(), reads(uncommitted, []Record{rec(0, 0, "a"), rec(0, 2, "b")}))
	expect(t, r, AbortedRead)
	a := r.Anomalies[AbortedRead]
	if a.Count != 3 || a.Examples[0].Value != "a" || a.Examples[1].Value != "b" || a.Examples[2].Value != "c" {
		t.Fatalf("aborted-read %+v, want a, b and c once each", a)
	}
	if d := a.Examples[1].Detail; !strings.Contains(d, "OPERATION_NOT_ATTEMPTED") {
		t.Fatalf("detail %q does not say the commit failed", d)
	}
	if d := a.Examples[2].Detail; !strings.Contains(d, "unknown outcome") {
		t.Fatalf("detail %q", d)
	}
}

// TestTxnPrecommittedRead: a read_committed poll that completed before the
// transaction's commit was invoked, and one returning a value of a
// transaction never ended; a poll invoked before the commit but
// completed after it is no anomaly.
func TestTxnPrecommittedRead(t *testing.T) {
	b := newBuilder()
	b.r.Assign(11, 11, []Assigned{{Partition: 0, From: 0}})
	b.r.Assign(12, 12, []Assigned{{Partition: 0, From: 0}})
	b.begin(2, "t1")
	b.txnSent(2, "t1", 0, "a", 0)
	b.rcPolled(11, rec(0, 0, "a"))
	poll := b.r.InvokeReadCommittedPoll(12, 12)
	b.end(2, "t1", true, OK)
	b.r.PollOK(poll, []Record{rec(0, 0, "a")})
	b.begin(3, "t2")
	b.txnSent(3, "t2", 0, "b", 2)
	b.rcPolled(11, rec(0, 2, "b"))
	r := CheckReads(b.r.History(), FinalReads{})
	expect(t, r, PrecommittedRead)
	a := r.Anomalies[PrecommittedRead]
	if a.Count != 2 || a.Examples[0].Value != "a" || a.Examples[1].Value != "b" ||
		!strings.Contains(a.Examples[0].Detail, "before its commit was invoked") ||
		!strings.Contains(a.Examples[1].Detail, "never committed or aborted") {
		t.Fatalf("precommitted-read %+v", a)
	}
	if r.Stats.TxnOpen != 1 {
		t.Fatalf("stats %+v, want one open transaction", r.Stats)
	}
}

// TestTxnTorn: a transaction whose commit had an unknown outcome is in the
// final read_committed read in part.
func TestTxnTorn(t *testing.T) {
	b := newBuilder()
	b.begin(2, "t1")
	b.txnSent(2, "t1", 0, "a0", 0)
	b.txnSent(2, "t1", 1, "a1", 0)
	b.end(2, "t1", true, Info)
	r := CheckReads(b.r.History(), reads([]Record{rec(0, 0, "a0"), rec(1, 0, "a1")}, []Record{rec(0, 0, "a0")}))
	expect(t, r, TornTransaction)
	if ex := r.Anomalies[TornTransaction].Examples[0]; ex.Partition != 1 || ex.Offset != 0 || ex.Values[0] != "a1" {
		t.Fatalf("torn-transaction example %v, want a1 at p1@0", ex)
	}
}

// TestTxnLostCommit: a transaction whose commit was acknowledged is in the
// final read_committed read not at all (lost-commit), or in part (also
// torn).
func TestTxnLostCommit(t *testing.T) {
	b := newBuilder()
	b.begin(2, "t1")
	b.txnSent(2, "t1", 0, "a0", 0)
	b.txnSent(2, "t1", 1, "a1", 0)
	b.end(2, "t1", true, OK)
	b.begin(2, "t2")
	b.txnSent(2, "t2", 0, "b0", 2)
	b.txnSent(2, "t2", 1, "b1", 2)
	b.end(2, "t2", true, OK)
	uncommitted := []Record{rec(0, 0, "a0"), rec(0, 2, "b0"), rec(1, 0, "a1"), rec(1, 2, "b1")}
	r := CheckReads(b.r.History(), reads(uncommitted, []Record{rec(0, 2, "b0")}))
	expect(t, r, LostCommit, TornTransaction)
	if a := r.Anomalies[LostCommit]; a.Count != 2 || len(a.Examples[0].Values) != 2 || len(a.Examples[1].Values) != 1 {
		t.Fatalf("lost-commit %+v, want t1 with 2 values missing and t2 with 1", a)
	}
	if a := r.Anomalies[TornTransaction]; a.Count != 1 || a.Examples[0].Values[0] != "b1" {
		t.Fatalf("torn-transaction %+v, want t2 only", a)
	}
}

// TestTxnDuplicateInReadCommitted: a committed value at two offsets, as
// both a read_committed poll and the final read_committed read return it.
func TestTxnDuplicateInReadCommitted(t *testing.T) {
	b := newBuilder()
	b.r.Assign(11, 11, []Assigned{{Partition: 0, From: 0}})
	b.begin(2, "t1")
	b.txnSent(2, "t1", 0, "a", 0)
	b.end(2, "t1", true, OK)
	b.rcPolled(11, rec(0, 0, "a"), rec(0, 2, "a"))
	all := []Record{rec(0, 0, "a"), rec(0, 2, "a")}
	expect(t, CheckReads(b.r.History(), reads(all, all)), Duplicate)
}

// TestTxnReadCommittedSkip: a read_committed session returns a committed
// transaction's value in one partition and goes past its value in the
// other: the transaction was not visible as a whole. The skipped value
// was acknowledged before the poll and no poll returned it, so the in-run
// lost-write rule names it as well. Skipping the values of an aborted
// transaction instead is no anomaly.
func TestTxnReadCommittedSkip(t *testing.T) {
	b := newBuilder()
	b.r.Assign(11, 11, []Assigned{{Partition: 0, From: 0}, {Partition: 1, From: 0}})
	b.begin(2, "t1")
	b.txnSent(2, "t1", 0, "a0", 0)
	b.txnSent(2, "t1", 1, "a1", 0)
	b.end(2, "t1", true, OK)
	b.begin(2, "t2")
	b.txnSent(2, "t2", 0, "b0", 2)
	b.txnSent(2, "t2", 1, "b1", 2)
	b.end(2, "t2", false, OK)
	b.sent(1, 0, "n0", 4)
	b.sent(1, 1, "n1", 4)
	b.rcPolled(11, rec(0, 0, "a0"), rec(0, 4, "n0"), rec(1, 4, "n1"))
	r := CheckReads(b.r.History(), FinalReads{})
	expect(t, r, PollSkip, LostWriteInRun)
	if ex := r.Anomalies[PollSkip].Examples[0]; ex.Partition != 1 || !strings.Contains(ex.Detail, "a1 of transaction t1, committed") {
		t.Fatalf("poll-skip %v, want the skip of a1 in partition 1", ex)
	}
	if ex := r.Anomalies[LostWriteInRun].Examples[0]; ex.Value != "a1" {
		t.Fatalf("lost-write-in-run %v, want a1", ex)
	}
}

// TestTxnUnknownNeedsFinalRead: without a final read_committed read, a
// read_committed session may skip the values of a transaction of unknown
// outcome, and the all-or-nothing rules have nothing to check against.
func TestTxnUnknownNeedsFinalRead(t *testing.T) {
	b := newBuilder()
	b.r.Assign(11, 11, []Assigned{{Partition: 0, From: 0}})
	b.begin(2, "t1")
	b.txnSent(2, "t1", 0, "a", 0)
	b.end(2, "t1", true, Info)
	b.sent(1, 0, "n", 2)
	b.rcPolled(11, rec(0, 2, "n"))
	expect(t, CheckReads(b.r.History(), FinalReads{}))
	// With a final read_committed read that holds a, t1 committed: the
	// session skipped it, and lost it in the run.
	r := CheckReads(b.r.History(), reads([]Record{rec(0, 0, "a"), rec(0, 2, "n")}, []Record{rec(0, 0, "a"), rec(0, 2, "n")}))
	expect(t, r, PollSkip, LostWriteInRun)
	if d := r.Anomalies[PollSkip].Examples[0].Detail; !strings.Contains(d, "committed as the final read_committed read shows") {
		t.Fatalf("detail %q", d)
	}
}

// TestTxnFinalCommittedRead: the final read_committed read leaves out a
// value sent outside any transaction, and holds one the final read does
// not.
func TestTxnFinalCommittedRead(t *testing.T) {
	b := newBuilder()
	b.sent(1, 0, "n0", 0)
	b.sent(1, 0, "n1", 1)
	b.r.SendInfo(b.r.InvokeSend(1, 1, 0, "x"), errors.New("timeout"))
	r := CheckReads(b.r.History(), reads([]Record{rec(0, 0, "n0"), rec(0, 1, "n1")},
		[]Record{rec(0, 0, "n0"), rec(0, 2, "x")}))
	expect(t, r, PollSkip, ReadThenLost)
	if ex := r.Anomalies[PollSkip].Examples[0]; ex.Value != "n1" {
		t.Fatalf("poll-skip %v, want n1", ex)
	}
	if ex := r.Anomalies[ReadThenLost].Examples[0]; ex.Value != "x" {
		t.Fatalf("read-then-lost %v, want x", ex)
	}
}

// TestTxnHistoryJSONReplay: the transactional events and read_committed
// polls survive a JSON round trip and check the same.
func TestTxnHistoryJSONReplay(t *testing.T) {
	b := newBuilder()
	b.r.Assign(11, 11, []Assigned{{Partition: 0, From: 0}})
	b.begin(2, "t1")
	b.txnSent(2, "t1", 0, "a", 0)
	b.end(2, "t1", false, Info)
	b.rcPolled(11, rec(0, 0, "a"))
	want := CheckReads(b.r.History(), FinalReads{})
	data, err := json.Marshal(b.r.History())
	if err != nil {
		t.Fatal(err)
	}
	var h History
	if err := json.Unmarshal(data, &h); err != nil {
		t.Fatal(err)
	}
	got := CheckReads(h, FinalReads{})
	expect(t, got, AbortedRead)
	if got.Summary() != want.Summary() || !strings.Contains(string(data), `"kind":"txn-abort"`) ||
		!strings.Contains(string(data), `"read_committed":true`) {
		t.Fatalf("replayed %s, recorded %s\n%s", got.Summary(), want.Summary(), data)
	}
}

// TestTxnReadCommittedGroup: a read_committed group may commit past the
// values of an aborted transaction it never polled, not past a committed
// one's.
func TestTxnReadCommittedGroup(t *testing.T) {
	b := newBuilder()
	b.begin(2, "t1")
	b.txnSent(2, "t1", 0, "a", 0)
	b.end(2, "t1", false, OK)
	b.begin(2, "t2")
	b.txnSent(2, "t2", 0, "b", 2)
	b.end(2, "t2", true, OK)
	b.sent(1, 0, "n", 4)
	b.groupAssign(20, "g", 0)
	b.rcPolled(20, rec(0, 4, "n"))
	b.committed(20, "g", 0, 5)
	all := []Record{rec(0, 0, "a"), rec(0, 2, "b"), rec(0, 4, "n")}
	r := CheckReads(b.r.History(), reads(all, []Record{rec(0, 2, "b"), rec(0, 4, "n")}))
	expect(t, r, GroupSkip)
	if a := r.Anomalies[GroupSkip]; a.Count != 1 || a.Examples[0].Value != "b" {
		t.Fatalf("group-skip %+v, want b only", a)
	}
}
