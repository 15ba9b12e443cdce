package checker

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"sort"
)

// FinalRead is, per partition, the records a fresh consumer read from the
// earliest offset to the high watermark after the run healed.
type FinalRead map[int32][]Record

// FinalReads are the reads a run ends with, once every fault is healed and
// every transaction has ended.
type FinalReads struct {
	// Uncommitted is the final read (read_uncommitted, from the earliest
	// offset to the high watermark); nil when there is none.
	Uncommitted FinalRead
	// Committed is the final read_committed read, from the earliest offset
	// to the last stable offset, taken once no transaction is open (so the
	// last stable offset is the high watermark); nil when there is none.
	Committed FinalRead
}

// position is one offset of one partition.
type position struct {
	partition int32
	offset    int64
}

func comparePositions(a, b position) int {
	if c := cmp.Compare(a.partition, b.partition); c != 0 {
		return c
	}
	return cmp.Compare(a.offset, b.offset)
}

// send is a send operation paired with its completion.
type send struct {
	invoke, done int // history indices; done is -1 when never completed
	typ          Type
	session      int
	partition    int32
	value        string
	offset       int64
	txn          string // the transaction it was sent in, or empty
}

// pollRange is what one poll returned of one partition: from the session's
// position when the poll was invoked (-1 if unknown) to the highest offset
// it returned. The in-run lost-write rule works on these.
type pollRange struct {
	invoke        int
	session       int
	position      int64
	max           int64
	readCommitted bool
}

// checker holds the data derived from one history while Check runs.
type checker struct {
	h      History
	final  FinalRead // the final read_uncommitted read
	report Report

	sends      []send
	writer     map[string]int // value -> index in sends
	log        map[position][]string
	places     map[string][]position // value -> distinct positions it was seen at
	sorted     []position            // keys of log, sorted
	finalAt    map[position]string
	polledPos  map[position][]string // distinct values polls returned at each position
	polled     map[string]bool       // values some poll returned
	pollRanges map[int32][]pollRange

	// finalCommitted is the final read_committed read, and committedAt
	// and inCommitted what it holds by position and by value.
	finalCommitted FinalRead
	committedAt    map[position]string
	inCommitted    map[string]bool
	inFinal        map[string]bool // values of the final read
	txns           map[string]*transaction
	txnOrder       []*transaction // by first appearance in the history
}

// Check applies every rule of the package doc to a history and, when final
// is not nil, the final read. It is CheckReads without a final
// read_committed read.
func Check(h History, final FinalRead) Report {
	return CheckReads(h, FinalReads{Uncommitted: final})
}

// CheckReads applies every rule of the package doc to a history and the
// final reads given.
func CheckReads(h History, final FinalReads) Report {
	c := &checker{
		h: h, final: final.Uncommitted, finalCommitted: final.Committed,
		writer:      map[string]int{},
		log:         map[position][]string{},
		places:      map[string][]position{},
		finalAt:     map[position]string{},
		polledPos:   map[position][]string{},
		polled:      map[string]bool{},
		pollRanges:  map[int32][]pollRange{},
		committedAt: map[position]string{},
		inCommitted: map[string]bool{},
		inFinal:     map[string]bool{},
		txns:        map[string]*transaction{},
	}
	c.report.Stats.Ops = len(h)
	c.report.Stats.FinalRead = final.Uncommitted != nil
	c.report.Stats.FinalCommittedRead = final.Committed != nil
	c.pairSends()
	c.observe()
	c.pairTransactions()
	c.checkPositions()
	c.checkValues()
	c.checkSendOrder()
	c.checkSessions()
	c.checkFinal()
	c.checkLostInRun()
	c.checkUnseen()
	c.checkGroups()
	c.checkCommittedReads()
	c.checkTransactions()
	c.report.Valid = len(c.report.Anomalies) == 0
	return c.report
}

// pairSends pairs each send's invoke with its completion and applies the
// realtime-order rule on the way, since it needs the history's order: at
// each invoke it notes the highest offset acknowledged so far in the
// partition, which the send's own offset must exceed.
func (c *checker) pairSends() {
	type acked struct {
		offset int64
		send   int
	}
	byID := map[int64]int{}
	highest := map[int32]acked{}
	before := map[int]acked{} // send -> highest ack in its partition when invoked
	for i, op := range c.h {
		if op.Kind != Send {
			continue
		}
		if op.Type == Invoke {
			byID[op.ID] = len(c.sends)
			if _, dup := c.writer[op.Value]; !dup {
				c.writer[op.Value] = len(c.sends)
			}
			if a, ok := highest[op.Partition]; ok {
				before[len(c.sends)] = a
			}
			c.sends = append(c.sends, send{invoke: i, done: -1, typ: Info, session: op.Session,
				partition: op.Partition, value: op.Value, txn: op.Txn})
			continue
		}
		si, ok := byID[op.ID]
		if !ok {
			continue // a completion without an invoke: nothing to pair
		}
		s := &c.sends[si]
		s.done, s.typ, s.offset = i, op.Type, op.Offset
		if op.Type != OK {
			continue
		}
		if a, ok := before[si]; ok && s.offset <= a.offset {
			earlier := c.sends[a.send]
			c.report.add(RealtimeOrder, Example{Partition: s.partition, Offset: s.offset, Value: s.value,
				Ops: []int{earlier.invoke, earlier.done, s.invoke, s.done},
				Detail: fmt.Sprintf("acknowledged at %d although %s was acknowledged at %d before this send began",
					s.offset, earlier.value, a.offset)})
		}
		if a, ok := highest[s.partition]; !ok || s.offset > a.offset {
			highest[s.partition] = acked{offset: s.offset, send: si}
		}
	}
	st := &c.report.Stats
	st.Sends = len(c.sends)
	for _, s := range c.sends {
		switch s.typ {
		case OK:
			st.SendsOK++
		case Fail:
			st.SendsFailed++
		default:
			st.SendsInfo++
		}
	}
}

// observe builds log, places, polled and finalAt from ok sends, ok polls
// and the final read.
func (c *checker) observe() {
	for _, s := range c.sends {
		if s.typ == OK {
			c.see(position{s.partition, s.offset}, s.value)
		}
	}
	for _, op := range c.h {
		if op.Kind != Poll || op.Type != OK {
			continue
		}
		c.report.Stats.Polls++
		c.report.Stats.PolledRecords += len(op.Records)
		if op.ReadCommitted {
			c.report.Stats.ReadCommittedPolls++
		}
		for _, r := range op.Records {
			pos := position{r.Partition, r.Offset}
			c.see(pos, r.Value)
			c.polled[r.Value] = true
			if vals := c.polledPos[pos]; !slices.Contains(vals, r.Value) {
				c.polledPos[pos] = append(vals, r.Value)
			}
		}
	}
	for p, records := range c.final {
		c.report.Stats.FinalRecords += len(records)
		for _, r := range records {
			pos := position{p, r.Offset}
			c.see(pos, r.Value)
			c.finalAt[pos] = r.Value
			c.inFinal[r.Value] = true
		}
	}
	for p, records := range c.finalCommitted {
		c.report.Stats.FinalCommittedRecords += len(records)
		for _, r := range records {
			pos := position{p, r.Offset}
			c.see(pos, r.Value)
			c.committedAt[pos] = r.Value
			c.inCommitted[r.Value] = true
		}
	}
	c.sorted = make([]position, 0, len(c.log))
	for pos := range c.log {
		c.sorted = append(c.sorted, pos)
	}
	slices.SortFunc(c.sorted, comparePositions)
}

func (c *checker) see(pos position, value string) {
	if vals := c.log[pos]; !slices.Contains(vals, value) {
		c.log[pos] = append(vals, value)
	}
	if ps := c.places[value]; !slices.Contains(ps, pos) {
		c.places[value] = append(ps, pos)
	}
}

// checkPositions: inconsistent-offsets.
func (c *checker) checkPositions() {
	for _, pos := range c.sorted {
		if vals := c.log[pos]; len(vals) > 1 {
			c.report.add(InconsistentOffsets, Example{Partition: pos.partition, Offset: pos.offset,
				Values: slices.Sorted(slices.Values(vals)), Detail: "more than one value at one offset"})
		}
	}
}

// checkValues: duplicate, misrouted, unknown-value and aborted-read, once
// per value, in log order.
func (c *checker) checkValues() {
	done := map[string]bool{}
	for _, pos := range c.sorted {
		for _, v := range c.log[pos] {
			if done[v] {
				continue
			}
			done[v] = true
			places := c.places[v]
			if len(places) > 1 {
				c.report.add(Duplicate, Example{Partition: pos.partition, Offset: pos.offset, Value: v,
					Detail: fmt.Sprintf("value at %d positions: %s", len(places), formatPositions(places))})
			}
			si, ok := c.writer[v]
			if !ok {
				c.report.add(UnknownValue, Example{Partition: pos.partition, Offset: pos.offset, Value: v,
					Detail: "read a value no send wrote"})
				continue
			}
			s := c.sends[si]
			for _, p := range places {
				if p.partition != s.partition {
					c.report.add(Misrouted, Example{Partition: p.partition, Offset: p.offset, Value: v,
						Ops: []int{s.invoke}, Detail: fmt.Sprintf("sent to partition %d", s.partition)})
					break
				}
			}
			if s.typ == Fail && c.readAnywhere(v, places) {
				c.report.add(AbortedRead, Example{Partition: pos.partition, Offset: pos.offset, Value: v,
					Ops: []int{s.invoke, s.done}, Detail: "read a value whose send failed"})
			}
		}
	}
}

// readAnywhere reports whether a poll or a final read returned v (a
// failed send's value is in log only through a read, but be exact).
func (c *checker) readAnywhere(v string, places []position) bool {
	if c.polled[v] || c.inCommitted[v] {
		return true
	}
	for _, p := range places {
		if c.finalAt[p] == v {
			return true
		}
	}
	return false
}

// checkSendOrder: nonmonotonic-send, per producer session and partition,
// in invoke order.
func (c *checker) checkSendOrder() {
	type key struct {
		session   int
		partition int32
	}
	last := map[key]int{} // index in sends of the highest ok offset so far
	for i, s := range c.sends {
		if s.typ != OK {
			continue
		}
		k := key{s.session, s.partition}
		j, ok := last[k]
		if !ok {
			last[k] = i
			continue
		}
		prev := c.sends[j]
		if s.offset <= prev.offset {
			c.report.add(NonmonotonicSend, Example{Partition: s.partition, Offset: s.offset, Value: s.value,
				Session: s.session, Ops: []int{prev.invoke, prev.done, s.invoke, s.done},
				Detail: fmt.Sprintf("sent after %s, which was acknowledged at %d", prev.value, prev.offset)})
			continue
		}
		last[k] = i
	}
}

// cursor is a consumer session's position on one partition.
type cursor struct {
	next int64 // offset expected next; meaningful when known
	last int64 // last offset returned since the last assign; -1 none
	// known is false when the session's position came from an assign with
	// an unknown start and it has returned nothing of the partition yet.
	known bool
}

// checkSessions walks the history in order: nonmonotonic-poll and
// poll-skip per session and partition, and the poll ranges the in-run
// lost-write rule needs.
func (c *checker) checkSessions() {
	sessions := map[int]map[int32]*cursor{}
	cursors := func(session int) map[int32]*cursor {
		m := sessions[session]
		if m == nil {
			m = map[int32]*cursor{}
			sessions[session] = m
		}
		return m
	}
	pollInvokes := map[int64]int{}
	for i, op := range c.h {
		switch {
		case op.Kind == Poll && op.Type == Invoke:
			pollInvokes[op.ID] = i
		case op.Kind == Assign:
			m := cursors(op.Session)
			for _, a := range op.Assignment {
				m[a.Partition] = &cursor{next: a.From, last: -1, known: a.From >= 0}
			}
		case op.Kind == Revoke || op.Kind == Lost:
			m := cursors(op.Session)
			for _, p := range op.Partitions {
				delete(m, p)
			}
		case op.Kind == Poll && op.Type == OK:
			invoke, ok := pollInvokes[op.ID]
			if !ok {
				invoke = i
			}
			c.checkPoll(i, invoke, op, cursors(op.Session))
		}
	}
}

// checkPoll applies the session rules to one ok poll, invoked at index
// invoke and completed at i.
func (c *checker) checkPoll(i, invoke int, op Op, cursors map[int32]*cursor) {
	ranges := map[int32]*pollRange{}
	for _, r := range op.Records {
		cur := cursors[r.Partition]
		if cur == nil {
			cur = &cursor{last: -1}
			cursors[r.Partition] = cur
		}
		if ranges[r.Partition] == nil {
			pos := int64(-1)
			if cur.known {
				pos = cur.next
			}
			ranges[r.Partition] = &pollRange{invoke: invoke, session: op.Session, position: pos, max: r.Offset,
				readCommitted: op.ReadCommitted}
		}
		pr := ranges[r.Partition]
		pr.max = max(pr.max, r.Offset)
		c.checkStep(op, i, r, cur)
		cur.last, cur.next, cur.known = r.Offset, r.Offset+1, true
	}
	for p, pr := range ranges {
		c.pollRanges[p] = append(c.pollRanges[p], *pr)
	}
}

// checkStep checks one returned record against the session's cursor.
func (c *checker) checkStep(op Op, i int, r Record, cur *cursor) {
	switch {
	case cur.last >= 0 && r.Offset <= cur.last:
		c.report.add(NonmonotonicPoll, Example{Partition: r.Partition, Offset: r.Offset, Value: r.Value,
			Session: op.Session, Ops: []int{i},
			Detail: fmt.Sprintf("returned after offset %d in the same session", cur.last)})
	case cur.known && cur.last < 0 && r.Offset < cur.next:
		c.report.add(NonmonotonicPoll, Example{Partition: r.Partition, Offset: r.Offset, Value: r.Value,
			Session: op.Session, Ops: []int{i},
			Detail: fmt.Sprintf("returned although the session was assigned from offset %d", cur.next)})
	case cur.known && r.Offset > cur.next:
		skipped := c.knownBetween(r.Partition, cur.next, r.Offset)
		if op.ReadCommitted {
			skipped = c.mustShowAmong(skipped)
		}
		if len(skipped) > 0 {
			c.report.add(PollSkip, Example{Partition: r.Partition, Offset: r.Offset, Value: r.Value,
				Session: op.Session, Ops: []int{i},
				Detail: fmt.Sprintf("expected offset %d next; skipped %d offsets holding values, first %d%s",
					cur.next, len(skipped), skipped[0].offset, c.describeTxnAt(skipped[0]))})
		}
	}
}

// knownBetween returns the positions of partition in [from, to) where log
// holds a value.
func (c *checker) knownBetween(partition int32, from, to int64) []position {
	lo := sort.Search(len(c.sorted), func(k int) bool {
		return comparePositions(c.sorted[k], position{partition, from}) >= 0
	})
	hi := sort.Search(len(c.sorted), func(k int) bool {
		return comparePositions(c.sorted[k], position{partition, to}) >= 0
	})
	return c.sorted[lo:hi]
}

// checkFinal: lost-write and read-then-lost, against the final read.
func (c *checker) checkFinal() {
	if c.final == nil {
		return
	}
	for _, s := range c.sends {
		if s.typ != OK {
			continue
		}
		pos := position{s.partition, s.offset}
		got, ok := c.finalAt[pos]
		if ok && got == s.value {
			continue
		}
		detail := "the final read does not reach this offset"
		if ok {
			detail = fmt.Sprintf("the final read has %s at this offset", got)
		}
		c.report.add(LostWrite, Example{Partition: s.partition, Offset: s.offset, Value: s.value,
			Session: s.session, Ops: []int{s.invoke, s.done}, Detail: "acknowledged, but " + detail})
	}
	for _, pos := range c.sorted {
		for _, v := range c.polledPos[pos] {
			got, ok := c.finalAt[pos]
			if ok && got == v {
				continue
			}
			detail := "the final read does not reach this offset"
			if ok {
				detail = fmt.Sprintf("the final read has %s at this offset", got)
			}
			c.report.add(ReadThenLost, Example{Partition: pos.partition, Offset: pos.offset, Value: v,
				Detail: "polled, but " + detail})
		}
	}
	c.checkFinalCommitted()
}

// checkLostInRun applies the in-run lost-write rule of the package doc. For
// each partition, the ok sends no poll returned are sorted by offset; each
// poll range [position, max) then selects the candidates below its max and
// at or above its session's position, and those acknowledged before the
// poll was invoked are lost.
func (c *checker) checkLostInRun() {
	unseen := map[int32][]int{} // partition -> indices in sends, by offset
	for i, s := range c.sends {
		if s.typ == OK && !c.polled[s.value] {
			unseen[s.partition] = append(unseen[s.partition], i)
		}
	}
	for _, p := range slices.Sorted(maps.Keys(unseen)) {
		candidates := unseen[p]
		slices.SortFunc(candidates, func(a, b int) int { return cmp.Compare(c.sends[a].offset, c.sends[b].offset) })
		lost := map[int]bool{}
		for _, pr := range c.pollRanges[p] {
			if pr.position < 0 || pr.max <= pr.position {
				continue
			}
			lo := sort.Search(len(candidates), func(k int) bool { return c.sends[candidates[k]].offset >= pr.position })
			for _, si := range candidates[lo:] {
				s := c.sends[si]
				if s.offset >= pr.max {
					break
				}
				if lost[si] || s.done >= pr.invoke || (pr.readCommitted && !c.mustShow(s.value)) {
					continue
				}
				lost[si] = true
				c.report.add(LostWriteInRun, Example{Partition: p, Offset: s.offset, Value: s.value,
					Session: pr.session, Ops: []int{s.invoke, s.done, pr.invoke},
					Detail: fmt.Sprintf("acknowledged before a poll of session %d, positioned at %d, returned offset %d; no poll returned it",
						pr.session, pr.position, pr.max)})
			}
		}
	}
}

// checkUnseen counts the liveness measure: ok sends no poll returned,
// leaving out the values of transactions not known to have committed,
// which no read_committed consumer is bound to return.
func (c *checker) checkUnseen() {
	for _, s := range c.sends {
		if s.typ != OK || c.polled[s.value] || (s.txn != "" && c.committed(c.txns[s.txn]) != yes) {
			continue
		}
		c.report.Unseen++
		if len(c.report.UnseenExamples) < MaxExamples {
			c.report.UnseenExamples = append(c.report.UnseenExamples, Example{Partition: s.partition,
				Offset: s.offset, Value: s.value, Session: s.session, Ops: []int{s.invoke, s.done},
				Detail: "acknowledged; no poll returned it"})
		}
	}
}

func formatPositions(ps []position) string {
	sorted := slices.SortedFunc(slices.Values(ps), comparePositions)
	out := ""
	for i, p := range sorted {
		if i > 0 {
			out += ", "
		}
		out += fmt.Sprintf("p%d@%d", p.partition, p.offset)
	}
	return out
}
