package runtime

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sync"

	"github.com/fjordhq/fjord/connect"
)

// offsetStore keeps the committed offsets of source connectors, by
// connector and source partition. Keys and values are encoded as Kafka
// Connect encodes them in its offsets topic (JSON without schemas: the key
// ["<connector>",{partition}], the value {offset}), so the two modes and
// Kafka's own tools agree on them.
type offsetStore interface {
	// get returns the offsets of partitions, nil for those without one.
	get(ctx context.Context, connector string, partitions []map[string]any) ([]map[string]any, error)
	// put makes offsets durable; a nil Offset deletes the partition's.
	put(ctx context.Context, connector string, offsets []connect.SourcePartitionOffset) error
	// all returns every offset of connector, in a stable order.
	all(ctx context.Context, connector string) ([]connect.SourcePartitionOffset, error)
}

// offsetKey encodes a source partition's key in Kafka's form.
func offsetKey(connector string, partition map[string]any) ([]byte, error) {
	b, err := json.Marshal([]any{connector, partition})
	if err != nil {
		return nil, fmt.Errorf("source partition %v of connector %s: %w", partition, connector, err)
	}
	return b, nil
}

// decodeOffsetKey decodes a key written by offsetKey (or by Kafka).
func decodeOffsetKey(b []byte) (connector string, partition map[string]any, err error) {
	var parts []any
	if err := decodeJSON(b, &parts); err != nil {
		return "", nil, err
	}
	if len(parts) != 2 {
		return "", nil, fmt.Errorf("offset key %s is not [connector, partition]", b)
	}
	connector, ok := parts[0].(string)
	partition, ok2 := parts[1].(map[string]any)
	if !ok || !ok2 {
		return "", nil, fmt.Errorf("offset key %s is not [connector, partition]", b)
	}
	return connector, partition, nil
}

// decodeOffsetValue decodes an offset value; JSON null is no offset.
func decodeOffsetValue(b []byte) (map[string]any, error) {
	var offset map[string]any
	if err := decodeJSON(b, &offset); err != nil {
		return nil, err
	}
	return offset, nil
}

// decodeJSON decodes numbers as Kafka's JSON converter gives them to a
// connector: int64 when integral, float64 otherwise.
func decodeJSON(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("decoding %q: %w", b, err)
	}
	fixNumbers(v)
	return nil
}

func fixNumbers(v any) any {
	switch x := v.(type) {
	case *[]any:
		fixNumbers(*x)
	case *map[string]any:
		fixNumbers(*x)
	case []any:
		for i := range x {
			x[i] = fixNumbers(x[i])
		}
	case map[string]any:
		for k := range x {
			x[k] = fixNumbers(x[k])
		}
	case json.Number:
		if n, err := x.Int64(); err == nil {
			return n
		}
		if f, err := x.Float64(); err == nil && !math.IsInf(f, 0) {
			return f
		}
		return x.String()
	}
	return v
}

// fileOffsetStore is the standalone worker's store: every offset in one
// JSON file (offset.storage.file.filename), replaced atomically on each
// put.
type fileOffsetStore struct {
	path string

	mu      sync.Mutex
	entries map[string]fileOffsetEntry // by encoded key
}

// fileOffsetEntry is one entry of the file.
type fileOffsetEntry struct {
	Key   json.RawMessage `json:"key"`
	Value json.RawMessage `json:"value"`
}

// openFileOffsetStore reads path, which need not exist yet.
func openFileOffsetStore(path string) (*fileOffsetStore, error) {
	s := &fileOffsetStore{path: path, entries: map[string]fileOffsetEntry{}}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("offsets file: %w", err)
	}
	var entries []fileOffsetEntry
	if err := json.Unmarshal(b, &entries); err != nil {
		return nil, fmt.Errorf("offsets file %s: %w", path, err)
	}
	for _, e := range entries {
		s.entries[string(e.Key)] = e
	}
	return s, nil
}

func (s *fileOffsetStore) get(_ context.Context, connector string, partitions []map[string]any) ([]map[string]any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]map[string]any, len(partitions))
	for i, p := range partitions {
		key, err := offsetKey(connector, p)
		if err != nil {
			return nil, err
		}
		if e, ok := s.entries[string(key)]; ok {
			if out[i], err = decodeOffsetValue(e.Value); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

func (s *fileOffsetStore) put(_ context.Context, connector string, offsets []connect.SourcePartitionOffset) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	next := maps.Clone(s.entries)
	for _, o := range offsets {
		key, err := offsetKey(connector, o.Partition)
		if err != nil {
			return err
		}
		if o.Offset == nil {
			delete(next, string(key))
			continue
		}
		value, err := json.Marshal(o.Offset)
		if err != nil {
			return fmt.Errorf("offset %v of connector %s: %w", o.Offset, connector, err)
		}
		next[string(key)] = fileOffsetEntry{Key: key, Value: value}
	}
	if err := s.write(next); err != nil {
		return err
	}
	s.entries = next
	return nil
}

func (s *fileOffsetStore) all(_ context.Context, connector string) ([]connect.SourcePartitionOffset, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []connect.SourcePartitionOffset
	for _, k := range slices.Sorted(maps.Keys(s.entries)) {
		e := s.entries[k]
		name, partition, err := decodeOffsetKey(e.Key)
		if err != nil || name != connector {
			continue // another connector's, or not ours to read
		}
		offset, err := decodeOffsetValue(e.Value)
		if err != nil {
			return nil, err
		}
		out = append(out, connect.SourcePartitionOffset{Partition: partition, Offset: offset})
	}
	return out, nil
}

// write replaces the file with entries: a temporary file, fsynced, renamed
// over the old one, and the directory fsynced, so a crash leaves the old
// file or the new one.
func (s *fileOffsetStore) write(entries map[string]fileOffsetEntry) error {
	list := make([]fileOffsetEntry, 0, len(entries))
	for _, k := range slices.Sorted(maps.Keys(entries)) {
		list = append(list, entries[k])
	}
	b, err := json.Marshal(list)
	if err != nil {
		return fmt.Errorf("offsets file: %w", err)
	}
	dir := filepath.Dir(s.path)
	f, err := os.CreateTemp(dir, filepath.Base(s.path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("offsets file: %w", err)
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("offsets file: %w", err)
	}
	if err := errors.Join(f.Sync(), f.Close()); err != nil {
		return fmt.Errorf("offsets file: %w", err)
	}
	if err := os.Rename(f.Name(), s.path); err != nil {
		return fmt.Errorf("offsets file: %w", err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("offsets file: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("offsets file: %w", err)
	}
	return nil
}
