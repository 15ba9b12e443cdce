package postgres

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// tableInfo is what a sink task knows of a table: its columns' names.
type tableInfo struct {
	columns map[string]bool
}

// prepareTables makes sure each group's table has the group's columns,
// creating and altering tables as auto.create and auto.evolve allow. It
// leaves out deletions from tables that do not exist: there is nothing to
// delete.
func (t *sinkTask) prepareTables(ctx context.Context, conn *pgx.Conn, groups []group) ([]group, error) {
	kept := groups[:0:0]
	for _, g := range groups {
		exists, err := t.prepareTable(ctx, conn, g)
		if err != nil {
			return nil, recordError(&g.ops[0].record, err)
		}
		if exists {
			kept = append(kept, g)
		}
	}
	return kept, nil
}

// prepareTable readies one group's table and reports whether it exists.
func (t *sinkTask) prepareTable(ctx context.Context, conn *pgx.Conn, g group) (bool, error) {
	info := t.tables[g.table]
	if info == nil {
		var err error
		if info, err = loadTable(ctx, conn, g.table); err != nil {
			return false, t.db.fail(err)
		}
		switch {
		case info == nil && g.delete:
			return false, nil
		case info == nil && !t.cfg.autoCreate:
			return false, fmt.Errorf("table %s does not exist: create it, or set auto.create=true", g.table)
		case info == nil:
			if info, err = createTable(ctx, conn, g.table, g.shape); err != nil {
				return false, t.db.fail(err)
			}
		}
		t.tables[g.table] = info
	}
	names := g.shape.names()
	if g.delete {
		names = names[:g.shape.keyCount]
	}
	var missing []string
	for _, n := range names {
		if !info.columns[n] {
			missing = append(missing, n)
		}
	}
	switch {
	case len(missing) == 0:
		return true, nil
	case !t.cfg.autoEvolve || g.delete:
		return false, fmt.Errorf("table %s has no column %s: add it, or set auto.evolve=true",
			g.table, strings.Join(quoted(missing), ", "))
	}
	if err := addColumns(ctx, conn, g.table, g.shape, missing); err != nil {
		return false, t.db.fail(err)
	}
	for _, n := range missing {
		info.columns[n] = true
	}
	return true, nil
}

// loadTable reads a table's columns; nil means the table does not exist.
func loadTable(ctx context.Context, conn *pgx.Conn, table tableRef) (*tableInfo, error) {
	const q = `SELECT r IS NOT NULL, coalesce((SELECT array_agg(attname::text) FROM pg_attribute
		WHERE attrelid = r AND attnum > 0 AND NOT attisdropped), '{}')
		FROM to_regclass($1) AS r`
	var exists bool
	var names []string
	if err := conn.QueryRow(ctx, q, table.String()).Scan(&exists, &names); err != nil {
		return nil, fmt.Errorf("reading the columns of table %s: %w", table, err)
	}
	if !exists {
		return nil, nil
	}
	info := &tableInfo{columns: make(map[string]bool, len(names))}
	for _, n := range names {
		info.columns[n] = true
	}
	return info, nil
}

// createTable creates a table for rows of a shape. Another task may create
// it at the same time: then the table is read back.
func createTable(ctx context.Context, conn *pgx.Conn, table tableRef, s *shape) (*tableInfo, error) {
	defs := make([]string, 0, len(s.columns)+1)
	for i, c := range s.columns {
		def := pgx.Identifier{c.name}.Sanitize() + " " + c.pgType
		if i >= s.keyCount && !c.schema.Optional() {
			def += " NOT NULL"
		}
		defs = append(defs, def)
	}
	if s.keyCount > 0 {
		defs = append(defs, "PRIMARY KEY ("+strings.Join(quoted(s.names()[:s.keyCount]), ", ")+")")
	}
	sql := fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s (%s)", table, strings.Join(defs, ", "))
	if _, err := conn.Exec(ctx, sql); err != nil {
		switch sqlState(err) {
		// A concurrent CREATE won: IF NOT EXISTS checks before it takes
		// its locks, so the loser fails on the table's name (42P07), its
		// row type's (42710) or the catalog's unique index (23505).
		case "23505", "42P07", "42710":
		default:
			return nil, fmt.Errorf("creating table %s: %w", table, err)
		}
	}
	info, err := loadTable(ctx, conn, table)
	if err == nil && info == nil {
		err = fmt.Errorf("table %s is missing right after CREATE TABLE", table)
	}
	return info, err
}

// addColumns adds columns to a table, nullable whatever their schema says:
// the rows already there have no values for them.
func addColumns(ctx context.Context, conn *pgx.Conn, table tableRef, s *shape, names []string) error {
	adds := make([]string, 0, len(names))
	for _, c := range s.columns {
		for _, n := range names {
			if c.name == n {
				adds = append(adds, "ADD COLUMN IF NOT EXISTS "+pgx.Identifier{n}.Sanitize()+" "+c.pgType)
			}
		}
	}
	sql := fmt.Sprintf("ALTER TABLE %s %s", table, strings.Join(adds, ", "))
	if _, err := conn.Exec(ctx, sql); err != nil {
		return fmt.Errorf("adding columns to table %s: %w", table, err)
	}
	return nil
}
