package postgres

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sync"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/fjordhq/fjord/connect"
)

// CdcSourceClass is the change data capture source's class name; Kafka's
// automatic aliases make "PostgresCdcSource" find it too.
const CdcSourceClass = "io.fjord.connect.postgres.PostgresCdcSourceConnector"

// Limits and intervals of the CDC task.
const (
	// standbyStatusInterval is how often the task tells the server how far
	// it has flushed even when nothing changed: well within the server's
	// wal_sender_timeout (60 s by default), after which it drops a silent
	// client.
	standbyStatusInterval = 10 * time.Second
	// cdcLinger is how long a Poll that has changes waits for more, so that
	// a burst of small transactions makes one batch, not one each.
	cdcLinger = 10 * time.Millisecond
)

// PostgresCdcSourceConnector (io.fjord.connect.postgres.PostgresCdcSourceConnector,
// alias PostgresCdcSource) captures the changes of PostgreSQL tables from
// the write-ahead log through logical replication with the pgoutput
// plugin, in the manner of Debezium's PostgreSQL connector but simpler. It
// runs one task, which creates the publication (FOR TABLE the tables of
// table.include.list) and the slot (with pgoutput) when they do not exist.
// The server needs wal_level=logical and a user with the REPLICATION
// attribute (and ownership of the tables to create the publication).
//
//	connector.class=PostgresCdcSource
//	connection.url=postgres://cdc@db.example.com:5432/shop
//	table.include.list=orders,sales.refunds
//	slot.name=fjord_cdc
//	publication.name=fjord_cdc
//	topic.prefix=shop.
//
// Each row change is one record, on the topic topic.prefix + schema + "."
// + table (shop.public.orders): an insert or update has the new row as a
// Struct value (named schema.table) and the header op=c or op=u; a delete
// is a tombstone (nil value) with op=d, and an update that changed the key
// is a tombstone of the old key, then the new row. The key is the replica
// identity's columns (the primary key by default): the single column's
// value, or a Struct of them (named schema.table.Key); nil without one. So
// the PostgreSQL sink with insert.mode=upsert, pk.mode=record_key and
// delete.enabled=true rebuilds the table (its table.name.format of
// ${topic} names the table with the dot: set a format to choose another).
// Column types map as for the query source; the stream does not say which
// columns are NOT NULL, so fields are optional but for the key's.
//
// The source partition is {"slot": slot.name}; every record of a
// transaction has the offset {"lsn": the end LSN of its commit}, so that a
// restart resumes after the last transaction committed whole. Without a
// committed offset the task starts at the slot's confirmed_flush_lsn. A
// transaction of more than batch.max.rows changes is delivered in parts
// whose offsets precede the transaction: a restart replays it (at least
// once), which bounds the memory held. After a restart or a reconnection,
// changes delivered but not yet committed are delivered again.
//
// Limits: there is no initial snapshot (only changes committed after the
// slot's creation are captured); TRUNCATE and schema changes are not
// records (a new Relation message changes the schema of later records);
// an update that leaves a large (TOASTed) value unchanged fails the task
// unless the table has REPLICA IDENTITY FULL; an existing publication is
// used as it is; the slot outlives the connector and keeps the server's
// log until it is dropped.
type PostgresCdcSourceConnector struct {
	props map[string]string
}

var (
	_ connect.SourceConnector    = (*PostgresCdcSourceConnector)(nil)
	_ connect.ConnectorValidator = (*PostgresCdcSourceConnector)(nil)
	_ connect.Committer          = (*cdcTask)(nil)
)

// Version returns the connector's version.
func (c *PostgresCdcSourceConnector) Version() string { return Version }

// Config returns the configuration definition.
func (c *PostgresCdcSourceConnector) Config() *connect.ConfigDef { return cdcConfigDef() }

// Validate checks each key.
func (c *PostgresCdcSourceConnector) Validate(props map[string]string) []connect.ConfigValue {
	return validateWith(cdcConfigDef(), props, func(connect.Config) []keyProblem { return nil })
}

// Start checks the configuration. The task connects, and creates the
// publication and slot when they do not exist: it holds the connection
// and retries when the server is away.
func (c *PostgresCdcSourceConnector) Start(_ connect.ConnectorContext, props map[string]string) error {
	if _, err := parseCdcConfig(props); err != nil {
		return err
	}
	c.props = maps.Clone(props)
	return nil
}

// TaskConfigs returns one task's configuration: a slot streams to one
// client at a time.
func (c *PostgresCdcSourceConnector) TaskConfigs(int) ([]map[string]string, error) {
	return []map[string]string{maps.Clone(c.props)}, nil
}

// Stop has nothing to release.
func (c *PostgresCdcSourceConnector) Stop() error { return nil }

// NewTask returns a new CDC task.
func (c *PostgresCdcSourceConnector) NewTask() connect.SourceTask { return &cdcTask{} }

// cdcTask streams a slot's changes. Poll, Start and Stop are called from
// one goroutine, which alone uses the replication connection; Commit may
// be called from another, and only records the committed LSN in mu, which
// the next Poll reports to the server.
type cdcTask struct {
	cfg       *cdcConfig
	offsets   connect.OffsetReader
	partition map[string]any

	repl           *pgconn.PgConn // nil until opened and after it broke
	decoder        *cdcDecoder
	status         *time.Ticker
	replyRequested bool
	sentFlush      pglogrepl.LSN // the flush position last reported to the server
	serverSent     pglogrepl.LSN // how far the server has sent, from its keepalives

	mu struct {
		sync.Mutex
		committed pglogrepl.LSN // the last committed offset, as Commit read it
	}
}

func (t *cdcTask) Start(ctx connect.SourceTaskContext, props map[string]string) error {
	if ctx == nil {
		return errors.New("postgres cdc source: a task needs a SourceTaskContext to read its offsets")
	}
	cfg, err := parseCdcConfig(props)
	if err != nil {
		return err
	}
	t.cfg, t.offsets = cfg, ctx.OffsetReader()
	t.partition = map[string]any{partitionSlot: cfg.slot}
	return nil
}

// Poll returns the changes received so far, at most batch.max.rows; with
// none it waits for them a second at most. After a retriable error it
// waits a second before it returns it, since the worker polls again at
// once; the next Poll reconnects and resumes from the committed offset.
func (t *cdcTask) Poll(ctx context.Context) ([]connect.SourceRecord, error) {
	if t.repl == nil {
		if err := t.open(ctx); err != nil {
			t.closeReplication()
			return nil, t.failed(ctx, err)
		}
	}
	records, err := t.receive(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err() // the connection is intact: pgconn only timed out
		}
		t.closeReplication()
		return nil, t.failed(ctx, err)
	}
	return records, nil
}

// failed classifies err and pauses after a retriable one. A slot still
// active (55006, object_in_use) is retriable: after a restart or a broken
// connection the server may not have ended the former stream yet.
func (t *cdcTask) failed(ctx context.Context, err error) error {
	if sqlState(err) == "55006" {
		err = connect.Retriable(err)
	}
	err = classify(err)
	if isRetriable(err) {
		pause(ctx, maxPollWait) // the worker polls again at once: no busy loop
	}
	return fmt.Errorf("postgres cdc source: %w", err)
}

// receive reads messages until a batch is full, or for maxPollWait when
// none arrives, or cdcLinger after the last when some did.
func (t *cdcTask) receive(ctx context.Context) ([]connect.SourceRecord, error) {
	pollCtx, cancel := context.WithTimeout(ctx, maxPollWait)
	defer cancel()
	for len(t.decoder.ready) < t.cfg.batchMaxRows {
		if err := t.sendStatus(ctx); err != nil {
			return nil, err
		}
		wait, cancelWait := pollCtx, context.CancelFunc(func() {})
		if len(t.decoder.ready) > 0 {
			wait, cancelWait = context.WithTimeout(pollCtx, cdcLinger)
		}
		msg, err := t.repl.ReceiveMessage(wait)
		cancelWait()
		if err != nil {
			if ctx.Err() == nil && pgconn.Timeout(err) && !t.repl.IsClosed() {
				break
			}
			return nil, err
		}
		if err := t.handle(msg); err != nil {
			return nil, err
		}
	}
	return t.decoder.take(t.cfg.batchMaxRows), nil
}

// handle acts on one message of the replication stream.
func (t *cdcTask) handle(msg pgproto3.BackendMessage) error {
	switch m := msg.(type) {
	case *pgproto3.CopyData:
		if len(m.Data) == 0 {
			return errors.New("empty replication message")
		}
		switch m.Data[0] {
		case pglogrepl.PrimaryKeepaliveMessageByteID:
			k, err := pglogrepl.ParsePrimaryKeepaliveMessage(m.Data[1:])
			if err != nil {
				return fmt.Errorf("keepalive: %w", err)
			}
			t.serverSent = max(t.serverSent, k.ServerWALEnd)
			t.replyRequested = t.replyRequested || k.ReplyRequested
		case pglogrepl.XLogDataByteID:
			x, err := pglogrepl.ParseXLogData(m.Data[1:])
			if err != nil {
				return fmt.Errorf("log data: %w", err)
			}
			logical, err := pglogrepl.Parse(x.WALData)
			if err != nil {
				return fmt.Errorf("pgoutput message at %s: %w", x.WALStart, err)
			}
			return t.decoder.apply(logical)
		}
	case *pgproto3.ErrorResponse:
		return pgconn.ErrorResponseToPgError(m)
	case *pgproto3.CopyDone:
		return connect.Retriable(errors.New("the server ended the replication stream"))
	}
	return nil
}

// sendStatus tells the server how far the task has flushed when that
// moved, when the server asked, or every standbyStatusInterval. The flush
// position is the committed offset or, when every change read was
// committed and no transaction is open, how far the server has sent: the
// log up to there holds no change of the published tables still to
// deliver, and the server may free it.
func (t *cdcTask) sendStatus(ctx context.Context) error {
	due := t.replyRequested
	select {
	case <-t.status.C:
		due = true
	default:
	}
	flush := max(t.committed(), t.sentFlush)
	if t.decoder.idle(flush) {
		flush = max(flush, t.serverSent)
	}
	if !due && flush == t.sentFlush {
		return nil
	}
	err := pglogrepl.SendStandbyStatusUpdate(ctx, t.repl,
		pglogrepl.StandbyStatusUpdate{WALWritePosition: flush, WALFlushPosition: flush, WALApplyPosition: flush})
	if err != nil {
		return fmt.Errorf("standby status update: %w", err)
	}
	t.sentFlush, t.replyRequested = flush, false
	return nil
}

func (t *cdcTask) committed() pglogrepl.LSN {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.mu.committed
}

// Commit reads the offset the worker committed; the next Poll reports it
// to the server as flushed, so that the server can free the log before it.
func (t *cdcTask) Commit(ctx context.Context) error {
	lsn, ok, err := t.committedOffset(ctx)
	if err != nil || !ok {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.mu.committed = max(t.mu.committed, lsn)
	return nil
}

// committedOffset reads the committed LSN; ok is false when there is none.
func (t *cdcTask) committedOffset(ctx context.Context) (pglogrepl.LSN, bool, error) {
	offset, err := t.offsets.Offset(ctx, t.partition)
	if err != nil {
		return 0, false, fmt.Errorf("postgres cdc source: reading the committed offset: %w", err)
	}
	v, ok := offset[offsetLSN]
	if !ok {
		return 0, false, nil
	}
	n, ok := toInt64(v)
	if !ok || n < 0 {
		return 0, false, fmt.Errorf("postgres cdc source: committed offset %s=%v is not an LSN", offsetLSN, v)
	}
	return pglogrepl.LSN(n), true, nil
}

// Stop closes the connection.
func (t *cdcTask) Stop() error {
	t.closeReplication()
	return nil
}

func (t *cdcTask) closeReplication() {
	if t.status != nil {
		t.status.Stop()
		t.status = nil
	}
	if t.repl == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	_ = t.repl.Close(ctx) // the server cleans up after a lost goodbye
	t.repl = nil
}
