package checker

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// fate is what the history says of how a transaction ended.
type fate uint8

const (
	// fateOpen: neither a commit nor an abort was invoked.
	fateOpen fate = iota
	// fateAborted: no commit that may have taken effect was invoked (an
	// abort was, or every commit failed), so the transaction cannot have
	// committed.
	fateAborted
	// fateUnknown: a commit was invoked and not acknowledged, and did not
	// surely fail.
	fateUnknown
	// fateCommitted: a commit was acknowledged.
	fateCommitted
)

var fateNames = [...]string{fateOpen: "open", fateAborted: "aborted", fateUnknown: "unknown outcome",
	fateCommitted: "committed"}

func (f fate) String() string { return fateNames[f] }

// verdict is a three-valued answer.
type verdict uint8

const (
	no verdict = iota
	maybe
	yes
)

// transaction is one transaction of the history, with its sends and ends.
type transaction struct {
	id      string
	session int
	sends   []int // indices in checker.sends
	fate    fate
	// commitInvoke is the history index of the first commit invoke that
	// did not fail, or -1: before it, no read_committed read may return a
	// value of the transaction.
	commitInvoke int
	// ends are the history indices of its commit and abort events, for
	// examples.
	ends []int
	// endErrors are the errors its commits and aborts ended with, for
	// examples.
	endErrors []string
	// present counts the transaction's values the final read_committed
	// read holds.
	present int
}

// pairTransactions collects the transactions of the history and decides
// each one's fate from its commit and abort events:
// committed if a commit was acknowledged; else unknown if a commit was
// invoked that did not fail; else aborted if an abort was invoked or every
// commit failed; else open.
func (c *checker) pairTransactions() {
	get := func(id string, session int) *transaction {
		t := c.txns[id]
		if t == nil {
			t = &transaction{id: id, session: session, commitInvoke: -1}
			c.txns[id] = t
			c.txnOrder = append(c.txnOrder, t)
		}
		return t
	}
	type end struct {
		commit bool
		invoke int
	}
	invokes := map[int64]end{} // until completed
	// commitTypes: how each commit of a transaction ended; one never
	// completed counts as info.
	commitTypes := map[*transaction][]Type{}
	aborts := map[*transaction]bool{}
	for i, op := range c.h {
		if op.Txn == "" {
			continue
		}
		switch op.Kind {
		case TxnBegin:
			get(op.Txn, op.Session)
		case TxnCommit, TxnAbort:
			t := get(op.Txn, op.Session)
			t.ends = append(t.ends, i)
			if op.Type == Invoke {
				invokes[op.ID] = end{commit: op.Kind == TxnCommit, invoke: i}
				if op.Kind == TxnAbort {
					aborts[t] = true
				}
				continue
			}
			if op.Error != "" {
				t.endErrors = append(t.endErrors, fmt.Sprintf("%s %s: %s", op.Kind, op.Type, op.Error))
			}
			e, ok := invokes[op.ID]
			delete(invokes, op.ID)
			if !ok || !e.commit {
				continue
			}
			commitTypes[t] = append(commitTypes[t], op.Type)
			if op.Type != Fail && (t.commitInvoke < 0 || e.invoke < t.commitInvoke) {
				t.commitInvoke = e.invoke
			}
		}
	}
	for _, e := range invokes { // commits never completed: unknown
		if e.commit {
			t := get(c.h[e.invoke].Txn, c.h[e.invoke].Session)
			commitTypes[t] = append(commitTypes[t], Info)
			if t.commitInvoke < 0 || e.invoke < t.commitInvoke {
				t.commitInvoke = e.invoke
			}
		}
	}
	for si, s := range c.sends {
		if s.txn != "" {
			t := get(s.txn, s.session)
			t.sends = append(t.sends, si)
		}
	}
	st := &c.report.Stats
	for _, t := range c.txnOrder {
		types := commitTypes[t]
		switch {
		case slices.Contains(types, OK):
			t.fate = fateCommitted
			st.TxnCommitted++
		case slices.ContainsFunc(types, func(typ Type) bool { return typ != Fail }):
			t.fate = fateUnknown
			st.TxnUnknown++
		case aborts[t] || len(types) > 0:
			t.fate = fateAborted
			st.TxnAborted++
		default:
			st.TxnOpen++
		}
		for _, si := range t.sends {
			if c.inCommitted[c.sends[si].value] {
				t.present++
			}
		}
	}
	st.Transactions = len(c.txnOrder)
}

// committed says whether t committed: yes when its commit was
// acknowledged, or when its outcome is unknown and the final
// read_committed read holds a value of it; no when it cannot have
// committed, or its outcome is unknown and the final read_committed read
// holds none of its values; maybe when its outcome is unknown and there is
// no final read_committed read.
func (c *checker) committed(t *transaction) verdict {
	switch {
	case t == nil:
		return no
	case t.fate == fateCommitted:
		return yes
	case t.fate != fateUnknown:
		return no
	case c.finalCommitted == nil:
		return maybe
	case t.present > 0:
		return yes
	}
	return no
}

// mustShow reports whether a read_committed read that passes v's offset
// must return v: v was not sent in a transaction (or by no send at all),
// or its transaction committed.
func (c *checker) mustShow(v string) bool {
	si, ok := c.writer[v]
	if !ok || c.sends[si].txn == "" {
		return true
	}
	return c.committed(c.txns[c.sends[si].txn]) == yes
}

// mustShowAmong returns the positions of ps where log holds a value a
// read_committed read must return.
func (c *checker) mustShowAmong(ps []position) []position {
	var out []position
	for _, p := range ps {
		if slices.ContainsFunc(c.log[p], c.mustShow) {
			out = append(out, p)
		}
	}
	return out
}

// describeTxnAt names the transaction of the value at pos, if any, for an
// example's detail.
func (c *checker) describeTxnAt(pos position) string {
	for _, v := range c.log[pos] {
		if si, ok := c.writer[v]; ok && c.sends[si].txn != "" {
			t := c.txns[c.sends[si].txn]
			if t.fate == fateUnknown && c.committed(t) == yes {
				return fmt.Sprintf(" (%s of transaction %s, of unknown outcome, committed as the final read_committed read shows)", v, t.id)
			}
			return fmt.Sprintf(" (%s of transaction %s, %s)", v, t.id, t.fate)
		}
	}
	return ""
}

// checkCommittedReads: aborted-read and precommitted-read for every record
// a read_committed poll or the final read_committed read returned. Each
// value is reported at most once per anomaly.
func (c *checker) checkCommittedReads() {
	reported := map[string]bool{}
	for i, op := range c.h {
		if op.Kind != Poll || op.Type != OK || !op.ReadCommitted {
			continue
		}
		for _, r := range op.Records {
			c.checkCommittedRecord(r, i, op.Session, reported)
		}
	}
	for _, p := range slices.Sorted(maps.Keys(c.finalCommitted)) {
		for _, r := range c.finalCommitted[p] {
			c.checkCommittedRecord(r, -1, 0, reported)
		}
	}
}

// checkCommittedRecord checks one record a read_committed read returned:
// by the poll completed at history index at, or by the final
// read_committed read when at < 0.
func (c *checker) checkCommittedRecord(r Record, at, session int, reported map[string]bool) {
	si, ok := c.writer[r.Value]
	if !ok || c.sends[si].txn == "" {
		return
	}
	s := c.sends[si]
	t := c.txns[s.txn]
	reader := "the final read_committed read"
	if at >= 0 {
		reader = "a read_committed poll"
	}
	var kind, detail string
	switch {
	case t.fate == fateAborted:
		kind = AbortedRead
		detail = fmt.Sprintf("%s returned a value of transaction %s, which cannot have committed (%s)",
			reader, t.id, t.abortReason())
	case t.fate == fateOpen:
		kind = PrecommittedRead
		detail = fmt.Sprintf("%s returned a value of transaction %s, which was never committed or aborted", reader, t.id)
	case at >= 0 && at < t.commitInvoke:
		kind = PrecommittedRead
		detail = fmt.Sprintf("%s returned a value of transaction %s before its commit was invoked (op %d)",
			reader, t.id, t.commitInvoke)
	case at >= 0 && c.committed(t) == no:
		kind = AbortedRead
		detail = fmt.Sprintf("%s returned a value of transaction %s, whose commit had an unknown outcome; the final read_committed read holds none of its values, so it was aborted",
			reader, t.id)
	default:
		return
	}
	key := kind + "\x00" + r.Value
	if reported[key] {
		return
	}
	reported[key] = true
	ops := []int{s.invoke}
	if at >= 0 {
		ops = append(ops, at)
	}
	c.report.add(kind, Example{Partition: r.Partition, Offset: r.Offset, Value: r.Value, Session: session,
		Ops: append(ops, t.ends...), Detail: detail})
}

// abortReason says why a transaction of fate aborted cannot have committed.
func (t *transaction) abortReason() string {
	if len(t.endErrors) == 0 {
		return "an abort was invoked and no commit"
	}
	return "no commit took effect: " + strings.Join(t.endErrors, "; ")
}

// checkTransactions: torn-transaction and lost-commit, against the final
// read_committed read. A transaction's values are its sends but the failed
// ones: the ok sends, and the info sends that a final read holds (an info
// send that appended nothing is not part of it). A committed or
// unknown-outcome transaction must have all of its values in the final
// read_committed read or none; one whose commit was acknowledged must have
// all. (An aborted or open transaction's values there are aborted-read and
// precommitted-read.)
func (c *checker) checkTransactions() {
	if c.finalCommitted == nil {
		return
	}
	for _, t := range c.txnOrder {
		var values, missing []string
		var firstMissing position
		for _, si := range t.sends {
			s := c.sends[si]
			if s.typ == Fail || (s.typ == Info && !c.inFinal[s.value] && !c.inCommitted[s.value]) {
				continue
			}
			values = append(values, s.value)
			if c.inCommitted[s.value] {
				continue
			}
			if len(missing) == 0 {
				firstMissing = c.positionOf(s)
			}
			missing = append(missing, s.value)
		}
		if len(missing) == 0 || (t.fate != fateCommitted && t.fate != fateUnknown) {
			continue
		}
		ex := Example{Partition: firstMissing.partition, Offset: firstMissing.offset, Values: missing,
			Session: t.session, Ops: t.ends}
		if t.fate == fateCommitted {
			ex.Detail = fmt.Sprintf("the commit of transaction %s was acknowledged, but the final read_committed read lacks %d of its %d values",
				t.id, len(missing), len(values))
			c.report.add(LostCommit, ex)
		}
		if len(missing) < len(values) {
			ex.Detail = fmt.Sprintf("the final read_committed read holds %d of the %d values of transaction %s (%s); missing: first %s",
				len(values)-len(missing), len(values), t.id, t.fate, missing[0])
			c.report.add(TornTransaction, ex)
		}
	}
}

// positionOf is where a send's value is: its acknowledged offset, or where
// a final read holds it, or offset -1 of its partition.
func (c *checker) positionOf(s send) position {
	if s.typ == OK {
		return position{s.partition, s.offset}
	}
	if ps := c.places[s.value]; len(ps) > 0 {
		return ps[0]
	}
	return position{s.partition, -1}
}

// checkFinalCommitted compares the final read_committed read with the
// final read: the read_committed one may leave out only values of
// transactions (which checkTransactions judges), and holds nothing the
// final read does not.
func (c *checker) checkFinalCommitted() {
	if c.finalCommitted == nil {
		return
	}
	for _, pos := range c.sorted {
		v, inFinal := c.finalAt[pos]
		got, inCommitted := c.committedAt[pos]
		switch {
		case inCommitted && !inFinal:
			c.report.add(ReadThenLost, Example{Partition: pos.partition, Offset: pos.offset, Value: got,
				Detail: "the final read_committed read holds it, but the final read does not"})
		case inFinal && !inCommitted && c.nonTransactional(v):
			c.report.add(PollSkip, Example{Partition: pos.partition, Offset: pos.offset, Value: v,
				Detail: "the final read_committed read skipped this value, which was not sent in a transaction"})
		}
	}
}

// nonTransactional reports whether v was sent outside a transaction, or by
// no send the history holds.
func (c *checker) nonTransactional(v string) bool {
	si, ok := c.writer[v]
	return !ok || c.sends[si].txn == ""
}
