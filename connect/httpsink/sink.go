package httpsink

import (
	"context"
	"errors"
	"fmt"
	"maps"

	"github.com/fjordhq/fjord/connect"
)

// HttpSinkConnector sends the values of Kafka records to an HTTP endpoint
// (see the package documentation). Its tasks share nothing: each sends its
// partitions' records on its own connections.
type HttpSinkConnector struct {
	props map[string]string
}

var (
	_ connect.SinkConnector      = (*HttpSinkConnector)(nil)
	_ connect.ConnectorValidator = (*HttpSinkConnector)(nil)
)

// Version returns the package's Version.
func (*HttpSinkConnector) Version() string { return Version }

// Config returns the connector's configuration definition.
func (*HttpSinkConnector) Config() *connect.ConfigDef { return configDef() }

// Validate checks each key, then what keys check together: the syntax of
// headers with header.separator, and connection.user with auth.type=BASIC.
func (*HttpSinkConnector) Validate(props map[string]string) []connect.ConfigValue {
	return validateConfig(props)
}

// Start checks the configuration; it sends nothing, the tasks do.
func (c *HttpSinkConnector) Start(_ connect.ConnectorContext, props map[string]string) error {
	if _, err := parseSettings(props); err != nil {
		return err
	}
	c.props = maps.Clone(props)
	return nil
}

// TaskConfigs returns maxTasks copies of the configuration: the worker
// shares the topics' partitions among the tasks, and each partition's
// records go through one task, in order.
func (c *HttpSinkConnector) TaskConfigs(maxTasks int) ([]map[string]string, error) {
	configs := make([]map[string]string, max(maxTasks, 0))
	for i := range configs {
		configs[i] = maps.Clone(c.props)
	}
	return configs, nil
}

// Stop has nothing to release.
func (*HttpSinkConnector) Stop() error { return nil }

// NewTask returns a new sink task.
func (*HttpSinkConnector) NewTask() connect.SinkTask { return &sinkTask{} }

// errNullValue is the error of a record with a null value under
// behavior.on.null.values=fail.
var errNullValue = errors.New("http sink: record has a null value and behavior.on.null.values=fail")

// sinkTask buffers the records put and sends them in requests of up to
// batch.max.size records, one request at a time (see the package
// documentation). The worker calls it from one goroutine.
type sinkTask struct {
	context  connect.SinkTaskContext
	settings settings
	sender   *sender
	batch    batch
	// failed is set once a request failed for good, or a record could not
	// be reported: every later Put and Flush returns it, so that no offset
	// past the lost records is committed, even by the worker's last
	// commit after the failure.
	failed error
}

// batch is the records waiting to be sent, with the form of their values
// in a body.
type batch struct {
	records []connect.SinkRecord
	values  [][]byte
	bytes   int
}

func (b *batch) add(r connect.SinkRecord, value []byte) {
	b.records = append(b.records, r)
	b.values = append(b.values, value)
	b.bytes += len(value)
}

func (b *batch) reset() {
	clear(b.records) // let the values be collected
	clear(b.values)
	b.records, b.values, b.bytes = b.records[:0], b.values[:0], 0
}

// Start parses the configuration and makes the HTTP client.
func (t *sinkTask) Start(ctx connect.SinkTaskContext, props map[string]string) error {
	s, err := parseSettings(props)
	if err != nil {
		return err
	}
	t.context, t.settings = ctx, s
	t.sender = newSender(&t.settings)
	return nil
}

// Put buffers the records and sends a request each time batch.max.size
// records (or maxBatchBytes of values) wait.
func (t *sinkTask) Put(ctx context.Context, records []connect.SinkRecord) error {
	if t.failed != nil {
		return t.failed
	}
	for _, r := range records {
		if r.Value == nil {
			if !t.settings.failOnNull {
				continue
			}
			if err := t.reject([]connect.SinkRecord{r}, recordError(r, errNullValue)); err != nil {
				return err
			}
			continue
		}
		value, err := appendValue(nil, t.settings.json, r.ValueSchema, r.Value)
		if err != nil {
			if err := t.reject([]connect.SinkRecord{r}, recordError(r, err)); err != nil {
				return err
			}
			continue
		}
		if len(t.batch.records) > 0 && t.batch.bytes+len(value) > maxBatchBytes {
			if err := t.send(ctx); err != nil {
				return err
			}
		}
		t.batch.add(r, value)
		if len(t.batch.records) >= t.settings.batchMaxSize || t.batch.bytes >= maxBatchBytes {
			if err := t.send(ctx); err != nil {
				return err
			}
		}
	}
	return nil
}

// Flush sends the records buffered. It returns nil only when every record
// put is delivered (or reported as failed): the worker then commits.
func (t *sinkTask) Flush(ctx context.Context, _ map[connect.TopicPartition]int64) error {
	if t.failed != nil {
		return t.failed
	}
	if len(t.batch.records) == 0 {
		return nil
	}
	return t.send(ctx)
}

// Stop closes the client's idle connections. Records still buffered are
// dropped: their offsets were not committed, so they come again.
func (t *sinkTask) Stop() error {
	if t.sender != nil {
		t.sender.close()
	}
	t.batch.reset()
	return nil
}

// send sends the batch. When ctx ends first the batch stays, for the next
// Flush; when the endpoint refuses it (a 4xx), its records are reported
// as failed; any other failure fails the task.
func (t *sinkTask) send(ctx context.Context) error {
	err := t.sender.send(ctx, t.body())
	switch {
	case err == nil:
		t.batch.reset()
		return nil
	case ctx.Err() != nil:
		return fmt.Errorf("http sink: %w", err)
	}
	err = fmt.Errorf("http sink: sending %s: %w", span(t.batch.records), err)
	if refused(err) {
		failed := t.batch.records
		t.batch.records = nil // reject keeps failed; the batch starts afresh
		t.batch.reset()
		return t.reject(failed, err)
	}
	t.failed = err
	return err
}

// body is the request body of the batch.
func (t *sinkTask) body() []byte {
	var prefix, separator, suffix string
	switch {
	case !t.settings.json:
		prefix, separator, suffix = t.settings.prefix, t.settings.separator, t.settings.suffix
	case t.settings.batchMaxSize > 1:
		prefix, separator, suffix = "[", ",", "]"
	}
	size := len(prefix) + len(suffix) + t.batch.bytes + len(separator)*len(t.batch.values)
	body := make([]byte, 0, size)
	body = append(body, prefix...)
	for i, v := range t.batch.values {
		if i > 0 {
			body = append(body, separator...)
		}
		body = append(body, v...)
	}
	return append(body, suffix...)
}

// reject hands records that cannot be delivered to the worker's errant
// record reporter, or fails the task with err when there is none.
func (t *sinkTask) reject(records []connect.SinkRecord, err error) error {
	var reporter connect.ErrantRecordReporter
	if t.context != nil {
		reporter = t.context.ErrantRecordReporter()
	}
	if reporter == nil {
		t.failed = err
		return err
	}
	for _, r := range records {
		// The channel says when the record is in the dead letter queue; the
		// worker writes reported records before its next commit, so the
		// task need not wait.
		reporter.Report(r, err)
	}
	return nil
}

// recordError names the record an error is about.
func recordError(r connect.SinkRecord, err error) error {
	return fmt.Errorf("http sink: record %s-%d at offset %d: %w", r.Topic, r.Partition, r.Offset, err)
}

// span names the records of a batch, for errors: the first and the last.
func span(records []connect.SinkRecord) string {
	first, last := records[0], records[len(records)-1]
	if len(records) == 1 {
		return fmt.Sprintf("the record %s-%d at offset %d", first.Topic, first.Partition, first.Offset)
	}
	return fmt.Sprintf("%d records, from %s-%d at offset %d to %s-%d at offset %d",
		len(records), first.Topic, first.Partition, first.Offset, last.Topic, last.Partition, last.Offset)
}
