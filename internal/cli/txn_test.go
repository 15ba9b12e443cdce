package cli

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// wantUsageError checks that a parse failed as a usage error whose
// complaint, printed on stderr, contains fragment.
func wantUsageError(t *testing.T, err error, stderr, fragment string) {
	t.Helper()
	if !errors.Is(err, ErrUsage) {
		t.Fatalf("err = %v, want ErrUsage", err)
	}
	if !strings.Contains(stderr, fragment) {
		t.Errorf("stderr does not contain %q:\n%s", fragment, stderr)
	}
}

func TestTxnParseListArgs(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    txnListOptions
		wantErr string
	}{
		{"no filters", nil, txnListOptions{}, ""},
		{"states in any case, deduplicated", []string{"--state", "ongoing,PREPAREABORT, Ongoing"},
			txnListOptions{states: []string{"Ongoing", "PrepareAbort"}}, ""},
		{"producer ids sorted and deduplicated", []string{"--producer-id", "7,3,7"},
			txnListOptions{producerIDs: []int64{3, 7}}, ""},
		{"duration", []string{"--duration-ms", "60000"},
			txnListOptions{longerThan: time.Minute, filterDuration: true}, ""},
		{"duration zero is a filter", []string{"--duration-ms", "0"},
			txnListOptions{filterDuration: true}, ""},
		{"unknown state", []string{"--state", "Ongoing,Pending"}, txnListOptions{}, `unknown transaction state "Pending"`},
		{"bad producer id", []string{"--producer-id", "1,x"}, txnListOptions{}, `producer id "x"`},
		{"negative producer id", []string{"--producer-id", "-1"}, txnListOptions{}, `producer id "-1"`},
		{"negative duration", []string{"--duration-ms", "-5"}, txnListOptions{}, "--duration-ms must be between 0"},
		{"positional", []string{"extra"}, txnListOptions{}, "unexpected arguments"},
		{"bad brokers", []string{"--brokers", "nohost"}, txnListOptions{}, "not host:port"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr strings.Builder
			got, _, err := parseTxnListArgs(tt.args, &stderr)
			if tt.wantErr != "" {
				wantUsageError(t, err, stderr.String(), tt.wantErr)
				return
			}
			if err != nil {
				t.Fatalf("err = %v; stderr:\n%s", err, stderr.String())
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("options = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestTxnParseDescribeArgs(t *testing.T) {
	var stderr strings.Builder
	id, _, err := parseTxnDescribeArgs([]string{"--transactional-id", "payments-1"}, &stderr)
	if err != nil || id != "payments-1" {
		t.Fatalf("id, err = %q, %v", id, err)
	}
	for _, tc := range []struct {
		args    []string
		wantErr string
	}{
		{nil, "--transactional-id is required"},
		{[]string{"--transactional-id", ""}, "--transactional-id is required"},
		{[]string{"--transactional-id", "a", "b"}, "unexpected arguments"},
	} {
		stderr.Reset()
		_, _, err := parseTxnDescribeArgs(tc.args, &stderr)
		wantUsageError(t, err, stderr.String(), tc.wantErr)
	}
}

func TestTxnParseDescribeProducersArgs(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    describeProducersOptions
		wantErr string
	}{
		{"leader", []string{"--topic", "orders", "--partition", "2"},
			describeProducersOptions{topic: "orders", partition: 2, broker: noBroker}, ""},
		{"partition zero and a broker", []string{"--topic", "orders", "--partition", "0", "--broker-id", "3"},
			describeProducersOptions{topic: "orders", partition: 0, broker: 3}, ""},
		{"no topic", []string{"--partition", "0"}, describeProducersOptions{}, "--topic is required"},
		{"no partition", []string{"--topic", "orders"}, describeProducersOptions{}, "--partition is required"},
		{"negative partition", []string{"--topic", "orders", "--partition", "-1"}, describeProducersOptions{}, "--partition must be between 0"},
		{"partition too large", []string{"--topic", "orders", "--partition", "4294967296"}, describeProducersOptions{}, "--partition must be between 0"},
		{"negative broker", []string{"--topic", "orders", "--partition", "0", "--broker-id", "-2"}, describeProducersOptions{}, "--broker-id must be between 0"},
		{"non-numeric partition", []string{"--topic", "orders", "--partition", "x"}, describeProducersOptions{}, "invalid value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr strings.Builder
			got, _, err := parseDescribeProducersArgs(tt.args, &stderr)
			if tt.wantErr != "" {
				wantUsageError(t, err, stderr.String(), tt.wantErr)
				return
			}
			if err != nil {
				t.Fatalf("err = %v; stderr:\n%s", err, stderr.String())
			}
			if got != tt.want {
				t.Errorf("options = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestTxnParseAbortArgs(t *testing.T) {
	partition := []string{"--topic", "orders", "--partition", "1"}
	with := func(more ...string) []string { return append(append([]string{}, partition...), more...) }
	tests := []struct {
		name    string
		args    []string
		want    txnAbortOptions
		wantErr string
	}{
		{"start offset", with("--start-offset", "42"),
			txnAbortOptions{target: abortTarget{topic: "orders", partition: 1}, startOffset: 42}, ""},
		{"start offset zero", with("--start-offset", "0"),
			txnAbortOptions{target: abortTarget{topic: "orders", partition: 1}, startOffset: 0}, ""},
		{"explicit producer", with("--producer-id", "7", "--producer-epoch", "3", "--coordinator-epoch", "5"),
			txnAbortOptions{target: abortTarget{topic: "orders", partition: 1, producerID: 7, producerEpoch: 3, coordinatorEpoch: 5}, startOffset: noStartOffset}, ""},
		{"negative coordinator epoch becomes 0", with("--producer-id", "7", "--producer-epoch", "0", "--coordinator-epoch", "-1"),
			txnAbortOptions{target: abortTarget{topic: "orders", partition: 1, producerID: 7}, startOffset: noStartOffset}, ""},
		{"nothing names the transaction", partition, txnAbortOptions{}, "must be named by --start-offset"},
		{"start offset and producer", with("--start-offset", "4", "--producer-id", "7"), txnAbortOptions{}, "does not go with --producer-id"},
		{"producer without epochs", with("--producer-id", "7"), txnAbortOptions{}, "--producer-epoch, --coordinator-epoch also required"},
		{"epochs without producer", with("--producer-epoch", "1", "--coordinator-epoch", "1"), txnAbortOptions{}, "--producer-id also required"},
		{"epoch too large", with("--producer-id", "7", "--producer-epoch", "40000", "--coordinator-epoch", "0"), txnAbortOptions{}, "--producer-epoch must be between 0 and 32767"},
		{"negative producer id", with("--producer-id", "-7", "--producer-epoch", "1", "--coordinator-epoch", "0"), txnAbortOptions{}, "--producer-id must be between 0"},
		{"negative start offset", with("--start-offset", "-3"), txnAbortOptions{}, "--start-offset must be between 0"},
		{"no topic", []string{"--partition", "1", "--start-offset", "0"}, txnAbortOptions{}, "--topic is required"},
		{"no partition", []string{"--topic", "orders", "--start-offset", "0"}, txnAbortOptions{}, "--partition is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr strings.Builder
			got, _, err := parseTxnAbortArgs(tt.args, &stderr)
			if tt.wantErr != "" {
				wantUsageError(t, err, stderr.String(), tt.wantErr)
				return
			}
			if err != nil {
				t.Fatalf("err = %v; stderr:\n%s", err, stderr.String())
			}
			if got != tt.want {
				t.Errorf("options = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestTxnParseFindHangingArgs(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    findHangingOptions
		wantErr string
	}{
		{"broker, default timeout", []string{"--broker-id", "2"},
			findHangingOptions{broker: 2, partition: -1, maxTimeout: 15 * time.Minute}, ""},
		{"topic", []string{"--topic", "orders", "--max-transaction-timeout", "5"},
			findHangingOptions{broker: noBroker, topic: "orders", partition: -1, maxTimeout: 5 * time.Minute}, ""},
		{"topic, partition and broker", []string{"--topic", "orders", "--partition", "0", "--broker-id", "1"},
			findHangingOptions{broker: 1, topic: "orders", partition: 0, maxTimeout: 15 * time.Minute}, ""},
		{"zero timeout", []string{"--topic", "orders", "--max-transaction-timeout", "0"},
			findHangingOptions{broker: noBroker, topic: "orders", partition: -1}, ""},
		{"no scope", nil, findHangingOptions{}, "--topic or --broker-id is required"},
		{"only a timeout", []string{"--max-transaction-timeout", "5"}, findHangingOptions{}, "--topic or --broker-id is required"},
		{"partition without topic", []string{"--broker-id", "1", "--partition", "0"}, findHangingOptions{}, "--partition requires --topic"},
		{"empty topic", []string{"--topic", ""}, findHangingOptions{}, "--topic is empty"},
		{"negative timeout", []string{"--topic", "t", "--max-transaction-timeout", "-1"}, findHangingOptions{}, "--max-transaction-timeout must be between 0 and 35791"},
		{"timeout beyond int32 ms", []string{"--topic", "t", "--max-transaction-timeout", "35792"}, findHangingOptions{}, "--max-transaction-timeout must be between 0 and 35791"},
		{"negative partition", []string{"--topic", "t", "--partition", "-1"}, findHangingOptions{}, "--partition must be between 0"},
		{"negative broker", []string{"--broker-id", "-1"}, findHangingOptions{}, "--broker-id must be between 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr strings.Builder
			got, _, err := parseFindHangingArgs(tt.args, &stderr)
			if tt.wantErr != "" {
				wantUsageError(t, err, stderr.String(), tt.wantErr)
				return
			}
			if err != nil {
				t.Fatalf("err = %v; stderr:\n%s", err, stderr.String())
			}
			if got != tt.want {
				t.Errorf("options = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// listShard is one broker's answer to ListTransactions.
func listShard(node int32, version int16, code int16, states ...kmsg.ListTransactionsResponseTransactionState) kgo.ResponseShard {
	resp := kmsg.NewPtrListTransactionsResponse()
	resp.Version, resp.ErrorCode, resp.TransactionStates = version, code, states
	return kgo.ResponseShard{Meta: kgo.BrokerMetadata{NodeID: node}, Resp: resp}
}

func listedState(id string, producerID int64, state string) kmsg.ListTransactionsResponseTransactionState {
	s := kmsg.NewListTransactionsResponseTransactionState()
	s.TransactionalID, s.ProducerID, s.TransactionState = id, producerID, state
	return s
}

func TestTxnCollectListings(t *testing.T) {
	shards := []kgo.ResponseShard{
		listShard(2, 1, 0, listedState("zeta", 9, "Ongoing"), listedState("alpha", 4, "Empty")),
		listShard(1, 1, 0, listedState("mid", 5, "PrepareCommit")),
		listShard(3, 1, kerr.CoordinatorLoadInProgress.Code),
		{Meta: kgo.BrokerMetadata{NodeID: 4}, Err: errors.New("connection reset")},
	}
	listings, failures := collectListings(shards, false)
	want := []kadm.ListedTransaction{
		{Coordinator: 2, TxnID: "alpha", ProducerID: 4, State: "Empty"},
		{Coordinator: 1, TxnID: "mid", ProducerID: 5, State: "PrepareCommit"},
		{Coordinator: 2, TxnID: "zeta", ProducerID: 9, State: "Ongoing"},
	}
	if !reflect.DeepEqual(listings, want) {
		t.Errorf("listings = %+v, want %+v", listings, want)
	}
	wantFailures := []string{"broker 3: COORDINATOR_LOAD_IN_PROGRESS", "broker 4: connection reset"}
	if !reflect.DeepEqual(failures, wantFailures) {
		t.Errorf("failures = %q, want %q", failures, wantFailures)
	}

	// A v0 answer cannot have applied a duration filter: its transactions
	// are left out and the broker is a failure.
	listings, failures = collectListings([]kgo.ResponseShard{
		listShard(1, 0, 0, listedState("young", 1, "Ongoing")),
		listShard(2, 1, 0, listedState("old", 2, "Ongoing")),
	}, true)
	if len(listings) != 1 || listings[0].TxnID != "old" {
		t.Errorf("listings = %+v, want only old", listings)
	}
	if len(failures) != 1 || !strings.Contains(failures[0], "broker 1 cannot filter by duration") {
		t.Errorf("failures = %q", failures)
	}
}

func TestTxnWriteList(t *testing.T) {
	var out strings.Builder
	err := writeTxnList(&out, []kadm.ListedTransaction{
		{Coordinator: 2, TxnID: "alpha", ProducerID: 4, State: "Empty"},
		{Coordinator: 11, TxnID: "payments-eu-1", ProducerID: 1005, State: "Ongoing"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "" +
		"TransactionalId  Coordinator  ProducerId  TransactionState\n" +
		"alpha            2            4           Empty\n" +
		"payments-eu-1    11           1005        Ongoing\n"
	if out.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", out.String(), want)
	}
}

func TestTxnWriteDescription(t *testing.T) {
	now := time.UnixMilli(1_700_000_090_000)
	d := kadm.DescribedTransaction{
		Coordinator: 1, TxnID: "payments", State: "Ongoing", TimeoutMillis: 60000,
		StartTimestamp: 1_700_000_000_000, ProducerID: 7, ProducerEpoch: 3,
		Topics: kadm.TopicsSet{"orders": {2: {}, 0: {}}, "audit": {1: {}}},
	}
	var out strings.Builder
	if err := writeTxnDescription(&out, d, now); err != nil {
		t.Fatal(err)
	}
	want := "" +
		"CoordinatorId  TransactionalId  ProducerId  ProducerEpoch  TransactionState  TransactionTimeoutMs  CurrentTransactionStartTimeMs  TransactionDurationMs  TopicPartitions\n" +
		"1              payments         7           3              Ongoing           60000                 1700000000000                  90000                  audit-1,orders-0,orders-2\n"
	if out.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", out.String(), want)
	}

	// An Empty transaction has no start, no duration and no partitions.
	out.Reset()
	d.State, d.StartTimestamp, d.Topics = "Empty", -1, nil
	if err := writeTxnDescription(&out, d, now); err != nil {
		t.Fatal(err)
	}
	row := strings.Fields(tableLines(out.String())[1])
	if got, want := row[4:], []string{"Empty", "60000", "None", "None", "None"}; !reflect.DeepEqual(got, want) {
		t.Errorf("row tail = %q, want %q", got, want)
	}
}

func tableLines(s string) []string {
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

func TestTxnWriteProducers(t *testing.T) {
	var out strings.Builder
	err := writeProducers(&out, kadm.DescribedProducers{
		12: {ProducerID: 12, ProducerEpoch: 0, CoordinatorEpoch: -1, LastSequence: 4, LastTimestamp: 1_700_000_000_000, CurrentTxnStartOffset: -1},
		3:  {ProducerID: 3, ProducerEpoch: 5, CoordinatorEpoch: 2, LastSequence: 99, LastTimestamp: 1_700_000_001_000, CurrentTxnStartOffset: 140},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "" +
		"ProducerId  ProducerEpoch  LatestCoordinatorEpoch  LastSequence  LastTimestamp  CurrentTransactionStartOffset\n" +
		"3           5              2                       99            1700000001000  140\n" +
		"12          0              -1                      4             1700000000000  None\n"
	if out.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", out.String(), want)
	}
}

func TestTxnProducersFromResponse(t *testing.T) {
	resp := kmsg.NewPtrDescribeProducersResponse()
	rt := kmsg.NewDescribeProducersResponseTopic()
	rt.Topic = "orders"
	ok := kmsg.NewDescribeProducersResponseTopicPartition()
	ok.Partition = 0
	ap := kmsg.NewDescribeProducersResponseTopicPartitionActiveProducer()
	ap.ProducerID, ap.ProducerEpoch, ap.CoordinatorEpoch, ap.CurrentTxnStartOffset = 7, 2, 1, 30
	ap.LastSequence, ap.LastTimestamp = 8, 1_700_000_000_000
	ok.ActiveProducers = append(ok.ActiveProducers, ap)
	failed := kmsg.NewDescribeProducersResponseTopicPartition()
	failed.Partition, failed.ErrorCode = 1, kerr.NotLeaderForPartition.Code
	rt.Partitions = append(rt.Partitions, ok, failed)
	resp.Topics = append(resp.Topics, rt)

	got := producersFromResponse(4, resp)
	p := got["orders"].Partitions[0].ActiveProducers[7]
	want := kadm.DescribedProducer{Leader: 4, Topic: "orders", Partition: 0, ProducerID: 7, ProducerEpoch: 2, LastSequence: 8, LastTimestamp: 1_700_000_000_000, CoordinatorEpoch: 1, CurrentTxnStartOffset: 30}
	if p != want {
		t.Errorf("producer = %+v, want %+v", p, want)
	}
	if err := got["orders"].Partitions[1].Err; !errors.Is(err, kerr.NotLeaderForPartition) {
		t.Errorf("partition 1 err = %v", err)
	}
}

func TestTxnPickAbortTarget(t *testing.T) {
	producers := kadm.DescribedProducers{
		7: {ProducerID: 7, ProducerEpoch: 3, CoordinatorEpoch: -1, CurrentTxnStartOffset: 120},
		8: {ProducerID: 8, ProducerEpoch: 1, CoordinatorEpoch: 4, CurrentTxnStartOffset: 40},
		9: {ProducerID: 9, ProducerEpoch: 0, CoordinatorEpoch: 4, CurrentTxnStartOffset: -1},
	}
	got, err := pickAbortTarget(producers, "orders", 1, 120)
	if err != nil {
		t.Fatal(err)
	}
	// A producer that never saw a marker has coordinator epoch -1; the
	// marker carries 0.
	want := abortTarget{topic: "orders", partition: 1, producerID: 7, producerEpoch: 3, coordinatorEpoch: 0}
	if got != want {
		t.Errorf("target = %+v, want %+v", got, want)
	}
	if got, _ := pickAbortTarget(producers, "orders", 1, 40); got.producerID != 8 || got.coordinatorEpoch != 4 {
		t.Errorf("target at 40 = %+v", got)
	}
	_, err = pickAbortTarget(producers, "orders", 1, 41)
	if err == nil || !strings.Contains(err.Error(), "no open transaction starts at offset 41 on orders-1 (open transactions start at 40, 120)") {
		t.Errorf("err = %v", err)
	}
	_, err = pickAbortTarget(kadm.DescribedProducers{9: producers[9]}, "orders", 1, 0)
	if err == nil || !strings.Contains(err.Error(), "it has no open transactions") {
		t.Errorf("err = %v", err)
	}
}

func TestTxnMarkerOutcome(t *testing.T) {
	target := abortTarget{topic: "orders", partition: 1, producerID: 7, producerEpoch: 3}
	answer := func(err error) kadm.TxnMarkersResponses {
		return kadm.TxnMarkersResponses{7: {ProducerID: 7, Topics: kadm.TxnMarkersTopicResponses{
			"orders": {Topic: "orders", Partitions: kadm.TxnMarkersPartitionResponses{1: {Partition: 1, Err: err}}},
		}}}
	}
	if err := markerOutcome(answer(nil), nil, target); err != nil {
		t.Errorf("success: err = %v", err)
	}
	err := markerOutcome(answer(kerr.InvalidProducerEpoch), nil, target)
	if err == nil || !strings.Contains(err.Error(), "newer epoch of this producer") || !strings.Contains(err.Error(), "INVALID_PRODUCER_EPOCH") {
		t.Errorf("stale epoch: err = %v", err)
	}
	err = markerOutcome(answer(kerr.TransactionCoordinatorFenced), nil, target)
	if err == nil || !strings.Contains(err.Error(), "newer coordinator epoch") {
		t.Errorf("fenced: err = %v", err)
	}
	err = markerOutcome(nil, errors.New("dial refused"), target)
	if !errors.Is(err, errNoMarkerAnswer) || !strings.Contains(err.Error(), "dial refused") {
		t.Errorf("no answer: err = %v", err)
	}
	if err := markerOutcome(nil, nil, target); !errors.Is(err, errNoMarkerAnswer) {
		t.Errorf("empty answer: err = %v", err)
	}
}

// threeBrokerMetadata has topic orders (partition 0 on brokers 1,2;
// partition 1 on 2,3), audit (partition 0 on 3) and a topic that failed.
func threeBrokerMetadata() kadm.Metadata {
	return kadm.Metadata{
		Brokers: kadm.BrokerDetails{{NodeID: 1}, {NodeID: 2}, {NodeID: 3}},
		Topics: kadm.TopicDetails{
			"orders": {Topic: "orders", Partitions: kadm.PartitionDetails{
				0: {Topic: "orders", Partition: 0, Leader: 1, Replicas: []int32{1, 2}},
				1: {Topic: "orders", Partition: 1, Leader: 2, Replicas: []int32{2, 3}},
			}},
			"audit": {Topic: "audit", Partitions: kadm.PartitionDetails{
				0: {Topic: "audit", Partition: 0, Leader: 3, Replicas: []int32{3}},
			}},
			"gone": {Topic: "gone", Err: kerr.UnknownTopicOrPartition},
		},
	}
}

func TestTxnPartitionsToSearch(t *testing.T) {
	md := threeBrokerMetadata()
	tests := []struct {
		name    string
		opts    findHangingOptions
		want    kadm.TopicsSet
		wantErr string
	}{
		{"broker 2", findHangingOptions{broker: 2, partition: -1}, kadm.TopicsSet{"orders": {0: {}, 1: {}}}, ""},
		{"broker 3", findHangingOptions{broker: 3, partition: -1}, kadm.TopicsSet{"orders": {1: {}}, "audit": {0: {}}}, ""},
		{"topic", findHangingOptions{broker: noBroker, topic: "orders", partition: -1}, kadm.TopicsSet{"orders": {0: {}, 1: {}}}, ""},
		{"topic on broker", findHangingOptions{broker: 1, topic: "orders", partition: -1}, kadm.TopicsSet{"orders": {0: {}}}, ""},
		{"partition", findHangingOptions{broker: noBroker, topic: "orders", partition: 1}, kadm.TopicsSet{"orders": {1: {}}}, ""},
		{"partition not on broker", findHangingOptions{broker: 1, topic: "orders", partition: 1}, kadm.TopicsSet{}, ""},
		{"unknown broker", findHangingOptions{broker: 9, partition: -1}, nil, "broker 9 is not in the cluster (brokers: 1,2,3)"},
		{"unknown topic", findHangingOptions{broker: noBroker, topic: "nope", partition: -1}, nil, `topic "nope" does not exist`},
		{"failed topic", findHangingOptions{broker: noBroker, topic: "gone", partition: -1}, nil, `topic "gone": UNKNOWN_TOPIC_OR_PARTITION`},
		{"unknown partition", findHangingOptions{broker: noBroker, topic: "orders", partition: 5}, nil, `topic "orders" has no partition 5 (it has 2)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := partitionsToSearch(md, tt.opts)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("partitions = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestTxnChunkPartitions(t *testing.T) {
	set := kadm.TopicsSet{"b": {0: {}}, "a": {2: {}, 0: {}, 1: {}}, "c": {0: {}}}
	got := chunkPartitions(set, 2)
	want := []kadm.TopicsSet{
		{"a": {0: {}, 1: {}}},
		{"a": {2: {}}, "b": {0: {}}},
		{"c": {0: {}}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("chunks = %v, want %v", got, want)
	}
	if got := chunkPartitions(kadm.TopicsSet{}, 2); len(got) != 0 {
		t.Errorf("empty set gave %d chunks", len(got))
	}
}

func TestTxnCollectCandidates(t *testing.T) {
	now := time.UnixMilli(10_000_000)
	idleFor := func(d time.Duration) int64 { return now.Add(-d).UnixMilli() }
	producer := func(id, start int64, last int64) kadm.DescribedProducer {
		return kadm.DescribedProducer{Topic: "orders", Partition: 0, ProducerID: id, CurrentTxnStartOffset: start, LastTimestamp: last}
	}
	described := kadm.DescribedProducersTopics{"orders": {Topic: "orders", Partitions: kadm.DescribedProducersPartitions{
		0: {Topic: "orders", Partition: 0, ActiveProducers: kadm.DescribedProducers{
			1: producer(1, 10, idleFor(20*time.Minute)), // open and idle: candidate
			2: producer(2, -1, idleFor(time.Hour)),      // no open transaction
			3: producer(3, 50, idleFor(5*time.Minute)),  // open, within the timeout
			4: producer(4, 60, idleFor(15*time.Minute)), // exactly the timeout: not past it
		}},
		1: {Topic: "orders", Partition: 1, Err: kerr.NotLeaderForPartition},
	}}}
	searched := kadm.TopicsSet{"orders": {0: {}, 1: {}, 2: {}}}
	candidates, failures := collectCandidates(searched, described, errors.New("broker 3 down"), now, 15*time.Minute)
	if len(candidates) != 1 || candidates[0].ProducerID != 1 {
		t.Errorf("candidates = %+v, want producer 1 only", candidates)
	}
	wantFailures := []string{"orders-1: NOT_LEADER_FOR_PARTITION", "orders-2: broker 3 down"}
	if !reflect.DeepEqual(failures, wantFailures) {
		t.Errorf("failures = %q, want %q", failures, wantFailures)
	}
}

func TestTxnHangingTransactions(t *testing.T) {
	open := func(topic string, partition int32, producerID int64) kadm.DescribedProducer {
		return kadm.DescribedProducer{Topic: topic, Partition: partition, ProducerID: producerID, CurrentTxnStartOffset: 5}
	}
	candidates := []kadm.DescribedProducer{
		open("orders", 1, 10), // the coordinator lists no transactional id for it
		open("orders", 0, 11), // its transactional id is no longer known
		open("orders", 0, 12), // the ongoing transaction includes orders-0
		open("orders", 2, 12), // the same transaction does not include orders-2
		open("audit", 0, 13),  // its transaction moved on and includes nothing
	}
	txnIDs := map[int64]string{11: "forgotten", 12: "live", 13: "finished"}
	described := map[string]kadm.DescribedTransaction{
		"live":     {TxnID: "live", State: "Ongoing", ProducerID: 12, Topics: kadm.TopicsSet{"orders": {0: {}}}},
		"finished": {TxnID: "finished", State: "CompleteCommit", ProducerID: 13},
	}
	got := hangingTransactions(candidates, txnIDs, described)
	var names []string
	for _, h := range got {
		names = append(names, topicPartitionName(h.Topic, h.Partition)+"/"+itoa(h.ProducerID))
	}
	want := []string{"audit-0/13", "orders-0/11", "orders-1/10", "orders-2/12"}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("hanging = %q, want %q", names, want)
	}
}

func TestTxnTransactionalIDsByProducer(t *testing.T) {
	listed := kadm.ListedTransactions{
		"a": {TxnID: "a", ProducerID: 1},
		"b": {TxnID: "b", ProducerID: 2},
		"c": {TxnID: "c", ProducerID: 3},
	}
	got := transactionalIDsByProducer(listed, []int64{1, 3, 4})
	want := map[int64]string{1: "a", 3: "c"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ids = %v, want %v", got, want)
	}
}

func TestTxnKeepDescribed(t *testing.T) {
	into := map[string]kadm.DescribedTransaction{}
	described := kadm.DescribedTransactions{
		"live":      {TxnID: "live", State: "Ongoing"},
		"forgotten": {TxnID: "forgotten", Err: kerr.TransactionalIDNotFound},
	}
	if err := keepDescribed(into, described, []string{"forgotten", "live"}); err != nil {
		t.Fatal(err)
	}
	if _, ok := into["live"]; !ok || len(into) != 1 {
		t.Errorf("kept %v, want live only", into)
	}
	described["loading"] = kadm.DescribedTransaction{TxnID: "loading", Err: kerr.CoordinatorLoadInProgress}
	if err := keepDescribed(into, described, []string{"loading"}); err == nil || !strings.Contains(err.Error(), "COORDINATOR_LOAD_IN_PROGRESS") {
		t.Errorf("loading: err = %v", err)
	}
	if err := keepDescribed(into, described, []string{"missing"}); err == nil || !strings.Contains(err.Error(), "no answer") {
		t.Errorf("missing: err = %v", err)
	}
}

func TestTxnWriteHanging(t *testing.T) {
	now := time.UnixMilli(1_700_003_600_000)
	var out strings.Builder
	err := writeHanging(&out, []kadm.DescribedProducer{{
		Topic: "orders", Partition: 2, ProducerID: 7, ProducerEpoch: 3, CoordinatorEpoch: -1,
		CurrentTxnStartOffset: 1400, LastTimestamp: 1_700_000_000_001,
	}}, now)
	if err != nil {
		t.Fatal(err)
	}
	want := "" +
		"Topic   Partition  ProducerId  ProducerEpoch  CoordinatorEpoch  StartOffset  LastTimestamp  Duration(min)\n" +
		"orders  2          7           3              -1                1400         1700000000001  59\n"
	if out.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", out.String(), want)
	}
	out.Reset()
	if err := writeHanging(&out, nil, now); err != nil {
		t.Fatal(err)
	}
	if got := tableLines(out.String()); len(got) != 1 || !strings.HasPrefix(got[0], "Topic") {
		t.Errorf("no hanging transactions printed %q, want the header only", out.String())
	}
}

func TestTxnSummarizeFailures(t *testing.T) {
	if got := summarizeFailures([]string{"a", "b"}, 2); got != "a; b" {
		t.Errorf("got %q", got)
	}
	if got := summarizeFailures([]string{"a", "b", "c", "d"}, 2); got != "a; b; and 2 more" {
		t.Errorf("got %q", got)
	}
}

// TestTxnMain runs the txn commands through Main: usage errors exit 2 with
// the complaint, and an unreachable broker is a plain failure.
func TestTxnMain(t *testing.T) {
	down := closedPort(t)
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStderr string
	}{
		{"no subcommand", []string{"txn"}, ExitUsage, "usage: fjord txn SUBCOMMAND"},
		{"unknown subcommand", []string{"txn", "commit"}, ExitUsage, `unknown subcommand "commit"`},
		{"help lists find-hanging", []string{"txn", "-h"}, ExitUsage, "find-hanging"},
		{"abort without a transaction", []string{"txn", "abort", "--topic", "t", "--partition", "0"}, ExitUsage, "must be named by --start-offset"},
		{"list unknown state", []string{"txn", "list", "--state", "Running"}, ExitUsage, `unknown transaction state "Running"`},
		{"find-hanging without scope", []string{"txn", "find-hanging"}, ExitUsage, "--topic or --broker-id is required"},
		{"describe-producers without partition", []string{"txn", "describe-producers", "--topic", "t"}, ExitUsage, "--partition is required"},
		{"list broker down", []string{"txn", "list", "--brokers", down, "--timeout", "3s"}, ExitFailure, "fjord: listing transactions: "},
		{"describe broker down", []string{"txn", "describe", "--transactional-id", "x", "--brokers", down, "--timeout", "3s"}, ExitFailure, `fjord: describing transactional id "x": `},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			var stdout, stderr strings.Builder
			code := Main(ctx, tt.args, strings.NewReader(""), &stdout, &stderr, ClientCommands())
			if code != tt.wantCode {
				t.Errorf("exit code = %d, want %d; stderr:\n%s", code, tt.wantCode, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.wantStderr) {
				t.Errorf("stderr does not contain %q:\n%s", tt.wantStderr, stderr.String())
			}
		})
	}
}
