package e2e

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// The rules TestTxnChain checks, as pure functions of what was read. The
// checker package does not model transactions (RELIABILITY.md §3 rule 10
// is "later"), so the rules for the transactional topics live here; the
// input topic, written without transactions, goes through the checker.
//
// Terms: a topic's log is every record of a partition from offset 0 to the
// high watermark, data and markers, read read_uncommitted with control
// records kept. A transactional data record's fate is the type of the
// first marker of its producer id after it (committed or aborted), or open
// when none follows; a non-transactional record is plain. The visible
// records are the committed and plain ones, in offset order: what
// read_committed must return.

// Fates of a record.
const (
	fatePlain     = "plain"
	fateCommitted = "committed"
	fateAborted   = "aborted"
	fateOpen      = "open"
)

// chainLog is one topic's log, by partition, in offset order.
type chainLog map[int32][]chainRecord

// fates returns each data record's fate by partition and offset.
func (l chainLog) fates() map[int32]map[int64]string {
	out := map[int32]map[int64]string{}
	for p, records := range l {
		fate := map[int64]string{}
		pending := map[int64][]int64{} // producer id -> offsets of its open transaction
		for _, r := range records {
			switch {
			case r.Control != "":
				outcome := fateAborted
				if r.Control == "commit" {
					outcome = fateCommitted
				}
				for _, o := range pending[r.ProducerID] {
					fate[o] = outcome
				}
				delete(pending, r.ProducerID)
			case r.Transactional:
				pending[r.ProducerID] = append(pending[r.ProducerID], r.Offset)
			default:
				fate[r.Offset] = fatePlain
			}
		}
		for _, offsets := range pending {
			for _, o := range offsets {
				fate[o] = fateOpen
			}
		}
		out[p] = fate
	}
	return out
}

// visible returns the records read_committed must return, by partition.
func (l chainLog) visible() chainLog {
	fates := l.fates()
	out := chainLog{}
	for p, records := range l {
		out[p] = []chainRecord{}
		for _, r := range records {
			if f := fates[p][r.Offset]; r.Control == "" && (f == fateCommitted || f == fatePlain) {
				out[p] = append(out[p], r)
			}
		}
	}
	return out
}

// chainReport collects anomalies by name, with the first examples of each.
type chainReport struct {
	counts   map[string]int
	examples map[string][]string
}

// chainReportExamples is how many examples of each anomaly a report keeps.
const chainReportExamples = 8

func newChainReport() *chainReport {
	return &chainReport{counts: map[string]int{}, examples: map[string][]string{}}
}

func (r *chainReport) add(name, format string, args ...any) {
	r.counts[name]++
	if len(r.examples[name]) < chainReportExamples {
		r.examples[name] = append(r.examples[name], fmt.Sprintf(format, args...))
	}
}

func (r *chainReport) valid() bool { return len(r.counts) == 0 }

// String lists every anomaly with its count and first examples.
func (r *chainReport) String() string {
	var b strings.Builder
	for _, name := range slices.Sorted(maps.Keys(r.counts)) {
		fmt.Fprintf(&b, "%s: %d\n", name, r.counts[name])
		for _, ex := range r.examples[name] {
			fmt.Fprintf(&b, "    %s\n", ex)
		}
	}
	return b.String()
}

// describeRecord names a record for an example: where it is, who wrote it, its
// fate.
func describeRecord(r chainRecord, fate string) string {
	s := fmt.Sprintf("%d/%d", r.Partition, r.Offset)
	if r.Txn != "" {
		s += " txn " + r.Txn
	}
	if fate != "" {
		s += " " + fate
	}
	return s
}

// checkLogShape reports a log whose offsets are not contiguous from 0
// (without compaction every offset holds a record or a marker) or whose
// markers are unknown.
func checkLogShape(r *chainReport, topic string, l chainLog) {
	for p, records := range l {
		for i, rec := range records {
			if rec.Offset != int64(i) {
				r.add("log-gap", "%s partition %d: offset %d at position %d", topic, p, rec.Offset, i)
				break
			}
			if rec.Control != "" && rec.Control != "commit" && rec.Control != "abort" {
				r.add("unknown-marker", "%s %s: %s", topic, describeRecord(rec, ""), rec.Control)
			}
		}
	}
}

// checkOpenAndTorn reports transactions still open once every copier
// stopped and the coordinators had time to abort what killed ones left,
// and transactions (by their txn header) with different fates in
// different partitions.
func checkOpenAndTorn(r *chainReport, topic string, l chainLog) {
	fates := l.fates()
	byTxn := map[string]map[string][]string{} // txn -> fate -> positions
	for p, records := range l {
		for _, rec := range records {
			if rec.Control != "" {
				continue
			}
			f := fates[p][rec.Offset]
			if f == fateOpen {
				r.add("open-transaction", "%s %s: no marker after it at the end", topic, describeRecord(rec, ""))
			}
			if rec.Txn == "" || !rec.Transactional {
				continue
			}
			if byTxn[rec.Txn] == nil {
				byTxn[rec.Txn] = map[string][]string{}
			}
			byTxn[rec.Txn][f] = append(byTxn[rec.Txn][f], fmt.Sprintf("%d/%d", p, rec.Offset))
		}
	}
	for _, txn := range slices.Sorted(maps.Keys(byTxn)) {
		if outcomes := byTxn[txn]; len(outcomes) > 1 {
			r.add("torn-transaction", "%s txn %s: %v", topic, txn, outcomes)
		}
	}
}

// checkCommittedRead compares the final read_committed read of a topic
// with the visible records its log implies.
func checkCommittedRead(r *chainReport, topic string, l chainLog, read chainLog) {
	fates := l.fates()
	visible := l.visible()
	for p := range int32(txnChainPartitions) {
		want, got := visible[p], read[p]
		for i := range max(len(want), len(got)) {
			switch {
			case i >= len(got):
				r.add("read-committed-missed", "%s: read_committed ended at %d records of %d visible in partition %d; next visible %s %q",
					topic, len(got), len(want), p, describeRecord(want[i], fateCommitted), want[i].Value)
			case i >= len(want) || got[i].Offset != want[i].Offset || got[i].Value != want[i].Value:
				name, fate := "read-committed-wrong", fates[p][got[i].Offset]
				if fate == fateAborted || fate == fateOpen {
					name = "read-committed-" + fate // an aborted or uncommitted value visible
				}
				wantAt := "nothing"
				if i < len(want) {
					wantAt = fmt.Sprintf("%s %q", describeRecord(want[i], ""), want[i].Value)
				}
				r.add(name, "%s: read_committed record %d of partition %d is %s %q; the log implies %s",
					topic, i, p, describeRecord(got[i], fate), got[i].Value, wantAt)
			default:
				continue
			}
			break // the first difference per partition says enough
		}
	}
}

// checkMonitor checks what a read_committed consumer read during the run:
// per partition the visible records in order, with no aborted,
// uncommitted or unknown record and none skipped. A client reset after a
// detected data loss (resets) restarts the comparison at the offset it
// reset to: records read before it were checked against the final log, so
// a real truncation of them shows as monitor-diverged, and visible records
// it jumped over as monitor-reset-skipped. The resets are returned as notes
// for the log, since kgo may detect a loss where there is none.
func checkMonitor(r *chainReport, topic string, l chainLog, seen []chainRecord, resets []monitorReset) (notes []string) {
	fates := l.fates()
	visible := l.visible()
	byPartition := map[int32][]chainRecord{}
	for _, rec := range seen {
		byPartition[rec.Partition] = append(byPartition[rec.Partition], rec)
		if f := fates[rec.Partition][rec.Offset]; f == fateAborted || f == fateOpen {
			r.add("monitor-read-"+f, "%s: read_committed returned %s %q during the run", topic, describeRecord(rec, f), rec.Value)
		}
	}
	// Per partition, where in its sequence each reset happened.
	resetsAt := map[int32]map[int][]monitorReset{}
	for _, reset := range resets {
		at := 0
		for _, rec := range seen[:reset.Seen] {
			if rec.Partition == reset.Partition {
				at++
			}
		}
		if resetsAt[reset.Partition] == nil {
			resetsAt[reset.Partition] = map[int][]monitorReset{}
		}
		resetsAt[reset.Partition][at] = append(resetsAt[reset.Partition][at], reset)
		notes = append(notes, fmt.Sprintf("%s partition %d: the monitor reset from %d to %d: %s", topic, reset.Partition,
			reset.ConsumedTo, reset.ResetTo, reset.Err))
	}
	for p := range int32(txnChainPartitions) {
		got, want := byPartition[p], visible[p]
		next := 0 // index in want of the next record the monitor must read
		for i := 0; i <= len(got); i++ {
			for _, reset := range resetsAt[p][i] {
				from := next
				next = sortSearch(want, reset.ResetTo)
				if next > from {
					r.add("monitor-reset-skipped", "%s partition %d: the monitor reset from %d to %d, over visible %s",
						topic, p, reset.ConsumedTo, reset.ResetTo, describeRecord(want[from], fateCommitted))
				}
			}
			if i == len(got) {
				break
			}
			rec := got[i]
			if next >= len(want) {
				r.add("monitor-read-beyond-log", "%s: read_committed returned %s %q; the final log has %d visible records in partition %d",
					topic, describeRecord(rec, ""), rec.Value, len(want), p)
				break
			}
			if rec.Offset != want[next].Offset || rec.Value != want[next].Value {
				r.add("monitor-diverged", "%s partition %d: read_committed record %d was %s %q, the log implies %s %q",
					topic, p, i, describeRecord(rec, fates[p][rec.Offset]), rec.Value, describeRecord(want[next], ""), want[next].Value)
				break
			}
			next++
		}
	}
	return notes
}

// sortSearch is the index of the first record at or after offset.
func sortSearch(records []chainRecord, offset int64) int {
	i, _ := slices.BinarySearchFunc(records, offset, func(r chainRecord, o int64) int { return cmp.Compare(r.Offset, o) })
	return i
}

// checkPrecommittedReads reports records a read_committed monitor read
// before their copier even asked to commit them (RELIABILITY.md §3 rule
// 10: no precommitted reads): the broker served a transaction still open.
// Both times come from the same host clock.
func checkPrecommittedReads(r *chainReport, stage int, seen []chainRecord, events []timedCopierEvent) {
	ending := map[string]time.Time{}
	for _, ev := range events {
		if ev.Kind == "txn" && !ev.Ending.IsZero() {
			ending[fmt.Sprintf("%s#%d", ev.Copier, ev.Txn)] = ev.Ending
		}
	}
	for _, rec := range seen {
		if at, ok := ending[rec.Txn]; ok && rec.Read.Before(at) {
			r.add("precommitted-read", "%s: read_committed returned %s %q at %s, before its copier called End at %s",
				txnChainTopic(stage), describeRecord(rec, ""), rec.Value, rec.Read.Format("15:04:05.000000"), at.Format("15:04:05.000000"))
		}
	}
}

// checkStage compares what stage copied: the visible records of its
// output with those of its input, per key: each input value exactly once,
// in the input's order, in the same partition, and nothing else.
func checkStage(r *chainReport, stage int, in, out chainLog) {
	name := fmt.Sprintf("stage %d (%s -> %s)", stage, txnChainTopic(stage-1), txnChainTopic(stage))
	type place struct {
		rec   chainRecord
		index int // position among the key's input values
	}
	inByValue := map[string]place{}
	inByKey := map[string][]string{}
	for _, p := range slices.Sorted(maps.Keys(in)) {
		for _, rec := range in[p] {
			key := valueKey(rec.Value)
			inByValue[rec.Value] = place{rec: rec, index: len(inByKey[key])}
			inByKey[key] = append(inByKey[key], rec.Value)
		}
	}
	copies := map[string][]chainRecord{}
	lastIndex := map[string]int{} // key -> input position of the last copy in order
	lastValue := map[string]chainRecord{}
	for _, p := range slices.Sorted(maps.Keys(out)) {
		for _, rec := range out[p] {
			from, ok := inByValue[rec.Value]
			if !ok {
				r.add("unexpected-value", "%s: %s %q is in no visible input record", name, describeRecord(rec, ""), rec.Value)
				continue
			}
			copies[rec.Value] = append(copies[rec.Value], rec)
			if rec.Partition != from.rec.Partition {
				r.add("wrong-partition", "%s: %q in partition %d, input in %d", name, rec.Value, rec.Partition, from.rec.Partition)
			}
			key := valueKey(rec.Value)
			if prev, seen := lastIndex[key]; seen && from.index <= prev {
				r.add("out-of-order", "%s: key %s: %q at %s after %q at %s", name, key, rec.Value, describeRecord(rec, ""),
					lastValue[key].Value, describeRecord(lastValue[key], ""))
			}
			lastIndex[key], lastValue[key] = max(lastIndex[key], from.index), rec
		}
	}
	for _, key := range slices.Sorted(maps.Keys(inByKey)) {
		for _, v := range inByKey[key] {
			switch c := copies[v]; {
			case len(c) == 0:
				r.add("missing", "%s: %q (input %s) not copied", name, v, describeRecord(inByValue[v].rec, ""))
			case len(c) > 1:
				var at []string
				for _, rec := range c {
					at = append(at, describeRecord(rec, ""))
				}
				r.add("duplicate", "%s: %q copied %d times: %s", name, v, len(c), strings.Join(at, ", "))
			}
		}
	}
}

// valueKey is the key part of a chain value, "k07" of "k07-000012".
func valueKey(v string) string {
	key, _, _ := strings.Cut(v, "-")
	return key
}

// checkCopierOutcomes compares what End told each copier with the fate of
// its transaction's records: a commit it reported must be committed
// everywhere, a clean abort aborted everywhere. Transactions of copiers
// that gave up or were killed have no reported outcome.
func checkCopierOutcomes(r *chainReport, stage int, out chainLog, events []timedCopierEvent) {
	fates := out.fates()
	byTxn := map[string][]string{} // txn -> fates of its records
	for p, records := range out {
		for _, rec := range records {
			if rec.Control == "" && rec.Txn != "" {
				byTxn[rec.Txn] = append(byTxn[rec.Txn], fates[p][rec.Offset])
			}
		}
	}
	prefix := fmt.Sprintf("s%d-", stage)
	for _, ev := range events {
		if ev.Kind != "txn" || ev.Err != "" || !strings.HasPrefix(ev.Copier, prefix) {
			continue
		}
		label := fmt.Sprintf("%s#%d", ev.Copier, ev.Txn)
		want := fateAborted
		if ev.Committed {
			want = fateCommitted
		}
		got := byTxn[label]
		if ev.Committed && len(got) != ev.Records {
			r.add("committed-txn-records", "%s txn %s: End reported a commit of %d records; the log holds %d", txnChainTopic(stage), label, ev.Records, len(got))
		}
		for _, f := range got {
			if f != want {
				r.add("txn-outcome-mismatch", "%s txn %s: End reported committed=%v (note %q); a record of it is %s",
					txnChainTopic(stage), label, ev.Committed, ev.Note, f)
				break
			}
		}
	}
}

// checkGroupOffsets checks a stage group's final committed offsets
// against its input: past the last visible record of each partition (it
// copied everything) and not past the high watermark; and not behind the
// last offset a copier reported committing.
func checkGroupOffsets(r *chainReport, stage int, in chainLog, committed map[int32]int64, events []timedCopierEvent) {
	group := fmt.Sprintf("stage %d group", stage)
	visible := in.visible()
	reported := map[int32]int64{} // partition -> highest offset a reported commit consumed, +1
	prefix := fmt.Sprintf("s%d-", stage)
	for _, ev := range events {
		if ev.Kind == "txn" && ev.Committed && strings.HasPrefix(ev.Copier, prefix) {
			for p, span := range ev.Consumed {
				reported[p] = max(reported[p], span[1]+1)
			}
		}
	}
	for p := range int32(txnChainPartitions) {
		c, ok := committed[p]
		end := int64(len(in[p]))
		var lastVisible int64 = -1
		if vs := visible[p]; len(vs) > 0 {
			lastVisible = vs[len(vs)-1].Offset
		}
		switch {
		case !ok && lastVisible >= 0:
			r.add("group-offset-missing", "%s: nothing committed on %s/%d, which has visible records up to %d",
				group, txnChainTopic(stage-1), p, lastVisible)
		case !ok:
		case c <= lastVisible:
			r.add("group-offset-short", "%s: committed %d on %s/%d, whose last visible record is at %d (high watermark %d)",
				group, c, txnChainTopic(stage-1), p, lastVisible, end)
		case c > end:
			r.add("group-offset-beyond-end", "%s: committed %d on %s/%d, beyond its high watermark %d", group, c, txnChainTopic(stage-1), p, end)
		}
		if ok && c < reported[p] {
			r.add("group-offset-behind-commit", "%s: committed %d on %s/%d, but a copier's committed transaction consumed up to %d",
				group, c, txnChainTopic(stage-1), p, reported[p]-1)
		}
	}
}
