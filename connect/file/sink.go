package file

import (
	"context"
	"fmt"
	"maps"
	"os"

	"github.com/fjordhq/fjord/connect"
	"github.com/fjordhq/fjord/connect/converters"
)

// sinkBufferBytes bounds what a sink task buffers between writes: Put
// writes the buffer out when it grows past this, Flush always.
const sinkBufferBytes = 64 << 10

func sinkConfig() *connect.ConfigDef {
	return connect.NewConfigDef().
		Define(connect.ConfigKey{Name: FileConfig, Type: connect.ConfigString, Importance: connect.High,
			Documentation: "Destination filename. If not specified, the standard output will be used"})
}

// SinkConnector is Kafka's FileStreamSinkConnector. The worker subscribes
// its tasks to the topics of "topics" or "topics.regex".
type SinkConnector struct {
	config map[string]string
}

// Version returns the package's Version.
func (*SinkConnector) Version() string { return Version }

// Config defines file.
func (*SinkConnector) Config() *connect.ConfigDef { return sinkConfig() }

// Start checks the configuration.
func (c *SinkConnector) Start(_ connect.ConnectorContext, config map[string]string) error {
	if _, err := sinkConfig().Parse(config); err != nil {
		return fmt.Errorf("file sink connector: %w", err)
	}
	c.config = maps.Clone(config)
	return nil
}

// TaskConfigs returns maxTasks copies of the configuration, as Kafka's:
// the tasks append whole buffers of lines to the same file.
func (c *SinkConnector) TaskConfigs(maxTasks int) ([]map[string]string, error) {
	configs := make([]map[string]string, max(maxTasks, 0))
	for i := range configs {
		configs[i] = maps.Clone(c.config)
	}
	return configs, nil
}

// Stop does nothing: the connector watches nothing.
func (*SinkConnector) Stop() error { return nil }

// NewTask returns a new sink task.
func (*SinkConnector) NewTask() connect.SinkTask { return &SinkTask{} }

// AlterOffsets accepts any offsets: the connector keeps none of its own.
func (*SinkConnector) AlterOffsets(map[string]string, map[connect.TopicPartition]*int64) error {
	return nil
}

// SinkTask is Kafka's FileStreamSinkTask.
type SinkTask struct {
	filename string
	out      *os.File // the file, or os.Stdout
	buf      []byte
}

// Start opens the file for appending, creating it if needed.
func (t *SinkTask) Start(_ connect.SinkTaskContext, config map[string]string) error {
	cfg, err := sinkConfig().Parse(config)
	if err != nil {
		return fmt.Errorf("file sink task: %w", err)
	}
	t.filename = cfg.GetString(FileConfig)
	if t.filename == "" {
		t.out = os.Stdout
		return nil
	}
	if t.out, err = os.OpenFile(t.filename, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644); err != nil {
		return fmt.Errorf("file sink task: Couldn't find or create file '%s' for FileStreamSinkTask: %w", t.filename, err)
	}
	return nil
}

// Put appends each record's value as a line.
func (t *SinkTask) Put(_ context.Context, records []connect.SinkRecord) error {
	for _, r := range records {
		t.buf = appendValue(t.buf, r.ValueSchema, r.Value)
		t.buf = append(t.buf, '\n')
		if len(t.buf) >= sinkBufferBytes {
			if err := t.write(); err != nil {
				return err
			}
		}
	}
	return nil
}

// appendValue writes a value as Java's println(Object) shows it, with
// Kafka's StringConverter forms for Connect data and bytes as they are.
func appendValue(buf []byte, schema *connect.Schema, value any) []byte {
	switch v := value.(type) {
	case nil:
		return append(buf, "null"...)
	case string:
		return append(buf, v...)
	case []byte:
		return append(buf, v...)
	}
	text, _ := converters.StringConverter{}.FromConnectData("", nil, schema, value) // never fails
	return append(buf, text...)
}

// write writes the buffer out, in one call so that tasks appending to the
// same file do not interleave their lines.
func (t *SinkTask) write() error {
	if len(t.buf) == 0 {
		return nil
	}
	if _, err := t.out.Write(t.buf); err != nil {
		return fmt.Errorf("file sink task: write %s: %w", t.name(), err)
	}
	t.buf = t.buf[:0]
	return nil
}

func (t *SinkTask) name() string {
	if t.filename == "" {
		return "standard output"
	}
	return t.filename
}

// Flush writes what Put buffered and, for a file, fsyncs it, so that the
// offsets committed next cover lines on disk.
func (t *SinkTask) Flush(context.Context, map[connect.TopicPartition]int64) error {
	if err := t.write(); err != nil {
		return err
	}
	if t.filename == "" {
		return nil
	}
	if err := t.out.Sync(); err != nil {
		return fmt.Errorf("file sink task: fsync %s: %w", t.filename, err)
	}
	return nil
}

// Stop writes what is left, as Kafka's closing of its stream does, and
// closes the file.
func (t *SinkTask) Stop() error {
	if t.out == nil {
		return nil
	}
	err := t.write()
	if t.filename != "" {
		if closeErr := t.out.Close(); closeErr != nil && err == nil {
			err = fmt.Errorf("file sink task: close %s: %w", t.filename, closeErr)
		}
	}
	t.out = nil
	return err
}
