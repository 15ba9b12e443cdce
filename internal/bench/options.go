package bench

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/fjordhq/fjord/internal/cli"
)

// Limits on the command line. Each keeps a typo from turning into a run
// that exhausts the machine rather than measuring it.
const (
	// maxRecords bounds --records: ten billion records is days of load.
	maxRecords = 10_000_000_000
	// maxRecordBytes bounds --record-size: Kafka's max.message.bytes
	// default (1 MiB + 12) less the batch and record overhead; a larger
	// record would be refused by a default broker anyway.
	maxRecordBytes = 1 << 20
	// maxProducers bounds --producers: each is a kgo client with its own
	// connections and buffers.
	maxProducers = 64
	// maxPartitions bounds --partitions, as `fjord topic create` does.
	maxPartitions = 100_000
	// maxBatchBytes bounds --batch-bytes: Kafka's socket.request.max.bytes
	// (100 MiB) is the largest request a broker reads at all.
	maxBatchBytes = 100 << 20
	// maxLinger bounds --linger: beyond a minute nothing is "lingering".
	maxLinger = time.Minute
	// e2eMinRecordBytes is the send timestamp carried in an e2e value.
	e2eMinRecordBytes = 8
)

// Mode names a bench subcommand; it is also the "mode" of the summary.
type Mode string

// The modes.
const (
	ModeProduce Mode = "produce"
	ModeConsume Mode = "consume"
	ModeE2E     Mode = "e2e"
)

// Options is the parsed command line of one `fjord bench` run.
type Options struct {
	Mode    Mode
	Brokers []string
	// Timeout bounds each broker operation: admin requests, the delivery of
	// one record, and a consumer's wait for its next record.
	Timeout     time.Duration
	Topic       string
	Records     int64
	RecordBytes int
	Quiet       bool
	InProcess   bool
	// HistogramSVG, when set, names a file for a percentile plot.
	HistogramSVG string

	// Producer settings (produce and e2e).
	Partitions        int32
	ReplicationFactor int16
	Acks              kgo.Acks
	AcksName          string // "all", "1" or "0", for messages
	Idempotent        bool
	Linger            time.Duration
	BatchBytes        int32
	Producers         int
	RecordsPerSecond  float64 // 0: as fast as the producers go
	Compression       kgo.CompressionCodec
	CompressionName   string
	// TransactionRecords, when positive, makes each producer transactional:
	// it commits a transaction every that many records (produce mode).
	TransactionRecords int64
	// FlushRecords, when positive, makes each producer wait for the
	// acknowledgement of every that many records before producing more
	// (produce mode): the pace of a transactional producer without the
	// transactions, which bounds it.
	FlushRecords int64

	// ReadCommitted reads with isolation.level=read_committed (consume).
	ReadCommitted bool

	// Security is how every client of the run authenticates, from
	// --command-config and the security flags, as for the other commands.
	Security *cli.ClientSecurity
}

// ClientSecurityOpts are the kgo options that make a bench client connect
// with o.Security; each client's options start with them.
func (o Options) ClientSecurityOpts() []kgo.Opt {
	if o.Security == nil {
		return nil
	}
	return o.Security.Opts(min(o.Timeout, maxDialTimeout))
}

// usage lines per mode.
var synopses = map[Mode]string{
	ModeProduce: "fjord bench produce --topic T --records N [--record-size BYTES] [--partitions P] [--acks all|1|0] [--idempotent=true] [--transaction-records N | --flush-records N] [--linger 10ms] [--batch-bytes 1000000] [--producers C] [--rate R] [--compression none|gzip|snappy|lz4|zstd] [--in-process] [--quiet] [--histogram-svg FILE]",
	ModeConsume: "fjord bench consume --topic T --records N [--isolation read_uncommitted|read_committed] [--in-process] [--quiet]",
	ModeE2E:     "fjord bench e2e --topic T --records N [--rate R] [--record-size BYTES] [--partitions P] [--acks all|1|0] [--in-process] [--quiet] [--histogram-svg FILE]",
}

// ParseOptions parses the arguments after `fjord bench`: a mode and its
// flags. Errors have been explained on stderr and wrap cli.ErrUsage.
func ParseOptions(args []string, stderr io.Writer) (Options, error) {
	// The mode may follow flags (`fjord bench --topic t produce`).
	name, rest, bad := cli.SplitCommand(args, []string{string(ModeProduce), string(ModeConsume), string(ModeE2E)})
	if name == "" {
		if bad >= 0 && !isHelp(args[bad]) {
			fmt.Fprintf(stderr, "fjord bench: unknown mode %q\n", args[bad])
		}
		benchUsage(stderr)
		return Options{}, cli.ErrUsage
	}
	mode := Mode(name)
	synopsis := synopses[mode]
	fs := flag.NewFlagSet("fjord bench "+string(mode), flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: %s\nflags:\n", synopsis)
		fs.PrintDefaults()
	}
	o, raw := registerFlags(fs, mode)
	if err := fs.Parse(rest); err != nil {
		return Options{}, cli.ErrUsage
	}
	if fs.NArg() > 0 {
		return Options{}, usagef(fs, "unexpected argument %q", fs.Arg(0))
	}
	idempotentSet := false
	fs.Visit(func(f *flag.Flag) { idempotentSet = idempotentSet || f.Name == "idempotent" })
	if err := raw.finish(o, mode, idempotentSet); err != nil {
		return Options{}, usagef(fs, "%v", err)
	}
	return *o, nil
}

// rawFlags holds flag values that need conversion after parsing.
type rawFlags struct {
	brokers     string
	acks        string
	isolation   string
	compression string
	partitions  int
	replication int
	batchBytes  int
	security    cli.SecurityFlags
}

// registerFlags returns the Options the flags write into once parsed.
func registerFlags(fs *flag.FlagSet, mode Mode) (*Options, *rawFlags) {
	o := &Options{Mode: mode}
	raw := &rawFlags{}
	def := os.Getenv(cli.BrokersEnv)
	if def == "" {
		def = cli.DefaultBrokers
	}
	fs.StringVar(&raw.brokers, "brokers", def, "comma-separated `host:port` list of seed brokers (env "+cli.BrokersEnv+")")
	fs.DurationVar(&o.Timeout, "timeout", cli.DefaultTimeout, "bound on each broker operation and on a wait for the next record")
	fs.StringVar(&o.Topic, "topic", "", "topic to use (required)")
	fs.Int64Var(&o.Records, "records", 0, "number of records to produce or consume (required)")
	fs.BoolVar(&o.Quiet, "quiet", false, "no progress line on stderr")
	fs.BoolVar(&o.InProcess, "in-process", false, "start a private broker (this binary as fjord server on a temporary directory) and run against it")
	raw.security.Register(fs)
	if mode == ModeConsume {
		fs.StringVar(&raw.isolation, "isolation", "read_uncommitted", "isolation.level: read_uncommitted or read_committed")
		return o, raw
	}
	fs.IntVar(&o.RecordBytes, "record-size", 100, "value size of each record in `BYTES`")
	fs.IntVar(&raw.partitions, "partitions", 1, "partitions of the topic when it has to be created")
	fs.IntVar(&raw.replication, "replication-factor", -1, "replication factor when the topic has to be created (-1: the broker's default)")
	fs.StringVar(&raw.acks, "acks", "all", "acknowledgements to wait for: all, 1 or 0")
	fs.BoolVar(&o.Idempotent, "idempotent", true, "idempotent producer (needs --acks all; off by default with other acks, as in Kafka)")
	fs.DurationVar(&o.Linger, "linger", 10*time.Millisecond, "how long a producer waits to fill a batch (linger.ms)")
	fs.IntVar(&raw.batchBytes, "batch-bytes", 1_000_000, "largest batch a producer builds (batch.size)")
	fs.StringVar(&raw.compression, "compression", "none", "batch compression: none, gzip, snappy, lz4 or zstd")
	fs.StringVar(&o.HistogramSVG, "histogram-svg", "", "write a latency percentile plot to `FILE`")
	if mode == ModeProduce {
		fs.IntVar(&o.Producers, "producers", 1, "concurrent producer clients")
		fs.Float64Var(&o.RecordsPerSecond, "rate", 0, "target records per second over all producers (0: unlimited)")
		fs.Int64Var(&o.TransactionRecords, "transaction-records", 0, "commit a transaction every `N` records per producer (0: not transactional)")
		fs.Int64Var(&o.FlushRecords, "flush-records", 0, "wait for the acknowledgements of every `N` records per producer before producing more (0: never)")
	} else {
		o.Producers = 1
		fs.Float64Var(&o.RecordsPerSecond, "rate", 1000, "records per second (0: unlimited; e2e latency then includes queueing)")
	}
	return o, raw
}

// finish validates the parsed flags and converts the raw ones into o.
func (raw *rawFlags) finish(o *Options, mode Mode, idempotentSet bool) error {
	var err error
	if o.Brokers, err = cli.ParseBrokers(raw.brokers); err != nil {
		return err
	}
	if o.Timeout <= 0 {
		return fmt.Errorf("--timeout must be positive, got %v", o.Timeout)
	}
	if o.Topic == "" {
		return errors.New("--topic is required")
	}
	if o.Records < 1 || o.Records > maxRecords {
		return fmt.Errorf("--records must be between 1 and %d, got %d", int64(maxRecords), o.Records)
	}
	if o.Security, err = raw.security.Resolve(); err != nil {
		return err
	}
	if o.InProcess && o.Security.Protocol != cli.ProtocolPlaintext {
		return fmt.Errorf("--in-process starts a PLAINTEXT broker; security.protocol %s does not apply", o.Security.Protocol)
	}
	if mode == ModeConsume {
		switch raw.isolation {
		case "read_uncommitted":
		case "read_committed":
			o.ReadCommitted = true
		default:
			return fmt.Errorf("--isolation must be read_uncommitted or read_committed, got %q", raw.isolation)
		}
		return nil
	}
	minBytes := 0
	if mode == ModeE2E {
		minBytes = e2eMinRecordBytes
	}
	if o.RecordBytes < minBytes || o.RecordBytes > maxRecordBytes {
		return fmt.Errorf("--record-size must be between %d and %d, got %d", minBytes, maxRecordBytes, o.RecordBytes)
	}
	if raw.partitions < 1 || raw.partitions > maxPartitions {
		return fmt.Errorf("--partitions must be between 1 and %d, got %d", maxPartitions, raw.partitions)
	}
	o.Partitions = int32(raw.partitions)
	if raw.replication != -1 && (raw.replication < 1 || raw.replication > 32767) {
		return fmt.Errorf("--replication-factor must be -1 or between 1 and 32767, got %d", raw.replication)
	}
	o.ReplicationFactor = int16(raw.replication)
	if o.Acks, _, err = cli.ParseAcks(raw.acks); err != nil {
		return err
	}
	o.AcksName = raw.acks
	if raw.acks == "-1" {
		o.AcksName = "all"
	}
	// Kafka's producer turns idempotence off by itself when acks is not
	// all and nobody asked for it, and refuses the explicit combination.
	if o.AcksName != "all" && o.Idempotent {
		if idempotentSet {
			return fmt.Errorf("--idempotent needs --acks all, got --acks %s", raw.acks)
		}
		o.Idempotent = false
	}
	if o.Linger < 0 || o.Linger > maxLinger {
		return fmt.Errorf("--linger must be between 0 and %v, got %v", maxLinger, o.Linger)
	}
	if raw.batchBytes < 1 || raw.batchBytes > maxBatchBytes {
		return fmt.Errorf("--batch-bytes must be between 1 and %d, got %d", maxBatchBytes, raw.batchBytes)
	}
	o.BatchBytes = int32(raw.batchBytes)
	if o.Compression, err = cli.ParseCompression(raw.compression); err != nil {
		return err
	}
	o.CompressionName = raw.compression
	if o.Producers < 1 || o.Producers > maxProducers {
		return fmt.Errorf("--producers must be between 1 and %d, got %d", maxProducers, o.Producers)
	}
	if o.TransactionRecords < 0 || o.TransactionRecords > 0 && !o.Idempotent {
		return fmt.Errorf("--transaction-records must be positive, and needs an idempotent producer (--acks all), got %d", o.TransactionRecords)
	}
	if o.FlushRecords < 0 || o.FlushRecords > 0 && o.TransactionRecords > 0 {
		return fmt.Errorf("--flush-records must be positive, and cannot go with --transaction-records (a commit flushes), got %d", o.FlushRecords)
	}
	if !(o.RecordsPerSecond >= 0) { // also refuses NaN
		return fmt.Errorf("--rate must not be negative, got %v", o.RecordsPerSecond)
	}
	return nil
}

func isHelp(arg string) bool {
	switch arg {
	case "-h", "-help", "--help", "help":
		return true
	}
	return false
}

func benchUsage(w io.Writer) {
	fmt.Fprintln(w, "usage: fjord bench MODE [flags]")
	fmt.Fprintln(w, "modes:")
	fmt.Fprintln(w, "  produce  write records as fast as possible (or at --rate) and report throughput and produce latency")
	fmt.Fprintln(w, "  consume  read records from the beginning and report throughput")
	fmt.Fprintln(w, "  e2e      produce and consume at once and report end-to-end latency")
	fmt.Fprintln(w, `Run "fjord bench MODE -h" for a mode's flags.`)
}

func usagef(fs *flag.FlagSet, format string, args ...any) error {
	fmt.Fprintf(fs.Output(), "%s: %s\n", fs.Name(), fmt.Sprintf(format, args...))
	fs.Usage()
	return cli.ErrUsage
}
