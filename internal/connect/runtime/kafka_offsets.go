package runtime

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/fjordhq/fjord/connect"
	"github.com/fjordhq/fjord/internal/connect/kafkastore"
)

// kafkaOffsets is the offset store of distributed mode: the offsets topic,
// with the keys and values encoded as the file store encodes them (Kafka's
// form).
type kafkaOffsets struct{ store *kafkastore.OffsetStore }

func (k kafkaOffsets) get(ctx context.Context, connector string, partitions []map[string]any) ([]map[string]any, error) {
	keys := make([][]byte, len(partitions))
	for i, p := range partitions {
		var err error
		if keys[i], err = offsetKey(connector, p); err != nil {
			return nil, err
		}
	}
	values, err := k.store.Get(ctx, keys)
	if err != nil {
		return nil, err
	}
	out := make([]map[string]any, len(values))
	for i, v := range values {
		if v == nil {
			continue
		}
		if out[i], err = decodeOffsetValue(v); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (k kafkaOffsets) put(ctx context.Context, connector string, offsets []connect.SourcePartitionOffset) error {
	records := make([]kafkastore.OffsetRecord, len(offsets))
	for i, o := range offsets {
		key, err := offsetKey(connector, o.Partition)
		if err != nil {
			return err
		}
		records[i].Key = key
		if o.Offset != nil {
			if records[i].Value, err = json.Marshal(o.Offset); err != nil {
				return fmt.Errorf("offset %v of connector %s: %w", o.Offset, connector, err)
			}
		}
	}
	return k.store.Put(ctx, records)
}

func (k kafkaOffsets) all(ctx context.Context, connector string) ([]connect.SourcePartitionOffset, error) {
	records, err := k.store.All(ctx, connector)
	if err != nil {
		return nil, err
	}
	var out []connect.SourcePartitionOffset
	for _, r := range records {
		_, partition, err := decodeOffsetKey(r.Key)
		if err != nil {
			continue // not a [connector, {partition}] key
		}
		offset, err := decodeOffsetValue(r.Value)
		if err != nil {
			return nil, err
		}
		out = append(out, connect.SourcePartitionOffset{Partition: partition, Offset: offset})
	}
	return out, nil
}
