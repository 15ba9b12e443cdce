package file

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"strings"
	"time"

	"github.com/fjordhq/fjord/connect"
)

// maxLineBytes bounds a line, and so the memory a source task holds. It is
// eight times the producer's default max.request.size (1 MiB), past which
// a record of the line could not be written with default settings anyway.
const maxLineBytes = 8 << 20

// readChunkBytes is how much a source task reads from the file at once.
const readChunkBytes = 64 << 10

// pollWait is how long Poll waits when there is nothing to read, or the
// file does not exist yet, before returning no records (Kafka's one
// second).
const pollWait = time.Second

func sourceConfig() *connect.ConfigDef {
	return connect.NewConfigDef().
		Define(connect.ConfigKey{Name: FileConfig, Type: connect.ConfigString, Importance: connect.High,
			Documentation: "Source filename. If not specified, the standard input will be used"}).
		Define(connect.ConfigKey{Name: TopicConfig, Type: connect.ConfigString, Required: true,
			Validator: connect.NonEmptyString(), Importance: connect.High, Documentation: "The topic to publish data to"}).
		Define(connect.ConfigKey{Name: BatchSizeConfig, Type: connect.ConfigInt, Default: DefaultBatchSize,
			Importance:    connect.Low,
			Documentation: "The maximum number of records the source task can read from the file each time it is polled"})
}

// SourceConnector is Kafka's FileStreamSourceConnector. It runs one task:
// a file has one reader.
type SourceConnector struct {
	config map[string]string
}

// Version returns the package's Version.
func (*SourceConnector) Version() string { return Version }

// Config defines file, topic and batch.size.
func (*SourceConnector) Config() *connect.ConfigDef { return sourceConfig() }

// Start checks the configuration.
func (c *SourceConnector) Start(_ connect.ConnectorContext, config map[string]string) error {
	if _, err := sourceConfig().Parse(config); err != nil {
		return fmt.Errorf("file source connector: %w", err)
	}
	c.config = maps.Clone(config)
	return nil
}

// TaskConfigs returns one task configuration, whatever maxTasks is.
func (c *SourceConnector) TaskConfigs(int) ([]map[string]string, error) {
	return []map[string]string{maps.Clone(c.config)}, nil
}

// Stop does nothing: the connector watches nothing.
func (*SourceConnector) Stop() error { return nil }

// NewTask returns a new source task.
func (*SourceConnector) NewTask() connect.SourceTask { return &SourceTask{} }

// ExactlyOnceSupport is Supported when reading a file (as long as it is
// only appended to), not standard input, whose lines have no offsets.
func (*SourceConnector) ExactlyOnceSupport(config map[string]string) connect.Support {
	if config[FileConfig] != "" {
		return connect.Supported
	}
	return connect.Unsupported
}

// AlterOffsets checks offsets a user writes: each must be null or hold a
// non-negative integer "position", under a partition with a "filename".
// Whether a position fits the file is for the task to find out.
func (*SourceConnector) AlterOffsets(config map[string]string, offsets []connect.SourcePartitionOffset) error {
	if config[FileConfig] == "" {
		return errors.New("Offsets cannot be modified if the '" + FileConfig + "' configuration is unspecified. " +
			"This is because stdin is used for input and offsets are not tracked.")
	}
	for _, po := range offsets {
		if po.Offset == nil {
			continue // a reset is always allowed, to clean up
		}
		v, ok := po.Offset[PositionField]
		if !ok {
			return errors.New("Offset objects should either be null or contain the key '" + PositionField + "'")
		}
		position, ok := asInt64(v)
		if !ok {
			return errors.New("The value for the '" + PositionField + "' key in the offset is expected to be a Long value")
		}
		if position < 0 {
			return errors.New("The value for the '" + PositionField + "' key in the offset should be a non-negative value")
		}
		if po.Partition == nil {
			return errors.New("Partition objects cannot be null")
		}
		if _, ok := po.Partition[FilenameField]; !ok {
			return errors.New("Partition objects should contain the key '" + FilenameField + "'")
		}
	}
	return nil
}

// asInt64 reads an integer of any Go integer type.
func asInt64(v any) (int64, bool) {
	switch v := v.(type) {
	case int64:
		return v, true
	case int32:
		return int64(v), true
	case int16:
		return int64(v), true
	case int8:
		return int64(v), true
	case int:
		return int64(v), true
	}
	return 0, false
}

// SourceTask is Kafka's FileStreamSourceTask.
type SourceTask struct {
	ctx       connect.SourceTaskContext
	filename  string
	topic     string
	batchSize int

	file     *os.File // nil until opened
	position int64    // byte offset in the file of pending[0]
	pending  []byte   // read, not yet returned as lines
	chunk    []byte

	stdin       io.Reader // os.Stdin unless a test sets it
	stdinReader *lineFeeder
}

// Start reads the configuration. The file is opened, and the committed
// position read, at the first Poll.
func (t *SourceTask) Start(ctx connect.SourceTaskContext, config map[string]string) error {
	cfg, err := sourceConfig().Parse(config)
	if err != nil {
		return fmt.Errorf("file source task: %w", err)
	}
	t.ctx, t.filename, t.topic = ctx, cfg.GetString(FileConfig), cfg.GetString(TopicConfig)
	t.batchSize = max(int(cfg.GetInt(BatchSizeConfig)), 1) // Kafka returns at the first line if below 1
	if t.filename == "" {
		if t.stdin == nil {
			t.stdin = os.Stdin
		}
		t.stdinReader = startLineFeeder(t.stdin)
	}
	return nil
}

// Poll returns the complete lines read since the last call, at most
// batch.size. With none, it waits up to a second (less if ctx ends) and
// returns none.
func (t *SourceTask) Poll(ctx context.Context) ([]connect.SourceRecord, error) {
	if t.stdinReader != nil {
		return t.pollStdin(ctx)
	}
	if t.file == nil {
		err := t.open(ctx)
		if errors.Is(err, fs.ErrNotExist) {
			wait(ctx, pollWait) // the file may be created later
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
	}
	records, err := t.readLines()
	if err != nil {
		return nil, err
	}
	if len(records) == 0 {
		wait(ctx, pollWait)
		return nil, nil
	}
	return records, nil
}

// open opens the file and moves to the committed position.
func (t *SourceTask) open(ctx context.Context) error {
	f, err := os.Open(t.filename)
	if err != nil {
		return fmt.Errorf("file source task: open %s: %w", t.filename, err)
	}
	offset, err := t.ctx.OffsetReader().Offset(ctx, t.partition())
	if err != nil {
		_ = f.Close()
		return fmt.Errorf("file source task: read the committed offset of %s: %w", t.filename, err)
	}
	position := int64(0)
	if v := offset[PositionField]; v != nil {
		var ok bool
		if position, ok = asInt64(v); !ok || position < 0 {
			_ = f.Close()
			return fmt.Errorf("file source task: %s: offset position %v (%T) is not a non-negative integer", t.filename, v, v)
		}
	}
	if _, err := f.Seek(position, io.SeekStart); err != nil {
		_ = f.Close()
		return fmt.Errorf("file source task: seek %s to %d: %w", t.filename, position, err)
	}
	t.file, t.position, t.pending = f, position, nil
	return nil
}

func (t *SourceTask) partition() map[string]any { return map[string]any{FilenameField: t.filename} }

// readLines reads what the file has and returns its complete lines.
func (t *SourceTask) readLines() ([]connect.SourceRecord, error) {
	var records []connect.SourceRecord
	for len(records) < t.batchSize {
		line, n, ok := extractLine(t.pending)
		if ok {
			t.pending = t.pending[n:]
			t.position += int64(n)
			records = append(records, t.record(line, map[string]any{PositionField: t.position}))
			continue
		}
		if len(t.pending) > maxLineBytes {
			return nil, fmt.Errorf("file source task: %s: the line at byte %d is longer than %d bytes", t.filename, t.position, maxLineBytes)
		}
		if t.chunk == nil {
			t.chunk = make([]byte, readChunkBytes)
		}
		n, err := t.file.Read(t.chunk)
		t.pending = append(t.pending, t.chunk[:n]...)
		if errors.Is(err, io.EOF) || n == 0 && err == nil {
			break // all read: the file may grow later
		}
		if err != nil {
			return nil, fmt.Errorf("file source task: read %s: %w", t.filename, err)
		}
	}
	return records, nil
}

func (t *SourceTask) record(line []byte, offset map[string]any) connect.SourceRecord {
	r := connect.SourceRecord{
		Topic:       t.topic,
		ValueSchema: connect.StringSchema,
		Value:       strings.ToValidUTF8(string(line), "\uFFFD"),
	}
	if offset != nil {
		r.SourcePartition, r.SourceOffset = t.partition(), offset
	}
	return r
}

// extractLine returns the first complete line of b and the bytes it takes
// with its end ("\n", "\r\n" or "\r"). A "\r" at the end of b is not yet
// a line end: a "\n" may follow.
func extractLine(b []byte) (line []byte, n int, ok bool) {
	for i, c := range b {
		switch c {
		case '\n':
			return b[:i], i + 1, true
		case '\r':
			if i+1 >= len(b) {
				return nil, 0, false
			}
			if b[i+1] == '\n' {
				return b[:i], i + 2, true
			}
			return b[:i], i + 1, true
		}
	}
	return nil, 0, false
}

// wait returns after d or when ctx ends.
func wait(ctx context.Context, d time.Duration) {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-ctx.Done():
	}
}

// Stop closes the file and stops reading standard input.
func (t *SourceTask) Stop() error {
	if t.stdinReader != nil {
		t.stdinReader.stop()
		t.stdinReader = nil
	}
	if t.file == nil {
		return nil
	}
	err := t.file.Close()
	t.file = nil
	if err != nil {
		return fmt.Errorf("file source task: close %s: %w", t.filename, err)
	}
	return nil
}
