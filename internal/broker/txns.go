package broker

// The transaction coordinator's wiring: the __transaction_state partitions
// this node leads are handed to the coordinator (internal/txn) with their
// leader epoch as the coordinator epoch, its records go through the same
// internal-topic log adapter as the group coordinator's, and its markers
// reach the partitions' leaders through WriteTxnMarkers (markers.go).

import (
	"context"
	"fmt"
	"net"
	"strconv"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/fjordhq/fjord/internal/group"
	"github.com/fjordhq/fjord/internal/interbroker"
	"github.com/fjordhq/fjord/internal/metadata"
	"github.com/fjordhq/fjord/internal/server"
	"github.com/fjordhq/fjord/internal/txn"
)

// interBrokerMaxResponseBytes bounds a response to a broker-to-broker
// request (WriteTxnMarkers, AddPartitionsToTxn): small messages.
const interBrokerMaxResponseBytes = 16 << 20

// startTxns creates the transaction coordinator and follows leadership of
// the __transaction_state partitions.
func (b *Broker) startTxns() {
	img := b.meta.Image()
	cfg := b.opts.Config
	numPartitions := cfg.TransactionStateLogNumPartitions
	if t, ok := img.Topic(transactionStateTopic); ok {
		numPartitions = int32(len(t.Partitions))
	}
	b.peers = interbroker.NewPool(b.brokerAddress, fmt.Sprintf("broker-%d", b.opts.NodeID), interBrokerMaxResponseBytes,
		interbroker.WithSecurity(b.opts.InterBroker))
	b.txns = txn.New(txn.Options{
		Config: txn.Config{
			NumPartitions: numPartitions,
			MaxTimeout:    cfg.TransactionMaxTimeout,
			IDExpiration:  cfg.TransactionalIDExpiration,
			// Kafka finalizes the feature in the metadata log; fjord
			// takes it from the broker config, the same on every broker.
			TransactionVersion: cfg.TransactionVersion,
		},
		ProducerIDs:      b.producerIDs.next,
		Markers:          markerSender{b: b},
		OffsetsPartition: b.offsetsPartitionOf,
		PartitionExists:  b.partitionExists,
		Logger:           b.logger.With("component", "txn"),
	})
	b.replicas.Subscribe(b.electTxnPartitions)
}

// brokerAddress is where another broker of the cluster listens.
func (b *Broker) brokerAddress(id int32) (string, error) {
	br, ok := b.meta.Image().Broker(id)
	if !ok {
		return "", fmt.Errorf("broker %d is not registered", id)
	}
	return net.JoinHostPort(br.Host, strconv.Itoa(int(br.Port))), nil
}

// offsetsPartitionOf is groupID's __consumer_offsets partition.
func (b *Broker) offsetsPartitionOf(groupID string) (txn.TopicPartition, error) {
	t, ok := b.meta.Image().Topic(offsetsTopic)
	if !ok {
		return txn.TopicPartition{}, kerr.CoordinatorNotAvailable
	}
	return txn.TopicPartition{Topic: offsetsTopic, Partition: group.PartitionFor(groupID, int32(len(t.Partitions)))}, nil
}

// electTxnPartitions hands the coordinator the transaction state
// partitions this node leads and has opened, and takes back the others.
func (b *Broker) electTxnPartitions(img *metadata.Image) {
	t, ok := img.Topic(transactionStateTopic)
	if !ok {
		return
	}
	for i, pi := range t.Partitions {
		p := b.replicas.Partition(transactionStateTopic, int32(i))
		if p != nil && pi.Leader == b.opts.NodeID {
			b.txns.Elect(int32(i), pi.LeaderEpoch, txnStateLog{coordinatorLog{p: p, b: b}, pi.LeaderEpoch})
		} else {
			b.txns.Resign(int32(i))
		}
	}
}

// txnCoordinatorFor is the node leading transactionalID's partition of
// __transaction_state, or an error code.
func (b *Broker) txnCoordinatorFor(transactionalID string) (metadata.BrokerImage, int16) {
	img := b.meta.Image()
	t, ok := img.Topic(transactionStateTopic)
	if !ok || b.txns == nil {
		return metadata.BrokerImage{}, kerr.CoordinatorNotAvailable.Code
	}
	leader := t.Partitions[b.txns.PartitionFor(transactionalID)].Leader
	br, ok := img.Broker(leader)
	if !ok || leader < 0 {
		return metadata.BrokerImage{}, kerr.CoordinatorNotAvailable.Code
	}
	return br, 0
}

// txnRequest hands a request to the transaction coordinator on a Pending
// goroutine: it waits for __transaction_state writes.
func (b *Broker) txnRequest(rc *server.RequestContext, req kmsg.Request) server.Result {
	refused, merge := b.authorizeTxnRequest(rc, req)
	if refused != nil {
		return server.Result{Response: refused}
	}
	return server.Result{Pending: func(ctx context.Context) kmsg.Response {
		resp := b.txns.Handle(ctx, req)
		if merge != nil {
			merge(resp)
		}
		return resp
	}}
}

// txnStateLog adapts a __transaction_state replica to txn.Log, for one
// leader epoch: once this broker no longer leads the partition at it,
// appends fail, so a write prepared by a deposed coordinator never lands.
type txnStateLog struct {
	log   coordinatorLog
	epoch int32
}

func (l txnStateLog) Append(records []txn.Record) (int64, error) {
	if l.log.p.LeaderEpoch() != l.epoch {
		return 0, kerr.NotLeaderForPartition
	}
	recs := make([]group.Record, len(records))
	for i, r := range records {
		recs[i] = group.Record{Key: r.Key, Value: r.Value}
	}
	return l.log.Append(recs, nil)
}

func (l txnStateLog) WaitDurable(ctx context.Context, end int64) error {
	return l.log.wait(ctx, end)
}

func (l txnStateLog) Load(ctx context.Context, fn func(key, value []byte) error) error {
	return l.log.Load(ctx, func(r group.LogRecord) error {
		if r.Marker {
			return nil
		}
		return fn(r.Key, r.Value)
	})
}
