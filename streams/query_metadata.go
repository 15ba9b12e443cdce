package streams

// Which instance hosts which partitions and stores: the metadata half of
// interactive queries (query.go).

import (
	"fmt"
	"slices"
	"strings"

	"github.com/fjordhq/fjord/streams/internal/assign"
)

// TopicPartition is one partition of one topic.
type TopicPartition struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
}

// StreamsMetadata is what one instance of the application hosts, as the
// latest assignment tells every instance (Kafka's StreamsMetadata). Host
// is the instance's application.server; instances without one are not
// listed. Global stores are listed on every instance.
type StreamsMetadata struct {
	Host                   string           `json:"host"`
	StateStores            []string         `json:"stateStores"`
	TopicPartitions        []TopicPartition `json:"topicPartitions"`
	StandbyStateStores     []string         `json:"standbyStateStores"`
	StandbyTopicPartitions []TopicPartition `json:"standbyTopicPartitions"`
}

// KeyQueryMetadata is where a key of a store lives (Kafka's
// KeyQueryMetadata): the application.server of the instance running its
// partition's task, those of the instances keeping standbys of it, and the
// partition.
type KeyQueryMetadata struct {
	ActiveHost   string   `json:"activeHost"`
	StandbyHosts []string `json:"standbyHosts"`
	Partition    int32    `json:"partition"`
}

// AllMetadata lists every instance of the application with the stores and
// partitions it hosts, by host (Kafka's metadataForAllStreamsClients). It
// returns ErrStoreNotReady before the first assignment.
func (a *App) AllMetadata() ([]StreamsMetadata, error) {
	active, standby, err := a.hostMaps()
	if err != nil {
		return nil, err
	}
	hosts := make(map[string]bool)
	for h := range active {
		hosts[h] = true
	}
	for h := range standby {
		hosts[h] = true
	}
	out := make([]StreamsMetadata, 0, len(hosts))
	for _, h := range sortedKeys(hosts) {
		md := StreamsMetadata{Host: h, StateStores: []string{}, TopicPartitions: []TopicPartition{}, StandbyStateStores: []string{}, StandbyTopicPartitions: []TopicPartition{}}
		md.TopicPartitions, md.StateStores = a.describePartitions(active[h], true)
		md.StandbyTopicPartitions, md.StandbyStateStores = a.describePartitions(standby[h], false)
		out = append(out, md)
	}
	return out, nil
}

// StoreMetadata lists the instances that host store name, actively or as
// a standby (Kafka's streamsMetadataForStore).
func (a *App) StoreMetadata(name string) ([]StreamsMetadata, error) {
	if _, ok := a.topology.stores[name]; !ok && !a.isGlobalStore(name) {
		return nil, fmt.Errorf("%w: %q", ErrUnknownStore, name)
	}
	all, err := a.AllMetadata()
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, md := range all {
		if slices.Contains(md.StateStores, name) || slices.Contains(md.StandbyStateStores, name) {
			out = append(out, md)
		}
	}
	return out, nil
}

// QueryMetadataForKey tells which instances host key of store name (Kafka's
// queryMetadataForKey): the key is serialized with the store's key serde
// and placed with murmur2, as the App's repartitioning and Kafka's default
// partitioner place it. It returns ErrStoreNotReady before the first
// assignment, or when no instance with an application.server runs the
// key's partition.
func QueryMetadataForKey[K any](a *App, name string, key K) (KeyQueryMetadata, error) {
	target, _, err := newQueryTarget[K](a, name, nil)
	if err != nil {
		return KeyQueryMetadata{}, err
	}
	p, err := target.partitionOf(key)
	if err != nil {
		return KeyQueryMetadata{}, err
	}
	md, err := a.partitionMetadata(target.sub, p)
	if err == nil && md.ActiveHost == "" {
		err = fmt.Errorf("%w: no instance with an application.server runs partition %d of store %q", ErrStoreNotReady, p, name)
	}
	return md, err
}

// partitionMetadata finds the hosts of partition p of a sub-topology's
// tasks; ActiveHost is empty when none that has an endpoint runs it.
func (a *App) partitionMetadata(s *subtopology, p int32) (KeyQueryMetadata, error) {
	active, standby, err := a.hostMaps()
	if err != nil {
		return KeyQueryMetadata{}, err
	}
	tp := TopicPartition{Topic: a.firstSourceTopic(s), Partition: p}
	md := KeyQueryMetadata{Partition: p, StandbyHosts: []string{}}
	for _, h := range sortedKeys(active) {
		if containsPartition(active[h], tp) {
			md.ActiveHost = h
		}
	}
	for _, h := range sortedKeys(standby) {
		if containsPartition(standby[h], tp) {
			md.StandbyHosts = append(md.StandbyHosts, h)
		}
	}
	return md, nil
}

func containsPartition(tps []assign.TopicPartition, tp TopicPartition) bool {
	return slices.Contains(tps, assign.TopicPartition{Topic: tp.Topic, Partition: tp.Partition})
}

// hostMaps returns the latest assignment's partitions by host; they are
// read only.
func (a *App) hostMaps() (active, standby map[string][]assign.TopicPartition, err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	switch a.mu.state {
	case Created:
		return nil, nil, errNotStarted
	case PendingShutdown, NotRunning:
		return nil, nil, fmt.Errorf("%w: the application is %s", ErrClosed, a.mu.state)
	}
	if a.mu.hosts.Version == 0 {
		return nil, nil, fmt.Errorf("%w: no assignment yet", ErrStoreNotReady)
	}
	return a.mu.hosts.PartitionsByHost, a.mu.hosts.StandbyPartitionsByHost, nil
}

// describePartitions converts a host's partitions and names the stores of
// their sub-topologies; global stores are on every host, listed with its
// active ones.
func (a *App) describePartitions(tps []assign.TopicPartition, withGlobals bool) ([]TopicPartition, []string) {
	out := make([]TopicPartition, 0, len(tps))
	stores := make(map[string]bool)
	for _, tp := range tps {
		out = append(out, TopicPartition{Topic: tp.Topic, Partition: tp.Partition})
		if s, ok := a.topicSubtopology[tp.Topic]; ok {
			for _, name := range s.stores {
				stores[name] = true
			}
		}
	}
	if withGlobals {
		for _, g := range a.topology.globals {
			stores[g.store] = true
		}
	}
	slices.SortFunc(out, func(x, y TopicPartition) int {
		if c := strings.Compare(x.Topic, y.Topic); c != 0 {
			return c
		}
		return int(x.Partition - y.Partition)
	})
	return out, sortedKeys(stores)
}

func (a *App) isGlobalStore(name string) bool {
	return slices.ContainsFunc(a.topology.globals, func(g *globalStore) bool { return g.store == name })
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
