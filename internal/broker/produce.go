package broker

// Produce: versions 3-13 (magic v2 batches only, as Kafka 4; v13 names
// topics by id). v0-v2, which carry message formats v0 and v1, are refused
// with UNSUPPORTED_VERSION for each partition (refuseOldProduce). acks=0 gets no response, acks=1 and acks=all are answered
// once the appended batches are fsynced (group commit), unless the topic's
// flush.messages/flush.ms relax that. A transactional batch in v12+ comes
// from a producer of transaction version 2 (KIP-890 part 2): its first in a
// partition adds the partition to the producer's transaction.

import (
	"context"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/fjordhq/fjord/internal/acl"
	"github.com/fjordhq/fjord/internal/metadata"
	"github.com/fjordhq/fjord/internal/partition"
	"github.com/fjordhq/fjord/internal/recordbatch"
	"github.com/fjordhq/fjord/internal/replicas"
	"github.com/fjordhq/fjord/internal/server"
	"github.com/fjordhq/fjord/internal/storage"
)

func init() {
	registerAPI(0, 3, 13, (*Broker).handleProduce, largeRequests, frameReusable, refuseOlder((*Broker).refuseOldProduce))
}

// refuseOldProduce answers Produce v0-v2. Their records are message
// formats v0 and v1, which fjord neither stores nor converts, and Kafka 4
// removed these versions (KIP-896). Kafka 4 closes the connection; fjord
// answers UNSUPPORTED_VERSION for each partition instead, which a client
// reports as such rather than retrying a connection that keeps closing.
// An acks=0 request expects no response, so its connection is closed, as
// Kafka closes one on any failed acks=0 produce.
func (b *Broker) refuseOldProduce(_ context.Context, _ *server.RequestContext, kreq kmsg.Request) server.Result {
	req := kreq.(*kmsg.ProduceRequest)
	if req.Acks == 0 {
		return server.Result{NoResponse: true, CloseConnection: true}
	}
	resp := req.ResponseKind().(*kmsg.ProduceResponse)
	resp.Topics = make([]kmsg.ProduceResponseTopic, len(req.Topics))
	for ti, rt := range req.Topics {
		out := &resp.Topics[ti]
		out.Topic = rt.Topic
		out.Partitions = make([]kmsg.ProduceResponseTopicPartition, len(rt.Partitions))
		for pi, rp := range rt.Partitions {
			pr := &out.Partitions[pi]
			*pr = kmsg.NewProduceResponseTopicPartition()
			pr.Partition, pr.BaseOffset, pr.ErrorCode = rp.Partition, -1, kerr.UnsupportedVersion.Code
		}
	}
	return server.Result{Response: resp}
}

// appended is a partition write that waits for durability before its ack.
type appended struct {
	write *replicas.Write
	last  storage.Offset
	resp  *kmsg.ProduceResponseTopicPartition
}

func (b *Broker) handleProduce(ctx context.Context, rc *server.RequestContext, kreq kmsg.Request) server.Result {
	req := kreq.(*kmsg.ProduceRequest)
	resp := req.ResponseKind().(*kmsg.ProduceResponse)
	img := b.meta.Image()
	nowMs := b.now().UnixMilli()
	acksValid := req.Acks == 0 || req.Acks == 1 || req.Acks == -1
	// A transactional producer needs Write on its transactional id, every
	// producer Write on each topic (which is also all an idempotent one
	// needs since KIP-679).
	txnDenied := req.TransactionID != nil && !b.allowedTxnID(rc, acl.OpWrite, *req.TransactionID)

	var waits []appended
	resp.Topics = make([]kmsg.ProduceResponseTopic, len(req.Topics))
	for ti, rt := range req.Topics {
		out := &resp.Topics[ti]
		out.Topic, out.TopicID = rt.Topic, rt.TopicID
		name, topicErr := produceTopicName(img, req.Version, rt)
		topicDenied := name != "" && !b.allowedTopic(rc, acl.OpWrite, name)
		out.Partitions = make([]kmsg.ProduceResponseTopicPartition, len(rt.Partitions))
		for pi, rp := range rt.Partitions {
			pr := &out.Partitions[pi]
			*pr = kmsg.NewProduceResponseTopicPartition()
			pr.Partition = rp.Partition
			switch {
			case !acksValid:
				pr.ErrorCode = kerr.InvalidRequiredAcks.Code
				continue
			case txnDenied:
				pr.ErrorCode = kerr.TransactionalIDAuthorizationFailed.Code
				continue
			case topicDenied:
				pr.ErrorCode = kerr.TopicAuthorizationFailed.Code
				continue
			case topicErr != nil:
				pr.ErrorCode = topicErr.Code
				continue
			case isInternalTopic(name):
				// Internal topics are written only by their coordinators.
				pr.ErrorCode = kerr.InvalidTopicException.Code
				continue
			}
			p, perr := b.replicas.Leader(name, rp.Partition)
			if perr != nil {
				pr.ErrorCode = perr.Code
				continue
			}
			write, err := b.replicas.NewWrite(p)
			if err != nil {
				pr.ErrorCode, pr.ErrorMessage = errorCode(err), errorMessage(err)
				continue
			}
			// Below min.insync.replicas nothing is written, so the
			// producer may retry safely.
			if err := write.CheckISR(req.Acks); err != nil {
				pr.ErrorCode, pr.ErrorMessage = errorCode(err), errorMessage(err)
				continue
			}
			last, err := b.appendRecords(ctx, p, rp.Records, nowMs, req, pr)
			if err != nil {
				pr.ErrorCode, pr.ErrorMessage = errorCode(err), errorMessage(err)
				continue
			}
			write.Appended()
			waits = append(waits, appended{write: write, last: last, resp: pr})
		}
		b.countProduced(name, &req.Topics[ti], out)
	}
	if len(waits) == 0 {
		return server.Result{Response: resp, NoResponse: req.Acks == 0}
	}
	// acks=0 gets no answer, but its records must still be fsynced to
	// become visible to consumers, so the wait runs all the same.
	timeout := time.Duration(max(req.TimeoutMillis, 0)) * time.Millisecond
	return server.Result{NoResponse: req.Acks == 0, Pending: func(ctx context.Context) kmsg.Response {
		// The fsyncs are not abandoned when the client goes away: the bytes
		// are in the logs already and other producers' acks share them.
		// Partitions are synced in parallel so that one request's latency is
		// one fsync, not one per partition.
		if len(waits) == 1 {
			b.waitAcked(ctx, waits[0], req.Acks, timeout)
			return resp
		}
		var wg sync.WaitGroup
		for _, w := range waits {
			wg.Go(func() { b.waitAcked(ctx, w, req.Acks, timeout) })
		}
		wg.Wait()
		return resp
	}}
}

// waitAcked waits until an appended partition may be acknowledged: its
// bytes fsynced here and, for acks=all on a replicated partition,
// committed by the ISR.
func (b *Broker) waitAcked(ctx context.Context, w appended, acks int16, timeout time.Duration) {
	err := w.write.Wait(ctx, w.last, acks, timeout)
	if err == nil {
		return
	}
	w.resp.ErrorCode, w.resp.ErrorMessage = errorCode(err), errorMessage(err)
	if w.resp.ErrorCode == kerr.KafkaStorageError.Code {
		// The fsync failed: the log is stopped and nothing is certain.
		b.logger.Error("produce fsync failed", "err", err)
		w.resp.BaseOffset = -1
	}
}

func produceTopicName(img *metadata.Image, version int16, rt kmsg.ProduceRequestTopic) (string, *kerr.Error) {
	return requestTopicName(img, version >= 13, rt.Topic, rt.TopicID)
}

// requestTopicName resolves a topic named in a request, by id from the
// versions that carry ids (KIP-516) and by name before.
func requestTopicName(img *metadata.Image, byID bool, name string, id [16]byte) (string, *kerr.Error) {
	if byID {
		t, ok := img.TopicByID(id)
		if !ok {
			return "", kerr.UnknownTopicID
		}
		return t.Name, nil
	}
	if _, ok := img.Topic(name); !ok {
		return "", kerr.UnknownTopicOrPartition
	}
	return name, nil
}

// appendRecords validates the batch of one partition and appends it,
// filling the offsets into pr. It returns the last offset written.
func (b *Broker) appendRecords(ctx context.Context, p *replicas.Replica, records []byte, nowMs int64, req *kmsg.ProduceRequest, pr *kmsg.ProduceResponseTopicPartition) (storage.Offset, error) {
	cfg := p.Config()
	// Produce v3+ carries exactly one batch per partition; Kafka answers
	// anything else with INVALID_RECORD.
	batch, err := recordbatch.SingleBatch(records)
	if err != nil {
		return 0, err
	}
	h, err := recordbatch.Validate(batch, recordbatch.Limits{MaxBatchBytes: cfg.MaxMessageBytes})
	if err != nil {
		return 0, err
	}
	if h.Codec() == recordbatch.CodecZstd && req.Version < 7 {
		// KIP-110: zstd needs produce v7, so old clients cannot write
		// batches that old consumers could not read.
		return 0, kerr.UnsupportedCompressionType
	}
	if h.Transactional() && !h.Idempotent() {
		// A transaction needs a producer id: its marker is found by it.
		return 0, kerr.InvalidRecord
	}
	if cfg.LogAppendTime() {
		recordbatch.SetMaxTimestampLogAppendTime(batch, nowMs)
		h.MaxTimestamp = nowMs
		pr.LogAppendTime = nowMs
	} else if err := checkTimestamps(h, nowMs, cfg.MessageTimestampBeforeMaxMs, cfg.MessageTimestampAfterMaxMs); err != nil {
		return 0, err
	}
	res, err := b.appendChecked(ctx, p, batch, h, nowMs, req)
	if err != nil {
		return 0, err
	}
	pr.BaseOffset = int64(res.BaseOffset)
	pr.LogStartOffset = int64(p.Log().LogStartOffset())
	return res.LastOffset, nil
}

// appendChecked appends a validated batch; a transactional one that starts
// a transaction here first goes to the transaction coordinator
// (txnverify.go): from a producer of transaction version 2 (Produce v12+)
// to add the partition to its transaction, from older producers to verify
// it is there (when transaction.partition.verification.enable). The call
// runs on the connection's goroutine, as Kafka's does before the append,
// so that batches of one producer keep their order.
func (b *Broker) appendChecked(ctx context.Context, p *replicas.Replica, batch []byte, h recordbatch.Header, nowMs int64, req *kmsg.ProduceRequest) (partition.AppendResult, error) {
	// The add is how a partition joins a transaction of version 2, so it
	// happens whatever the verification config says.
	add := req.Version >= 12 && h.Transactional()
	if !add && !b.opts.Config.TransactionPartitionVerification {
		return p.Append(batch, h, nowMs)
	}
	guard := p.BeginVerification(h)
	if !guard.Needed() {
		return p.Append(batch, h, nowMs)
	}
	if req.TransactionID == nil {
		return partition.AppendResult{}, kerr.InvalidTxnState
	}
	check := txnPartitionCheck{transactionalID: *req.TransactionID, producerID: h.ProducerID, epoch: h.ProducerEpoch,
		topic: p.Topic, partition: p.Index, add: add, abortableKnown: req.Version >= 11}
	if err := b.checkTxnPartition(ctx, check); err != nil {
		return partition.AppendResult{}, err
	}
	return p.AppendVerified(batch, h, nowMs, guard)
}

// checkTimestamps applies message.timestamp.before.max.ms and
// message.timestamp.after.max.ms to a CreateTime batch. The batch's first
// and max timestamps bound its records' in the common case of non-negative
// deltas, which is what producers write.
func checkTimestamps(h recordbatch.Header, nowMs, beforeMaxMs, afterMaxMs int64) error {
	for _, ts := range []int64{h.BaseTimestamp, h.MaxTimestamp} {
		if ts < 0 {
			continue // no timestamp
		}
		if nowMs-ts > beforeMaxMs || ts-nowMs > afterMaxMs {
			return kerr.InvalidTimestamp
		}
	}
	return nil
}
