package postgres

import (
	"context"
	"maps"

	"github.com/fjordhq/fjord/connect"
)

// PostgresSinkConnector writes records from Kafka to PostgreSQL tables,
// one row per record, as the JDBC sink connector does (see the package
// documentation). Its tasks share nothing: each has its own connection.
type PostgresSinkConnector struct {
	props map[string]string
}

var (
	_ connect.SinkConnector      = (*PostgresSinkConnector)(nil)
	_ connect.ConnectorValidator = (*PostgresSinkConnector)(nil)
)

// Version returns the connector's version.
func (c *PostgresSinkConnector) Version() string { return Version }

// Config returns the sink's configuration definition.
func (c *PostgresSinkConnector) Config() *connect.ConfigDef { return sinkConfigDef() }

// Validate checks each key and how the keys combine (upsert needs a
// primary key, deletes need pk.mode=record_key).
func (c *PostgresSinkConnector) Validate(props map[string]string) []connect.ConfigValue {
	return validateWith(sinkConfigDef(), props, sinkCombinationProblems)
}

// Start checks the configuration; it does not connect, the tasks do.
func (c *PostgresSinkConnector) Start(_ connect.ConnectorContext, props map[string]string) error {
	if _, err := parseSinkConfig(props); err != nil {
		return err
	}
	c.props = maps.Clone(props)
	return nil
}

// TaskConfigs returns maxTasks copies of the configuration: the worker
// shares the topics' partitions among the tasks.
func (c *PostgresSinkConnector) TaskConfigs(maxTasks int) ([]map[string]string, error) {
	configs := make([]map[string]string, maxTasks)
	for i := range configs {
		configs[i] = maps.Clone(c.props)
	}
	return configs, nil
}

// Stop has nothing to release.
func (c *PostgresSinkConnector) Stop() error { return nil }

// NewTask returns a new sink task.
func (c *PostgresSinkConnector) NewTask() connect.SinkTask { return &sinkTask{} }

// sinkTask buffers the records put and writes them in one transaction when
// the worker flushes, or sooner once batch.size records wait. The worker
// calls it from one goroutine.
type sinkTask struct {
	cfg      *sinkConfig
	db       dbConn
	reporter connect.ErrantRecordReporter // nil: bad records fail the task

	buffer []op
	shapes map[shapeKey]*shape
	tables map[tableRef]*tableInfo // what the task knows of the tables it wrote
}

func (t *sinkTask) Start(ctx connect.SinkTaskContext, props map[string]string) error {
	cfg, err := parseSinkConfig(props)
	if err != nil {
		return err
	}
	t.cfg = cfg
	t.db = dbConn{config: cfg.conn}
	if ctx != nil {
		t.reporter = ctx.ErrantRecordReporter()
	}
	t.shapes = map[shapeKey]*shape{}
	t.tables = map[tableRef]*tableInfo{}
	return nil
}

// Put checks the records and buffers them; once batch.size records wait
// it writes them. A record the sink cannot write (no schema, a tombstone
// it cannot delete, a key missing) fails the task with an error naming it,
// or goes to the dead letter queue when the worker has one.
func (t *sinkTask) Put(ctx context.Context, records []connect.SinkRecord) error {
	before := len(t.buffer)
	for i := range records {
		o, err := t.newOp(&records[i])
		if err != nil {
			err = recordError(&records[i], err)
			if t.reporter != nil {
				t.reporter.Report(records[i], err)
				continue
			}
			t.buffer = t.buffer[:before]
			return err
		}
		t.buffer = append(t.buffer, o)
	}
	if len(t.buffer) < t.cfg.batchSize {
		return nil
	}
	if err := t.flushBuffer(ctx); err != nil {
		// The worker puts this batch again after a retriable error; the
		// records of earlier Puts stay buffered.
		clear(t.buffer[before:])
		t.buffer = t.buffer[:before]
		return err
	}
	return nil
}

// newOp turns a record into the row it writes or deletes.
func (t *sinkTask) newOp(r *connect.SinkRecord) (op, error) {
	key, err := t.cfg.checkRecord(r)
	if err != nil {
		return op{}, err
	}
	s, ok := t.shapes[key]
	if !ok {
		if s, err = t.cfg.buildShape(key.key, key.value); err != nil {
			return op{}, err
		}
		if len(t.shapes) >= maxShapes {
			clear(t.shapes)
		}
		t.shapes[key] = s
	}
	deleteOnly := r.Value == nil
	args, k := rowArgs(s, r, deleteOnly)
	return op{record: *r, table: t.cfg.tableFor(r.Topic), delete: deleteOnly, shape: s, args: args, key: k}, nil
}

// Flush writes every buffered record in one transaction.
func (t *sinkTask) Flush(ctx context.Context, _ map[connect.TopicPartition]int64) error {
	return t.flushBuffer(ctx)
}

func (t *sinkTask) flushBuffer(ctx context.Context) error {
	if len(t.buffer) == 0 {
		return nil
	}
	if err := t.write(ctx, t.buffer); err != nil {
		return err
	}
	clear(t.buffer)
	t.buffer = t.buffer[:0]
	return nil
}

// Stop closes the connection; records still buffered were not flushed and
// will be read again from Kafka.
func (t *sinkTask) Stop() error {
	t.db.close()
	return nil
}
