package streams_test

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/fjordhq/fjord/internal/clustertest"
	"github.com/fjordhq/fjord/streams"
)

// The joins of TestJoinsOnClusterUnderKills: orders are left-joined with
// the customers table, and each enriched order is joined with the payments
// of its customer made within a second of it. Payments arrive keyed by
// their own id and are re-keyed by customer, through a repartition topic.
const (
	joinParts = 6
	// joinCustomers are c00 to c35: c00-c24 end with a name, c25-c29 are
	// deleted, c30-c35 never exist.
	joinCustomers  = 36
	joinNamed      = 25
	joinDeleted    = 5
	joinDifference = time.Second
	// joinGrace is longer than the input's whole span of event time, so
	// that no record is ever late whatever stream time a task has reached
	// (it depends on how the tasks interleave their inputs and on when
	// they restarted): every pair within joinDifference joins.
	joinGrace  = 10 * time.Minute
	joinEvents = 5000
)

// joinTopics are the topics the test creates.
var joinTopics = []string{"customers", "orders", "payments", "customers-echo", "enriched-orders", "paid-orders"}

func newJoinTopology() (*streams.Topology, error) {
	b := streams.NewBuilder()
	customers := streams.TableFrom(b, "customers", streams.String, streams.String)
	// The echo tells the test when the table has been committed.
	customers.ToStream().To("customers-echo", streams.String, streams.String)
	orders := streams.StreamFrom(b, streams.String, streams.String, []string{"orders"})
	enriched := streams.LeftJoinStreamTable(orders, customers, enrichOrder)
	enriched.To("enriched-orders", streams.String, streams.String)
	payments := streams.Map(streams.StreamFrom(b, streams.String, streams.String, []string{"payments"}),
		func(id, customer string) (string, string) { return customer, id })
	paid := streams.JoinStreams(enriched, payments, payOrder, streams.JoinWithin(joinDifference, joinGrace),
		streams.StreamJoined[string, string, string]{Keys: streams.String, Left: streams.String, Right: streams.String, StoreName: "order-payments"})
	paid.To("paid-orders", streams.String, streams.String)
	return b.Build()
}

func enrichOrder(_, order string, name *string) string {
	if name == nil {
		return order + "@?"
	}
	return order + "@" + *name
}

func payOrder(_, order, payment string) string { return order + "+" + payment }

// joinOut is one output record as the check compares it; a tombstone has
// the value "<deleted>".
type joinOut struct {
	key, value string
	ts         int64
}

// joinEvent is one order or payment the test produced.
type joinEvent struct {
	customer, id string
	ts           int64
}

// TestJoinsOnClusterUnderKills runs a stream-table left join and a
// stream-stream inner join (one side repartitioned) under exactly_once_v2
// on a three-node cluster (internal topics with three replicas, two in
// sync) while instances are SIGKILLed, some losing their state directory,
// and a broker restarts. The table is written and committed before any
// order, and no record is late, so the model is exact whatever the timing
// of faults and the interleaving of inputs: every order is enriched once
// with its customer's last name, and every order and payment of a customer
// within a second of each other join once. A read_committed reader must
// see exactly the model's records, none lost, none twice.
func TestJoinsOnClusterUnderKills(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 16))
	began := time.Now()
	cluster := clustertest.Start(t, 3, map[string]string{"min.insync.replicas": "2"})
	addrs := cluster.Addrs()
	// Keys are hashed with murmur2 as the Streams partitioner hashes them,
	// so that customers, orders and the re-keyed payments are
	// co-partitioned.
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx := context.Background()
	adm := kadm.NewClient(cl)
	for _, topic := range joinTopics {
		if resp, err := adm.CreateTopic(ctx, joinParts, 3, nil, topic); err != nil || resp.Err != nil {
			t.Fatalf("create %s: %v %v", topic, err, resp.Err)
		}
	}
	procs := make([]*instanceProc, 3)
	envs := make([][]string, 3)
	dirs := make([]string, 3)
	for i := range procs {
		dirs[i] = filepath.Join(t.TempDir(), fmt.Sprint(i))
		envs[i] = []string{instanceEnv + "=joins", instanceBrokersEnv + "=" + strings.Join(addrs, ","), instanceRFEnv + "=3",
			instanceStateDirEnv + "=" + dirs[i], instanceAppIDEnv + "=joins-cluster"}
		procs[i] = startInstance(t, envs[i])
	}
	defer func() {
		for _, p := range procs {
			p.stop(t)
		}
	}()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	names, echo := produceCustomers(t, cl, base)
	// Orders start once the table is committed: then every incarnation of
	// every task finds the final table, restored or processed.
	readCommittedFrom(t, addrs, "customers-echo", total(echo), 2*time.Minute)
	t.Logf("the customers table is committed %v into the test", time.Since(began).Round(time.Millisecond))
	orders, payments := produceOrdersAndPayments(t, cl, rng, base, func(i int) {
		switch {
		case i == 2500:
			t.Logf("event %d: restarting broker 2", i)
			cluster.Node(2).Restart()
		case i%700 == 350:
			victim := rng.IntN(len(procs))
			procs[victim].kill()
			if rng.IntN(2) == 0 {
				if err := os.RemoveAll(dirs[victim]); err != nil {
					t.Error(err)
				}
				t.Logf("event %d: killed instance %d and removed its state directory", i, victim)
			} else {
				t.Logf("event %d: killed instance %d", i, victim)
			}
			procs[victim] = startInstance(t, envs[victim])
		}
	})
	want := map[string]map[joinOut]int{"customers-echo": echo}
	want["enriched-orders"], want["paid-orders"] = joinModel(names, orders, payments)
	t.Logf("%d orders and %d payments produced %v into the test; the model has %d joined",
		len(orders), len(payments), time.Since(began).Round(time.Millisecond), total(want["paid-orders"]))
	got, where := readJoinOutputs(t, addrs, want, 3*time.Minute)
	for _, topic := range slices.Sorted(maps.Keys(want)) {
		compareJoinOutput(t, topic, got[topic], want[topic], where)
	}
	if t.Failed() {
		describeJoinRepartition(t, addrs)
		describeGroup(t, addrs[0])
	}
}

// joinRepartition is the topic that carries the re-keyed payments from
// sub-topology 0 to sub-topology 1.
const joinRepartition = "joins-cluster-order-payments-right-repartition"

// describeJoinRepartition logs every payment that the committed repartition
// topic holds more than once: where each copy is, which producer wrote it,
// and where the payment is in its input, to tell which task processed
// which block of its input twice.
func describeJoinRepartition(t *testing.T, addrs []string) {
	t.Helper()
	read := func(topic string) []*kgo.Record {
		cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.ConsumeTopics(topic),
			kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		var records []*kgo.Record
		for {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			fetches := cl.PollFetches(ctx)
			cancel()
			if fetches.NumRecords() == 0 {
				return records
			}
			records = append(records, fetches.Records()...)
		}
	}
	source := make(map[string]*kgo.Record) // payment id: the payment
	for _, r := range read("payments") {
		source[string(r.Key)] = r
	}
	copies := make(map[string][]*kgo.Record) // payment id: its re-keyed copies
	for _, r := range read(joinRepartition) {
		copies[string(r.Value)] = append(copies[string(r.Value)], r)
	}
	twice := 0
	for _, id := range slices.Sorted(maps.Keys(copies)) {
		rs := copies[id]
		if len(rs) < 2 {
			continue
		}
		if twice++; twice > 200 {
			continue
		}
		var at []string
		for _, r := range rs {
			at = append(at, fmt.Sprintf("%d@%d (producer %d epoch %d)", r.Partition, r.Offset, r.ProducerID, r.ProducerEpoch))
		}
		src := "?"
		if s := source[id]; s != nil {
			src = fmt.Sprintf("%d@%d", s.Partition, s.Offset)
		}
		t.Logf("repartition: payment %s (payments %s) is there %d times: %v", id, src, len(rs), at)
	}
	t.Logf("repartition: %d of %d payments are there more than once", twice, len(copies))
}

// produceCustomers writes the customers table: a first name for c00 to
// c29, a second for c00 to c24 and a deletion of c25 to c29, an hour before
// the orders. It returns the table's final names and the echo's model.
func produceCustomers(t *testing.T, cl *kgo.Client, base int64) (map[string]string, map[joinOut]int) {
	t.Helper()
	names := make(map[string]string)
	echo := make(map[joinOut]int)
	var records []*kgo.Record
	add := func(customer, name string, deleted bool) {
		ts := base - time.Hour.Milliseconds() + int64(len(records))
		r := &kgo.Record{Topic: "customers", Key: []byte(customer), Timestamp: time.UnixMilli(ts)}
		value := "<deleted>"
		if !deleted {
			r.Value, value = []byte(name), name
		}
		records = append(records, r)
		echo[joinOut{customer, value, ts}]++
	}
	for c := range joinNamed + joinDeleted {
		add(fmt.Sprintf("c%02d", c), fmt.Sprintf("first-%02d", c), false)
	}
	for c := range joinNamed + joinDeleted {
		customer := fmt.Sprintf("c%02d", c)
		if c < joinNamed {
			names[customer] = fmt.Sprintf("last-%02d", c)
		}
		add(customer, names[customer], c >= joinNamed)
	}
	if err := cl.ProduceSync(context.Background(), records...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	return names, echo
}

// produceOrdersAndPayments writes orders keyed by customer and payments
// keyed by their id with the customer as value, calling between before
// each. Event time runs forward 20 ms an event; one event in eight is up
// to three seconds behind. The records go out in batches, so that the
// pace holds while a broker restarts; the model does not depend on the
// order in which they land.
func produceOrdersAndPayments(t *testing.T, cl *kgo.Client, rng *rand.Rand, base int64, between func(i int)) (orders, payments []joinEvent) {
	t.Helper()
	tick := time.NewTicker(time.Second / 250)
	defer tick.Stop()
	ctx := context.Background()
	for i := range joinEvents {
		<-tick.C
		between(i)
		customer := fmt.Sprintf("c%02d", rng.IntN(joinCustomers))
		ts := base + int64(i)*20
		if rng.IntN(8) == 0 {
			ts -= rng.Int64N(3000)
		}
		var r *kgo.Record
		if rng.IntN(2) == 0 {
			e := joinEvent{customer, fmt.Sprintf("o%04d", i), ts}
			orders = append(orders, e)
			r = &kgo.Record{Topic: "orders", Key: []byte(customer), Value: []byte(e.id)}
		} else {
			e := joinEvent{customer, fmt.Sprintf("p%04d", i), ts}
			payments = append(payments, e)
			r = &kgo.Record{Topic: "payments", Key: []byte(e.id), Value: []byte(customer)}
		}
		r.Timestamp = time.UnixMilli(ts)
		cl.Produce(ctx, r, func(_ *kgo.Record, err error) {
			if err != nil {
				t.Errorf("produce: %v", err)
			}
		})
		if i%50 == 49 {
			if err := cl.Flush(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := cl.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	return orders, payments
}

// joinModel is the brute-force result of both joins: each order enriched
// with its customer's final name, if any; and each order with each payment
// of its customer at most joinDifference apart, at the later timestamp.
func joinModel(names map[string]string, orders, payments []joinEvent) (enriched, paid map[joinOut]int) {
	enriched = make(map[joinOut]int)
	paid = make(map[joinOut]int)
	diff := joinDifference.Milliseconds()
	for _, o := range orders {
		var name *string
		if n, ok := names[o.customer]; ok {
			name = &n
		}
		value := enrichOrder(o.customer, o.id, name)
		enriched[joinOut{o.customer, value, o.ts}]++
		for _, p := range payments {
			if p.customer == o.customer && p.ts >= o.ts-diff && p.ts <= o.ts+diff {
				paid[joinOut{o.customer, payOrder(o.customer, value, p.id), max(o.ts, p.ts)}]++
			}
		}
	}
	return enriched, paid
}

func total(m map[joinOut]int) int {
	n := 0
	for _, c := range m {
		n += c
	}
	return n
}

// readJoinOutputs reads the committed output topics until each holds as
// many records as its model, then reads on for a quiet period, so that a
// duplicate committed after the last expected record is seen too.
func readJoinOutputs(t *testing.T, addrs []string, want map[string]map[joinOut]int, deadline time.Duration) (map[string]map[joinOut]int, map[joinOut][]string) {
	t.Helper()
	topics := slices.Collect(maps.Keys(want))
	began := time.Now()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.ConsumeTopics(topics...),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	got := make(map[string]map[joinOut]int)
	// where is each output's partition and offset per time read, to tell a
	// record written twice from one read twice.
	where := make(map[joinOut][]string)
	read := make(map[string]int)
	for _, topic := range topics {
		got[topic] = make(map[joinOut]int)
	}
	complete := func() bool {
		for _, topic := range topics {
			if read[topic] < total(want[topic]) {
				return false
			}
		}
		return true
	}
	poll := func(ctx context.Context) {
		cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) {
			value := "<deleted>"
			if r.Value != nil {
				value = string(r.Value)
			}
			out := joinOut{string(r.Key), value, r.Timestamp.UnixMilli()}
			got[r.Topic][out]++
			where[out] = append(where[out], fmt.Sprintf("%d@%d", r.Partition, r.Offset))
			read[r.Topic]++
		})
	}
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	for !complete() && ctx.Err() == nil {
		poll(ctx)
	}
	if ctx.Err() != nil {
		t.Errorf("read %v of the model's records before the deadline", read)
		return got, where
	}
	t.Logf("the output was complete %v after the last event", time.Since(began).Round(time.Millisecond))
	// The quiet period looks for records the model lacks; it waits for
	// no event.
	quiet, cancelQuiet := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancelQuiet()
	for quiet.Err() == nil {
		poll(quiet)
	}
	return got, where
}

// compareJoinOutput reports every record the output has more or fewer
// times than the model.
func compareJoinOutput(t *testing.T, topic string, got, want map[joinOut]int, where map[joinOut][]string) {
	t.Helper()
	records := slices.Collect(maps.Keys(want))
	for r := range got {
		if _, ok := want[r]; !ok {
			records = append(records, r)
		}
	}
	slices.SortFunc(records, func(a, b joinOut) int { return strings.Compare(a.key+"/"+a.value, b.key+"/"+b.value) })
	bad := 0
	partitions := map[string]int{} // bad records by the partition of their first copy
	for _, r := range records {
		if got[r] != want[r] {
			if bad++; bad <= 20 {
				t.Errorf("%s: key %s value %s at %d: %d times (at %v), want %d", topic, r.key, r.value, r.ts, got[r], where[r], want[r])
			}
			partitions[strings.Split(fmt.Sprint(where[r]), "@")[0]]++
		}
	}
	if bad > 0 {
		t.Errorf("%s: %d records differ from the model (%d records read, %d expected); by partition: %v", topic, bad, total(got), total(want), partitions)
	}
}
