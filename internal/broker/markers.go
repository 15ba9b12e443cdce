package broker

import (
	"context"
	"maps"
	"sync"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/fjordhq/fjord/internal/recordbatch"
	"github.com/fjordhq/fjord/internal/txn"
)

// markerSender is the transaction coordinator's txn.MarkerWriter: a
// transaction's markers for partitions led here are appended directly, the
// others go to their leaders, one WriteTxnMarkers request per leader.
type markerSender struct{ b *Broker }

func (s markerSender) WriteMarkers(ctx context.Context, m txn.Markers) map[txn.TopicPartition]error {
	out := make(map[txn.TopicPartition]error, len(m.Partitions))
	img := s.b.meta.Image()
	byLeader := map[int32][]txn.TopicPartition{}
	for _, tp := range m.Partitions {
		t, ok := img.Topic(tp.Topic)
		switch {
		case !ok || tp.Partition < 0 || int(tp.Partition) >= len(t.Partitions):
			out[tp] = kerr.UnknownTopicOrPartition
		case t.Partitions[tp.Partition].Leader < 0:
			out[tp] = kerr.LeaderNotAvailable
		default:
			leader := t.Partitions[tp.Partition].Leader
			byLeader[leader] = append(byLeader[leader], tp)
		}
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for leader, tps := range byLeader {
		wg.Go(func() {
			var res map[txn.TopicPartition]error
			if leader == s.b.opts.NodeID {
				res = s.writeLocal(ctx, m, tps)
			} else {
				res = s.writeRemote(ctx, leader, m, tps)
			}
			mu.Lock()
			maps.Copy(out, res)
			mu.Unlock()
		})
	}
	wg.Wait()
	return out
}

// writeLocal appends the markers of partitions led here, in parallel: each
// waits for its own ISR.
func (s markerSender) writeLocal(ctx context.Context, m txn.Markers, tps []txn.TopicPartition) map[txn.TopicPartition]error {
	marker := recordbatch.Marker{ProducerID: m.ProducerID, ProducerEpoch: m.ProducerEpoch,
		CoordinatorEpoch: m.CoordinatorEpoch, Commit: m.Commit}
	out := make(map[txn.TopicPartition]error, len(tps))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, tp := range tps {
		wg.Go(func() {
			err := s.b.writeMarker(ctx, marker, m.TransactionVersion, tp.Topic, tp.Partition)
			mu.Lock()
			out[tp] = err
			mu.Unlock()
		})
	}
	wg.Wait()
	return out
}

// writeRemote sends one WriteTxnMarkers to leader. A request that fails
// in transport leaves its partitions out of the result, so the coordinator
// retries them.
func (s markerSender) writeRemote(ctx context.Context, leader int32, m txn.Markers, tps []txn.TopicPartition) map[txn.TopicPartition]error {
	req := kmsg.NewPtrWriteTxnMarkersRequest()
	rm := kmsg.NewWriteTxnMarkersRequestMarker()
	rm.ProducerID, rm.ProducerEpoch, rm.Committed = m.ProducerID, m.ProducerEpoch, m.Commit
	rm.CoordinatorEpoch, rm.TransactionVersion = m.CoordinatorEpoch, m.TransactionVersion
	byTopic := map[string][]int32{}
	for _, tp := range tps {
		byTopic[tp.Topic] = append(byTopic[tp.Topic], tp.Partition)
	}
	for topic, parts := range byTopic {
		rt := kmsg.NewWriteTxnMarkersRequestMarkerTopic()
		rt.Topic, rt.Partitions = topic, parts
		rm.Topics = append(rm.Topics, rt)
	}
	req.Markers = append(req.Markers, rm)
	out := make(map[txn.TopicPartition]error, len(tps))
	kresp, err := s.b.peers.Request(ctx, leader, req)
	if err != nil {
		s.b.logger.Debug("sending transaction markers", "leader", leader, "err", err)
		return out
	}
	for _, rm := range kresp.(*kmsg.WriteTxnMarkersResponse).Markers {
		for _, rt := range rm.Topics {
			for _, rp := range rt.Partitions {
				out[txn.TopicPartition{Topic: rt.Topic, Partition: rp.Partition}] = kerr.ErrorForCode(rp.ErrorCode)
			}
		}
	}
	return out
}
