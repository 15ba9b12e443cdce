package cli

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

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
	topic        string
	keySeparator string
	headers      []kgo.RecordHeader
	partition    int32 // -1: the default (sticky, key-hashing) partitioner
	acks         kgo.Acks
	idempotent   bool
	compression  kgo.CompressionCodec
	maxLineBytes int
}

// Produce runs `fjord produce TOPIC`: every line of stdin becomes one record.
func Produce(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("fjord produce", "fjord produce TOPIC [--key-separator SEP] [--header k=v ...] [--partition N] [--acks all|1|0] [--compression none|gzip|snappy|lz4|zstd] < lines", stderr)
	var conn connFlags
	conn.register(fs)
	keySeparator := fs.String("key-separator", "", "split each line at the first `SEP` into key and value (default: no key)")
	var headerList stringList
	fs.Var(&headerList, "header", "record header `k=v` added to every record (repeatable)")
	partition := fs.Int("partition", -1, "write every record to partition `N` (default: by key, sticky without one)")
	acks := fs.String("acks", "all", "acknowledgements to wait for: all, 1 or 0")
	compression := fs.String("compression", "none", "batch compression: none, gzip, snappy, lz4 or zstd")
	maxLineBytes := fs.Int("max-line-bytes", defaultMaxLineBytes, "longest accepted input line")
	topics, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(topics) != 1 {
		return usagef(fs, "exactly one TOPIC required, got %d", len(topics))
	}
	opts := produceOptions{topic: topics[0], keySeparator: *keySeparator, maxLineBytes: *maxLineBytes}
	if *partition < -1 || *partition > maxPartitions {
		return usagef(fs, "--partition must be between 0 and %d, got %d", maxPartitions, *partition)
	}
	opts.partition = int32(*partition)
	if *maxLineBytes < 1 || *maxLineBytes > 1<<30 {
		return usagef(fs, "--max-line-bytes must be between 1 and %d, got %d", 1<<30, *maxLineBytes)
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

func produce(ctx context.Context, seeds []string, conn connFlags, opts produceOptions, stdin io.Reader, stderr io.Writer) error {
	kopts := []kgo.Opt{
		kgo.DefaultProduceTopic(opts.topic),
		kgo.RequiredAcks(opts.acks),
		kgo.ProducerBatchCompression(opts.compression),
		kgo.RecordDeliveryTimeout(conn.timeout),
	}
	if !opts.idempotent {
		kopts = append(kopts, kgo.DisableIdempotentWrite())
	}
	if opts.partition >= 0 {
		kopts = append(kopts, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	}
	cl, err := newClient(conn, seeds, kopts...)
	if err != nil {
		return err
	}
	defer cl.Close()
	if err := checkProduceTarget(ctx, kadm.NewClient(cl), seeds, conn, opts); err != nil {
		return err
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var t produceTally
	scanner := bufio.NewScanner(stdin)
	scanner.Buffer(make([]byte, 0, min(64*1024, opts.maxLineBytes)), opts.maxLineBytes)
	lineNumber := 0
	for scanner.Scan() && t.failure() == nil {
		lineNumber++
		r, err := buildRecord(scanner.Bytes(), lineNumber, opts)
		if err != nil {
			cancel()
			_ = cl.Flush(context.Background())
			return fmt.Errorf("%w (%s)", err, t.summary(opts.topic))
		}
		size := len(r.Key) + len(r.Value)
		cl.Produce(ctx, r, func(_ *kgo.Record, err error) {
			t.record(size, err, cancel)
		})
	}
	if err := scanner.Err(); err != nil {
		cancel()
		_ = cl.Flush(context.Background())
		if errors.Is(err, bufio.ErrTooLong) {
			return fmt.Errorf("line %d is longer than --max-line-bytes %d (%s)", lineNumber+1, opts.maxLineBytes, t.summary(opts.topic))
		}
		return fmt.Errorf("reading stdin: %w (%s)", err, t.summary(opts.topic))
	}
	// Flush returns once every record has its answer; each is bounded by
	// the delivery timeout, so this cannot hang on a dead broker.
	if err := cl.Flush(ctx); err != nil && t.failure() == nil {
		return fmt.Errorf("flushing records: %w (%s)", err, t.summary(opts.topic))
	}
	if err := t.failure(); err != nil {
		return fmt.Errorf("producing to topic %q: %s (%s)", opts.topic, describeProduceError(opts, err), t.summary(opts.topic))
	}
	fmt.Fprintln(stderr, t.summary(opts.topic))
	return nil
}

// checkProduceTarget fails early, with a clear message, when the topic or
// the chosen partition does not exist, instead of waiting out the delivery
// timeout on records that cannot be written.
func checkProduceTarget(ctx context.Context, adm *kadm.Client, seeds []string, conn connFlags, opts produceOptions) error {
	ctx, cancel := context.WithTimeout(ctx, conn.timeout)
	defer cancel()
	details, err := adm.ListTopicsWithInternal(ctx, opts.topic)
	if err != nil {
		return describeRequestError(ctx, fmt.Sprintf("looking up topic %q", opts.topic), seeds, conn.timeout, err)
	}
	d, ok := details[opts.topic]
	if !ok || errors.Is(d.Err, kerr.UnknownTopicOrPartition) {
		return fmt.Errorf("topic %q does not exist (%s)", opts.topic, kerr.UnknownTopicOrPartition.Message)
	}
	if d.Err != nil {
		return fmt.Errorf("looking up topic %q: %s", opts.topic, kafkaErrorName(d.Err))
	}
	if opts.partition >= int32(len(d.Partitions)) {
		return fmt.Errorf("topic %q has %d partitions, so partition %d does not exist", opts.topic, len(d.Partitions), opts.partition)
	}
	return nil
}

func describeProduceError(opts produceOptions, err error) string {
	if errors.Is(err, kerr.UnknownTopicOrPartition) {
		return fmt.Sprintf("topic %q does not exist (%s)", opts.topic, kafkaErrorName(err))
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

func (t *produceTally) summary(topic string) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return fmt.Sprintf("produced %d records (%d bytes of keys and values) to topic %q", t.records, t.bytes, topic)
}
