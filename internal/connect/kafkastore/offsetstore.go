package kafkastore

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
)

// DefaultOffsetPartitions is Kafka's offset.storage.partitions default.
const DefaultOffsetPartitions = 25

// OffsetRecord is one source partition's offset in Kafka Connect's
// encoding, which the caller does: the key is the JSON array
// ["<connector>",{partition}], the value the JSON object of the offset,
// nil to delete it. The store reads keys only to match and list them.
type OffsetRecord struct {
	Key   []byte
	Value []byte
}

// OffsetStore keeps source connectors' offsets in the offsets topic
// (offset.storage.topic), as Kafka's KafkaOffsetBackingStore. Keys match
// by their JSON content, not their bytes, so that offsets a Java worker
// wrote are found whatever order its maps gave the partition's fields.
type OffsetStore struct {
	storeLog

	mu struct {
		sync.Mutex
		entries map[string]offsetEntry // by canonical key
	}
}

// offsetEntry is the last record read for a key.
type offsetEntry struct {
	key   offsetKey
	raw   []byte // the key's bytes as written
	value []byte
}

// NewOffsetStore returns a store of options.Topic; zero Partitions is
// Kafka's default, 25.
func NewOffsetStore(options StoreOptions) *OffsetStore {
	if options.Topic.Partitions == 0 {
		options.Topic.Partitions = DefaultOffsetPartitions
	}
	s := &OffsetStore{}
	s.mu.entries = map[string]offsetEntry{}
	s.storeLog = newStoreLog("offset store", LogOptions{Topic: options.Topic, Setting: "offset.storage.topic",
		Purpose: "source connector offsets", ClientOpts: options.ClientOpts, Logger: options.Logger}, s.consume)
	return s
}

func (s *OffsetStore) consume(r Record) {
	key, err := parseOffsetKey(r.Key)
	if err != nil {
		s.logger.Warn("kafkastore: skipping offset record", "partition", r.Partition, "offset", r.Offset, "error", err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.Value == nil {
		delete(s.mu.entries, key.canonical)
		return
	}
	s.mu.entries[key.canonical] = offsetEntry{key: key, raw: r.Key, value: r.Value}
}

// Get reads the topic to its end, as Kafka does on every read, and
// returns the values of keys, nil for a key without an offset.
func (s *OffsetStore) Get(ctx context.Context, keys [][]byte) ([][]byte, error) {
	parsed := make([]offsetKey, len(keys))
	for i, k := range keys {
		var err error
		if parsed[i], err = parseOffsetKey(k); err != nil {
			return nil, fmt.Errorf("offset store: %w", err)
		}
	}
	if err := s.log.ReadToEnd(ctx); err != nil {
		return nil, fmt.Errorf("offset store: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([][]byte, len(keys))
	for i, k := range parsed {
		if e, ok := s.mu.entries[k.canonical]; ok {
			out[i] = slices.Clone(e.value)
		}
	}
	return out, nil
}

// Put writes offsets as one batch and returns once all are acknowledged;
// they are visible to Get, on any worker, from then on. A key already in
// the topic is written with the bytes it was written with, so that it
// lands on the same partition and compaction keeps only the newest.
func (s *OffsetStore) Put(ctx context.Context, records []OffsetRecord) error {
	batch := make([]KeyValue, len(records))
	s.mu.Lock()
	for i, r := range records {
		key, err := parseOffsetKey(r.Key)
		if err == nil && !key.partitioned {
			err = fmt.Errorf("offset key %.64q is not [connector, {partition}]", r.Key)
		}
		if err == nil {
			err = checkOffsetValue(r.Value)
		}
		if err != nil {
			s.mu.Unlock()
			return fmt.Errorf("offset store: %w", err)
		}
		raw := r.Key
		if e, ok := s.mu.entries[key.canonical]; ok {
			raw = e.raw
		}
		batch[i] = KeyValue{Key: raw, Value: r.Value}
	}
	s.mu.Unlock()
	if _, err := s.log.SendAll(ctx, batch); err != nil {
		return fmt.Errorf("offset store: %w", err)
	}
	return nil
}

// All reads the topic to its end and returns every offset of connector,
// sorted by key.
func (s *OffsetStore) All(ctx context.Context, connector string) ([]OffsetRecord, error) {
	if err := s.log.ReadToEnd(ctx); err != nil {
		return nil, fmt.Errorf("offset store: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []OffsetRecord
	for _, canonical := range slices.Sorted(maps.Keys(s.mu.entries)) {
		e := s.mu.entries[canonical]
		if e.key.partitioned && e.key.connector == connector {
			out = append(out, OffsetRecord{Key: slices.Clone(e.raw), Value: slices.Clone(e.value)})
		}
	}
	return out, nil
}
