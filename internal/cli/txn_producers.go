package cli

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"math"
	"slices"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// noBroker marks --broker-id as not given: ask each partition's leader.
const noBroker = -1

// describeProducers asks for the producer state of the partitions: from
// each partition's leader (kadm finds it and retries on a leader change),
// or, with a broker id, from that broker's replicas, as Kafka's
// DescribeProducersOptions.brokerId does.
func (s *txnSession) describeProducers(ctx context.Context, broker int32, set kadm.TopicsSet) (kadm.DescribedProducersTopics, error) {
	if broker == noBroker {
		return s.adm.DescribeProducers(ctx, set)
	}
	req := kmsg.NewPtrDescribeProducersRequest()
	for _, t := range set.Sorted() {
		rt := kmsg.NewDescribeProducersRequestTopic()
		rt.Topic, rt.Partitions = t.Topic, t.Partitions
		req.Topics = append(req.Topics, rt)
	}
	kresp, err := s.cl.Broker(int(broker)).Request(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("broker %d: %w", broker, err)
	}
	resp, ok := kresp.(*kmsg.DescribeProducersResponse)
	if !ok {
		return nil, fmt.Errorf("broker %d: unexpected response %T", broker, kresp)
	}
	return producersFromResponse(broker, resp), nil
}

// producersFromResponse reads a DescribeProducers answer into kadm's shape,
// as kadm does for the answers of leaders.
func producersFromResponse(broker int32, resp *kmsg.DescribeProducersResponse) kadm.DescribedProducersTopics {
	topics := make(kadm.DescribedProducersTopics)
	for _, rt := range resp.Topics {
		dt, ok := topics[rt.Topic]
		if !ok {
			dt = kadm.DescribedProducersTopic{Topic: rt.Topic, Partitions: make(kadm.DescribedProducersPartitions)}
			topics[rt.Topic] = dt
		}
		for _, rp := range rt.Partitions {
			dp := kadm.DescribedProducersPartition{
				Leader:          broker,
				Topic:           rt.Topic,
				Partition:       rp.Partition,
				ActiveProducers: make(kadm.DescribedProducers, len(rp.ActiveProducers)),
				Err:             kerr.ErrorForCode(rp.ErrorCode),
			}
			if rp.ErrorMessage != nil {
				dp.ErrMessage = *rp.ErrorMessage
			}
			for _, ap := range rp.ActiveProducers {
				dp.ActiveProducers[ap.ProducerID] = kadm.DescribedProducer{
					Leader:                broker,
					Topic:                 rt.Topic,
					Partition:             rp.Partition,
					ProducerID:            ap.ProducerID,
					ProducerEpoch:         int16(ap.ProducerEpoch),
					LastSequence:          ap.LastSequence,
					LastTimestamp:         ap.LastTimestamp,
					CoordinatorEpoch:      ap.CoordinatorEpoch,
					CurrentTxnStartOffset: ap.CurrentTxnStartOffset,
				}
			}
			dt.Partitions[rp.Partition] = dp
		}
	}
	return topics
}

// describeOnePartition returns the producers of one partition, or why
// there are none to show.
func (s *txnSession) describeOnePartition(ctx context.Context, broker int32, topic string, partition int32) (kadm.DescribedProducers, error) {
	where := "its leader"
	if broker != noBroker {
		where = "broker " + itoa(broker)
	}
	what := fmt.Sprintf("describing the producers of %s on %s", topicPartitionName(topic, partition), where)
	described, err := s.describeProducers(ctx, broker, kadm.TopicsSet{topic: {partition: {}}})
	p, ok := described[topic].Partitions[partition]
	switch {
	case !ok && err != nil:
		return nil, s.requestError(ctx, what, err)
	case !ok:
		return nil, fmt.Errorf("%s: no answer for the partition", what)
	case p.Err != nil:
		return nil, fmt.Errorf("%s: %s", what, withDetail(p.Err, p.ErrMessage))
	}
	return p.ActiveProducers, nil
}

// describeProducersOptions is a parsed describe-producers command line.
type describeProducersOptions struct {
	topic     string
	partition int32
	broker    int32 // noBroker: the partition's leader
}

const describeProducersSynopsis = "fjord txn describe-producers --topic TOPIC --partition N [--broker-id ID]"

func parseDescribeProducersArgs(args []string, stderr io.Writer) (describeProducersOptions, connFlags, error) {
	fs := newFlagSet("fjord txn describe-producers", describeProducersSynopsis, stderr)
	var conn connFlags
	conn.register(fs)
	var pf partitionFlags
	pf.register(fs, "`topic` of the partition")
	broker := fs.Int64("broker-id", noBroker, "ask the replica on broker `ID` rather than the leader")
	rest, err := parseArgs(fs, args)
	if err != nil {
		return describeProducersOptions{}, conn, err
	}
	if len(rest) != 0 {
		return describeProducersOptions{}, conn, usagef(fs, "unexpected arguments %q", rest)
	}
	given := flagsGiven(fs)
	if err := pf.requireBoth(given); err != nil {
		return describeProducersOptions{}, conn, usagef(fs, "%v", err)
	}
	if given["broker-id"] {
		if err := checkRange("broker-id", *broker, 0, math.MaxInt32); err != nil {
			return describeProducersOptions{}, conn, usagef(fs, "%v", err)
		}
	}
	opts := describeProducersOptions{topic: pf.topic, partition: int32(pf.partition), broker: int32(*broker)}
	return opts, conn, checkConn(fs, conn)
}

func txnDescribeProducers(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return runTxnCommand(ctx, args, stderr, parseDescribeProducersArgs, func(ctx context.Context, s *txnSession, opts describeProducersOptions) error {

		if err := s.checkPartition(ctx, opts.topic, opts.partition); err != nil {
			return err
		}
		producers, err := s.describeOnePartition(ctx, opts.broker, opts.topic, opts.partition)
		if err != nil {
			return err
		}
		return writeProducers(stdout, producers)
	})
}

// describeProducersHeaders are kafka-transactions.sh describe-producers'
// columns.
var describeProducersHeaders = []string{
	"ProducerId", "ProducerEpoch", "LatestCoordinatorEpoch", "LastSequence", "LastTimestamp", "CurrentTransactionStartOffset",
}

// writeProducers prints the producers by id. A producer with no open
// transaction has no start offset (-1 on the wire).
func writeProducers(w io.Writer, producers kadm.DescribedProducers) error {
	sorted := make([]kadm.DescribedProducer, 0, len(producers))
	for _, p := range producers {
		sorted = append(sorted, p)
	}
	slices.SortFunc(sorted, func(a, b kadm.DescribedProducer) int { return cmp.Compare(a.ProducerID, b.ProducerID) })
	rows := make([][]string, 0, len(sorted))
	for _, p := range sorted {
		start := noValue
		if p.CurrentTxnStartOffset >= 0 {
			start = itoa(p.CurrentTxnStartOffset)
		}
		rows = append(rows, []string{
			itoa(p.ProducerID), itoa(p.ProducerEpoch), itoa(p.CoordinatorEpoch),
			itoa(p.LastSequence), itoa(p.LastTimestamp), start,
		})
	}
	return writeTable(w, describeProducersHeaders, rows)
}
