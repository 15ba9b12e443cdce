package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
)

// open makes sure the publication and the slot exist, then opens the
// replication connection and starts streaming after the committed offset
// or, without one, from the slot's confirmed_flush_lsn. Changes read but
// not committed before a reconnection are read again: at least once.
func (t *cdcTask) open(ctx context.Context) error {
	confirmed, err := t.setUp(ctx)
	if err != nil {
		return err
	}
	start := confirmed
	if lsn, ok, err := t.committedOffset(ctx); err != nil {
		return err
	} else if ok {
		start = lsn // the server starts at confirmed_flush_lsn if that is later
	}
	config := t.cfg.conn.Config.Copy()
	config.RuntimeParams["replication"] = "database"
	// A deadline, not a cancel request, ends a wait for the next message, so
	// that the stream goes on after it.
	config.BuildContextWatcherHandler = func(c *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.DeadlineContextWatcherHandler{Conn: c.Conn()}
	}
	conn, err := pgconn.ConnectConfig(ctx, config)
	if err != nil {
		return fmt.Errorf("replication connection to %s:%d: %w", config.Host, config.Port, err)
	}
	t.repl = conn
	err = pglogrepl.StartReplication(ctx, conn, t.cfg.slot, start, pglogrepl.StartReplicationOptions{
		PluginArgs: []string{"proto_version '1'", "publication_names '" + t.cfg.publication + "'"}})
	if err != nil {
		return fmt.Errorf("starting replication from slot %s at %s: %w", t.cfg.slot, start, err)
	}
	t.decoder = newCdcDecoder(t.cfg.topicPrefix, t.cfg.slot, t.cfg.batchMaxRows, start)
	t.sentFlush, t.serverSent, t.replyRequested = start, start, false
	t.mu.Lock()
	t.mu.committed = max(t.mu.committed, start)
	t.mu.Unlock()
	t.status = time.NewTicker(standbyStatusInterval)
	return nil
}

// setUp creates the publication and the slot when they do not exist,
// with an ordinary connection, and returns the slot's confirmed_flush_lsn.
func (t *cdcTask) setUp(ctx context.Context) (pglogrepl.LSN, error) {
	db := dbConn{config: t.cfg.conn}
	defer db.close()
	conn, err := db.get(ctx)
	if err != nil {
		return 0, err
	}
	if err := t.ensurePublication(ctx, conn); err != nil {
		return 0, err
	}
	return t.ensureSlot(ctx, conn)
}

// ensurePublication creates the publication FOR TABLE the listed tables
// when it does not exist. An existing one is left as it is.
func (t *cdcTask) ensurePublication(ctx context.Context, conn *pgx.Conn) error {
	var exists bool
	err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_publication WHERE pubname = $1)`,
		t.cfg.publication).Scan(&exists)
	if err != nil || exists {
		return err
	}
	names := make([]string, len(t.cfg.tables))
	for i, table := range t.cfg.tables {
		var name *string
		if err := conn.QueryRow(ctx, `SELECT to_regclass($1)::text`, table).Scan(&name); err != nil {
			return fmt.Errorf("finding table %s: %w", table, err)
		}
		if name == nil {
			return fmt.Errorf("table %s does not exist", table)
		}
		names[i] = *name // as PostgreSQL quotes it
	}
	sql := fmt.Sprintf("CREATE PUBLICATION %s FOR TABLE %s", pgx.Identifier{t.cfg.publication}.Sanitize(),
		strings.Join(names, ", "))
	if _, err := conn.Exec(ctx, sql); err != nil && sqlState(err) != "42710" { // 42710: created meanwhile
		return fmt.Errorf("creating publication %s: %w", t.cfg.publication, err)
	}
	return nil
}

// ensureSlot creates the slot with pgoutput when it does not exist and
// returns its confirmed_flush_lsn. A slot captures the changes committed
// after its creation only: the connector takes no initial snapshot.
func (t *cdcTask) ensureSlot(ctx context.Context, conn *pgx.Conn) (pglogrepl.LSN, error) {
	const q = `SELECT plugin::text, confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = $1`
	var plugin, lsn *string
	err := conn.QueryRow(ctx, q, t.cfg.slot).Scan(&plugin, &lsn)
	if err == pgx.ErrNoRows {
		_, err = conn.Exec(ctx, `SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, t.cfg.slot)
		if err != nil && sqlState(err) != "42710" {
			return 0, fmt.Errorf("creating replication slot %s: %w", t.cfg.slot, err)
		}
		err = conn.QueryRow(ctx, q, t.cfg.slot).Scan(&plugin, &lsn)
	}
	if err != nil {
		return 0, fmt.Errorf("reading replication slot %s: %w", t.cfg.slot, err)
	}
	if plugin == nil || *plugin != "pgoutput" || lsn == nil {
		return 0, fmt.Errorf("replication slot %s is not a logical slot of the pgoutput plugin", t.cfg.slot)
	}
	return pglogrepl.ParseLSN(*lsn)
}
