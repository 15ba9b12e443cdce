package broker

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/fjordhq/fjord/internal/config"
	"github.com/fjordhq/fjord/internal/metadata"
)

// The coordinators' compacted internal topics are created on first use
// (the first FindCoordinator for their key type), as Kafka does: at start
// the other brokers of a cluster may not have registered yet, and the topic
// would get too few replicas.

const (
	transactionStateTopic = "__transaction_state"
	// transactionStateSegmentBytes is Kafka's
	// transaction.state.log.segment.bytes default.
	transactionStateSegmentBytes = 100 << 20
)

// internalTopic describes a coordinator's topic.
type internalTopic struct {
	name              string
	partitions        int32
	replicationFactor int16
	// minISR is the topic's min.insync.replicas, lowered to the replication
	// factor (zero keeps the broker default).
	minISR       int32
	segmentBytes int
}

// createInternalTopic creates t, with its replication factor lowered to
// the live brokers so that a cluster smaller than the default factor (a
// single node) still gets its coordinators, and returns it, or the topic
// already there.
func (b *Broker) createInternalTopic(ctx context.Context, img *metadata.Image, t internalTopic) (metadata.TopicImage, error) {
	rf := t.replicationFactor
	live := int16(0)
	for _, br := range img.Brokers() {
		if !br.Fenced {
			live++
		}
	}
	if live > 0 && rf > live {
		rf = live
	}
	configs := map[string]string{
		config.CleanupPolicy: "compact",
		config.SegmentBytes:  strconv.Itoa(t.segmentBytes),
	}
	if t.minISR > 0 {
		configs[config.MinInsyncReplicas] = strconv.Itoa(int(min(t.minISR, int32(rf))))
	}
	created, err := b.meta.CreateTopic(ctx, metadata.CreateTopicSpec{
		Name: t.name, NumPartitions: t.partitions, ReplicationFactor: rf, Configs: configs,
	})
	if errors.Is(err, kerr.TopicAlreadyExists) {
		created, _ = b.meta.Image().Topic(t.name)
		return created, nil
	}
	if err != nil {
		return metadata.TopicImage{}, fmt.Errorf("creating %s: %w", t.name, err)
	}
	return created, nil
}

// transactionStateTopicSpec is __transaction_state as the configuration
// asks for it.
func (b *Broker) transactionStateTopicSpec() internalTopic {
	cfg := b.opts.Config
	return internalTopic{
		name:              transactionStateTopic,
		partitions:        cfg.TransactionStateLogNumPartitions,
		replicationFactor: cfg.TransactionStateLogReplicationFactor,
		minISR:            cfg.TransactionStateLogMinISR,
		segmentBytes:      transactionStateSegmentBytes,
	}
}
