package postgres

import (
	"context"
	"errors"
	"fmt"
	"math/bits"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/fjordhq/fjord/connect"
)

// maxParameters is the most bind parameters one statement may have (the
// protocol counts them in 16 bits).
const maxParameters = 65535

// group is rows of one table, one kind (write or delete) and one shape,
// written by the same statements.
type group struct {
	table  tableRef
	delete bool
	shape  *shape
	ops    []op
}

func (g *group) matches(o *op) bool {
	return g.table == o.table && g.delete == o.delete && g.shape.signature == o.shape.signature
}

// planGroups orders the rows into groups. With upsert, only the last
// operation on each key counts (an upsert then a delete of one key deletes
// it), so that every key appears once and the groups may be written in any
// order. With insert, operations keep their order: a group is a run of
// consecutive operations of one table, kind and shape.
func planGroups(ops []op, upsert bool) []group {
	var groups []group
	if !upsert {
		for _, o := range ops {
			if n := len(groups); n > 0 && groups[n-1].matches(&o) {
				groups[n-1].ops = append(groups[n-1].ops, o)
				continue
			}
			groups = append(groups, group{table: o.table, delete: o.delete, shape: o.shape, ops: []op{o}})
		}
		return groups
	}
	last := make(map[string]int, len(ops))
	for i, o := range ops {
		last[o.table.String()+"\x00"+o.key] = i
	}
	index := map[string]int{}
	for i, o := range ops {
		if last[o.table.String()+"\x00"+o.key] != i {
			continue
		}
		k := o.table.String() + "\x00" + strconv.FormatBool(o.delete) + "\x00" + o.shape.signature
		gi, ok := index[k]
		if !ok {
			gi = len(groups)
			index[k] = gi
			groups = append(groups, group{table: o.table, delete: o.delete, shape: o.shape})
		}
		groups[gi].ops = append(groups[gi].ops, o)
	}
	return groups
}

// statement is one SQL statement writing or deleting the rows of ops.
type statement struct {
	sql  string
	args []any
	ops  []op
}

// groupStatements splits each group into statements of at most batchSize
// rows and maxParameters parameters. Statements of fewer rows have a
// power of two of them (37 rows are written by statements of 32, 4 and 1):
// pgx prepares and caches each distinct statement, and the cache would
// otherwise fill with statements of every row count up to batchSize.
func groupStatements(groups []group, upsert bool, batchSize int) []statement {
	var stmts []statement
	for _, g := range groups {
		width := len(g.shape.columns)
		if g.delete {
			width = g.shape.keyCount
		}
		full := min(batchSize, maxParameters/width)
		ops := g.ops
		for len(ops) > 0 {
			n := full
			if len(ops) < full {
				n = 1 << (bits.Len(uint(len(ops))) - 1) // the largest power of two in len(ops)
			}
			stmts = append(stmts, buildStatement(g, ops[:n], upsert))
			ops = ops[n:]
		}
	}
	return stmts
}

// buildStatement writes the SQL of one chunk of a group's rows: INSERT,
// INSERT ... ON CONFLICT (key) DO UPDATE, or DELETE ... WHERE key IN.
func buildStatement(g group, ops []op, upsert bool) statement {
	s := g.shape
	var b strings.Builder
	var args []any
	names := quoted(s.names())
	keys := names[:s.keyCount]
	if g.delete {
		fmt.Fprintf(&b, "DELETE FROM %s WHERE (%s) IN (", g.table, strings.Join(keys, ", "))
	} else {
		fmt.Fprintf(&b, "INSERT INTO %s (%s) VALUES ", g.table, strings.Join(names, ", "))
	}
	for i, o := range ops {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for j, a := range o.args {
			if j > 0 {
				b.WriteString(", ")
			}
			args = append(args, a)
			b.WriteString("$" + strconv.Itoa(len(args)))
		}
		b.WriteByte(')')
	}
	switch {
	case g.delete:
		b.WriteByte(')')
	case upsert && len(names) > len(keys):
		sets := make([]string, 0, len(names)-len(keys))
		for _, n := range names[len(keys):] {
			sets = append(sets, n+" = EXCLUDED."+n)
		}
		fmt.Fprintf(&b, " ON CONFLICT (%s) DO UPDATE SET %s", strings.Join(keys, ", "), strings.Join(sets, ", "))
	case upsert:
		fmt.Fprintf(&b, " ON CONFLICT (%s) DO NOTHING", strings.Join(keys, ", "))
	}
	return statement{sql: b.String(), args: args, ops: ops}
}

func quoted(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = pgx.Identifier{n}.Sanitize()
	}
	return out
}

// batchSender is a connection or a transaction.
type batchSender interface {
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// execStatements sends the statements in one round trip; without a
// transaction around them they run in one implicit transaction. It
// returns the index of the statement that failed, -1 if none did.
func execStatements(ctx context.Context, q batchSender, stmts []statement) (int, error) {
	b := &pgx.Batch{}
	for _, s := range stmts {
		b.Queue(s.sql, s.args...)
	}
	br := q.SendBatch(ctx, b)
	for i := range stmts {
		if _, err := br.Exec(); err != nil {
			_ = br.Close() // the first error is the one to report
			return i, err
		}
	}
	return -1, br.Close()
}

// write writes ops in one transaction, after creating or evolving their
// tables as configured. When the server refuses the data of the batched
// statements, it writes the rows one at a time to find the record at fault.
func (t *sinkTask) write(ctx context.Context, ops []op) error {
	conn, err := t.db.get(ctx)
	if err != nil {
		return err
	}
	groups, err := t.prepareTables(ctx, conn, planGroups(ops, t.cfg.upsert))
	if err != nil {
		return err
	}
	stmts := groupStatements(groups, t.cfg.upsert, t.cfg.batchSize)
	i, err := execStatements(ctx, conn, stmts)
	switch {
	case err == nil:
		return nil
	case isBadData(err, conn):
		return t.writeSingly(ctx, conn, groupOps(groups))
	case i >= 0:
		first := &stmts[i].ops[0].record
		return recordError(first, fmt.Errorf("writing %d rows to %s: %w", len(stmts[i].ops), stmts[i].ops[0].table,
			t.fail(err)))
	}
	return fmt.Errorf("postgres sink: %w", t.fail(err))
}

// fail classifies an error and forgets the tables the task knew, in case
// one changed under it.
func (t *sinkTask) fail(err error) error {
	switch sqlState(err) {
	case "42P01", "42703": // undefined table, undefined column
		clear(t.tables)
	}
	return t.db.fail(err)
}

// isBadData reports an error caused by the rows rather than the
// connection or the statements: the server's data errors, or a value pgx
// could not encode for its column (a client-side error that left the
// connection open).
func isBadData(err error, conn *pgx.Conn) bool {
	if isDataError(err) {
		return true
	}
	var pgErr *pgconn.PgError
	return !errors.As(err, &pgErr) && !conn.IsClosed() && !isRetriable(classify(err))
}

// groupOps lists the groups' operations in group order.
func groupOps(groups []group) []op {
	var ops []op
	for _, g := range groups {
		ops = append(ops, g.ops...)
	}
	return ops
}

// writeSingly writes ops in a transaction, one statement per row, to find
// the first record the server refuses. Without a dead letter queue that
// record fails the task; with one it is reported and the rest written
// again, the rows before it batched.
func (t *sinkTask) writeSingly(ctx context.Context, conn *pgx.Conn, ops []op) error {
	ops = slices.Clone(ops)
	good := 0 // ops[:good] are known to be writable
	for {
		i, err := t.tryRows(ctx, conn, ops, good)
		if err == nil {
			return nil
		}
		if i < 0 {
			return fmt.Errorf("postgres sink: %w", t.fail(err))
		}
		bad := &ops[i].record
		if !isBadData(err, conn) {
			return recordError(bad, t.fail(err))
		}
		err = recordError(bad, fmt.Errorf("%w: %w", connect.ErrInvalidData, err))
		if t.reporter == nil {
			return err
		}
		t.reporter.Report(*bad, err)
		ops = slices.Delete(ops, i, i+1)
		good = i
	}
}

// tryRows writes ops[:good] batched and the rest one statement each, in
// one transaction. It returns the index of the row that failed, or -1.
func (t *sinkTask) tryRows(ctx context.Context, conn *pgx.Conn, ops []op, good int) (int, error) {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return -1, err
	}
	defer func() { _ = tx.Rollback(ctx) }() // after Commit, a no-op
	if good > 0 {
		prefix := groupStatements(planGroups(ops[:good], t.cfg.upsert), t.cfg.upsert, t.cfg.batchSize)
		if _, err := execStatements(ctx, tx, prefix); err != nil {
			return -1, err
		}
	}
	for i := good; i < len(ops); i++ {
		o := ops[i]
		s := buildStatement(group{table: o.table, delete: o.delete, shape: o.shape}, []op{o}, t.cfg.upsert)
		if _, err := tx.Exec(ctx, s.sql, s.args...); err != nil {
			return i, err
		}
	}
	return -1, tx.Commit(ctx)
}
