package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

// abortTarget is the one transaction abort ends on one partition: the
// producer whose open transaction it is, and the coordinator epoch the
// partition leader fences markers with (Kafka's AbortTransactionSpec).
type abortTarget struct {
	topic            string
	partition        int32
	producerID       int64
	producerEpoch    int16
	coordinatorEpoch int32
}

func (t abortTarget) String() string {
	return fmt.Sprintf("the transaction of producer %d (epoch %d, coordinator epoch %d) on %s",
		t.producerID, t.producerEpoch, t.coordinatorEpoch, topicPartitionName(t.topic, t.partition))
}

// noStartOffset marks --start-offset as not given: the producer is named
// by --producer-id, --producer-epoch and --coordinator-epoch.
const noStartOffset = -1

// txnAbortOptions is a parsed abort command line. Without a start offset,
// target is complete; with one, only its partition is known until the
// partition's producers are described.
type txnAbortOptions struct {
	target      abortTarget
	startOffset int64
}

const txnAbortSynopsis = "fjord txn abort --topic TOPIC --partition N " +
	"(--start-offset OFFSET | --producer-id ID --producer-epoch E --coordinator-epoch E)"

// abortProducerFlags name the producer explicitly, for brokers that cannot
// describe their producers.
var abortProducerFlags = []string{"producer-id", "producer-epoch", "coordinator-epoch"}

func parseTxnAbortArgs(args []string, stderr io.Writer) (txnAbortOptions, connFlags, error) {
	fs := newFlagSet("fjord txn abort", txnAbortSynopsis, stderr)
	var conn connFlags
	conn.register(fs)
	var pf partitionFlags
	pf.register(fs, "`topic` of the partition with the transaction")
	startOffset := fs.Int64("start-offset", noStartOffset, "the `offset` at which the transaction to abort starts (see describe-producers)")
	producerID := fs.Int64("producer-id", -1, "the transaction's producer `id`")
	producerEpoch := fs.Int64("producer-epoch", -1, "the transaction's producer `epoch`")
	coordinatorEpoch := fs.Int64("coordinator-epoch", -1, "the `epoch` of the coordinator that last wrote the partition a marker (negative: 0)")
	rest, err := parseArgs(fs, args)
	if err != nil {
		return txnAbortOptions{}, conn, err
	}
	if len(rest) != 0 {
		return txnAbortOptions{}, conn, usagef(fs, "unexpected arguments %q", rest)
	}
	given := flagsGiven(fs)
	if err := pf.requireBoth(given); err != nil {
		return txnAbortOptions{}, conn, usagef(fs, "%v", err)
	}
	opts := txnAbortOptions{
		target:      abortTarget{topic: pf.topic, partition: int32(pf.partition)},
		startOffset: noStartOffset,
	}
	var named, missing []string
	for _, name := range abortProducerFlags {
		if given[name] {
			named = append(named, "--"+name)
		} else {
			missing = append(missing, "--"+name)
		}
	}
	switch {
	case given["start-offset"] && len(named) > 0:
		return opts, conn, usagef(fs, "--start-offset finds the producer itself; it does not go with %s", strings.Join(named, ", "))
	case given["start-offset"]:
		if err := checkRange("start-offset", *startOffset, 0, math.MaxInt64); err != nil {
			return opts, conn, usagef(fs, "%v", err)
		}
		opts.startOffset = *startOffset
	case len(named) == 0:
		return opts, conn, usagef(fs, "the transaction to abort must be named by --start-offset, "+
			"or by --producer-id, --producer-epoch and --coordinator-epoch")
	case len(missing) > 0:
		return opts, conn, usagef(fs, "%s also required with %s", strings.Join(missing, ", "), strings.Join(named, ", "))
	default:
		for _, c := range []struct {
			name      string
			v, lo, hi int64
		}{
			{"producer-id", *producerID, 0, math.MaxInt64},
			{"producer-epoch", *producerEpoch, 0, math.MaxInt16},
			{"coordinator-epoch", *coordinatorEpoch, math.MinInt32, math.MaxInt32},
		} {
			if err := checkRange(c.name, c.v, c.lo, c.hi); err != nil {
				return opts, conn, usagef(fs, "%v", err)
			}
		}
		opts.target.producerID = *producerID
		opts.target.producerEpoch = int16(*producerEpoch)
		opts.target.coordinatorEpoch = markerCoordinatorEpoch(int32(*coordinatorEpoch))
	}
	return opts, conn, checkConn(fs, conn)
}

// markerCoordinatorEpoch is the coordinator epoch an abort marker carries.
// A producer whose transaction hung before any marker was written shows
// coordinator epoch -1; 0 is then the safe choice, as Kafka's tool makes
// it, because it is at most any epoch the partition has seen.
func markerCoordinatorEpoch(epoch int32) int32 {
	return max(epoch, 0)
}

// pickAbortTarget finds the producer whose open transaction starts at
// startOffset on the partition.
func pickAbortTarget(producers kadm.DescribedProducers, topic string, partition int32, startOffset int64) (abortTarget, error) {
	var openStarts []int64
	for _, p := range producers {
		if p.CurrentTxnStartOffset == startOffset {
			return abortTarget{
				topic:            topic,
				partition:        partition,
				producerID:       p.ProducerID,
				producerEpoch:    p.ProducerEpoch,
				coordinatorEpoch: markerCoordinatorEpoch(p.CoordinatorEpoch),
			}, nil
		}
		if p.CurrentTxnStartOffset >= 0 {
			openStarts = append(openStarts, p.CurrentTxnStartOffset)
		}
	}
	name := topicPartitionName(topic, partition)
	if len(openStarts) == 0 {
		return abortTarget{}, fmt.Errorf("no open transaction starts at offset %d on %s: it has no open transactions", startOffset, name)
	}
	slices.Sort(openStarts)
	starts := make([]string, len(openStarts))
	for i, o := range openStarts {
		starts[i] = itoa(o)
	}
	return abortTarget{}, fmt.Errorf("no open transaction starts at offset %d on %s (open transactions start at %s)",
		startOffset, name, strings.Join(starts, ", "))
}

func txnAbort(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return runTxnCommand(ctx, args, stderr, parseTxnAbortArgs, func(ctx context.Context, s *txnSession, opts txnAbortOptions) error {

		target := opts.target
		if err := s.checkPartition(ctx, target.topic, target.partition); err != nil {
			return err
		}
		if opts.startOffset != noStartOffset {
			producers, err := s.describeOnePartition(ctx, noBroker, target.topic, target.partition)
			if err != nil {
				return err
			}
			if target, err = pickAbortTarget(producers, target.topic, target.partition, opts.startOffset); err != nil {
				return err
			}
		}
		// kgo sends the markers to the partition's leader, as Kafka's
		// AbortTransaction admin call does.
		resps, err := s.adm.WriteTxnMarkers(ctx, kadm.TxnMarkers{
			ProducerID:       target.producerID,
			ProducerEpoch:    target.producerEpoch,
			Commit:           false,
			CoordinatorEpoch: target.coordinatorEpoch,
			Topics:           kadm.TopicsSet{target.topic: {target.partition: {}}},
		})
		if err := markerOutcome(resps, err, target); err != nil {
			if errors.Is(err, errNoMarkerAnswer) {
				return s.requestError(ctx, "aborting "+target.String(), err)
			}
			return err
		}
		fmt.Fprintf(stdout, "Aborted %s.\n", target)
		return nil
	})
}

// errNoMarkerAnswer marks a WriteTxnMarkers that brought no answer for the
// partition, so the request, not the partition, failed.
var errNoMarkerAnswer = errors.New("no answer for the partition")

// markerOutcome reads the partition's answer to WriteTxnMarkers, and
// explains the two refusals a stale target meets.
func markerOutcome(resps kadm.TxnMarkersResponses, err error, t abortTarget) error {
	r, ok := resps[t.producerID].Topics[t.topic].Partitions[t.partition]
	switch {
	case !ok && err != nil:
		return fmt.Errorf("%w: %w", errNoMarkerAnswer, err)
	case !ok:
		return errNoMarkerAnswer
	case r.Err == nil:
		return nil
	case errors.Is(r.Err, kerr.InvalidProducerEpoch), errors.Is(r.Err, kerr.ProducerFenced):
		return fmt.Errorf("aborting %s: the partition knows a newer epoch of this producer; describe its producers again (%s)", t, kafkaErrorName(r.Err))
	case errors.Is(r.Err, kerr.TransactionCoordinatorFenced):
		return fmt.Errorf("aborting %s: the partition has seen a newer coordinator epoch; describe its producers again (%s)", t, kafkaErrorName(r.Err))
	default:
		return fmt.Errorf("aborting %s: %s", t, kafkaErrorName(r.Err))
	}
}
