package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// txnCommands are the `fjord txn` subcommands, in the order usage lists
// them: those of kafka-transactions.sh, with its names and columns.
var txnCommands = []subcommand{
	{"list", "list transactions with their coordinator, producer id and state", txnList},
	{"describe", "show the state of one transactional id's transaction", txnDescribe},
	{"describe-producers", "show the producers active on one partition and their open transactions", txnDescribeProducers},
	{"abort", "abort a hanging transaction on one partition by writing an ABORT marker", txnAbort},
	{"find-hanging", "find open transactions on partitions that no coordinator will complete", txnFindHanging},
}

// Txn runs `fjord txn SUBCOMMAND ...`.
func Txn(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	return dispatch(ctx, "txn", txnCommands, args, stdout, stderr)
}

// transactionStates are the states a transaction coordinator reports, as
// Kafka's admin client names them.
var transactionStates = []string{
	"Empty", "Ongoing", "PrepareCommit", "PrepareAbort",
	"CompleteCommit", "CompleteAbort", "PrepareEpochFence",
}

// parseTransactionStates reads --state: a comma-separated list matched
// without regard to case and returned in Kafka's spelling, because the
// coordinator compares the names it is sent.
func parseTransactionStates(s string) ([]string, error) {
	var states []string
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		i := slices.IndexFunc(transactionStates, func(state string) bool { return strings.EqualFold(state, part) })
		if i < 0 {
			return nil, fmt.Errorf("unknown transaction state %q (known: %s)", part, strings.Join(transactionStates, ", "))
		}
		if !slices.Contains(states, transactionStates[i]) {
			states = append(states, transactionStates[i])
		}
	}
	return states, nil
}

// maxTxnProducerIDs bounds --producer-id of list: the filter is typed by
// hand, and each id costs eight bytes in every coordinator's request.
const maxTxnProducerIDs = 1000

// parseProducerIDs reads a comma-separated list of producer ids, sorted and
// without duplicates.
func parseProducerIDs(s string) ([]int64, error) {
	var ids []int64
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		id, err := strconv.ParseInt(part, 10, 64)
		if err != nil || id < 0 {
			return nil, fmt.Errorf("producer id %q is not a non-negative integer", part)
		}
		ids = append(ids, id)
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	if len(ids) > maxTxnProducerIDs {
		return nil, fmt.Errorf("at most %d producer ids, got %d", maxTxnProducerIDs, len(ids))
	}
	return ids, nil
}

// flagsGiven returns the names of the flags set on the command line, so
// that a required flag can be told from one left at its default.
func flagsGiven(fs *flag.FlagSet) map[string]bool {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	return given
}

// checkRange reports a flag value outside [lo, hi]; flags are parsed as
// int64 and narrowed to their wire width only after this check.
func checkRange(name string, v, lo, hi int64) error {
	if v < lo || v > hi {
		return fmt.Errorf("--%s must be between %d and %d, got %d", name, lo, hi, v)
	}
	return nil
}

// partitionFlags are --topic and --partition, which name the one partition
// describe-producers and abort work on.
type partitionFlags struct {
	topic     string
	partition int64
}

func (p *partitionFlags) register(fs *flag.FlagSet, topicUsage string) {
	fs.StringVar(&p.topic, "topic", "", topicUsage)
	fs.Int64Var(&p.partition, "partition", -1, "partition `number`")
}

// requireBoth checks that both flags were given and are sound.
func (p *partitionFlags) requireBoth(given map[string]bool) error {
	if !given["topic"] || p.topic == "" {
		return errors.New("--topic is required")
	}
	if !given["partition"] {
		return errors.New("--partition is required")
	}
	return checkRange("partition", p.partition, 0, math.MaxInt32)
}

// txnSession is one franz-go client seen two ways: kadm for the requests
// it wraps, and the kgo client for those it does not (ListTransactions
// with a duration filter, DescribeProducers asked of one named broker).
type txnSession struct {
	cl      *kgo.Client
	adm     *kadm.Client
	seeds   []string
	timeout time.Duration
}

// checkConn is the last step of parsing a txn command line: a bad
// --brokers or --timeout is a usage error like any other flag.
func checkConn(fs *flag.FlagSet, conn connFlags) error {
	if _, err := conn.validate(); err != nil {
		return usagef(fs, "%v", err)
	}
	return nil
}

// openTxnSession does what openAdmin does, keeping the kgo client; conn has
// passed checkConn. The returned close releases the client and the context
// bounded by --timeout.
func openTxnSession(ctx context.Context, conn connFlags) (*txnSession, context.Context, func(), error) {
	seeds, err := conn.validate()
	if err != nil {
		return nil, nil, nil, err
	}
	cl, err := newClient(conn, seeds)
	if err != nil {
		return nil, nil, nil, err
	}
	adm := kadm.NewClient(cl)
	adm.SetTimeoutMillis(int32(min(conn.timeout, time.Hour).Milliseconds()))
	ctx, cancel := context.WithTimeout(ctx, conn.timeout)
	s := &txnSession{cl: cl, adm: adm, seeds: seeds, timeout: conn.timeout}
	return s, ctx, func() { cancel(); adm.Close() }, nil
}

// runTxnCommand parses a txn command's arguments, opens a session and runs
// the command in it.
func runTxnCommand[O any](ctx context.Context, args []string, stderr io.Writer,
	parse func([]string, io.Writer) (O, connFlags, error), run func(context.Context, *txnSession, O) error) error {
	opts, conn, err := parse(args, stderr)
	if err != nil {
		return err
	}
	s, ctx, closeSession, err := openTxnSession(ctx, conn)
	if err != nil {
		return err
	}
	defer closeSession()
	return run(ctx, s, opts)
}

// requestError explains a failed request as the other admin commands do.
func (s *txnSession) requestError(ctx context.Context, what string, err error) error {
	return describeRequestError(ctx, what, s.seeds, s.timeout, err)
}

// checkPartition checks, before any transactional request, that the topic
// exists and has the partition, so that a typo reads as one.
func (s *txnSession) checkPartition(ctx context.Context, topic string, partition int32) error {
	md, err := s.adm.Metadata(ctx, topic)
	if err != nil {
		return s.requestError(ctx, fmt.Sprintf("looking up topic %q", topic), err)
	}
	return checkPartitionExists(md, topic, partition)
}

// checkPartitionExists says whether metadata knows the topic and, when
// partition is not negative, that partition of it.
func checkPartitionExists(md kadm.Metadata, topic string, partition int32) error {
	d, ok := md.Topics[topic]
	if !ok {
		return fmt.Errorf("topic %q does not exist", topic)
	}
	if d.Err != nil {
		return fmt.Errorf("topic %q: %s", topic, kafkaErrorName(d.Err))
	}
	if _, ok := d.Partitions[partition]; partition >= 0 && !ok {
		return fmt.Errorf("topic %q has no partition %d (it has %d)", topic, partition, len(d.Partitions))
	}
	return nil
}

// noValue is what the txn tables print for an absent value, as
// kafka-transactions.sh does, so that scripts written for it still parse.
const noValue = "None"

// writeTable prints a header and rows in aligned columns.
func writeTable(w io.Writer, headers []string, rows [][]string) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(headers, "\t"))
	for _, row := range rows {
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	return tw.Flush()
}

// topicPartitionName is Kafka's way of writing a partition: "orders-0".
func topicPartitionName(topic string, partition int32) string {
	return topic + "-" + strconv.Itoa(int(partition))
}

// formatTopicsSet writes a set of partitions as "a-0,a-1,b-0", sorted.
func formatTopicsSet(s kadm.TopicsSet) string {
	var names []string
	for _, t := range s.Sorted() {
		for _, p := range t.Partitions {
			names = append(names, topicPartitionName(t.Topic, p))
		}
	}
	if len(names) == 0 {
		return noValue
	}
	return strings.Join(names, ",")
}

func itoa[T int16 | int32 | int64](v T) string {
	return strconv.FormatInt(int64(v), 10)
}
