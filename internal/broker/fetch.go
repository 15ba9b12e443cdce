package broker

// Fetch: versions 4-17; v0-v3, whose responses carry message formats v0
// and v1, are refused with UNSUPPORTED_VERSION for each partition
// (refuseOldFetch). Fetch sessions (KIP-227) are refused correctly: a
// request to create one gets session id 0, which tells the client to keep
// sending full fetch requests. Long polling waits up to max.wait.ms for
// min.bytes, woken by appends to the partitions being read.
// read_committed reads up to the last stable offset and lists the aborted
// transactions overlapping what it returns, so the client drops their
// records.

import (
	"context"
	"errors"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/fjordhq/fjord/internal/acl"
	"github.com/fjordhq/fjord/internal/metadata"
	"github.com/fjordhq/fjord/internal/replicas"
	"github.com/fjordhq/fjord/internal/server"
	"github.com/fjordhq/fjord/internal/storage"
)

func init() { registerAPI(1, 4, 17, (*Broker).handleFetch, refuseOlder((*Broker).refuseOldFetch)) }

// refuseOldFetch answers Fetch v0-v3. Those clients read message formats
// v0 and v1 only, and fjord stores v2 batches as produced and never
// converts them down (Kafka 4 removed these versions, KIP-896). As for
// Produce (refuseOldProduce), Kafka 4 closes the connection and fjord
// answers UNSUPPORTED_VERSION for each partition, so the client says why.
func (b *Broker) refuseOldFetch(_ context.Context, _ *server.RequestContext, kreq kmsg.Request) server.Result {
	req := kreq.(*kmsg.FetchRequest)
	resp := req.ResponseKind().(*kmsg.FetchResponse)
	resp.Topics = make([]kmsg.FetchResponseTopic, len(req.Topics))
	for ti, rt := range req.Topics {
		out := &resp.Topics[ti]
		out.Topic = rt.Topic
		out.Partitions = make([]kmsg.FetchResponseTopicPartition, len(rt.Partitions))
		for pi, rp := range rt.Partitions {
			pr := &out.Partitions[pi]
			*pr = kmsg.NewFetchResponseTopicPartition()
			pr.Partition, pr.HighWatermark, pr.ErrorCode = rp.Partition, -1, kerr.UnsupportedVersion.Code
			// Empty rather than null, as Kafka answers: sarama fails to
			// decode a null record set.
			pr.RecordBatches = []byte{}
		}
	}
	return server.Result{Response: resp}
}

// maxFetchWait bounds max.wait.ms from clients so a fetch never parks a
// goroutine for long (Kafka clients send 500 ms by default).
const maxFetchWait = 30 * time.Second

// isolationReadCommitted is the isolation level of read_committed
// consumers in Fetch and ListOffsets.
const isolationReadCommitted = 1

func (b *Broker) handleFetch(ctx context.Context, rc *server.RequestContext, kreq kmsg.Request) server.Result {
	req := kreq.(*kmsg.FetchRequest)
	resp := req.ResponseKind().(*kmsg.FetchResponse)
	if req.Version >= 7 {
		switch {
		case req.SessionID != 0:
			resp.ErrorCode = kerr.FetchSessionIDNotFound.Code
			return server.Result{Response: resp}
		case req.SessionEpoch > 0:
			resp.ErrorCode = kerr.InvalidFetchSessionEpoch.Code
			return server.Result{Response: resp}
		}
	}
	// The follower's broker epoch (KIP-903) comes with ReplicaState from
	// v15; before, it is unknown.
	replica, replicaEpoch := req.ReplicaID, int64(-1)
	if req.Version >= 15 {
		replica, replicaEpoch = req.ReplicaState.ID, req.ReplicaState.Epoch
	}
	if _, ok := b.meta.Image().Broker(replica); replica >= 0 && (!ok || !b.allowedCluster(rc, acl.OpClusterAction)) {
		// Only registered brokers follow, and with ACLs on only principals
		// with ClusterAction: a client posing as one must not move any
		// replica state (CVE-2018-1288).
		resp.ErrorCode = kerr.ClusterAuthorizationFailed.Code
		return server.Result{Response: resp}
	}
	f := b.newFetch(req, func(topic string) bool { return replica < 0 && !b.allowedTopic(rc, acl.OpRead, topic) })
	f.replica, f.replicaEpoch = replica, replicaEpoch
	f.quota = b.fetchQuota(rc, replica)
	bytes := f.read()
	wait := time.Duration(req.MaxWaitMillis) * time.Millisecond
	if bytes >= int64(req.MinBytes) || wait <= 0 || f.failed {
		resp := f.finish()
		// A long poll's throttle reaches only its response: the
		// connection was read on long before (quotas.go).
		return server.Result{Response: resp, Mute: f.quota.throttle}
	}
	return server.Result{Pending: func(ctx context.Context) kmsg.Response {
		return f.longPoll(ctx, min(wait, maxFetchWait), int64(req.MinBytes))
	}}
}

// fetch is one fetch request being answered.
type fetch struct {
	b      *Broker
	req    *kmsg.FetchRequest
	resp   *kmsg.FetchResponse
	parts  []*replicas.Replica // parallel to the flattened request partitions
	failed bool                // some partition got an error: answer at once
	// replica is the fetching follower's broker id, or -1 for a consumer;
	// replicaEpoch its broker epoch as it sent it, or -1.
	replica      int32
	replicaEpoch int64
	// throttledBytes are the bytes read for partitions under the leader's
	// replication throttle, counted against it when the response goes.
	throttledBytes int64
	// quota is the consumer's consumer_byte_rate (quotas.go).
	quota consumerFetchQuota

	// slices are the file ranges to send, parallel to parts, each marked
	// in the response by a placeholder (see fetch_splice.go).
	slices []storage.FileSlice
	marker [8]byte
}

// newFetch prepares the response; denied says which topics the consumer
// may not read (TOPIC_AUTHORIZATION_FAILED).
func (b *Broker) newFetch(req *kmsg.FetchRequest, denied func(topic string) bool) *fetch {
	img := b.meta.Image()
	f := &fetch{b: b, req: req, resp: req.ResponseKind().(*kmsg.FetchResponse)}
	f.resp.Topics = make([]kmsg.FetchResponseTopic, len(req.Topics))
	for ti, rt := range req.Topics {
		out := &f.resp.Topics[ti]
		out.Topic, out.TopicID = rt.Topic, rt.TopicID
		name, topicErr := fetchTopicName(img, req.Version, rt)
		if name != "" && denied(name) {
			topicErr = kerr.TopicAuthorizationFailed
		}
		out.Partitions = make([]kmsg.FetchResponseTopicPartition, len(rt.Partitions))
		for pi, rp := range rt.Partitions {
			pr := &out.Partitions[pi]
			*pr = kmsg.NewFetchResponseTopicPartition()
			pr.Partition = rp.Partition
			// Empty, never null: librdkafka rejects a null record set.
			pr.RecordBatches = []byte{}
			var p *replicas.Replica
			switch {
			case topicErr != nil:
				pr.ErrorCode = topicErr.Code
			default:
				var perr *kerr.Error
				if p, perr = b.replicas.Leader(name, rp.Partition); perr != nil {
					pr.ErrorCode = perr.Code
				}
			}
			if pr.ErrorCode != 0 {
				f.failed = true
			}
			f.parts = append(f.parts, p)
		}
	}
	return f
}

func fetchTopicName(img *metadata.Image, version int16, rt kmsg.FetchRequestTopic) (string, *kerr.Error) {
	return requestTopicName(img, version >= 13, rt.Topic, rt.TopicID)
}

// read fills every partition's records and returns the bytes gathered.
func (f *fetch) read() int64 {
	budget := int64(f.req.MaxBytes)
	if budget <= 0 {
		budget = 1 << 62
	}
	if maxBytes := int64(f.b.opts.Config.FetchMaxBytes); maxBytes > 0 && budget > maxBytes {
		budget = maxBytes // fetch.max.bytes caps what a client may ask for
	}
	if f.quota.limited && budget > f.quota.maxBytes {
		budget = f.quota.maxBytes
	}
	f.releaseSlices()
	f.throttledBytes = 0
	var total int64
	i := 0
	for ti := range f.req.Topics {
		for pi, rp := range f.req.Topics[ti].Partitions {
			index, p := i, f.parts[i]
			i++
			pr := &f.resp.Topics[ti].Partitions[pi]
			if p == nil {
				continue
			}
			pr.RecordBatches = []byte{}
			n := f.readPartition(index, p, rp, pr, budget-total, total == 0)
			total += n
		}
	}
	return total
}

// readPartition reads one partition within maxBytes (at least one batch when
// first is set, as Kafka's KIP-74) and returns the bytes read.
func (f *fetch) readPartition(index int, p *replicas.Replica, rp kmsg.FetchRequestTopicPartition, pr *kmsg.FetchResponseTopicPartition, maxBytes int64, first bool) int64 {
	if code := checkLeaderEpoch(rp.CurrentLeaderEpoch, p.LeaderEpoch()); code != 0 {
		pr.ErrorCode = code
		f.failed = true
		return 0
	}
	log := p.Log()
	hw := p.HighWatermark()
	lso := p.LastStableOffsetAt(hw)
	pr.HighWatermark = int64(hw)
	pr.LastStableOffset = int64(lso)
	pr.LogStartOffset = int64(log.LogStartOffset())
	readCommitted := f.replica < 0 && f.req.IsolationLevel == isolationReadCommitted
	if readCommitted {
		pr.AbortedTransactions = []kmsg.FetchResponseTopicPartitionAbortedTransaction{}
	}
	offset := storage.Offset(rp.FetchOffset)
	if offset < log.LogStartOffset() || offset > log.LogEndOffset() {
		pr.ErrorCode = kerr.OffsetOutOfRange.Code
		f.failed = true
		return 0
	}
	// Consumers read up to the high watermark (read_committed ones to
	// the last stable offset); followers up to the log end, and their
	// fetch offset is what moves the high watermark.
	upTo := hw
	if readCommitted {
		upTo = lso
	}
	throttled := false
	if f.replica >= 0 {
		read, err := f.b.replicas.FollowerFetch(p, f.replica, f.replicaEpoch, offset, rp.LogStartOffset)
		if err != nil {
			pr.ErrorCode, f.failed = kerr.NotLeaderForPartition.Code, true
			if errors.Is(err, replicas.ErrNotAReplica) {
				pr.ErrorCode = kerr.ReplicaNotAvailable.Code
			}
			return 0
		}
		pr.HighWatermark, pr.LastStableOffset = int64(read.HighWatermark), int64(read.HighWatermark)
		if read.Hold {
			return 0 // no records for now, as Kafka; other partitions go on
		}
		upTo, throttled = read.UpTo, read.Throttled
	}
	if offset >= upTo || maxBytes <= 0 && !first {
		return 0
	}
	limit := int64(rp.PartitionMaxBytes)
	if limit > maxBytes && !first {
		limit = maxBytes
	}
	if limit > maxBytes {
		limit = max(maxBytes, 1)
	}
	slice, err := log.Read(offset, limit, upTo)
	if err != nil {
		pr.ErrorCode = errorCode(err)
		f.failed = true
		return 0
	}
	if slice.Size == 0 {
		return 0
	}
	if readCommitted {
		pr.AbortedTransactions = abortedTransactions(p, offset, slice.NextOffset)
	}
	if f.splice(index, slice, pr) {
		if throttled {
			f.throttledBytes += slice.Size
		}
		return slice.Size
	}
	data, err := slice.ReadAll(make([]byte, 0, slice.Size))
	slice.Release()
	if err != nil {
		pr.ErrorCode = errorCode(err)
		f.failed = true
		return 0
	}
	pr.RecordBatches = data
	if throttled {
		f.throttledBytes += int64(len(data))
	}
	return int64(len(data))
}

// abortedTransactions lists the aborted transactions overlapping the
// records [from, upTo) a read_committed consumer is sent.
func abortedTransactions(p *replicas.Replica, from, upTo storage.Offset) []kmsg.FetchResponseTopicPartitionAbortedTransaction {
	aborted := p.AbortedTxns(from, upTo)
	out := make([]kmsg.FetchResponseTopicPartitionAbortedTransaction, len(aborted))
	for i, a := range aborted {
		out[i] = kmsg.FetchResponseTopicPartitionAbortedTransaction{ProducerID: a.ProducerID, FirstOffset: int64(a.FirstOffset)}
	}
	return out
}

// finish builds the response to send and counts the bytes of throttled
// partitions in it against the leader quota (Kafka records them as the
// response goes, whatever the follower's ISR membership).
func (f *fetch) finish() kmsg.Response {
	f.b.replicas.RecordThrottled(f.throttledBytes)
	throttled := f.finishQuota()
	f.countFetched()
	if throttled {
		return f.resp
	}
	return f.response()
}

// checkLeaderEpoch compares a client's current leader epoch with ours; -1
// means the client does not know it.
func checkLeaderEpoch(clientEpoch, epoch int32) int16 {
	switch {
	case clientEpoch < 0 || clientEpoch == epoch:
		return 0
	case clientEpoch < epoch:
		return kerr.FencedLeaderEpoch.Code
	default:
		return kerr.UnknownLeaderEpoch.Code
	}
}

// longPoll waits for enough data, the deadline or cancellation, re-reading
// whenever a partition's high watermark moves. It registers for
// notifications before each read, so an append between a read and the wait
// is never missed.
func (f *fetch) longPoll(ctx context.Context, wait time.Duration, minBytes int64) kmsg.Response {
	notify := make(chan struct{}, 1)
	register := func(p *replicas.Replica) { p.NotifyOnChange(notify) }
	unregister := func(p *replicas.Replica) { p.StopNotify(notify) }
	defer f.eachPartition(unregister)
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		f.eachPartition(register)
		if f.read() >= minBytes || f.failed {
			return f.finish()
		}
		select {
		case <-ctx.Done():
			f.releaseSlices()
			return f.resp
		case <-timer.C:
			f.read()
			return f.finish()
		case <-notify:
		}
		// Notified waiters were removed; the rest are removed before
		// registering again so none is listed twice.
		f.eachPartition(unregister)
	}
}

func (f *fetch) eachPartition(fn func(*replicas.Replica)) {
	for _, p := range f.parts {
		if p != nil {
			fn(p)
		}
	}
}
