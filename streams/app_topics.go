package streams

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/twmb/franz-go/pkg/kerr"
)

// setupTopics learns the input topics' partition counts, works out how many
// tasks each sub-topology has and how many partitions each internal topic
// needs, checks co-partitioning and creates the internal topics that do not
// exist yet.
func (a *App) setupTopics(ctx context.Context) error {
	var external []string
	for _, s := range a.subs {
		for _, topic := range s.sourceTopics {
			if !s.internal[topic] {
				external = append(external, topic)
			}
		}
	}
	details, err := a.admin.ListTopics(ctx, external...)
	if err != nil {
		return fmt.Errorf("streams: describe input topics: %w", err)
	}
	counts := make(map[string]int32) // by logical name
	for _, topic := range external {
		d, ok := details[topic]
		if !ok || d.Err != nil {
			return fmt.Errorf("streams: input topic %q: %w", topic, errors.Join(d.Err, errMissingTopic(ok)))
		}
		counts[topic] = int32(len(d.Partitions))
	}
	if err := a.countTasks(counts); err != nil {
		return err
	}
	return a.createInternalTopics(ctx, counts)
}

func errMissingTopic(found bool) error {
	if found {
		return nil
	}
	return errors.New("it does not exist")
}

// countTasks gives every sub-topology its task count: the partitions of its
// input topics, which must agree (co-partitioning). A repartition topic
// without a set count takes the largest count of its reader's inputs, or
// else its writer's task count, so that the two repartitioned sides of a
// join meet at the larger; the loop runs until nothing changes.
func (a *App) countTasks(counts map[string]int32) error {
	writer := make(map[string]int) // repartition suffix -> sub writing it
	for _, s := range a.subs {
		for _, n := range s.nodes {
			if n.kind == kindSink && n.internal {
				writer[n.topics[0]] = s.id
			}
		}
	}
	free := make(map[string]bool) // repartition topics whose count is ours to choose
	for suffix, it := range a.topology.internalTopics {
		if !it.changelog && it.partitions > 0 {
			counts[suffix] = int32(it.partitions)
		}
		free[suffix] = !it.changelog && it.partitions == 0
	}
	for range len(a.subs) + len(counts) + 1 {
		changed := false
		for _, s := range a.subs {
			n := int32(0)
			for _, topic := range s.sourceTopics {
				n = max(n, counts[topic])
			}
			if n > 0 && a.tasksPerSub[s.id] != n {
				a.tasksPerSub[s.id], changed = n, true
			}
			for _, topic := range s.sourceTopics {
				if n > 0 && (counts[topic] == 0 || free[topic] && counts[topic] < n) {
					counts[topic], changed = n, true
				}
			}
		}
		for suffix, w := range writer {
			if counts[suffix] == 0 && a.tasksPerSub[w] > 0 {
				counts[suffix], changed = a.tasksPerSub[w], true
			}
		}
		if !changed {
			break
		}
	}
	for _, s := range a.subs {
		for _, topic := range s.sourceTopics {
			if counts[topic] != a.tasksPerSub[s.id] {
				return fmt.Errorf("%w: topics %v of sub-topology %d are not co-partitioned: %q has %d partitions, the others %d",
					ErrTopology, s.sourceTopics, s.id, topic, counts[topic], a.tasksPerSub[s.id])
			}
		}
	}
	return nil
}

// createInternalTopics creates the repartition and changelog topics; one
// that exists must have the partitions the topology needs.
func (a *App) createInternalTopics(ctx context.Context, counts map[string]int32) error {
	storeSub := make(map[string]int)
	for _, s := range a.subs {
		for _, name := range s.stores {
			storeSub[name] = s.id
		}
	}
	suffixes := make([]string, 0, len(a.topology.internalTopics))
	for suffix := range a.topology.internalTopics {
		suffixes = append(suffixes, suffix)
	}
	slices.Sort(suffixes)
	for _, suffix := range suffixes {
		it := a.topology.internalTopics[suffix]
		partitions := counts[suffix]
		if it.changelog {
			for name, def := range a.topology.stores {
				if def.changelogSuffix() == suffix {
					partitions = a.tasksPerSub[storeSub[name]]
				}
			}
		}
		if partitions <= 0 {
			return fmt.Errorf("%w: cannot tell how many partitions internal topic %q needs", ErrTopology, suffix)
		}
		if err := a.ensureTopic(ctx, a.env.resolve(suffix, true), partitions, it.configs); err != nil {
			return err
		}
	}
	return nil
}

func (a *App) ensureTopic(ctx context.Context, topic string, partitions int32, configs map[string]string) error {
	ptrs := make(map[string]*string, len(configs))
	for k, v := range configs {
		ptrs[k] = &v
	}
	resp, err := a.admin.CreateTopic(ctx, partitions, int16(a.cfg.ReplicationFactor), ptrs, topic)
	if err == nil {
		err = resp.Err
	}
	if err == nil {
		return nil
	}
	if !errors.Is(err, kerr.TopicAlreadyExists) {
		return fmt.Errorf("streams: create internal topic %q: %w", topic, err)
	}
	details, err := a.admin.ListTopics(ctx, topic)
	if err != nil {
		return fmt.Errorf("streams: describe internal topic %q: %w", topic, err)
	}
	if have := int32(len(details[topic].Partitions)); have != partitions {
		return fmt.Errorf("%w: internal topic %q has %s partitions, the topology needs %d",
			ErrTopology, topic, strconv.Itoa(int(have)), partitions)
	}
	return nil
}
