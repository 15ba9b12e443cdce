package postgres

import (
	"errors"
	"fmt"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/fjordhq/fjord/connect"
)

// The source partition and offset fields of the change data capture
// source, and its header.
const (
	partitionSlot = "slot"
	offsetLSN     = "lsn" // the end LSN of a transaction's commit, as an int64
	headerOp      = "op"  // c (insert), u (update) or d (delete), as Debezium's op field
	opCreate      = "c"
	opUpdate      = "u"
	opDelete      = "d"
)

var errUnchangedToast = errors.New("an update left a large (TOASTed) value out of the change: " +
	"set REPLICA IDENTITY FULL on the table so that the old row carries it")

// cdcRelation is a table as the last Relation message described it.
type cdcRelation struct {
	name        string // schema.table
	topic       string
	oids        []uint32
	columns     []sourceColumn
	valueSchema *connect.Schema
	keySchema   *connect.Schema
	keyColumns  []int // indexes of the replica identity's columns
}

// cdcDecoder turns pgoutput's messages into records. It is the pure core
// of the CDC task: no connection, clock or goroutine. Records of an open
// transaction are held until its Commit gives them their offset, the end
// LSN of the commit, so that a restart from a committed offset resumes
// after whole transactions. A transaction of more than maxPending changes
// is released in parts whose offset is the previous transaction's: a
// restart from one of them replays the transaction from its start (at
// least once), which bounds the memory held.
type cdcDecoder struct {
	prefix     string
	partition  map[string]any
	maxPending int
	types      *pgtype.Map
	relations  map[uint32]*cdcRelation

	inTransaction bool
	pending       []connect.SourceRecord // of the open transaction, without offsets
	ready         []connect.SourceRecord // released, for Poll to return
	lastCommit    pglogrepl.LSN          // end LSN of the last transaction seen whole
	lastReleased  pglogrepl.LSN          // the offset of the last record released
	lastTaken     pglogrepl.LSN          // the offset of the last record taken
}

func newCdcDecoder(prefix, slot string, maxPending int, start pglogrepl.LSN) *cdcDecoder {
	return &cdcDecoder{prefix: prefix, partition: map[string]any{partitionSlot: slot}, maxPending: maxPending,
		types: pgtype.NewMap(), relations: map[uint32]*cdcRelation{}, lastCommit: start, lastReleased: start, lastTaken: start}
}

// idle reports that everything decoded so far was released and is at or
// before committed: the server may then forget the log up to the position
// it has sent.
func (d *cdcDecoder) idle(committed pglogrepl.LSN) bool {
	return !d.inTransaction && len(d.pending) == 0 && len(d.ready) == 0 && committed >= d.lastReleased
}

// take returns at most n released records. A batch that would end inside
// a transaction ends before it; when the transaction alone is longer than
// n, its first n records get the offset of the last record taken before,
// so that committing them does not skip the rest of the transaction.
func (d *cdcDecoder) take(n int) []connect.SourceRecord {
	n = min(n, len(d.ready))
	if n == 0 {
		return nil
	}
	if n < len(d.ready) && recordLSN(d.ready[n-1]) == recordLSN(d.ready[n]) {
		start := n - 1
		for start > 0 && recordLSN(d.ready[start-1]) == recordLSN(d.ready[n]) {
			start--
		}
		if start > 0 {
			n = start
		} else {
			offset := map[string]any{offsetLSN: int64(d.lastTaken)}
			for i := range n {
				d.ready[i].SourceOffset = offset
			}
		}
	}
	out := d.ready[:n:n]
	d.ready = d.ready[n:]
	if len(d.ready) == 0 {
		d.ready = nil
	}
	d.lastTaken = recordLSN(out[n-1])
	return out
}

// recordLSN is the LSN of a released record's offset.
func recordLSN(r connect.SourceRecord) pglogrepl.LSN {
	return pglogrepl.LSN(r.SourceOffset[offsetLSN].(int64))
}

// apply feeds one decoded pgoutput message.
func (d *cdcDecoder) apply(msg pglogrepl.Message) error {
	switch m := msg.(type) {
	case *pglogrepl.BeginMessage:
		d.inTransaction = true
	case *pglogrepl.CommitMessage:
		d.release(m.TransactionEndLSN)
		d.lastCommit = m.TransactionEndLSN
		d.inTransaction = false
	case *pglogrepl.RelationMessage:
		rel, err := d.relation(m)
		if err != nil {
			return err
		}
		d.relations[m.RelationID] = rel
	case *pglogrepl.InsertMessage:
		return d.change(m.RelationID, nil, m.Tuple, opCreate)
	case *pglogrepl.UpdateMessage:
		return d.change(m.RelationID, m.OldTuple, m.NewTuple, opUpdate)
	case *pglogrepl.DeleteMessage:
		return d.change(m.RelationID, m.OldTuple, nil, opDelete)
	}
	// Type, Origin, Truncate and logical messages carry no row changes.
	return nil
}

// release moves the pending records to ready with the offset of lsn.
func (d *cdcDecoder) release(lsn pglogrepl.LSN) {
	if len(d.pending) == 0 {
		return
	}
	offset := map[string]any{offsetLSN: int64(lsn)}
	for i := range d.pending {
		d.pending[i].SourceOffset = offset
	}
	d.ready = append(d.ready, d.pending...)
	d.pending = nil
	d.lastReleased = lsn
}

// relation builds the schemas of a table from its Relation message. The
// message names the columns, their types and which belong to the replica
// identity (the primary key by default), but not which are NOT NULL: the
// identity's columns are required, the others optional.
func (d *cdcDecoder) relation(m *pglogrepl.RelationMessage) (*cdcRelation, error) {
	rel := &cdcRelation{name: m.Namespace + "." + m.RelationName}
	rel.topic = d.prefix + rel.name
	value := connect.NewSchemaBuilder(connect.TypeStruct).Name(rel.name)
	for i, c := range m.Columns {
		row := catalogRow{column: c.Name, typmod: c.TypeModifier}
		if t, ok := d.types.TypeForOID(c.DataType); ok {
			row.typeName = t.Name
		}
		if c.Flags&1 != 0 {
			rel.keyColumns = append(rel.keyColumns, i)
			row.notNull, row.pkPos = true, int32(len(rel.keyColumns))
		}
		col := newSourceColumn(row)
		rel.oids = append(rel.oids, c.DataType)
		rel.columns = append(rel.columns, col)
		value.Field(c.Name, col.schema)
	}
	var err error
	if rel.valueSchema, err = value.Build(); err != nil {
		return nil, fmt.Errorf("schema of table %s: %w", rel.name, err)
	}
	switch len(rel.keyColumns) {
	case 0:
	case 1:
		rel.keySchema = rel.columns[rel.keyColumns[0]].schema
	default:
		kb := connect.NewSchemaBuilder(connect.TypeStruct).Name(rel.name + ".Key")
		for _, k := range rel.keyColumns {
			kb.Field(rel.columns[k].name, rel.columns[k].schema)
		}
		if rel.keySchema, err = kb.Build(); err != nil {
			return nil, fmt.Errorf("key schema of table %s: %w", rel.name, err)
		}
	}
	return rel, nil
}
