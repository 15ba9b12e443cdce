package postgres

import (
	"fmt"
	"reflect"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/fjordhq/fjord/connect"
)

// change makes the records of one row change: old is the old row (the
// replica identity's columns, or all with REPLICA IDENTITY FULL; nil when
// an update kept the identity), updated the new row (nil for a delete).
// An update that changed the key is a delete of the old key, then the new
// row, so that a table built from the records has no row of the old key.
func (d *cdcDecoder) change(relationID uint32, old, updated *pglogrepl.TupleData, op string) error {
	rel, ok := d.relations[relationID]
	if !ok {
		return fmt.Errorf("a change of relation %d came before its Relation message", relationID)
	}
	var oldValues, newValues []any
	var err error
	if old != nil {
		if oldValues, err = d.tuple(rel, old, nil); err != nil {
			return err
		}
	}
	if updated != nil {
		if newValues, err = d.tuple(rel, updated, old); err != nil {
			return err
		}
	}
	if op == opDelete && oldValues == nil {
		return fmt.Errorf("a delete from table %s carries no old row", rel.name)
	}
	if oldValues != nil && newValues != nil && !reflect.DeepEqual(rel.keyOf(oldValues), rel.keyOf(newValues)) {
		if err := d.emit(rel, oldValues, nil, opDelete); err != nil {
			return err
		}
	}
	if op == opDelete {
		return d.emit(rel, oldValues, nil, opDelete)
	}
	return d.emit(rel, newValues, newValues, op)
}

// emit adds a record with the key of keyRow and the value of valueRow (a
// tombstone when nil).
func (d *cdcDecoder) emit(rel *cdcRelation, keyRow, valueRow []any, op string) error {
	key, err := rel.key(keyRow)
	if err != nil {
		return err
	}
	r := connect.SourceRecord{SourcePartition: d.partition, Topic: rel.topic, KeySchema: rel.keySchema, Key: key,
		Headers: connect.Headers{{Key: headerOp, Schema: connect.StringSchema, Value: op}}}
	if valueRow != nil {
		value := connect.NewStruct(rel.valueSchema)
		for i := range rel.columns {
			if err := value.Put(rel.columns[i].name, valueRow[i]); err != nil {
				return fmt.Errorf("table %s: %w", rel.name, err)
			}
		}
		r.ValueSchema, r.Value = rel.valueSchema, value
	}
	d.pending = append(d.pending, r)
	if len(d.pending) >= d.maxPending {
		d.release(d.lastCommit) // see cdcDecoder: replayed whole after a restart
	}
	return nil
}

// keyOf returns the values of the key's columns.
func (rel *cdcRelation) keyOf(row []any) []any {
	out := make([]any, len(rel.keyColumns))
	for i, k := range rel.keyColumns {
		out[i] = row[k]
	}
	return out
}

// key makes the record key of a row, as the query source does: nil
// without key columns, the value of a single one, or a Struct.
func (rel *cdcRelation) key(row []any) (any, error) {
	switch len(rel.keyColumns) {
	case 0:
		return nil, nil
	case 1:
		return row[rel.keyColumns[0]], nil
	}
	key := connect.NewStruct(rel.keySchema)
	for _, k := range rel.keyColumns {
		if err := key.Put(rel.columns[k].name, row[k]); err != nil {
			return nil, fmt.Errorf("key of table %s: %w", rel.name, err)
		}
	}
	return key, nil
}

// tuple decodes a row's columns, sent as text, into Connect values. An
// unchanged large value of an update is taken from old, when it has it.
func (d *cdcDecoder) tuple(rel *cdcRelation, t *pglogrepl.TupleData, old *pglogrepl.TupleData) ([]any, error) {
	if len(t.Columns) != len(rel.columns) {
		return nil, fmt.Errorf("a row of table %s has %d columns, its Relation message %d",
			rel.name, len(t.Columns), len(rel.columns))
	}
	values := make([]any, len(rel.columns))
	for i, col := range t.Columns {
		if col.DataType == pglogrepl.TupleDataTypeToast && old != nil && i < len(old.Columns) {
			col = old.Columns[i]
		}
		v, err := d.column(rel, i, col)
		if err != nil {
			return nil, fmt.Errorf("table %s: %w", rel.name, err)
		}
		values[i] = v
	}
	return values, nil
}

// column decodes one column's value.
func (d *cdcDecoder) column(rel *cdcRelation, i int, col *pglogrepl.TupleDataColumn) (any, error) {
	c := &rel.columns[i]
	switch col.DataType {
	case pglogrepl.TupleDataTypeNull:
		return nil, nil
	case pglogrepl.TupleDataTypeToast:
		return nil, fmt.Errorf("column %q: %w", c.name, errUnchangedToast)
	case pglogrepl.TupleDataTypeText:
	default:
		return nil, fmt.Errorf("column %q: value of format %q, not text", c.name, col.DataType)
	}
	if c.kind == kindText {
		return string(col.Data), nil
	}
	t, ok := d.types.TypeForOID(rel.oids[i])
	if !ok { // relation() made such a column kindText
		return nil, fmt.Errorf("column %q: unknown type %d", c.name, rel.oids[i])
	}
	raw, err := t.Codec.DecodeValue(d.types, rel.oids[i], pgtype.TextFormatCode, col.Data)
	if err != nil {
		return nil, fmt.Errorf("column %q (%s): %w", c.name, c.typeName, err)
	}
	return c.decode(raw)
}
