package broker

// WriteTxnMarkers: versions 0-2, sent by transaction coordinators to the
// leaders of a transaction's partitions. Each marker is appended as a
// control batch and answered once the ISR has it (acks=all, as Kafka's
// coordinator writes them); a marker in __consumer_offsets also completes
// the producer's pending offsets in the group coordinator. v2 (KIP-1228)
// carries the transaction's version: a marker of version 2 must carry an
// epoch above its transaction's (the coordinator bumped it), so one at the
// epoch of an open transaction is refused with INVALID_PRODUCER_EPOCH; v0-1
// are checked by version 0-1's rules.

import (
	"context"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/fjordhq/fjord/internal/acl"
	"github.com/fjordhq/fjord/internal/recordbatch"
	"github.com/fjordhq/fjord/internal/server"
	"github.com/fjordhq/fjord/internal/storage"
)

func init() { registerAPI(27, 0, 2, (*Broker).handleWriteTxnMarkers) }

// markerWriteTimeout bounds the wait for a marker's replication, as
// Kafka's coordinator sends markers with its request timeout.
const markerWriteTimeout = 30 * time.Second

func (b *Broker) handleWriteTxnMarkers(_ context.Context, rc *server.RequestContext, kreq kmsg.Request) server.Result {
	req := kreq.(*kmsg.WriteTxnMarkersRequest)
	resp := req.ResponseKind().(*kmsg.WriteTxnMarkersResponse)
	if !b.allowedCluster(rc, acl.OpClusterAction) {
		// Only brokers (transaction coordinators) write markers.
		for _, rm := range req.Markers {
			m := kmsg.NewWriteTxnMarkersResponseMarker()
			m.ProducerID = rm.ProducerID
			for _, t := range rm.Topics {
				rt := kmsg.NewWriteTxnMarkersResponseMarkerTopic()
				rt.Topic = t.Topic
				for _, p := range t.Partitions {
					rp := kmsg.NewWriteTxnMarkersResponseMarkerTopicPartition()
					rp.Partition, rp.ErrorCode = p, kerr.ClusterAuthorizationFailed.Code
					rt.Partitions = append(rt.Partitions, rp)
				}
				m.Topics = append(m.Topics, rt)
			}
			resp.Markers = append(resp.Markers, m)
		}
		return server.Result{Response: resp}
	}
	type job struct {
		marker    recordbatch.Marker
		version   int8
		topic     string
		partition int32
		out       *kmsg.WriteTxnMarkersResponseMarkerTopicPartition
	}
	var jobs []job
	resp.Markers = make([]kmsg.WriteTxnMarkersResponseMarker, len(req.Markers))
	for mi, rm := range req.Markers {
		out := &resp.Markers[mi]
		out.ProducerID = rm.ProducerID
		m := recordbatch.Marker{ProducerID: rm.ProducerID, ProducerEpoch: rm.ProducerEpoch,
			CoordinatorEpoch: rm.CoordinatorEpoch, Commit: rm.Committed}
		out.Topics = make([]kmsg.WriteTxnMarkersResponseMarkerTopic, len(rm.Topics))
		for ti, rt := range rm.Topics {
			ot := &out.Topics[ti]
			ot.Topic = rt.Topic
			ot.Partitions = make([]kmsg.WriteTxnMarkersResponseMarkerTopicPartition, len(rt.Partitions))
			for pi, p := range rt.Partitions {
				ot.Partitions[pi].Partition = p
				jobs = append(jobs, job{marker: m, version: rm.TransactionVersion, topic: rt.Topic, partition: p,
					out: &ot.Partitions[pi]})
			}
		}
	}
	return server.Result{Pending: func(ctx context.Context) kmsg.Response {
		var wg sync.WaitGroup
		for _, j := range jobs {
			wg.Go(func() {
				if err := b.writeMarker(ctx, j.marker, j.version, j.topic, j.partition); err != nil {
					j.out.ErrorCode = errorCode(err)
				}
			})
		}
		wg.Wait()
		return resp
	}}
}

// writeMarker appends a transaction marker of transaction version
// transactionVersion to a partition led here and waits until its ISR has
// it.
func (b *Broker) writeMarker(ctx context.Context, m recordbatch.Marker, transactionVersion int8, topic string, partition int32) error {
	if _, ok := b.meta.Image().Topic(topic); !ok {
		return kerr.UnknownTopicOrPartition
	}
	p, perr := b.replicas.Leader(topic, partition)
	if perr != nil {
		return perr
	}
	write, err := b.replicas.NewWrite(p)
	if err != nil {
		return err
	}
	res, err := p.AppendMarkerVersion(m, transactionVersion, b.now().UnixMilli())
	if err != nil {
		return err
	}
	write.Appended()
	if err := write.Wait(ctx, res.LastOffset, -1, markerWriteTimeout); err != nil {
		return err
	}
	if topic == offsetsTopic {
		return b.completeGroupTransaction(ctx, partition, m, res.BaseOffset)
	}
	return nil
}

// completeGroupTransaction hands a marker written to __consumer_offsets
// to the group coordinator, which applies or drops the producer's pending
// offsets.
func (b *Broker) completeGroupTransaction(ctx context.Context, partition int32, m recordbatch.Marker, offset storage.Offset) error {
	if b.groups == nil {
		return kerr.NotLeaderForPartition
	}
	if err := b.groups.CompleteTransaction(ctx, partition, m.ProducerID, m.Commit, int64(offset)); err != nil {
		// The marker is in the log; the coordinator retries it, and a
		// loading group coordinator replays it from the log.
		return kerr.NotLeaderForPartition
	}
	return nil
}
