package kafkastore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

// ErrTopicSettings marks an existing topic whose settings would lose or
// reorder a store's records: a cleanup.policy other than compact, or a
// config topic with more than one partition. Kafka's workers refuse to
// start on such a topic, and so do these stores.
var ErrTopicSettings = errors.New("kafkastore: unsuitable topic")

// Limits of waiting for a new topic's metadata (Kafka's KafkaBasedLog:
// 30 s, polling from 100 ms up to 1 s): a topic just created may take a
// moment to reach every broker's metadata.
const (
	topicMetadataTimeout  = 30 * time.Second
	topicMetadataFirstTry = 100 * time.Millisecond
	topicMetadataMaxWait  = time.Second
)

const (
	cleanupPolicy = "cleanup.policy"
	compact       = "compact"
)

// ensureTopic creates the topic unless it exists, checks an existing one
// as Kafka's TopicAdmin does, and returns its partition count.
func ensureTopic(ctx context.Context, admin *kadm.Client, o LogOptions, logger *slog.Logger) (int32, error) {
	spec := o.Topic
	configs := make(map[string]*string, len(spec.Configs)+1)
	for k, v := range spec.Configs {
		configs[k] = &v
	}
	policy := compact
	configs[cleanupPolicy] = &policy
	partitions := spec.Partitions
	if o.SinglePartition {
		partitions = 1
	}
	_, err := admin.CreateTopic(ctx, partitions, spec.ReplicationFactor, configs, spec.Name)
	created := err == nil
	switch {
	case created, errors.Is(err, kerr.TopicAlreadyExists):
	case errors.Is(err, kerr.TopicAuthorizationFailed), errors.Is(err, kerr.ClusterAuthorizationFailed):
		// As Kafka: a worker not allowed to create topics may still use
		// one an operator created; the metadata lookup below says.
		logger.Warn("kafkastore: not allowed to create topic; expecting it to exist", "topic", spec.Name, "error", err)
	default:
		return 0, fmt.Errorf("creating topic %s for %s (%s): %w", spec.Name, o.Purpose, o.Setting, err)
	}
	count, err := waitPartitions(ctx, admin, spec.Name)
	if err != nil {
		return 0, err
	}
	if o.SinglePartition && count > 1 {
		return 0, fmt.Errorf("%w: topic '%s' supplied via the '%s' property is required to have a single partition "+
			"in order to guarantee consistency of %s, but found %d partitions", ErrTopicSettings, spec.Name, o.Setting, o.Purpose, count)
	}
	if !created {
		if err := checkCompacted(ctx, admin, o, logger); err != nil {
			return 0, err
		}
	}
	return count, nil
}

// waitPartitions returns the topic's partition count once its metadata
// lists partitions.
func waitPartitions(ctx context.Context, admin *kadm.Client, topic string) (int32, error) {
	ctx, cancel := context.WithTimeout(ctx, topicMetadataTimeout)
	defer cancel()
	wait := topicMetadataFirstTry
	for {
		details, err := admin.ListTopics(ctx, topic)
		if err == nil {
			d, ok := details[topic]
			switch {
			case ok && d.Err == nil && len(d.Partitions) > 0:
				return int32(len(d.Partitions)), nil
			case ok && d.Err != nil:
				err = d.Err
			default:
				err = kerr.UnknownTopicOrPartition
			}
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return 0, fmt.Errorf("looking up the partitions of topic %s: %w (last: %w)", topic, ctx.Err(), err)
		case <-timer.C:
		}
		wait = min(2*wait, topicMetadataMaxWait)
	}
}

// checkCompacted refuses a topic whose cleanup.policy is not exactly
// compact: with delete, records a store needs would expire.
func checkCompacted(ctx context.Context, admin *kadm.Client, o LogOptions, logger *slog.Logger) error {
	topic := o.Topic.Name
	configs, err := admin.DescribeTopicConfigs(ctx, topic)
	if err == nil {
		var rc kadm.ResourceConfig
		rc, err = configs.On(topic, nil)
		if err == nil {
			err = rc.Err
		}
		if err == nil {
			return checkPolicy(o, policies(rc.Configs))
		}
	}
	if errors.Is(err, kerr.TopicAuthorizationFailed) || errors.Is(err, kerr.ClusterAuthorizationFailed) {
		// As Kafka: without the right to describe configs, trust the
		// operator.
		logger.Warn("kafkastore: cannot check the cleanup policy of topic", "topic", topic, "error", err)
		return nil
	}
	return fmt.Errorf("describing the configs of topic %s: %w", topic, err)
}

// policies is the set of a topic's cleanup policies, as Kafka reads it:
// comma-separated, trimmed, lower-cased, empty entries dropped.
func policies(configs []kadm.Config) map[string]bool {
	set := map[string]bool{}
	for _, c := range configs {
		if c.Key != cleanupPolicy || c.Value == nil {
			continue
		}
		for p := range strings.SplitSeq(*c.Value, ",") {
			if p = strings.ToLower(strings.TrimSpace(p)); p != "" {
				set[p] = true
			}
		}
	}
	return set
}

func checkPolicy(o LogOptions, set map[string]bool) error {
	if len(set) == 0 {
		return nil // Kafka too goes on when the broker does not say
	}
	if len(set) == 1 && set[compact] {
		return nil
	}
	return fmt.Errorf("%w: topic '%s' supplied via the '%s' property is required to have '%s=%s' to guarantee "+
		"consistency and durability of %s, but found the topic currently has '%s=%s'",
		ErrTopicSettings, o.Topic.Name, o.Setting, cleanupPolicy, compact, o.Purpose, cleanupPolicy, strings.Join(slices.Sorted(maps.Keys(set)), ","))
}
