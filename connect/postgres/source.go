package postgres

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/fjordhq/fjord/connect"
)

// maxPollWait is the longest a Poll waits for the next round when there is
// nothing new, so that the worker can pause or stop the task (the
// SourceTask contract).
const maxPollWait = time.Second

// PostgresSourceConnector copies rows of PostgreSQL tables to Kafka by
// querying them for new rows, as the JDBC source connector's incrementing,
// timestamp and timestamp+incrementing modes do (see the package
// documentation).
type PostgresSourceConnector struct {
	props  map[string]string
	tables []string
}

var (
	_ connect.SourceConnector    = (*PostgresSourceConnector)(nil)
	_ connect.ConnectorValidator = (*PostgresSourceConnector)(nil)
)

// Version returns the connector's version.
func (c *PostgresSourceConnector) Version() string { return Version }

// Config returns the source's configuration definition.
func (c *PostgresSourceConnector) Config() *connect.ConfigDef { return sourceConfigDef() }

// Validate checks each key and that the mode's columns are named.
func (c *PostgresSourceConnector) Validate(props map[string]string) []connect.ConfigValue {
	return validateWith(sourceConfigDef(), props, sourceCombinationProblems)
}

// Start checks the configuration; it does not connect, the tasks do.
func (c *PostgresSourceConnector) Start(_ connect.ConnectorContext, props map[string]string) error {
	cfg, err := parseSourceConfig(sourceConfigDef(), props)
	if err != nil {
		return err
	}
	c.props, c.tables = maps.Clone(props), cfg.tables
	return nil
}

// TaskConfigs deals the tables out to at most maxTasks tasks, round robin.
func (c *PostgresSourceConnector) TaskConfigs(maxTasks int) ([]map[string]string, error) {
	n := min(maxTasks, len(c.tables))
	if n < 1 {
		return nil, fmt.Errorf("postgres source: no tables to share among %d tasks", maxTasks)
	}
	shares := make([][]string, n)
	for i, t := range c.tables {
		shares[i%n] = append(shares[i%n], t)
	}
	configs := make([]map[string]string, n)
	for i, share := range shares {
		configs[i] = maps.Clone(c.props)
		configs[i][keyTaskTables] = strings.Join(share, ",")
	}
	return configs, nil
}

// Stop has nothing to release.
func (c *PostgresSourceConnector) Stop() error { return nil }

// NewTask returns a new source task.
func (c *PostgresSourceConnector) NewTask() connect.SourceTask { return &sourceTask{} }

// sourceTask reads its tables in rounds: a round queries each table once,
// and again while its queries come back full; the next round starts
// poll.interval.ms after the last one ended. The worker calls it from one
// goroutine.
type sourceTask struct {
	cfg     *sourceConfig
	db      dbConn
	offsets connect.OffsetReader
	tables  []*sourceTable

	queue []*sourceTable // the tables still to query in this round
	// next fires when the next round is due; nil before the first round
	// and while a round is under way.
	next *time.Timer
}

func (t *sourceTask) Start(ctx connect.SourceTaskContext, props map[string]string) error {
	if ctx == nil {
		return errors.New("postgres source: a task needs a SourceTaskContext to read its offsets")
	}
	cfg, err := parseSourceConfig(sourceTaskConfigDef(), props)
	if err != nil {
		return err
	}
	t.cfg = cfg
	t.db = dbConn{config: cfg.conn}
	t.offsets = ctx.OffsetReader()
	for _, name := range cfg.tables {
		t.tables = append(t.tables, &sourceTable{listed: name, topic: cfg.topicPrefix + unquote(name)})
	}
	return nil
}

// Poll returns the new rows of one table, at most batch.max.rows. When a
// round found nothing new it waits for the next, a second at most; after
// a retriable error (the server is down), it waits a second before it
// returns the error, since the worker polls again at once.
func (t *sourceTask) Poll(ctx context.Context) ([]connect.SourceRecord, error) {
	if len(t.queue) == 0 {
		if due, err := t.waitForRound(ctx); !due {
			return nil, err
		}
		t.queue = append(t.queue, t.tables...)
		for _, tbl := range t.tables {
			tbl.stale = true
		}
	}
	for len(t.queue) > 0 {
		tbl := t.queue[0]
		records, full, err := t.pollTable(ctx, tbl)
		if err != nil {
			if isRetriable(err) {
				pause(ctx, maxPollWait) // the worker polls again at once: no busy loop
			}
			return nil, err // the table stays first in the queue
		}
		t.queue = t.queue[1:]
		if full {
			t.queue = append(t.queue, tbl) // more rows wait: query it again this round
		}
		if len(t.queue) == 0 {
			t.next = time.NewTimer(t.cfg.pollInterval)
		}
		if len(records) > 0 {
			return records, nil
		}
	}
	return nil, nil
}

// waitForRound reports whether the next round is due, waiting for it at
// most maxPollWait.
func (t *sourceTask) waitForRound(ctx context.Context) (bool, error) {
	if t.next == nil {
		return true, nil
	}
	wait := time.NewTimer(maxPollWait)
	defer wait.Stop()
	select {
	case <-t.next.C:
		t.next = nil
		return true, nil
	case <-wait.C:
		return false, nil
	case <-ctx.Done():
		return false, ctx.Err()
	}
}

// pause waits for d or until ctx is done.
func pause(ctx context.Context, d time.Duration) {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-ctx.Done():
	}
}

// pollTable queries one table and reports whether the query was full.
func (t *sourceTask) pollTable(ctx context.Context, tbl *sourceTable) ([]connect.SourceRecord, bool, error) {
	conn, err := t.db.get(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("postgres source: %w", err)
	}
	if tbl.stale {
		if err := tbl.refresh(ctx, conn, t.cfg, t.offsets); err != nil {
			return nil, false, fmt.Errorf("postgres source: %w", t.db.fail(err))
		}
	}
	sql, args := tbl.query(t.cfg, t.cfg.batchMaxRows)
	rows, err := conn.Query(ctx, sql, args...)
	if err != nil {
		return nil, false, fmt.Errorf("postgres source: querying table %s: %w", tbl.listed, t.db.fail(err))
	}
	var raws [][]any
	for rows.Next() {
		values, err := rows.Values()
		if err != nil {
			rows.Close()
			return nil, false, fmt.Errorf("postgres source: reading table %s: %w", tbl.listed, t.db.fail(err))
		}
		raws = append(raws, values)
	}
	if err := rows.Err(); err != nil {
		return nil, false, fmt.Errorf("postgres source: reading table %s: %w", tbl.listed, t.db.fail(err))
	}
	full := len(raws) == t.cfg.batchMaxRows
	records, err := tbl.records(raws, full)
	if err != nil {
		return nil, false, fmt.Errorf("postgres source: %w", err)
	}
	return records, full, nil
}

// unquote drops the double quotes of a table name as SQL writes it, for
// the topic: "Order Lines" gives Order Lines.
func unquote(name string) string { return strings.ReplaceAll(name, `"`, "") }

// Stop closes the connection.
func (t *sourceTask) Stop() error {
	if t.next != nil {
		t.next.Stop()
	}
	t.db.close()
	return nil
}
