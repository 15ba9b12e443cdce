package broker

import (
	"context"
	"errors"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// KIP-890 part 1: before a transactional batch starts a transaction in a
// partition, its leader asks the transaction coordinator whether the
// partition is in the producer's ongoing transaction (AddPartitionsToTxn
// v4, VerifyOnly). A producer that never added the partition, or whose
// transaction ended (a late retry of a batch from an aborted transaction),
// would otherwise leave a transaction open here that no marker will close,
// holding back the last stable offset forever.

// txnVerifyTimeout bounds one verification; the produce is refused with a
// retriable error when the coordinator does not answer in time.
const txnVerifyTimeout = 5 * time.Second

// verifyTxnPartition asks transactionalID's coordinator whether topic's
// partition is in the producer's ongoing transaction.
// abortableKnown says whether the client knows TRANSACTION_ABORTABLE
// (produce v11+, TxnOffsetCommit v5+).
func (b *Broker) verifyTxnPartition(ctx context.Context, transactionalID string, producerID int64, epoch int16,
	topic string, partition int32, abortableKnown bool) error {
	req := kmsg.NewPtrAddPartitionsToTxnRequest()
	req.Version = 4
	rt := kmsg.NewAddPartitionsToTxnRequestTransaction()
	rt.TransactionalID, rt.ProducerID, rt.ProducerEpoch, rt.VerifyOnly = transactionalID, producerID, epoch, true
	rtt := kmsg.NewAddPartitionsToTxnRequestTransactionTopic()
	rtt.Topic, rtt.Partitions = topic, []int32{partition}
	rt.Topics = append(rt.Topics, rtt)
	req.Transactions = append(req.Transactions, rt)

	ctx, cancel := context.WithTimeout(ctx, txnVerifyTimeout)
	defer cancel()
	coordinator, code := b.txnCoordinatorFor(transactionalID)
	if code != 0 {
		return kerr.NotEnoughReplicas
	}
	var kresp kmsg.Response
	if coordinator.NodeID == b.opts.NodeID {
		kresp = b.txns.Handle(ctx, req)
	} else {
		var err error
		if kresp, err = b.peers.Request(ctx, coordinator.NodeID, req); err != nil {
			b.logger.Debug("verifying a transactional produce", "coordinator", coordinator.NodeID, "err", err)
			return kerr.NotEnoughReplicas
		}
	}
	return verificationError(verifyResult(kresp.(*kmsg.AddPartitionsToTxnResponse), topic, partition), abortableKnown)
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
// Kafka does: a coordinator that is moving, loading or busy makes the
// write retriable with nothing appended; a partition not in the
// transaction is TRANSACTION_ABORTABLE for the clients that know it and
// INVALID_TXN_STATE for older ones.
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
	case errors.Is(err, kerr.ProducerFenced) && !abortableKnown:
		return kerr.InvalidProducerEpoch
	}
	return err
}
