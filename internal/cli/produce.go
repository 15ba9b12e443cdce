package cli

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// defaultMaxLineBytes bounds one input line, and so one record: Kafka's
// max.message.bytes default (1 MiB plus the 12-byte log overhead). A longer
// record would be refused by a default broker anyway.
const defaultMaxLineBytes = 1048588

// maxHeaders bounds --header; Kafka sets no limit, but more than this on
// every record of a console producer is a mistake.
const maxHeaders = 1024

// produceOptions is the parsed command line of `fjord produce`.
type produceOptions struct {
	topic        string // "" with --format json: each line names its topic
	json         bool   // lines are JSON records, not key/value text
	keySeparator string
	headers      []kgo.RecordHeader
	partition    int32 // -1: the default (sticky, key-hashing) partitioner
	acks         kgo.Acks
	idempotent   bool
	compression  kgo.CompressionCodec
	maxLineBytes int
}

const produceSynopsis = "fjord produce TOPIC [--format text|json] [--key-separator SEP] [--header k=v ...] [--partition N] " +
	"[--acks all|1|0] [--compression none|gzip|snappy|lz4|zstd] < lines\n" +
	"       fjord produce --format json < lines naming their topics"

// Produce runs `fjord produce TOPIC`: every line of stdin becomes one record.
func Produce(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("fjord produce", produceSynopsis, stderr)
	var conn connFlags
	conn.register(fs)
	format := fs.String("format", "text", `input: "text", one record value a line (see --key-separator), or "json", one JSON record a line `+
		"with optional topic, partition, key, value, headers and timestamp fields (the output of fjord consume --format json)")
	keySeparator := fs.String("key-separator", "", "split each line at the first `SEP` into key and value (default: no key; text only)")
	var headerList stringList
	fs.Var(&headerList, "header", "record header `k=v` added to every record (repeatable)")
	partition := fs.Int("partition", -1, "write every record to partition `N` (default: the line's with json, else by key, sticky without one)")
	acks := fs.String("acks", "all", "acknowledgements to wait for: all, 1 or 0")
	compression := fs.String("compression", "none", "batch compression: none, gzip, snappy, lz4 or zstd")
	maxLineBytes := fs.Int("max-line-bytes", defaultMaxLineBytes, "longest accepted input line (json: twice this by default, room for base64)")
	topics, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	opts := produceOptions{keySeparator: *keySeparator, maxLineBytes: *maxLineBytes}
	if err := opts.check(fs, topics, *format, *partition); err != nil {
		return usagef(fs, "%v", err)
	}
	if opts.headers, err = parseHeaders(headerList); err != nil {
		return usagef(fs, "%v", err)
	}
	if opts.acks, opts.idempotent, err = ParseAcks(*acks); err != nil {
		return usagef(fs, "%v", err)
	}
	if opts.compression, err = ParseCompression(*compression); err != nil {
		return usagef(fs, "%v", err)
	}
	seeds, err := conn.validate()
	if err != nil {
		return usagef(fs, "%v", err)
	}
	return produce(ctx, seeds, conn, opts, stdin, stderr)
}

// check fills in the topic, format, partition and line bound, refusing
// combinations that mean nothing.
func (o *produceOptions) check(fs *flag.FlagSet, topics []string, format string, partition int) error {
	switch format {
	case "text":
	case FormatJSON:
		o.json = true
	default:
		return fmt.Errorf("--format must be text or json, got %q", format)
	}
	switch {
	case len(topics) == 1:
		o.topic = topics[0]
	case len(topics) == 0 && o.json:
	default:
		return fmt.Errorf("exactly one TOPIC required, got %d", len(topics))
	}
	if o.json && o.keySeparator != "" {
		return errors.New("--key-separator is for --format text; a JSON line has its own key field")
	}
	if partition < -1 || partition > maxPartitions {
		return fmt.Errorf("--partition must be between 0 and %d, got %d", maxPartitions, partition)
	}
	o.partition = int32(partition)
	if o.maxLineBytes < 1 || o.maxLineBytes > 1<<30 {
		return fmt.Errorf("--max-line-bytes must be between 1 and %d, got %d", 1<<30, o.maxLineBytes)
	}
	maxLineSet := false
	fs.Visit(func(f *flag.Flag) { maxLineSet = maxLineSet || f.Name == "max-line-bytes" })
	if o.json && !maxLineSet {
		// Base64 makes a binary value 4/3 its size, and JSON escapes more.
		o.maxLineBytes = 2 * defaultMaxLineBytes
	}
	return nil
}

func produce(ctx context.Context, seeds []string, conn connFlags, opts produceOptions, stdin io.Reader, stderr io.Writer) error {
	kopts := []kgo.Opt{
		kgo.RequiredAcks(opts.acks),
		kgo.ProducerBatchCompression(opts.compression),
	}
	if !opts.json {
		// franz-go measures the delivery timeout from a record's
		// timestamp, which a JSON line may set in the past: JSON records
		// get a deadline from when they are produced instead (below).
		kopts = append(kopts, kgo.RecordDeliveryTimeout(conn.timeout))
	}
	if opts.topic != "" {
		kopts = append(kopts, kgo.DefaultProduceTopic(opts.topic))
	}
	if !opts.idempotent {
		kopts = append(kopts, kgo.DisableIdempotentWrite())
	}
	switch {
	case opts.partition >= 0:
		kopts = append(kopts, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	case opts.json:
		kopts = append(kopts, kgo.RecordPartitioner(linePartitioner{}))
	}
	cl, err := newClient(conn, seeds, kopts...)
	if err != nil {
		return err
	}
	defer cl.Close()
	targets := newProduceTargets(kadm.NewClient(cl), seeds, conn)
	if opts.topic != "" {
		if err := targets.check(ctx, opts.topic, opts.partition); err != nil {
			return err
		}
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var t produceTally
	summary := func() string { return t.summary(targets.describe(opts.topic)) }
	fail := func(err error) error {
		cancel()
		_ = cl.Flush(context.Background())
		return fmt.Errorf("%w (%s)", err, summary())
	}
	scanner := bufio.NewScanner(stdin)
	scanner.Buffer(make([]byte, 0, min(64*1024, opts.maxLineBytes)), opts.maxLineBytes)
	lineNumber := 0
	for scanner.Scan() && t.failure() == nil {
		lineNumber++
		r, err := nextRecord(ctx, scanner.Bytes(), lineNumber, opts, targets)
		if err != nil {
			return fail(err)
		}
		if r == nil {
			continue // a blank line of JSON input
		}
		size := len(r.Key) + len(r.Value)
		recordCtx, recordCancel := ctx, context.CancelFunc(func() {})
		if opts.json {
			recordCtx, recordCancel = context.WithTimeout(ctx, conn.timeout)
		}
		cl.Produce(recordCtx, r, func(_ *kgo.Record, err error) {
			recordCancel()
			t.record(size, err, cancel)
		})
	}
	if err := scanner.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return fail(fmt.Errorf("line %d is longer than --max-line-bytes %d", lineNumber+1, opts.maxLineBytes))
		}
		return fail(fmt.Errorf("reading stdin: %w", err))
	}
	// Flush returns once every record has its answer; each is bounded by
	// the delivery timeout (or its context's, for JSON), so this cannot
	// hang on a dead broker.
	if err := cl.Flush(ctx); err != nil && t.failure() == nil {
		return fmt.Errorf("flushing records: %w (%s)", err, summary())
	}
	if err := t.failure(); err != nil {
		return fmt.Errorf("producing to %s: %s (%s)", targets.describe(opts.topic), describeProduceError(err, conn.timeout), summary())
	}
	fmt.Fprintln(stderr, summary())
	return nil
}

// nextRecord makes the record of one input line, checking where it goes;
// nil for a blank line of JSON input, which jq and editors leave.
func nextRecord(ctx context.Context, line []byte, lineNumber int, opts produceOptions, targets *produceTargets) (*kgo.Record, error) {
	if !opts.json {
		return buildRecord(line, lineNumber, opts)
	}
	if len(bytes.TrimSpace(line)) == 0 {
		return nil, nil
	}
	r, err := buildJSONRecord(ctx, line, lineNumber, opts)
	if err != nil {
		return nil, err
	}
	partition := opts.partition
	if lineChosePartition(r) {
		partition = r.Partition
	}
	if err := targets.check(ctx, r.Topic, partition); err != nil {
		return nil, fmt.Errorf("line %d: %w", lineNumber, err)
	}
	return r, nil
}

func describeProduceError(err error, timeout time.Duration) string {
	switch {
	case errors.Is(err, kerr.UnknownTopicOrPartition):
		return fmt.Sprintf("the topic does not exist (%s)", kafkaErrorName(err))
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Sprintf("a record was not acknowledged within --timeout %v", timeout)
	}
	return err.Error()
}

// buildRecord makes a record of one input line; the scanner reuses its
// buffer, so the record gets its own copy.
func buildRecord(line []byte, lineNumber int, opts produceOptions) (*kgo.Record, error) {
	key, value, err := splitKeyValue(line, opts.keySeparator)
	if err != nil {
		return nil, fmt.Errorf("line %d: %w", lineNumber, err)
	}
	r := &kgo.Record{Value: bytes.Clone(value), Headers: opts.headers}
	if key != nil {
		r.Key = bytes.Clone(key)
	}
	if opts.partition >= 0 {
		r.Partition = opts.partition
	}
	return r, nil
}

// splitKeyValue splits a line at the first separator. Without a separator
// configured the record has a null key. A line without the separator is an
// error, as in Kafka's console producer with parse.key=true: guessing would
// silently change which partition the record lands in.
func splitKeyValue(line []byte, separator string) (key, value []byte, err error) {
	if separator == "" {
		return nil, line, nil
	}
	key, value, ok := bytes.Cut(line, []byte(separator))
	if !ok {
		return nil, nil, fmt.Errorf("no key separator %q found", separator)
	}
	if key == nil {
		key = []byte{}
	}
	return key, value, nil
}

// parseHeaders turns repeated --header k=v into record headers. Kafka allows
// repeated keys in headers, so they are kept in order.
func parseHeaders(list []string) ([]kgo.RecordHeader, error) {
	if len(list) > maxHeaders {
		return nil, fmt.Errorf("more than %d --header flags", maxHeaders)
	}
	headers := make([]kgo.RecordHeader, 0, len(list))
	for _, kv := range list {
		k, v, err := parseKeyValue(kv)
		if err != nil {
			return nil, fmt.Errorf("--header %w", err)
		}
		headers = append(headers, kgo.RecordHeader{Key: k, Value: []byte(v)})
	}
	return headers, nil
}

// ParseAcks maps --acks to the client setting. Idempotent writes need
// acks=all, so the weaker settings turn idempotence off (Kafka's producer
// refuses the combination outright).
func ParseAcks(s string) (acks kgo.Acks, idempotent bool, err error) {
	switch s {
	case "all", "-1":
		return kgo.AllISRAcks(), true, nil
	case "1":
		return kgo.LeaderAck(), false, nil
	case "0":
		return kgo.NoAck(), false, nil
	}
	return kgo.Acks{}, false, fmt.Errorf("--acks must be all, 1 or 0, got %q", s)
}

// ParseCompression maps --compression to the client codec.
func ParseCompression(s string) (kgo.CompressionCodec, error) {
	switch s {
	case "none", "":
		return kgo.NoCompression(), nil
	case "gzip":
		return kgo.GzipCompression(), nil
	case "snappy":
		return kgo.SnappyCompression(), nil
	case "lz4":
		return kgo.Lz4Compression(), nil
	case "zstd":
		return kgo.ZstdCompression(), nil
	}
	return kgo.CompressionCodec{}, fmt.Errorf("--compression must be none, gzip, snappy, lz4 or zstd, got %q", s)
}

// produceTally counts what the brokers acknowledged. Produce callbacks run
// on the client's goroutines, hence the mutex.
type produceTally struct {
	mu       sync.Mutex
	records  int64
	bytes    int64
	firstErr error
}

// record notes one answer; the first failure cancels the rest, because a
// console producer that keeps going after an error reorders the input.
func (t *produceTally) record(size int, err error, cancel context.CancelFunc) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err != nil {
		if t.firstErr == nil {
			t.firstErr = err
			cancel()
		}
		return
	}
	t.records++
	t.bytes += int64(size)
}

func (t *produceTally) failure() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.firstErr
}

// summary says what was produced; where names the topics.
func (t *produceTally) summary(where string) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return fmt.Sprintf("produced %d records (%d bytes of keys and values) to %s", t.records, t.bytes, where)
}
