package txn

// AddPartitionsToTxn: versions 0-5. v0-3 carry one transaction from its
// producer; v4+ a batch of transactions from a partition leader, each either
// added (as v0-3, for a producer of transaction version 2 whose Produce or
// TxnOffsetCommit adds the partition implicitly) or, with VerifyOnly,
// checked: each partition answers NONE when it is in the ongoing
// transaction, TRANSACTION_ABORTABLE when not.
// AddOffsetsToTxn: versions 0-4, adds the group's __consumer_offsets
// partition. A partition unknown to the cluster fails its transaction: it
// answers UNKNOWN_TOPIC_OR_PARTITION and the others OPERATION_NOT_ATTEMPTED,
// as Kafka. Otherwise one code answers every partition of a transaction. v0
// and v1 answer PRODUCER_FENCED as INVALID_PRODUCER_EPOCH. The transactions
// of one request are written together, one batch per log partition.

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// addTxn is one transaction of an AddPartitionsToTxn or AddOffsetsToTxn.
type addTxn struct {
	id         string
	producerID int64
	epoch      int16
	verifyOnly bool
	partitions []TopicPartition // distinct, in request order
	// code answers every partition, unless codes is set.
	code  int16
	codes map[TopicPartition]int16
	w     *write
	// settled, when set, closes once the producer's previous transaction
	// completes; stop closes when its partition is resigned.
	settled, stop <-chan struct{}
}

func (t *addTxn) codeFor(tp TopicPartition) int16 {
	if t.codes != nil {
		return t.codes[tp]
	}
	return t.code
}

func (c *Coordinator) addPartitionsToTxn(ctx context.Context, req *kmsg.AddPartitionsToTxnRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.AddPartitionsToTxnResponse)
	tv := addPartitionsTransactionVersion(req.Version)
	if req.Version < 4 {
		t := &addTxn{id: req.TransactionalID, producerID: req.ProducerID, epoch: req.ProducerEpoch}
		for _, rt := range req.Topics {
			t.partitions = appendPartitions(t.partitions, rt.Topic, rt.Partitions)
		}
		t.partitions = distinct(t.partitions)
		c.addPartitions(ctx, []*addTxn{t}, true, tv)
		if t.code == kerr.ProducerFenced.Code && req.Version < 2 {
			t.code = kerr.InvalidProducerEpoch.Code
		}
		resp.Topics = v3Topics(t)
		return resp
	}
	txns := make([]*addTxn, len(req.Transactions))
	for i, rt := range req.Transactions {
		t := &addTxn{id: rt.TransactionalID, producerID: rt.ProducerID, epoch: rt.ProducerEpoch, verifyOnly: rt.VerifyOnly}
		for _, topic := range rt.Topics {
			t.partitions = appendPartitions(t.partitions, topic.Topic, topic.Partitions)
		}
		t.partitions = distinct(t.partitions)
		txns[i] = t
	}
	c.addPartitions(ctx, txns, true, tv)
	resp.Transactions = make([]kmsg.AddPartitionsToTxnResponseTransaction, len(txns))
	for i, t := range txns {
		rt := &resp.Transactions[i]
		rt.Default()
		rt.TransactionalID = t.id
		for _, tps := range byTopic(t.partitions) {
			topic := kmsg.NewAddPartitionsToTxnResponseTransactionTopic()
			topic.Topic = tps[0].Topic
			for _, tp := range tps {
				p := kmsg.NewAddPartitionsToTxnResponseTransactionTopicPartition()
				p.Partition, p.ErrorCode = tp.Partition, t.codeFor(tp)
				topic.Partitions = append(topic.Partitions, p)
			}
			rt.Topics = append(rt.Topics, topic)
		}
	}
	return resp
}

func v3Topics(t *addTxn) []kmsg.AddPartitionsToTxnResponseTopic {
	var topics []kmsg.AddPartitionsToTxnResponseTopic
	for _, tps := range byTopic(t.partitions) {
		topic := kmsg.NewAddPartitionsToTxnResponseTopic()
		topic.Topic = tps[0].Topic
		for _, tp := range tps {
			p := kmsg.NewAddPartitionsToTxnResponseTopicPartition()
			p.Partition, p.ErrorCode = tp.Partition, t.codeFor(tp)
			topic.Partitions = append(topic.Partitions, p)
		}
		topics = append(topics, topic)
	}
	return topics
}

func (c *Coordinator) addOffsetsToTxn(ctx context.Context, req *kmsg.AddOffsetsToTxnRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.AddOffsetsToTxnResponse)
	if c.offsetsPartition == nil {
		resp.ErrorCode = kerr.CoordinatorNotAvailable.Code
		return resp
	}
	tp, err := c.offsetsPartition(req.Group)
	if err != nil {
		resp.ErrorCode = kerr.CoordinatorNotAvailable.Code
		if code := codeOf(err); code != kerr.UnknownServerError.Code {
			resp.ErrorCode = code
		}
		return resp
	}
	t := &addTxn{id: req.TransactionalID, producerID: req.ProducerID, epoch: req.ProducerEpoch,
		partitions: []TopicPartition{tp}}
	c.addPartitions(ctx, []*addTxn{t}, false, 0) // never from a client of version 2
	resp.ErrorCode = t.code
	if resp.ErrorCode == kerr.ProducerFenced.Code && req.Version < 2 {
		resp.ErrorCode = kerr.InvalidProducerEpoch.Code
	}
	return resp
}

// addPartitions decides every transaction under one lock, writes those that
// change, and leaves each outcome in its addTxn.
//
// A partition leader adding a partition for a producer of transaction
// version 2 whose previous transaction is still writing its markers waits
// for them, bounded by ctx, and is then decided again, where Kafka answers
// CONCURRENT_TRANSACTIONS at once. Such a producer begins its next
// transaction as soon as EndTxn answers, before the markers are written,
// and the leader has to turn that answer into a retriable produce error
// (NOT_ENOUGH_REPLICAS), after which clients such as franz-go wait for a
// metadata refresh, seconds; this coordinator writes the markers in
// milliseconds. Adds from clients keep Kafka's answer: they retry it
// themselves after a short backoff.
func (c *Coordinator) addPartitions(ctx context.Context, txns []*addTxn, checkExist bool, tv int16) {
	if checkExist {
		for _, t := range txns {
			c.checkPartitionsExist(t)
		}
	}
	waitCtx, cancel := context.WithTimeout(ctx, settleWaitMax)
	defer cancel()
	for again := txns; len(again) > 0; {
		again = c.addPartitionsOnce(ctx, again, tv)
		if !waitSettled(waitCtx, again) {
			return
		}
	}
}

// settleWaitMax bounds how long an add from a partition leader waits for
// the markers of the producer's previous transaction, whatever the
// request's context allows: a leader whose partitions are unreachable can
// keep them unwritten for long, and the produce waiting behind the add is
// better answered a retriable error. The leaders give up after 5 s too
// (txnVerifyTimeout in the broker).
const settleWaitMax = 5 * time.Second

// addPartitionsOnce decides and writes txns, and returns those that wait
// for their producer's previous transaction to complete.
func (c *Coordinator) addPartitionsOnce(ctx context.Context, txns []*addTxn, tv int16) []*addTxn {
	var writes []*write
	c.mu.Lock()
	for _, t := range txns {
		if t.codes != nil {
			continue
		}
		t.settled, t.stop = nil, nil
		c.addPartitionsLocked(t, tv)
		if t.w != nil {
			writes = append(writes, t.w)
		}
	}
	c.mu.Unlock()
	c.persist(ctx, writes)
	var again []*addTxn
	for _, t := range txns {
		if t.w != nil {
			t.code, t.w = t.w.code, nil
		}
		if t.settled != nil {
			again = append(again, t)
		}
	}
	return again
}

// waitSettled waits until the previous transaction of each of txns
// completed, and reports false when ctx or a partition ended first: their
// codes (CONCURRENT_TRANSACTIONS) stand.
func waitSettled(ctx context.Context, txns []*addTxn) bool {
	for _, t := range txns {
		select {
		case <-t.settled:
		case <-t.stop:
			return false
		case <-ctx.Done():
			return false
		}
	}
	return true
}

func (c *Coordinator) addPartitionsLocked(t *addTxn, tv int16) {
	if t.id == "" {
		t.code = kerr.InvalidRequest.Code
		return
	}
	p, code := c.lookupLocked(t.id)
	if code != 0 {
		t.code = code
		return
	}
	m := p.txns[t.id]
	switch {
	case m == nil:
		t.code = kerr.InvalidProducerIDMapping.Code
	case t.verifyOnly:
		c.verifyLocked(t, m)
	default:
		d := decideAddPartitions(&m.cur, m.pending != nil, t.producerID, t.epoch, t.partitions, tv, c.clock.Now())
		if d.next == nil {
			t.code = d.code
			if d.code == kerr.ConcurrentTransactions.Code && supportsEpochBump(tv) && m.cur.preparing() {
				t.settled, t.stop = m.settledLocked(), p.ctx.Done()
			}
			return
		}
		t.w, t.code = c.beginLocked(p, m, d.next)
	}
}

// verifyLocked answers a VerifyOnly transaction (a partition leader checking
// a transactional produce): the state is read, never written.
func (c *Coordinator) verifyLocked(t *addTxn, m *txnMetadata) {
	if code := checkProducer(&m.cur, t.producerID, t.epoch); code != 0 {
		t.code = code
		return
	}
	if m.cur.preparing() {
		t.code = kerr.ConcurrentTransactions.Code
		return
	}
	t.codes = make(map[TopicPartition]int16, len(t.partitions))
	for _, tp := range t.partitions {
		if _, ok := m.cur.partitions[tp]; !ok {
			t.codes[tp] = kerr.TransactionAbortable.Code
		}
	}
}

// checkPartitionsExist fails t when one of its partitions is not in the
// cluster's metadata.
func (c *Coordinator) checkPartitionsExist(t *addTxn) {
	if c.partitionExists == nil {
		return
	}
	var codes map[TopicPartition]int16
	for _, tp := range t.partitions {
		if !c.partitionExists(tp.Topic, tp.Partition) {
			if codes == nil {
				codes = make(map[TopicPartition]int16, len(t.partitions))
			}
			codes[tp] = kerr.UnknownTopicOrPartition.Code
		}
	}
	if codes == nil {
		return
	}
	for _, tp := range t.partitions {
		if _, ok := codes[tp]; !ok {
			codes[tp] = kerr.OperationNotAttempted.Code
		}
	}
	t.codes = codes
}

// appendPartitions adds a request topic's partitions to tps; distinct
// removes the repeats once all are in.
func appendPartitions(tps []TopicPartition, topic string, partitions []int32) []TopicPartition {
	for _, p := range partitions {
		tps = append(tps, TopicPartition{Topic: topic, Partition: p})
	}
	return tps
}

// distinct keeps the first of each partition, in order.
func distinct(tps []TopicPartition) []TopicPartition {
	seen := make(map[TopicPartition]struct{}, len(tps))
	out := tps[:0]
	for _, tp := range tps {
		if _, ok := seen[tp]; !ok {
			seen[tp] = struct{}{}
			out = append(out, tp)
		}
	}
	return out
}

// byTopic groups partitions by topic in order of first appearance.
func byTopic(tps []TopicPartition) [][]TopicPartition {
	var groups [][]TopicPartition
	index := map[string]int{}
	for _, tp := range tps {
		i, ok := index[tp.Topic]
		if !ok {
			i = len(groups)
			index[tp.Topic] = i
			groups = append(groups, nil)
		}
		groups[i] = append(groups[i], tp)
	}
	return groups
}
