package cli

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

// findHangingOptions is a parsed find-hanging command line.
type findHangingOptions struct {
	broker    int32  // noBroker: search the partitions of topic on their leaders
	topic     string // empty: every topic with a replica on broker
	partition int32  // negative: every partition of topic
	// maxTimeout is the largest transaction timeout producers use: an open
	// transaction that has written nothing for longer is past its timeout.
	maxTimeout time.Duration
}

// Bounds of find-hanging.
const (
	// defaultMaxTransactionTimeoutMinutes is Kafka's
	// transaction.max.timeout.ms default, 15 minutes.
	defaultMaxTransactionTimeoutMinutes = 15
	// maxTransactionTimeoutMinutes is the largest timeout a producer can
	// ask for: transaction timeouts are int32 milliseconds on the wire.
	maxTransactionTimeoutMinutes = math.MaxInt32 / int64(time.Minute/time.Millisecond)
	// maxDescribeProducersPartitions bounds the partitions one
	// DescribeProducers request asks about, as Kafka's tool does, so that
	// searching a whole broker does not send it one giant request.
	maxDescribeProducersPartitions = 500
	// maxTxnIDsPerRequest bounds the producer ids of one ListTransactions
	// and the transactional ids of one DescribeTransactions.
	maxTxnIDsPerRequest = 1000
	// maxFailuresShown bounds the partition failures an error lists.
	maxFailuresShown = 10
)

const findHangingSynopsis = "fjord txn find-hanging (--broker-id ID | --topic TOPIC [--partition N]) [--max-transaction-timeout MINUTES]"

func parseFindHangingArgs(args []string, stderr io.Writer) (findHangingOptions, connFlags, error) {
	fs := newFlagSet("fjord txn find-hanging", findHangingSynopsis, stderr)
	var conn connFlags
	conn.register(fs)
	broker := fs.Int64("broker-id", noBroker, "search the replicas on broker `ID`")
	var pf partitionFlags
	pf.register(fs, "search only this `topic` (required with --partition)")
	maxTimeout := fs.Int64("max-transaction-timeout", defaultMaxTransactionTimeoutMinutes,
		"the largest transaction timeout in `minutes` (the brokers' transaction.max.timeout.ms): only transactions idle for longer are candidates")
	rest, err := parseArgs(fs, args)
	if err != nil {
		return findHangingOptions{}, conn, err
	}
	if len(rest) != 0 {
		return findHangingOptions{}, conn, usagef(fs, "unexpected arguments %q", rest)
	}
	given := flagsGiven(fs)
	opts := findHangingOptions{broker: noBroker, topic: pf.topic, partition: -1}
	switch {
	case !given["topic"] && !given["broker-id"]:
		return opts, conn, usagef(fs, "--topic or --broker-id is required to bound the search")
	case given["topic"] && pf.topic == "":
		return opts, conn, usagef(fs, "--topic is empty")
	case given["partition"] && !given["topic"]:
		return opts, conn, usagef(fs, "--partition requires --topic")
	}
	checks := []struct {
		name      string
		v, lo, hi int64
		applies   bool
	}{
		{"broker-id", *broker, 0, math.MaxInt32, given["broker-id"]},
		{"partition", pf.partition, 0, math.MaxInt32, given["partition"]},
		{"max-transaction-timeout", *maxTimeout, 0, maxTransactionTimeoutMinutes, true},
	}
	for _, c := range checks {
		if !c.applies {
			continue
		}
		if err := checkRange(c.name, c.v, c.lo, c.hi); err != nil {
			return opts, conn, usagef(fs, "%v", err)
		}
	}
	if given["broker-id"] {
		opts.broker = int32(*broker)
	}
	if given["partition"] {
		opts.partition = int32(pf.partition)
	}
	opts.maxTimeout = time.Duration(*maxTimeout) * time.Minute
	return opts, conn, checkConn(fs, conn)
}

func txnFindHanging(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return runTxnCommand(ctx, args, stderr, parseFindHangingArgs, func(ctx context.Context, s *txnSession, opts findHangingOptions) error {

		var topics []string
		if opts.topic != "" {
			topics = []string{opts.topic}
		}
		md, err := s.adm.Metadata(ctx, topics...)
		if err != nil {
			return s.requestError(ctx, "reading cluster metadata", err)
		}
		searched, err := partitionsToSearch(md, opts)
		if err != nil {
			return err
		}
		var candidates []kadm.DescribedProducer
		var failures []string
		for _, chunk := range chunkPartitions(searched, maxDescribeProducersPartitions) {
			described, err := s.describeProducers(ctx, opts.broker, chunk)
			if ctx.Err() != nil {
				return s.requestError(ctx, "describing producers", ctx.Err())
			}
			found, failed := collectCandidates(chunk, described, err, time.Now(), opts.maxTimeout)
			candidates, failures = append(candidates, found...), append(failures, failed...)
		}
		var hanging []kadm.DescribedProducer
		if len(candidates) > 0 {
			txnIDs, described, err := s.coordinatorView(ctx, producerIDsOf(candidates))
			if err != nil {
				return err
			}
			hanging = hangingTransactions(candidates, txnIDs, described)
		}
		if err := writeHanging(stdout, hanging, time.Now()); err != nil {
			return err
		}
		if len(failures) > 0 {
			return fmt.Errorf("the search missed %d partitions, which may hold hanging transactions too: %s",
				len(failures), summarizeFailures(failures, maxFailuresShown))
		}
		return nil
	})
}

// partitionsToSearch is the scope of find-hanging: the partition named, the
// partitions of the topic named, or every partition with a replica on the
// broker named (within the topic, when one is named too).
func partitionsToSearch(md kadm.Metadata, opts findHangingOptions) (kadm.TopicsSet, error) {
	if opts.broker != noBroker && !slices.Contains(md.Brokers.NodeIDs(), opts.broker) {
		return nil, fmt.Errorf("broker %d is not in the cluster (brokers: %s)", opts.broker, formatBrokerIDs(md.Brokers.NodeIDs()))
	}
	if opts.topic != "" {
		if err := checkPartitionExists(md, opts.topic, opts.partition); err != nil {
			return nil, err
		}
	}
	set := make(kadm.TopicsSet)
	for name, d := range md.Topics {
		// A topic that metadata cannot describe (being deleted, say) has
		// no partitions to search; a named one was checked above.
		if d.Err != nil || (opts.topic != "" && name != opts.topic) {
			continue
		}
		for p, pd := range d.Partitions {
			if opts.partition >= 0 && p != opts.partition {
				continue
			}
			if opts.broker != noBroker && !slices.Contains(pd.Replicas, opts.broker) {
				continue
			}
			set.Add(name, p)
		}
	}
	return set, nil
}

// chunkPartitions splits a set into sets of at most n partitions, in topic
// and partition order.
func chunkPartitions(set kadm.TopicsSet, n int) []kadm.TopicsSet {
	var chunks []kadm.TopicsSet
	size := 0
	for _, t := range set.Sorted() {
		for _, p := range t.Partitions {
			if len(chunks) == 0 || size == n {
				chunks, size = append(chunks, make(kadm.TopicsSet)), 0
			}
			chunks[len(chunks)-1].Add(t.Topic, p)
			size++
		}
	}
	return chunks
}

// collectCandidates picks, from the producers of the searched partitions,
// those with an open transaction (a start offset) that have written
// nothing for longer than maxTimeout: a live transaction would have been
// completed or timed out by its coordinator by then. Partitions that did
// not answer are failures, explained by requestErr when there is one.
func collectCandidates(searched kadm.TopicsSet, described kadm.DescribedProducersTopics, requestErr error,
	now time.Time, maxTimeout time.Duration,
) (candidates []kadm.DescribedProducer, failures []string) {
	for _, t := range searched.Sorted() {
		for _, p := range t.Partitions {
			name := topicPartitionName(t.Topic, p)
			dp, ok := described[t.Topic].Partitions[p]
			switch {
			case !ok && requestErr != nil:
				failures = append(failures, fmt.Sprintf("%s: %v", name, requestErr))
				continue
			case !ok:
				failures = append(failures, name+": no answer")
				continue
			case dp.Err != nil:
				failures = append(failures, fmt.Sprintf("%s: %s", name, withDetail(dp.Err, dp.ErrMessage)))
				continue
			}
			for _, producer := range dp.ActiveProducers {
				idle := now.UnixMilli() - producer.LastTimestamp
				if producer.CurrentTxnStartOffset >= 0 && idle > maxTimeout.Milliseconds() {
					candidates = append(candidates, producer)
				}
			}
		}
	}
	return candidates, failures
}

// producerIDsOf returns the distinct producer ids, sorted.
func producerIDsOf(producers []kadm.DescribedProducer) []int64 {
	ids := make([]int64, 0, len(producers))
	for _, p := range producers {
		ids = append(ids, p.ProducerID)
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}

// coordinatorView asks the coordinators what they know of the producers:
// the transactional id each belongs to (ListTransactions filtered by
// producer id), and that id's current transaction (DescribeTransactions).
// Any failure fails the search: a coordinator that did not answer may be
// the one completing these transactions, which would then look hanging.
func (s *txnSession) coordinatorView(ctx context.Context, producerIDs []int64) (map[int64]string, map[string]kadm.DescribedTransaction, error) {
	listed := make(kadm.ListedTransactions)
	for chunk := range slices.Chunk(producerIDs, maxTxnIDsPerRequest) {
		l, err := s.adm.ListTransactions(ctx, chunk, nil)
		if err != nil {
			return nil, nil, s.requestError(ctx, fmt.Sprintf("listing the transactions of %d producers", len(chunk)), err)
		}
		for id, t := range l {
			listed[id] = t
		}
	}
	txnIDs := transactionalIDsByProducer(listed, producerIDs)
	ids := make([]string, 0, len(txnIDs))
	for _, id := range txnIDs {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	described := make(map[string]kadm.DescribedTransaction, len(ids))
	for chunk := range slices.Chunk(ids, maxTxnIDsPerRequest) {
		d, err := s.adm.DescribeTransactions(ctx, chunk...)
		if err != nil {
			return nil, nil, s.requestError(ctx, fmt.Sprintf("describing %d transactions", len(chunk)), err)
		}
		if err := keepDescribed(described, d, chunk); err != nil {
			return nil, nil, err
		}
	}
	return txnIDs, described, nil
}

// transactionalIDsByProducer maps each wanted producer id to the
// transactional id its coordinator lists it under. A listing of a producer
// that was not asked for (a broker that ignores the filter) is dropped.
func transactionalIDsByProducer(listed kadm.ListedTransactions, wanted []int64) map[int64]string {
	ids := make(map[int64]string)
	for _, l := range listed {
		if slices.Contains(wanted, l.ProducerID) {
			ids[l.ProducerID] = l.TxnID
		}
	}
	return ids
}

// keepDescribed adds the transactions described to into. A transactional
// id its coordinator no longer knows is left out, so its producers'
// transactions count as hanging; any other failure to describe one is an
// error, because it says nothing either way.
func keepDescribed(into map[string]kadm.DescribedTransaction, described kadm.DescribedTransactions, asked []string) error {
	for _, id := range asked {
		d, ok := described[id]
		switch {
		case !ok:
			return fmt.Errorf("describing transactional id %q: no answer from its coordinator", id)
		case errors.Is(d.Err, kerr.TransactionalIDNotFound):
		case d.Err != nil:
			return fmt.Errorf("describing transactional id %q: %s", id, kafkaErrorName(d.Err))
		default:
			into[id] = d
		}
	}
	return nil
}

// hangingTransactions decides, as Kafka's tool does, which candidates hang:
// those whose producer no coordinator lists, or whose transactional id's
// current transaction does not include the partition. A coordinator's
// description lists the partitions of an ongoing transaction and, while it
// prepares to commit or abort, those still waiting for their marker; any
// other open transaction on a partition will never get one.
func hangingTransactions(candidates []kadm.DescribedProducer, txnIDs map[int64]string, described map[string]kadm.DescribedTransaction) []kadm.DescribedProducer {
	var hanging []kadm.DescribedProducer
	for _, c := range candidates {
		id, listed := txnIDs[c.ProducerID]
		d, known := described[id]
		if listed && known && d.Topics.Lookup(c.Topic, c.Partition) {
			continue
		}
		hanging = append(hanging, c)
	}
	slices.SortFunc(hanging, func(a, b kadm.DescribedProducer) int {
		return cmp.Or(strings.Compare(a.Topic, b.Topic), cmp.Compare(a.Partition, b.Partition), cmp.Compare(a.ProducerID, b.ProducerID))
	})
	return hanging
}

// findHangingHeaders are kafka-transactions.sh find-hanging's columns.
var findHangingHeaders = []string{
	"Topic", "Partition", "ProducerId", "ProducerEpoch", "CoordinatorEpoch", "StartOffset", "LastTimestamp", "Duration(min)",
}

// writeHanging prints the hanging transactions; the duration is the whole
// minutes since the producer last wrote to the partition.
func writeHanging(w io.Writer, hanging []kadm.DescribedProducer, now time.Time) error {
	rows := make([][]string, 0, len(hanging))
	for _, h := range hanging {
		idle := time.Duration(now.UnixMilli()-h.LastTimestamp) * time.Millisecond
		rows = append(rows, []string{
			h.Topic, itoa(h.Partition), itoa(h.ProducerID), itoa(h.ProducerEpoch), itoa(h.CoordinatorEpoch),
			itoa(h.CurrentTxnStartOffset), itoa(h.LastTimestamp), itoa(int64(idle / time.Minute)),
		})
	}
	return writeTable(w, findHangingHeaders, rows)
}

// summarizeFailures joins at most n failures and counts the rest.
func summarizeFailures(failures []string, n int) string {
	if len(failures) <= n {
		return strings.Join(failures, "; ")
	}
	return fmt.Sprintf("%s; and %d more", strings.Join(failures[:n], "; "), len(failures)-n)
}
