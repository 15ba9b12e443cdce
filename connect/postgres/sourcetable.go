package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/fjordhq/fjord/connect"
)

// The fields of a source offset: the JDBC source connector's.
const (
	offsetIncrementing   = "incrementing"
	offsetTimestamp      = "timestamp"       // milliseconds since the epoch
	offsetTimestampNanos = "timestamp_nanos" // nanoseconds within the second of offsetTimestamp
	partitionTable       = "table"
)

// position is how far a table has been read.
type position struct {
	hasInc bool
	inc    int64
	// hasTs and ts: with timestamp+incrementing, the timestamp of the last
	// row read; with timestamp, the last timestamp whose rows were all
	// read.
	hasTs bool
	ts    time.Time
	// tailTs and tailCtid: with timestamp, the rows of timestamp tailTs up
	// to physical location tailCtid were read, but maybe not all rows of
	// that timestamp. tailCtid is "" when there is no such tail. It is
	// kept in memory only: a restart reads the tail's rows again.
	tailTs   time.Time
	tailCtid string
}

// offset is the source offset of a position.
func (p position) offset() map[string]any {
	m := map[string]any{}
	if p.hasInc {
		m[offsetIncrementing] = p.inc
	}
	if p.hasTs {
		m[offsetTimestamp] = p.ts.UnixMilli()
		m[offsetTimestampNanos] = int64(p.ts.Nanosecond())
	}
	return m
}

// parsePosition reads a committed offset; nil is the start of the table.
func parsePosition(m map[string]any) (position, error) {
	var p position
	if v, ok := m[offsetIncrementing]; ok {
		n, ok := toInt64(v)
		if !ok {
			return p, fmt.Errorf("offset %s=%v is not an integer", offsetIncrementing, v)
		}
		p.hasInc, p.inc = true, n
	}
	if v, ok := m[offsetTimestamp]; ok {
		ms, ok := toInt64(v)
		if !ok {
			return p, fmt.Errorf("offset %s=%v is not an integer", offsetTimestamp, v)
		}
		sec := ms / 1000
		if ms%1000 < 0 {
			sec-- // floor, for times before 1970
		}
		nanos := (ms - sec*1000) * int64(time.Millisecond)
		if v, ok := m[offsetTimestampNanos]; ok {
			if nanos, ok = toInt64(v); !ok || nanos < 0 || nanos >= int64(time.Second) {
				return p, fmt.Errorf("offset %s=%v is not a nanosecond of a second", offsetTimestampNanos, v)
			}
		}
		p.hasTs, p.ts = true, time.Unix(sec, nanos).UTC()
	}
	return p, nil
}

// toInt64 reads an integer as offset stores give it back.
func toInt64(v any) (int64, bool) {
	switch n := v.(type) {
	case int64:
		return n, true
	case int:
		return int64(n), true
	case int32:
		return int64(n), true
	case float64:
		if n == math.Trunc(n) && math.Abs(n) < 1<<53 {
			return int64(n), true
		}
	case json.Number:
		i, err := n.Int64()
		return i, err == nil
	}
	return 0, false
}

// sourceTable is one table a source task reads, with its columns (read
// again every round, so that a changed table changes the schema) and its
// position.
type sourceTable struct {
	listed    string // as table.include.list names it
	topic     string
	ident     string         // the quoted schema.table, once the catalog named it
	partition map[string]any // nil until the catalog named the table

	catalog     string // signature of the columns the schemas were built from
	columns     []sourceColumn
	valueSchema *connect.Schema
	keySchema   *connect.Schema
	keyColumns  []int // indexes of the primary key's columns, in key order
	incIndex    int   // index of the incrementing column, -1 without
	tsIndex     int   // index of the timestamp column, -1 without

	pos   position
	stale bool // read the catalog before the next query
}

// refresh reads the table's columns and, the first time, its committed
// offset.
func (t *sourceTable) refresh(ctx context.Context, conn *pgx.Conn, cfg *sourceConfig, offsets connect.OffsetReader) error {
	rows, err := readCatalog(ctx, conn, t.listed)
	if err != nil {
		return fmt.Errorf("reading the columns of table %s: %w", t.listed, err)
	}
	if len(rows) == 0 {
		return fmt.Errorf("table %s does not exist (or has no columns)", t.listed)
	}
	if sig := signature(rows); sig != t.catalog {
		if err := t.build(rows, cfg); err != nil {
			return err
		}
		t.catalog = sig
	}
	if t.partition == nil {
		partition := map[string]any{partitionTable: rows[0].schemaName + "." + rows[0].tableName}
		committed, err := offsets.Offset(ctx, partition)
		if err != nil {
			return fmt.Errorf("reading the committed offset of table %s: %w", t.listed, err)
		}
		if t.pos, err = parsePosition(committed); err != nil {
			return fmt.Errorf("committed offset of table %s: %w", t.listed, err)
		}
		t.partition = partition
		t.ident = pgx.Identifier{rows[0].schemaName, rows[0].tableName}.Sanitize()
	}
	t.stale = false
	return nil
}

// build makes the columns and schemas of catalog rows.
func (t *sourceTable) build(rows []catalogRow, cfg *sourceConfig) error {
	cols := make([]sourceColumn, len(rows))
	value := connect.NewSchemaBuilder(connect.TypeStruct).Name(unquote(t.listed))
	var keys []int
	t.incIndex, t.tsIndex = -1, -1
	for i, r := range rows {
		cols[i] = newSourceColumn(r)
		value.Field(r.column, cols[i].schema)
		if r.pkPos > 0 {
			keys = append(keys, i)
		}
		switch r.column {
		case cfg.incrementing:
			t.incIndex = i
		case cfg.timestamp:
			t.tsIndex = i
		}
	}
	if err := t.checkModeColumns(cols, cfg); err != nil {
		return err
	}
	slices.SortFunc(keys, func(a, b int) int { return cols[a].pkPos - cols[b].pkPos })
	valueSchema, err := value.Build()
	if err != nil {
		return fmt.Errorf("schema of table %s: %w", t.listed, err)
	}
	var keySchema *connect.Schema
	switch len(keys) {
	case 0:
	case 1:
		keySchema = cols[keys[0]].schema
	default:
		kb := connect.NewSchemaBuilder(connect.TypeStruct).Name(unquote(t.listed) + ".Key")
		for _, k := range keys {
			kb.Field(cols[k].name, cols[k].schema)
		}
		if keySchema, err = kb.Build(); err != nil {
			return fmt.Errorf("key schema of table %s: %w", t.listed, err)
		}
	}
	t.columns, t.keyColumns, t.valueSchema, t.keySchema = cols, keys, valueSchema, keySchema
	return nil
}

// checkModeColumns checks that the mode's columns exist with fitting types.
func (t *sourceTable) checkModeColumns(cols []sourceColumn, cfg *sourceConfig) error {
	if cfg.incrementing != "" {
		if t.incIndex < 0 {
			return fmt.Errorf("table %s has no incrementing column %q", t.listed, cfg.incrementing)
		}
		if k := cols[t.incIndex].kind; k != kindInt16 && k != kindInt32 && k != kindInt64 {
			return fmt.Errorf("incrementing column %q of table %s is %s, not smallint, integer or bigint",
				cfg.incrementing, t.listed, cols[t.incIndex].typeName)
		}
	}
	if cfg.timestamp != "" {
		if t.tsIndex < 0 {
			return fmt.Errorf("table %s has no timestamp column %q", t.listed, cfg.timestamp)
		}
		if cols[t.tsIndex].kind != kindTimestamp {
			return fmt.Errorf("timestamp column %q of table %s is %s, not timestamp or timestamptz",
				cfg.timestamp, t.listed, cols[t.tsIndex].typeName)
		}
	}
	return nil
}

// query is the next query of the table, from its position: the rows after
// it in the mode's order, at most limit. The timestamp modes read only
// rows whose timestamp is older than the statement's start by
// timestamp.delay.interval.ms; the timestamp mode also reads each row's
// physical location (ctid) to page through rows of one timestamp.
func (t *sourceTable) query(cfg *sourceConfig, limit int) (string, []any) {
	exprs := make([]string, len(t.columns), len(t.columns)+1)
	for i := range t.columns {
		exprs[i] = t.columns[i].selectExpr()
	}
	var where, order []string
	var args []any
	arg := func(v any, cast string) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args)) + cast
	}
	p := t.pos
	var inc, ts string
	if t.incIndex >= 0 {
		inc = pgx.Identifier{t.columns[t.incIndex].name}.Sanitize()
		where = append(where, inc+" IS NOT NULL")
	}
	if t.tsIndex >= 0 {
		ts = pgx.Identifier{t.columns[t.tsIndex].name}.Sanitize()
		where = append(where, fmt.Sprintf("%s < statement_timestamp() - %s * interval '1 millisecond'",
			ts, arg(cfg.timestampDelay.Milliseconds(), "::bigint")))
	}
	switch cfg.mode {
	case modeIncrementing:
		if p.hasInc {
			where = append(where, inc+" > "+arg(p.inc, "::bigint"))
		}
		order = []string{inc}
	case modeTimestampIncrementing:
		if p.hasTs && p.hasInc {
			a, b := arg(p.ts, ""), arg(p.inc, "::bigint")
			where = append(where, fmt.Sprintf("(%s > %s OR (%s = %s AND %s > %s))", ts, a, ts, a, inc, b))
		} else if p.hasTs {
			where = append(where, ts+" > "+arg(p.ts, ""))
		}
		order = []string{ts, inc}
	case modeTimestamp:
		// Named apart, so that ORDER BY ctid orders by the tid, not its text.
		exprs = append(exprs, "ctid::text AS fjord_ctid")
		if p.tailCtid != "" {
			a, b := arg(p.tailTs, ""), arg(p.tailCtid, "::tid")
			where = append(where, fmt.Sprintf("(%s > %s OR (%s = %s AND ctid > %s))", ts, a, ts, a, b))
		} else if p.hasTs {
			where = append(where, ts+" > "+arg(p.ts, ""))
		}
		order = []string{ts, "ctid"}
	}
	sql := fmt.Sprintf("SELECT %s FROM %s WHERE %s ORDER BY %s LIMIT %d", strings.Join(exprs, ", "),
		t.ident, strings.Join(where, " AND "), strings.Join(order, ", "), limit)
	return sql, args
}

// records turns rows the query read into records, and moves the position
// past them. full says the query returned as many rows as it could.
func (t *sourceTable) records(rows [][]any, full bool) ([]connect.SourceRecord, error) {
	out := make([]connect.SourceRecord, 0, len(rows))
	p := t.pos
	for i, row := range rows {
		value, key, err := t.row(row)
		if err != nil {
			return nil, fmt.Errorf("table %s, row after offset %v: %w", t.listed, p.offset(), err)
		}
		if t.incIndex >= 0 {
			p.hasInc, p.inc = true, integer(row[t.incIndex])
		}
		if t.tsIndex >= 0 {
			ts := row[t.tsIndex].(time.Time).UTC()
			if t.incIndex >= 0 {
				p.hasTs, p.ts = true, ts
			} else {
				// Only the last row of a timestamp moves the offset, so that a
				// restart reads every row of an unfinished timestamp again.
				last := i == len(rows)-1
				if last && !full || !last && !rows[i+1][t.tsIndex].(time.Time).Equal(ts) {
					p.hasTs, p.ts, p.tailCtid = true, ts, ""
				} else {
					p.tailTs, p.tailCtid = ts, row[len(t.columns)].(string)
				}
			}
		}
		out = append(out, connect.SourceRecord{
			SourcePartition: t.partition,
			SourceOffset:    p.offset(),
			Topic:           t.topic,
			KeySchema:       t.keySchema,
			Key:             key,
			ValueSchema:     t.valueSchema,
			Value:           value,
		})
	}
	t.pos = p
	return out, nil
}

// row makes the value and key of one row.
func (t *sourceTable) row(row []any) (*connect.Struct, any, error) {
	value := connect.NewStruct(t.valueSchema)
	values := make([]any, len(t.columns))
	for i := range t.columns {
		v, err := t.columns[i].decode(row[i])
		if err != nil {
			return nil, nil, err
		}
		if err := value.Put(t.columns[i].name, v); err != nil {
			return nil, nil, err
		}
		values[i] = v
	}
	switch len(t.keyColumns) {
	case 0:
		return value, nil, nil
	case 1:
		return value, values[t.keyColumns[0]], nil
	}
	key := connect.NewStruct(t.keySchema)
	for _, k := range t.keyColumns {
		if err := key.Put(t.columns[k].name, values[k]); err != nil {
			return nil, nil, err
		}
	}
	return value, key, nil
}

// integer reads the incrementing column, checked to be an integer type
// and not null by the query.
func integer(v any) int64 {
	switch n := v.(type) {
	case int16:
		return int64(n)
	case int32:
		return int64(n)
	}
	return v.(int64)
}
