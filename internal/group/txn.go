package group

import (
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Transactional offset commits (KIP-98, KIP-447), as Kafka's
// OffsetMetadataManager keeps them. A TxnOffsetCommit's offsets are written
// as one transactional batch of the producer and held pending, per group
// and producer, invisible to OffsetFetch. The producer's transaction marker
// in the same partition ends them: a commit moves each to the committed
// offsets unless a later record (a plain commit after it) already wrote
// that partition; an abort drops them. A tombstone of a partition's offset
// drops pending offsets of that partition too.
//
// Kafka's coordinator writes markers itself and applies them in log order.
// Here the broker writes them and the coordinator learns of each later
// (completeTransaction), so a producer's next transaction may in principle
// have written before its previous marker is applied. So each pending
// offset knows its record's log offset, a marker ends only the offsets
// below it, and a producer's offsets of one partition are a list in log
// order: a new one replaces the last only when no entry the coordinator
// did not write lies between them (then both are of one transaction),
// which keeps the list at one entry when nothing interleaves.

// logPosition is what the core knows of one loaded partition's log.
type logPosition struct {
	// appendEnd is the offset after the coordinator's last append (or the
	// load), and runStart the first offset of its appends since the last
	// entry it did not write.
	appendEnd, runStart int64
}

func (c *core) position(partition int32) *logPosition {
	pos := c.positions[partition]
	if pos == nil {
		pos = &logPosition{}
		c.positions[partition] = pos
	}
	return pos
}

// txnKey names one producer's transaction in one offsets partition.
type txnKey struct {
	partition  int32
	producerID int64
}

// txnBatch is what a TxnOffsetCommit writes: its offsets become pending
// only once the batch is in the log.
type txnBatch struct {
	producer Producer
	group    string
	tps      []topicPartition // the partition of each record
	request  uint64           // the request to answer if the batch is refused
}

// commitTxnOffsets handles TxnOffsetCommit. Each partition is checked as an
// OffsetCommit's is; the valid ones are written in one transactional batch.
func (c *core) commitTxnOffsets(now time.Time, id uint64, msg *kmsg.TxnOffsetCommitRequest) {
	resp := kmsg.NewPtrTxnOffsetCommitResponse()
	resp.Version = msg.Version
	code, g := c.validateTxnCommit(now, msg)
	var batch commitBatch
	for _, rt := range msg.Topics {
		ot := kmsg.NewTxnOffsetCommitResponseTopic()
		ot.Topic = rt.Topic
		for _, rp := range rt.Partitions {
			op := kmsg.NewTxnOffsetCommitResponseTopicPartition()
			op.Partition, op.ErrorCode = rp.Partition, code
			if code == 0 {
				tp := topicPartition{Topic: rt.Topic, Partition: rp.Partition}
				op.ErrorCode = c.addCommit(&batch, g.id, tp, rp.Offset, rp.LeaderEpoch, rp.Metadata, now)
			}
			ot.Partitions = append(ot.Partitions, op)
		}
		resp.Topics = append(resp.Topics, ot)
	}
	partition := int32(-1)
	if g != nil {
		partition = g.partition
	}
	if g != nil && len(batch.records) > 0 {
		txn := &txnBatch{producer: Producer{ID: msg.ProducerID, Epoch: msg.ProducerEpoch}, group: g.id, tps: batch.tps, request: id}
		c.out.persists = append(c.out.persists, persist{partition: g.partition, records: batch.records, commits: batch.commits, txn: txn})
	}
	c.respond(id, partition, resp)
}

// validateTxnCommit is Kafka's validateTransactionalOffsetCommit: it
// returns the error for every partition, or the group to commit to.
// Versions 0-2 carry no member, generation or instance id: they count as
// absent (-1, "", null), as Kafka reads them.
func (c *core) validateTxnCommit(now time.Time, msg *kmsg.TxnOffsetCommitRequest) (int16, *group) {
	generation, memberID, instanceID := int32(-1), "", ""
	if msg.Version >= 3 {
		generation, memberID, instanceID = msg.Generation, msg.MemberID, deref(msg.InstanceID)
	}
	code, g, created := c.commitGroup(now, msg.Group, generation)
	if code != 0 || created {
		return code, g
	}
	if g.consumer != nil {
		return validateConsumerTxnCommit(g.consumer, memberID, generation), g
	}
	return validateClassicTxnCommit(g, memberID, instanceID, generation), g
}

// validateClassicTxnCommit is Kafka's ClassicGroup.validateOffsetCommit for
// a transactional commit: a commit naming no member is accepted whatever
// the group's state, and a rebalance in progress does not refuse it.
func validateClassicTxnCommit(g *group, memberID, instanceID string, generation int32) int16 {
	if generation < 0 && (g.state == StateEmpty || memberID == "" && instanceID == "") {
		return 0
	}
	if instanceID != "" {
		holder, ok := g.instances[instanceID]
		if !ok {
			return kerr.UnknownMemberID.Code
		}
		if holder != memberID {
			return kerr.FencedInstanceID.Code
		}
	}
	if g.members[memberID] == nil {
		return kerr.UnknownMemberID.Code
	}
	if generation != g.generation {
		return kerr.IllegalGeneration.Code
	}
	return 0
}

// validateConsumerTxnCommit is Kafka's ConsumerGroup.validateOffsetCommit
// for a transactional commit: only an empty group takes a commit from
// outside, and a member commits at its current epoch. A stale epoch is
// ILLEGAL_GENERATION, the error TxnOffsetCommit clients know (Kafka turns
// STALE_MEMBER_EPOCH into it).
func validateConsumerTxnCommit(cg *consumerGroup, memberID string, epoch int32) int16 {
	if epoch < 0 && len(cg.members) == 0 {
		return 0
	}
	m := cg.members[memberID]
	if m == nil {
		return kerr.UnknownMemberID.Code
	}
	if epoch != m.memberEpoch {
		return kerr.IllegalGeneration.Code
	}
	return 0
}

// addPending makes a transactional batch's offsets pending once appended.
func (c *core) addPending(partition int32, txn *txnBatch, commits []*offsetCommit) {
	g := c.lookup(txn.group)
	if g == nil {
		return
	}
	runStart := c.position(partition).runStart
	for i, tp := range txn.tps {
		c.addPendingOffset(g, txn.producer.ID, tp, commits[i], runStart)
	}
}

// addPendingOffset adds a pending offset of producerID; it replaces the
// producer's last one for tp if that record is at or after runStart.
func (c *core) addPendingOffset(g *group, producerID int64, tp topicPartition, commit *offsetCommit, runStart int64) {
	if g.txnOffsets == nil {
		g.txnOffsets = map[int64]map[topicPartition][]*offsetCommit{}
	}
	pending := g.txnOffsets[producerID]
	if pending == nil {
		pending = map[topicPartition][]*offsetCommit{}
		g.txnOffsets[producerID] = pending
	}
	list := pending[tp]
	if n := len(list); n > 0 && list[n-1].recordOffset >= runStart {
		list = list[:n-1]
	}
	pending[tp] = append(list, commit)
	key := txnKey{partition: g.partition, producerID: producerID}
	if c.openTxns[key] == nil {
		c.openTxns[key] = map[string]bool{}
	}
	c.openTxns[key][g.id] = true
}

// hasPending reports whether any producer holds a pending offset for tp.
func (g *group) hasPending(tp topicPartition) bool {
	for _, pending := range g.txnOffsets {
		if len(pending[tp]) > 0 {
			return true
		}
	}
	return false
}

// dropPending forgets every producer's pending offsets for tp, as the
// replay of tp's tombstone does in Kafka.
func (g *group) dropPending(tp topicPartition) {
	for _, pending := range g.txnOffsets {
		delete(pending, tp)
	}
}

// forgetTxns removes a group that is going away from the open
// transactions.
func (c *core) forgetTxns(g *group) {
	for producerID := range g.txnOffsets {
		key := txnKey{partition: g.partition, producerID: producerID}
		delete(c.openTxns[key], g.id)
		if len(c.openTxns[key]) == 0 {
			delete(c.openTxns, key)
		}
	}
	g.txnOffsets = nil
}

// completeTransaction applies a marker the broker wrote at markerOffset.
// It needs no check against loading: a partition not loaded holds no
// pending offsets (its load will replay the marker from the log), and a
// marker the load read already ended every offset before it, the only ones
// it ends.
func (c *core) completeTransaction(partition int32, producerID int64, commit bool, markerOffset int64) {
	c.endTxn(partition, producerID, commit, markerOffset)
}

// endTxn is Kafka's replayEndTransactionMarker: the producer's pending
// offsets written before the marker are committed or dropped. Offsets
// written after it belong to the producer's next transaction and stay.
func (c *core) endTxn(partition int32, producerID int64, commit bool, markerOffset int64) {
	key := txnKey{partition: partition, producerID: producerID}
	for groupID := range c.openTxns[key] {
		g := c.groups[groupID]
		pending := map[topicPartition][]*offsetCommit(nil)
		if g != nil {
			pending = g.txnOffsets[producerID]
		}
		for tp, list := range pending {
			ended := 0
			for ended < len(list) && list[ended].recordOffset < markerOffset {
				ended++
			}
			if commit && ended > 0 {
				g.commitPending(tp, list[ended-1])
			}
			if pending[tp] = list[ended:]; len(pending[tp]) == 0 {
				delete(pending, tp)
			}
		}
		if len(pending) == 0 {
			if g != nil {
				delete(g.txnOffsets, producerID)
			}
			delete(c.openTxns[key], groupID)
		}
	}
	if len(c.openTxns[key]) == 0 {
		delete(c.openTxns, key)
	}
}

// commitPending makes a committed transaction's offset the group's unless
// the committed one comes from a later record.
func (g *group) commitPending(tp topicPartition, offset *offsetCommit) {
	if current := g.offsets[tp]; current == nil || offset.recordOffset > current.recordOffset {
		g.offsets[tp] = offset
	}
}

// unloadTxns forgets the open transactions of a partition being unloaded.
func (c *core) unloadTxns(partition int32) {
	for key := range c.openTxns {
		if key.partition == partition {
			delete(c.openTxns, key)
		}
	}
	delete(c.positions, partition)
}
