package broker

import (
	"context"
	"errors"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// KIP-890: before a transactional batch starts a transaction in a
// partition, its leader asks the transaction coordinator about the
// partition (Kafka's AddPartitionsToTxnManager), with the partition's
// VerificationGuard held across the call.
//
// Part 1, producers of transaction version 0 or 1 (Produce up to v11,
// TxnOffsetCommit up to v4), which add partitions themselves: the leader
// only verifies that the partition is in the ongoing transaction
// (AddPartitionsToTxn v4+, VerifyOnly). A producer that never added it, or
// whose transaction ended (a late retry of a batch from an aborted
// transaction), would otherwise leave a transaction open here that no
// marker will close, holding back the last stable offset forever.
//
// Part 2, producers of transaction version 2 (Produce v12+, TxnOffsetCommit
// v5+), which never send AddPartitionsToTxn or AddOffsetsToTxn: the leader
// adds the partition on their behalf (AddPartitionsToTxn v5, not
// VerifyOnly), and the coordinator refuses it when the producer's epoch is
// not the transaction's, so a late batch cannot join a later transaction.

// txnVerifyTimeout bounds one verification; the produce is refused with a
// retriable error when the coordinator does not answer in time.
const txnVerifyTimeout = 5 * time.Second

// txnPartitionCheck is one partition to verify or add for a producer.
type txnPartitionCheck struct {
	transactionalID string
	producerID      int64
	epoch           int16
	topic           string
	partition       int32
	// add asks the coordinator to add the partition (transaction
	// version 2) rather than to verify it.
	add bool
	// abortableKnown says whether the client knows TRANSACTION_ABORTABLE
	// (Produce v11+, TxnOffsetCommit v5+).
	abortableKnown bool
}

// checkTxnPartition asks the transactional id's coordinator to add or
// verify the partition, and returns the error to answer the client with.
func (b *Broker) checkTxnPartition(ctx context.Context, c txnPartitionCheck) error {
	req := kmsg.NewPtrAddPartitionsToTxnRequest()
	req.Version = 4 // the interbroker connection sends its negotiated version
	if c.add {
		req.Version = 5
	}
	rt := kmsg.NewAddPartitionsToTxnRequestTransaction()
	rt.TransactionalID, rt.ProducerID, rt.ProducerEpoch, rt.VerifyOnly = c.transactionalID, c.producerID, c.epoch, !c.add
	rtt := kmsg.NewAddPartitionsToTxnRequestTransactionTopic()
	rtt.Topic, rtt.Partitions = c.topic, []int32{c.partition}
	rt.Topics = append(rt.Topics, rtt)
	req.Transactions = append(req.Transactions, rt)

	ctx, cancel := context.WithTimeout(ctx, txnVerifyTimeout)
	defer cancel()
	coordinator, code := b.txnCoordinatorFor(c.transactionalID)
	if code != 0 {
		return kerr.NotEnoughReplicas
	}
	var kresp kmsg.Response
	if coordinator.NodeID == b.opts.NodeID {
		kresp = b.txns.Handle(ctx, req)
	} else {
		var err error
		if kresp, err = b.peers.Request(ctx, coordinator.NodeID, req); err != nil {
			b.logger.Debug("checking a transactional partition", "coordinator", coordinator.NodeID, "add", c.add, "err", err)
			return kerr.NotEnoughReplicas
		}
	}
	return verificationError(verifyResult(kresp.(*kmsg.AddPartitionsToTxnResponse), c.topic, c.partition), c.abortableKnown)
}

// verifyResult is the code the coordinator gave the one partition asked
// about.
func verifyResult(resp *kmsg.AddPartitionsToTxnResponse, topic string, partition int32) int16 {
	if resp.ErrorCode != 0 {
		return resp.ErrorCode
	}
	for _, t := range resp.Transactions {
		for _, rt := range t.Topics {
			for _, rp := range rt.Partitions {
				if rt.Topic == topic && rp.Partition == partition {
					return rp.ErrorCode
				}
			}
		}
	}
	return kerr.UnknownServerError.Code
}

// verificationError maps the coordinator's answer to the client's, as
// Kafka does: a coordinator that is moving, loading or busy (ending the
// producer's previous transaction) makes the write retriable with nothing
// appended; a partition not in the transaction is TRANSACTION_ABORTABLE
// for the clients that know it and INVALID_TXN_STATE for older ones; a
// fenced producer gets INVALID_PRODUCER_EPOCH, which producers expect
// from a write.
func verificationError(code int16, abortableKnown bool) error {
	err := kerr.ErrorForCode(code)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, kerr.ConcurrentTransactions), errors.Is(err, kerr.CoordinatorLoadInProgress),
		errors.Is(err, kerr.CoordinatorNotAvailable), errors.Is(err, kerr.NotCoordinator):
		return kerr.NotEnoughReplicas
	case errors.Is(err, kerr.TransactionAbortable) && !abortableKnown:
		return kerr.InvalidTxnState
	case errors.Is(err, kerr.ProducerFenced):
		return kerr.InvalidProducerEpoch
	}
	return err
}
