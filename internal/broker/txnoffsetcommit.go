package broker

// TxnOffsetCommit: versions 0-5. A transactional producer's offsets
// (KIP-98, KIP-447) go to the group coordinator, which writes them to
// __consumer_offsets as one transactional batch of the producer and keeps
// them pending, invisible to OffsetFetch, until the producer's marker lands
// there. v3+ carries the member id, generation and instance id, checked
// against the group; a fenced producer epoch answers INVALID_PRODUCER_EPOCH,
// as Kafka. Before that, the group's offsets partition goes to the
// transaction coordinator (txnverify.go): v5 comes from a producer of
// transaction version 2, which sent no AddOffsetsToTxn, and adds it to the
// transaction (KIP-890 part 2); v0-4 verify it is there (part 1, when
// transaction.partition.verification.enable): offsets for a group the
// producer did not add answer INVALID_TXN_STATE.

import (
	"context"
	"errors"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/fjordhq/fjord/internal/group"
	"github.com/fjordhq/fjord/internal/server"
)

func init() { registerAPI(28, 0, 5, (*Broker).handleTxnOffsetCommit) }

// handleTxnOffsetCommit verifies the transaction before the coordinator
// sees the offsets, so the request is queued for it only after that wait,
// on the Pending goroutine: a producer sends its next TxnOffsetCommit only
// once this one is answered, so no order of its is at stake.
func (b *Broker) handleTxnOffsetCommit(_ context.Context, rc *server.RequestContext, kreq kmsg.Request) server.Result {
	req := kreq.(*kmsg.TxnOffsetCommitRequest)
	r, az := b.authorizeGroupForward(rc, req)
	if az.refused {
		return server.Result{Response: groupErrorResponse(req, az.code)}
	}
	return server.Result{Pending: func(ctx context.Context) kmsg.Response {
		if code := b.verifyTxnOffsets(ctx, req); code != 0 {
			return groupErrorResponse(req, code)
		}
		if b.groups == nil {
			return az.answer(req, nil, errors.New("no group coordinator"))
		}
		out, err := b.groups.Do(ctx, r)
		return az.answer(req, out, err)
	}}
}

// verifyTxnOffsets adds the group's offsets partition to the producer's
// transaction (v5+) or checks that it is in it, or returns the code to
// answer with.
func (b *Broker) verifyTxnOffsets(ctx context.Context, req *kmsg.TxnOffsetCommitRequest) int16 {
	add := req.Version >= 5
	t, ok := b.meta.Image().Topic(offsetsTopic)
	if !ok || req.Group == "" || !add && !b.opts.Config.TransactionPartitionVerification {
		return 0 // the group coordinator answers these
	}
	p := group.PartitionFor(req.Group, int32(len(t.Partitions)))
	err := b.checkTxnPartition(ctx, txnPartitionCheck{transactionalID: req.TransactionalID, producerID: req.ProducerID,
		epoch: req.ProducerEpoch, topic: offsetsTopic, partition: p, add: add, abortableKnown: add})
	if err == nil {
		return 0
	}
	if errorCode(err) == kerr.NotEnoughReplicas.Code {
		// Retriable for a TxnOffsetCommit client: the coordinator moves.
		return kerr.CoordinatorLoadInProgress.Code
	}
	return errorCode(err)
}
