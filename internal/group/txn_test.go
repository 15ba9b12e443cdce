package group

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// txnReq is a TxnOffsetCommit of one partition for producer pid (epoch 0)
// to group "g", from member at generation (v3+).
func txnReq(version int16, pid int64, member string, generation int32, topic string, partition int32, offset int64) *kmsg.TxnOffsetCommitRequest {
	req := kmsg.NewPtrTxnOffsetCommitRequest()
	req.Version, req.TransactionalID, req.Group, req.ProducerID = version, fmt.Sprintf("txn-%d", pid), "g", pid
	req.MemberID, req.Generation = member, generation
	rt := kmsg.NewTxnOffsetCommitRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewTxnOffsetCommitRequestTopicPartition()
	rp.Partition, rp.Offset = partition, offset
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	return req
}

func (h *harness) txnCommit(req *kmsg.TxnOffsetCommitRequest) int16 {
	h.t.Helper()
	r := h.reply(h.send("producer", req)).(*kmsg.TxnOffsetCommitResponse)
	return r.Topics[0].Partitions[0].ErrorCode
}

// simpleTxn commits offset for t-partition in pid's transaction, outside
// any group membership.
func (h *harness) simpleTxn(pid int64, partition int32, offset int64) {
	h.t.Helper()
	if got := h.txnCommit(txnReq(3, pid, "", -1, "t", partition, offset)); got != 0 {
		h.t.Fatalf("TxnOffsetCommit of producer %d: %v", pid, kerr.ErrorForCode(got))
	}
}

// writeMarker appends pid's marker to the log, as WriteTxnMarkers does,
// without telling the core yet; complete tells it.
func (h *harness) writeMarker(pid int64, commit bool) int64 {
	offset := int64(len(h.log))
	h.log = append(h.log, LogRecord{Offset: offset, ProducerID: pid, Transactional: true, Marker: true, Commit: commit})
	return offset
}

func (h *harness) complete(pid int64, commit bool, offset int64) {
	h.c.completeTransaction(0, pid, commit, offset)
	h.collect()
}

func (h *harness) endTxn(pid int64, commit bool) {
	h.complete(pid, commit, h.writeMarker(pid, commit))
}

// fetchStable fetches t-partition with RequireStable at version: offset and
// error code.
func (h *harness) fetchStable(version int16, partition int32) (int64, int16) {
	h.t.Helper()
	req := kmsg.NewPtrOffsetFetchRequest()
	req.Version, req.RequireStable = version, true
	if version < 8 {
		req.Group = "g"
		req.Topics = []kmsg.OffsetFetchRequestTopic{{Topic: "t", Partitions: []int32{partition}}}
		p := h.reply(h.send("c", req)).(*kmsg.OffsetFetchResponse).Topics[0].Partitions[0]
		return p.Offset, p.ErrorCode
	}
	req.Groups = []kmsg.OffsetFetchRequestGroup{{Group: "g", Topics: []kmsg.OffsetFetchRequestGroupTopic{{Topic: "t", Partitions: []int32{partition}}}}}
	p := h.reply(h.send("c", req)).(*kmsg.OffsetFetchResponse).Groups[0].Topics[0].Partitions[0]
	return p.Offset, p.ErrorCode
}

// offsetsState draws a core's committed and pending offsets, with the log
// offsets of their records, in a stable order. Of a producer's pending
// offsets of one partition only the last is drawn: earlier ones of the
// same transaction (kept when a marker of another producer interleaved)
// never count, since a marker commits the last one before it.
func offsetsState(c *core) string {
	var lines []string
	for _, g := range c.groups {
		for tp, o := range g.offsets {
			lines = append(lines, fmt.Sprintf("%s %s-%d committed %d @%d", g.id, tp.Topic, tp.Partition, o.Offset, o.recordOffset))
		}
		for pid, pending := range g.txnOffsets {
			for tp, list := range pending {
				o := list[len(list)-1]
				lines = append(lines, fmt.Sprintf("%s %s-%d pending(%d) %d @%d", g.id, tp.Topic, tp.Partition, pid, o.Offset, o.recordOffset))
			}
		}
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

// replayed loads the log written so far into a fresh core, as a new
// coordinator does.
func (h *harness) replayed() *core {
	h.t.Helper()
	c := newCore(h.c.cfg)
	for _, rec := range h.log {
		if err := c.loadRecord(0, rec, h.now); err != nil {
			h.t.Fatalf("replaying offset %d: %v", rec.Offset, err)
		}
	}
	c.finishLoad(0, h.now)
	return c
}

// checkReplay requires a replay of the log to hold the live core's
// offsets, committed and pending, exactly.
func (h *harness) checkReplay() *core {
	h.t.Helper()
	c := h.replayed()
	if live, replayed := offsetsState(h.c), offsetsState(c); live != replayed {
		h.t.Fatalf("replay differs from the live coordinator:\nlive:\n%s\nreplayed:\n%s", live, replayed)
	}
	return c
}

func TestTxnOffsetsPendingUntilCommit(t *testing.T) {
	h := newHarness(t, nil)
	if got := h.commitCode(commitReq("", -1, "t", 0, 5, "")); got != 0 {
		t.Fatal(got)
	}
	req := txnReq(3, 7, "", -1, "t", 0, 10)
	rp := kmsg.NewTxnOffsetCommitRequestTopicPartition()
	rp.Partition, rp.Offset, rp.LeaderEpoch = 1, 11, 4
	req.Topics[0].Partitions = append(req.Topics[0].Partitions, rp)
	resp := h.reply(h.send("p", req)).(*kmsg.TxnOffsetCommitResponse)
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 2 || resp.Topics[0].Partitions[1].ErrorCode != 0 {
		t.Fatalf("response %+v", resp.Topics)
	}
	// One transactional batch of the producer, records as OffsetCommit's.
	txnRecords := h.log[1:]
	if len(txnRecords) != 2 || !txnRecords[0].Transactional || txnRecords[1].ProducerID != 7 {
		t.Fatalf("log %+v", h.log)
	}
	d, err := decodeRecord(txnRecords[1].Key, txnRecords[1].Value)
	if err != nil || d.offset.Offset != 11 || d.offset.LeaderEpoch != 4 {
		t.Fatalf("transactional record %+v %v", d.offset, err)
	}
	// Pending: the last committed value is fetched; RequireStable refuses.
	if got := h.fetchOffset("t", 0); got != 5 {
		t.Fatalf("fetched %d while pending, want 5", got)
	}
	if got := h.fetchOffset("t", 1); got != -1 {
		t.Fatalf("fetched %d while pending, want -1", got)
	}
	for _, v := range []int16{7, 8} {
		if off, code := h.fetchStable(v, 0); code != kerr.UnstableOffsetCommit.Code || off != -1 {
			t.Fatalf("v%d require stable: %d %v", v, off, kerr.ErrorForCode(code))
		}
	}
	if off, code := h.fetchStable(6, 0); code != 0 || off != 5 {
		t.Fatalf("v6 cannot require stable: %d %v", off, kerr.ErrorForCode(code))
	}
	h.checkReplay()
	h.endTxn(7, true)
	for p, want := range map[int32]int64{0: 10, 1: 11} {
		if off, code := h.fetchStable(8, p); code != 0 || off != want {
			t.Fatalf("t-%d after commit: %d %v, want %d", p, off, kerr.ErrorForCode(code), want)
		}
	}
	h.checkReplay()
}

func TestTxnOffsetsAbort(t *testing.T) {
	h := newHarness(t, nil)
	if got := h.commitCode(commitReq("", -1, "t", 0, 5, "")); got != 0 {
		t.Fatal(got)
	}
	h.simpleTxn(7, 0, 10)
	h.simpleTxn(7, 2, 12)
	h.endTxn(7, false)
	if off, code := h.fetchStable(8, 0); code != 0 || off != 5 {
		t.Fatalf("after abort: %d %v", off, kerr.ErrorForCode(code))
	}
	if off, code := h.fetchStable(8, 2); code != 0 || off != -1 {
		t.Fatalf("after abort: %d %v", off, kerr.ErrorForCode(code))
	}
	if g := h.c.groups["g"]; len(g.txnOffsets) != 0 || len(h.c.openTxns) != 0 {
		t.Fatalf("pending left after abort: %v %v", g.txnOffsets, h.c.openTxns)
	}
	h.checkReplay()
}

// TestTxnOffsetsLaterRecordWins: a committed transaction's offset replaces
// the committed one only if its record is later in the log.
func TestTxnOffsetsLaterRecordWins(t *testing.T) {
	h := newHarness(t, nil)
	h.simpleTxn(7, 0, 10)
	if got := h.commitCode(commitReq("", -1, "t", 0, 20, "")); got != 0 {
		t.Fatal(got)
	}
	h.endTxn(7, true)
	if got := h.fetchOffset("t", 0); got != 20 {
		t.Fatalf("plain commit after the transactional one: %d, want 20", got)
	}
	h.checkReplay()
	// The other way round the transaction's record is the later one.
	if got := h.commitCode(commitReq("", -1, "t", 1, 30, "")); got != 0 {
		t.Fatal(got)
	}
	h.simpleTxn(8, 1, 15)
	h.endTxn(8, true)
	if got := h.fetchOffset("t", 1); got != 15 {
		t.Fatalf("transactional commit after the plain one: %d, want 15", got)
	}
	h.checkReplay()
}

// TestTxnOffsetsTwoProducersInterleaved: each marker ends only its own
// producer's offsets, and between two committed transactions the later
// record wins whatever the order of the markers.
func TestTxnOffsetsTwoProducersInterleaved(t *testing.T) {
	h := newHarness(t, nil)
	h.simpleTxn(1, 0, 10)
	h.simpleTxn(2, 0, 20)
	h.simpleTxn(2, 1, 21)
	h.simpleTxn(1, 1, 11)
	h.checkReplay()
	h.endTxn(9, true) // a producer with nothing pending here
	h.endTxn(2, true)
	if h.fetchOffset("t", 0) != 20 || h.fetchOffset("t", 1) != 21 {
		t.Fatalf("after producer 2 committed: %d %d", h.fetchOffset("t", 0), h.fetchOffset("t", 1))
	}
	if _, code := h.fetchStable(8, 1); code != kerr.UnstableOffsetCommit.Code {
		t.Fatalf("producer 1 still pending on t-1: %v", kerr.ErrorForCode(code))
	}
	h.checkReplay()
	h.endTxn(1, true)
	// Producer 1's t-0 record is older than producer 2's; its t-1 is newer.
	if h.fetchOffset("t", 0) != 20 || h.fetchOffset("t", 1) != 11 {
		t.Fatalf("after producer 1 committed: %d %d", h.fetchOffset("t", 0), h.fetchOffset("t", 1))
	}
	h.checkReplay()
}

// TestTxnOffsetsMarkerAppliesToEarlierRecordsOnly: a producer's next
// transaction may write before the previous marker reaches the core; that
// marker ends only the records before it.
func TestTxnOffsetsMarkerAppliesToEarlierRecordsOnly(t *testing.T) {
	h := newHarness(t, nil)
	h.simpleTxn(7, 0, 10)
	marker := h.writeMarker(7, true)
	h.simpleTxn(7, 0, 11)
	h.complete(7, true, marker)
	if off, code := h.fetchStable(8, 0); code != kerr.UnstableOffsetCommit.Code {
		t.Fatalf("next transaction's offset not pending: %d %v", off, kerr.ErrorForCode(code))
	}
	if got := h.fetchOffset("t", 0); got != 10 {
		t.Fatalf("committed %d, want 10", got)
	}
	h.checkReplay()
	// Applying the same marker again changes nothing.
	h.complete(7, true, marker)
	if got := h.fetchOffset("t", 0); got != 10 {
		t.Fatalf("after a repeated marker %d, want 10", got)
	}
	h.endTxn(7, false)
	if off, code := h.fetchStable(8, 0); code != 0 || off != 10 {
		t.Fatalf("after the abort: %d %v", off, kerr.ErrorForCode(code))
	}
	h.checkReplay()
}

// TestTxnMarkerReplayedByLoad: a completion for a marker the load already
// read is ignored, even if the producer has written again since; a marker
// after the loaded end applies; a partition not loaded ignores it.
func TestTxnMarkerReplayedByLoad(t *testing.T) {
	h := newHarness(t, nil)
	h.simpleTxn(7, 0, 10)
	marker := h.writeMarker(7, true)
	h.c = h.replayed() // a new coordinator loaded the marker
	h.simpleTxn(7, 0, 11)
	h.complete(7, true, marker)
	if got := h.fetchOffset("t", 0); got != 10 {
		t.Fatalf("a replayed marker was applied again: %d, want 10", got)
	}
	h.c.unload(0)
	h.complete(7, true, h.writeMarker(7, true))
	h.c = h.replayed()
	if got := h.fetchOffset("t", 0); got != 11 {
		t.Fatalf("marker written while unloaded: %d, want 11", got)
	}
}

func TestTxnOffsetsDeleted(t *testing.T) {
	h := newHarness(t, nil)
	h.simpleTxn(7, 0, 10)
	if got := h.commitCode(commitReq("", -1, "t", 1, 5, "")); got != 0 {
		t.Fatal(got)
	}
	h.simpleTxn(7, 1, 11)
	del := kmsg.NewPtrOffsetDeleteRequest()
	del.Group = "g"
	del.Topics = []kmsg.OffsetDeleteRequestTopic{{Topic: "t", Partitions: []kmsg.OffsetDeleteRequestTopicPartition{{Partition: 0}}}}
	if r := h.reply(h.send("c", del)).(*kmsg.OffsetDeleteResponse); r.ErrorCode != 0 || r.Topics[0].Partitions[0].ErrorCode != 0 {
		t.Fatalf("offset delete: %+v", r)
	}
	if _, code := h.fetchStable(8, 0); code != 0 {
		t.Fatalf("pending offset survived OffsetDelete: %v", kerr.ErrorForCode(code))
	}
	h.checkReplay()
	h.endTxn(7, true)
	if h.fetchOffset("t", 0) != -1 || h.fetchOffset("t", 1) != 11 {
		t.Fatalf("after commit: t-0 %d (deleted), t-1 %d", h.fetchOffset("t", 0), h.fetchOffset("t", 1))
	}
	h.checkReplay()
	// DeleteGroups does not wait for transactions, as in Kafka: a
	// pending-only partition gets its tombstone too.
	h.simpleTxn(8, 2, 12)
	n := len(h.log)
	dg := kmsg.NewPtrDeleteGroupsRequest()
	dg.Groups = []string{"g"}
	if r := h.reply(h.send("c", dg)).(*kmsg.DeleteGroupsResponse); r.Groups[0].ErrorCode != 0 {
		t.Fatalf("delete group: %v", kerr.ErrorForCode(r.Groups[0].ErrorCode))
	}
	if written := len(h.log) - n; written != 3 {
		t.Fatalf("delete wrote %d records, want tombstones of t-1, t-2 and the group", written)
	}
	if len(h.c.openTxns) != 0 {
		t.Fatalf("open transactions of a deleted group: %v", h.c.openTxns)
	}
	h.endTxn(8, true)
	if h.c.groups["g"] != nil {
		t.Fatalf("the marker brought back a deleted group")
	}
	h.checkReplay()
}

// TestTxnPendingListStaysShort: a producer rewriting a partition in one
// transaction keeps one pending offset; after another producer's marker
// landed between its writes it keeps both, and its marker commits the last.
func TestTxnPendingListStaysShort(t *testing.T) {
	h := newHarness(t, nil)
	for offset := int64(1); offset <= 3; offset++ {
		h.simpleTxn(7, 0, offset)
	}
	pending := func() int { return len(h.c.groups["g"].txnOffsets[7][topicPartition{Topic: "t", Partition: 0}]) }
	if n := pending(); n != 1 {
		t.Fatalf("%d pending offsets after rewrites in one run of appends, want 1", n)
	}
	h.endTxn(8, false) // another producer's marker lands in between
	h.simpleTxn(7, 0, 4)
	if n := pending(); n != 2 {
		t.Fatalf("%d pending offsets across another producer's marker, want 2", n)
	}
	h.endTxn(7, true)
	if got := h.fetchOffset("t", 0); got != 4 || len(h.c.groups["g"].txnOffsets) != 0 {
		t.Fatalf("committed %d, pending %v; want 4 and none", got, h.c.groups["g"].txnOffsets)
	}
	h.checkReplay()
}
