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
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// txnListOptions is a parsed `fjord txn list` command line.
type txnListOptions struct {
	states      []string // only transactions in these states; empty: all
	producerIDs []int64  // only transactions of these producers; empty: all
	longerThan  time.Duration
	// filterDuration says whether longerThan applies: only transactions
	// running longer than it are listed (ListTransactions v1, KIP-994).
	filterDuration bool
}

const txnListSynopsis = "fjord txn list [--state STATE,STATE...] [--producer-id ID,ID...] [--duration-ms N]"

func parseTxnListArgs(args []string, stderr io.Writer) (txnListOptions, connFlags, error) {
	fs := newFlagSet("fjord txn list", txnListSynopsis, stderr)
	var conn connFlags
	conn.register(fs)
	stateFlag := fs.String("state", "", "only transactions in these states (comma-separated: "+strings.Join(transactionStates, ",")+")")
	producerFlag := fs.String("producer-id", "", "only transactions of these producer `ids` (comma-separated)")
	durationMs := fs.Int64("duration-ms", -1, "only transactions running longer than `N` milliseconds")
	rest, err := parseArgs(fs, args)
	if err != nil {
		return txnListOptions{}, conn, err
	}
	if len(rest) != 0 {
		return txnListOptions{}, conn, usagef(fs, "unexpected arguments %q", rest)
	}
	var opts txnListOptions
	if opts.states, err = parseTransactionStates(*stateFlag); err != nil {
		return opts, conn, usagef(fs, "%v", err)
	}
	if opts.producerIDs, err = parseProducerIDs(*producerFlag); err != nil {
		return opts, conn, usagef(fs, "--producer-id: %v", err)
	}
	if flagsGiven(fs)["duration-ms"] {
		if err := checkRange("duration-ms", *durationMs, 0, math.MaxInt64/int64(time.Millisecond)); err != nil {
			return opts, conn, usagef(fs, "%v", err)
		}
		opts.longerThan, opts.filterDuration = time.Duration(*durationMs)*time.Millisecond, true
	}
	return opts, conn, checkConn(fs, conn)
}

func txnList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return runTxnCommand(ctx, args, stderr, parseTxnListArgs, func(ctx context.Context, s *txnSession, opts txnListOptions) error {

		// kadm's ListTransactions has no duration filter, so the request is
		// built here and sent, as kadm does, to every broker: each answers for
		// the transactional ids it coordinates.
		req := kmsg.NewPtrListTransactionsRequest()
		req.StateFilters = opts.states
		req.ProducerIDFilters = opts.producerIDs
		if opts.filterDuration {
			req.DurationFilterMillis = opts.longerThan.Milliseconds()
		}
		shards := s.cl.RequestSharded(ctx, req)
		listings, failures := collectListings(shards, opts.filterDuration)
		if len(failures) == len(shards) && len(shards) > 0 && shards[0].Err != nil {
			return s.requestError(ctx, "listing transactions", shards[0].Err)
		}
		if err := writeTxnList(stdout, listings); err != nil {
			return err
		}
		if len(failures) > 0 {
			return fmt.Errorf("listing transactions: the list above misses the coordinators that failed: %w", joinFailures(failures))
		}
		return nil
	})
}

// collectListings merges the brokers' answers to ListTransactions and says
// which brokers failed. A broker too old to filter by duration fails rather
// than contribute transactions that were not asked for.
func collectListings(shards []kgo.ResponseShard, filterDuration bool) ([]kadm.ListedTransaction, []string) {
	var listings []kadm.ListedTransaction
	var failures []string
	for _, shard := range shards {
		broker := "broker " + itoa(shard.Meta.NodeID)
		if shard.Err != nil {
			failures = append(failures, fmt.Sprintf("%s: %v", broker, shard.Err))
			continue
		}
		resp, ok := shard.Resp.(*kmsg.ListTransactionsResponse)
		switch {
		case !ok:
			failures = append(failures, fmt.Sprintf("%s: unexpected response %T", broker, shard.Resp))
			continue
		case resp.ErrorCode != 0:
			failures = append(failures, fmt.Sprintf("%s: %s", broker, kafkaErrorName(kerr.ErrorForCode(resp.ErrorCode))))
			continue
		case filterDuration && resp.Version < 1:
			failures = append(failures, fmt.Sprintf("%s cannot filter by duration (ListTransactions v1 needed, it answered v%d)", broker, resp.Version))
			continue
		}
		for _, t := range resp.TransactionStates {
			listings = append(listings, kadm.ListedTransaction{
				Coordinator: shard.Meta.NodeID,
				TxnID:       t.TransactionalID,
				ProducerID:  t.ProducerID,
				State:       t.TransactionState,
			})
		}
	}
	slices.SortFunc(listings, func(a, b kadm.ListedTransaction) int {
		return cmp.Or(strings.Compare(a.TxnID, b.TxnID), cmp.Compare(a.Coordinator, b.Coordinator))
	})
	return listings, failures
}

// txnListHeaders are kafka-transactions.sh list's columns.
var txnListHeaders = []string{"TransactionalId", "Coordinator", "ProducerId", "TransactionState"}

func writeTxnList(w io.Writer, listings []kadm.ListedTransaction) error {
	rows := make([][]string, 0, len(listings))
	for _, l := range listings {
		rows = append(rows, []string{l.TxnID, itoa(l.Coordinator), itoa(l.ProducerID), l.State})
	}
	return writeTable(w, txnListHeaders, rows)
}

const txnDescribeSynopsis = "fjord txn describe --transactional-id ID"

func parseTxnDescribeArgs(args []string, stderr io.Writer) (string, connFlags, error) {
	fs := newFlagSet("fjord txn describe", txnDescribeSynopsis, stderr)
	var conn connFlags
	conn.register(fs)
	id := fs.String("transactional-id", "", "the transactional `id` to describe")
	rest, err := parseArgs(fs, args)
	if err != nil {
		return "", conn, err
	}
	if len(rest) != 0 {
		return "", conn, usagef(fs, "unexpected arguments %q", rest)
	}
	if *id == "" {
		return "", conn, usagef(fs, "--transactional-id is required")
	}
	return *id, conn, checkConn(fs, conn)
}

func txnDescribe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return runTxnCommand(ctx, args, stderr, parseTxnDescribeArgs, func(ctx context.Context, s *txnSession, id string) error {

		described, err := s.adm.DescribeTransactions(ctx, id)
		d, ok := described[id]
		switch {
		case !ok && err != nil:
			return s.requestError(ctx, fmt.Sprintf("describing transactional id %q", id), err)
		case !ok:
			return fmt.Errorf("describing transactional id %q: no answer from its coordinator", id)
		case errors.Is(d.Err, kerr.TransactionalIDNotFound):
			return fmt.Errorf("transactional id %q is not known to its coordinator (%s)", id, kafkaErrorName(d.Err))
		case d.Err != nil:
			return fmt.Errorf("describing transactional id %q: %s", id, kafkaErrorName(d.Err))
		}
		return writeTxnDescription(stdout, d, time.Now())
	})
}

// txnDescribeHeaders are kafka-transactions.sh describe's columns.
var txnDescribeHeaders = []string{
	"CoordinatorId", "TransactionalId", "ProducerId", "ProducerEpoch", "TransactionState",
	"TransactionTimeoutMs", "CurrentTransactionStartTimeMs", "TransactionDurationMs", "TopicPartitions",
}

// writeTxnDescription prints one transaction; its duration is measured
// from the coordinator's start time to now. A transaction that has not
// started (StartTimestamp -1) has neither.
func writeTxnDescription(w io.Writer, d kadm.DescribedTransaction, now time.Time) error {
	start, duration := noValue, noValue
	if d.StartTimestamp >= 0 {
		start = itoa(d.StartTimestamp)
		duration = itoa(now.UnixMilli() - d.StartTimestamp)
	}
	row := []string{
		itoa(d.Coordinator), d.TxnID, itoa(d.ProducerID), itoa(d.ProducerEpoch), d.State,
		itoa(d.TimeoutMillis), start, duration, formatTopicsSet(d.Topics),
	}
	return writeTable(w, txnDescribeHeaders, [][]string{row})
}
