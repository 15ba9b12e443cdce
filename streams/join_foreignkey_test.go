package streams

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// These tests are in package streams for the hash test vectors and the
// forged responses; the rest uses the public API only.

type order struct {
	Customer string
	Amount   int
}

// fkTopology joins orders (by order id) with customers (by customer id)
// through order.Customer, and writes the result to "enriched".
func fkTopology(t *testing.T, left bool, opts ...StoreOption) *Topology {
	t.Helper()
	b := NewBuilder()
	orders := TableFrom(b, "orders", String, JSON[order](), As("orders"))
	customers := TableFrom(b, "customers", String, String, As("customers"))
	customerOf := func(o order) string { return o.Customer }
	var joined Table[string, string]
	if left {
		joined = ForeignKeyLeftJoin(orders, customers, customerOf, func(_ string, o order, name *string) string {
			if name == nil {
				return fmt.Sprintf("%d@-", o.Amount)
			}
			return fmt.Sprintf("%d@%s", o.Amount, *name)
		}, String, append([]StoreOption{As("enriched")}, opts...)...)
	} else {
		joined = ForeignKeyJoin(orders, customers, customerOf, func(_ string, o order, name string) string {
			return fmt.Sprintf("%d@%s", o.Amount, name)
		}, String, append([]StoreOption{As("enriched")}, opts...)...)
	}
	joined.ToStream().To("enriched", String, String)
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return topo
}

// fkModel is what a foreign-key join holds: the join of the two tables'
// current contents.
func fkModel(orders map[string]order, customers map[string]string, left bool) map[string]string {
	out := make(map[string]string)
	for id, o := range orders {
		name, ok := customers[o.Customer]
		switch {
		case ok:
			out[id] = fmt.Sprintf("%d@%s", o.Amount, name)
		case left:
			out[id] = fmt.Sprintf("%d@-", o.Amount)
		}
	}
	return out
}

// fold applies output records to a view of the table they describe.
func fold[V any](t *testing.T, view map[string]V, out *TestOutputTopic[string, V]) {
	t.Helper()
	records, err := out.ReadRecords()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range records {
		if r.Tombstone {
			delete(view, r.Key)
		} else {
			view[r.Key] = r.Value
		}
	}
}

func TestForeignKeyJoinScenario(t *testing.T) {
	for _, left := range []bool{false, true} {
		t.Run(fmt.Sprintf("left=%v", left), func(t *testing.T) {
			d, err := NewTestDriver(fkTopology(t, left), TestDriverConfig{})
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			orders := NewTestInputTopic(d, "orders", String, JSON[order]())
			customers := NewTestInputTopic(d, "customers", String, String)
			out := NewTestOutputTopic(d, "enriched", String, String)
			ts := time.UnixMilli(1000)
			var got []string
			step := func(err error) {
				t.Helper()
				if err != nil {
					t.Fatal(err)
				}
				records, err := out.ReadRecords()
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range records {
					if r.Tombstone {
						got = append(got, r.Key+"=null")
					} else {
						got = append(got, r.Key+"="+r.Value)
					}
				}
			}
			step(orders.Pipe("o1", order{"c1", 10}, ts)) // no customer yet
			step(customers.Pipe("c1", "ann", ts))        // joins o1
			step(orders.Pipe("o1", order{"c1", 11}, ts)) // update, same key
			step(orders.Pipe("o1", order{"c2", 12}, ts)) // moves to a missing customer
			step(customers.Pipe("c2", "bob", ts))        // joins o1
			step(customers.Pipe("c1", "ann2", ts))       // o1 no longer subscribes to c1
			step(customers.PipeTombstone("c2", ts))      // deletes (inner) or unmatches (left)
			step(orders.PipeTombstone("o1", ts))         // deletes the result
			want := "o1=10@ann o1=11@ann o1=null o1=12@bob o1=null"
			if left {
				want = "o1=10@- o1=10@ann o1=11@ann o1=12@- o1=12@- o1=12@bob o1=12@- o1=null"
			}
			if g := strings.Join(got, " "); g != want {
				t.Fatalf("results\n got %s\nwant %s", g, want)
			}
		})
	}
}

func TestForeignKeyJoinTopology(t *testing.T) {
	desc := fkTopology(t, false).Describe()
	for _, want := range []string{
		"<application.id>-KTABLE-FK-JOIN-SUBSCRIPTION-REGISTRATION-",
		"<application.id>-KTABLE-FK-JOIN-SUBSCRIPTION-RESPONSE-",
		"-topic (repartition)",
		"Processor: KTABLE-FK-JOIN-OUTPUT-",
		"KTABLE-FK-JOIN-SUBSCRIPTION-STATE-STORE-",
		"KTABLE-FK-JOIN-SUBSCRIPTION-STATE-STORE-0000000010-changelog (changelog)",
	} {
		if !strings.Contains(desc, want) {
			t.Errorf("Describe lacks %q:\n%s", want, desc)
		}
	}
	b := NewBuilder()
	orders := TableFrom(b, "orders", String, JSON[order]())
	mapped := TableMapValues(orders, func(_ string, o order) order { return o })
	customers := TableFrom(b, "customers", String, String)
	ForeignKeyJoin(mapped, customers, func(o order) string { return o.Customer }, func(string, order, string) int64 { return 0 }, Int64)
	if _, err := b.Build(); err == nil || !strings.Contains(err.Error(), "serdes") {
		t.Fatalf("a table without a value serde: %v, want an error naming the serdes", err)
	}
}

// TestForeignKeyJoinModel checks, over many seeds, that after every
// insert, update, foreign-key change or delete on either side the join's
// output equals the join of the two tables' current contents.
func TestForeignKeyJoinModel(t *testing.T) {
	seeds := 240
	if testing.Short() {
		seeds = 40
	}
	for seed := range seeds {
		left := seed%2 == 1
		var opts []StoreOption
		cfg := TestDriverConfig{}
		if seed%4 >= 2 {
			cfg.CacheMaxBytes = 1 << 20
			opts = append(opts, InMemory())
		}
		runFKModel(t, uint64(seed), left, fkTopology(t, left, opts...), cfg)
		if t.Failed() {
			t.Fatalf("seed %d (left=%v, cache=%d)", seed, left, cfg.CacheMaxBytes)
		}
	}
}

func runFKModel(t *testing.T, seed uint64, left bool, topo *Topology, cfg TestDriverConfig) {
	rng := rand.New(rand.NewPCG(seed, 7))
	d, err := NewTestDriver(topo, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ordersIn := NewTestInputTopic(d, "orders", String, JSON[order]())
	customersIn := NewTestInputTopic(d, "customers", String, String)
	out := NewTestOutputTopic(d, "enriched", String, String)
	orders, customers, view := map[string]order{}, map[string]string{}, map[string]string{}
	for step := range 60 {
		ts := time.UnixMilli(int64(1000 + rng.IntN(500))) // out of order
		if rng.IntN(2) == 0 {
			id := fmt.Sprintf("o%d", rng.IntN(6))
			if rng.IntN(4) == 0 {
				delete(orders, id)
				err = ordersIn.PipeTombstone(id, ts)
			} else {
				o := order{Customer: fmt.Sprintf("c%d", rng.IntN(4)), Amount: rng.IntN(3)}
				orders[id] = o
				err = ordersIn.Pipe(id, o, ts)
			}
		} else {
			id := fmt.Sprintf("c%d", rng.IntN(4))
			if rng.IntN(4) == 0 {
				delete(customers, id)
				err = customersIn.PipeTombstone(id, ts)
			} else {
				customers[id] = fmt.Sprintf("n%d", rng.IntN(3))
				err = customersIn.Pipe(id, customers[id], ts)
			}
		}
		if err != nil {
			t.Fatal(err)
		}
		fold(t, view, out)
		if want := fkModel(orders, customers, left); !maps.Equal(view, want) {
			t.Errorf("step %d: join\n got %v\nwant %v", step, view, want)
			return
		}
	}
	checkStore(t, d, "enriched", fkModel(orders, customers, left))
}

// checkStore compares a table store's contents with want.
func checkStore(t *testing.T, d *TestDriver, name string, want map[string]string) {
	t.Helper()
	s, err := d.StateStore(name)
	if err != nil {
		t.Fatal(err)
	}
	it, err := s.(KeyValueStore[string, ValueAndTimestamp[string]]).All()
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	got := map[string]string{}
	for it.Next() {
		got[it.Key()] = it.Value().Value
	}
	if it.Err() != nil {
		t.Fatal(it.Err())
	}
	if !maps.Equal(got, want) {
		t.Errorf("store %s\n got %v\nwant %v", name, got, want)
	}
}

// TestForeignKeyJoinDropsStaleResponses forges responses into the
// response topic: one carrying the hash of a value the row no longer has
// is dropped, one with the current value's hash is joined.
func TestForeignKeyJoinDropsStaleResponses(t *testing.T) {
	topo := fkTopology(t, false)
	d, err := NewTestDriver(topo, TestDriverConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var responseTopic string
	for suffix := range topo.internalTopics {
		if strings.Contains(suffix, "SUBSCRIPTION-RESPONSE") {
			responseTopic = "test-app-" + suffix
		}
	}
	orders := NewTestInputTopic(d, "orders", String, JSON[order]())
	responses := NewTestInputTopic(d, responseTopic, String, Serde[fkResponse](fkResponseSerde{}))
	out := NewTestOutputTopic(d, "enriched", String, String)
	ts := time.UnixMilli(1000)
	if err := orders.Pipe("o1", order{"c1", 1}, ts); err != nil {
		t.Fatal(err)
	}
	if err := orders.Pipe("o1", order{"c1", 2}, ts); err != nil {
		t.Fatal(err)
	}
	hashOf := func(o order) valueHash {
		data, err := JSON[order]().Serialize("", o)
		if err != nil {
			t.Fatal(err)
		}
		return hashValue(data)
	}
	stale := fkResponse{hash: hashOf(order{"c1", 1}), value: []byte("old"), hasValue: true}
	fresh := fkResponse{hash: hashOf(order{"c1", 2}), value: []byte("new"), hasValue: true}
	for _, r := range []fkResponse{stale, fresh} {
		if err := responses.Pipe("o1", r, ts); err != nil {
			t.Fatal(err)
		}
	}
	records, err := out.ReadRecords()
	if err != nil {
		t.Fatal(err)
	}
	if len(records) != 1 || records[0].Value != "2@new" {
		t.Fatalf("results %+v, want only 2@new", records)
	}
}

// TestMurmur3 checks the hash against the vectors of Kafka's Murmur3Test
// (seed 123).
func TestMurmur3(t *testing.T) {
	for _, tc := range []struct {
		in     string
		h1, h2 int64
	}{
		{"21", 5857341059704281894, -5288187638297930763},
		{"foobar", -351361463397418609, 8959716011862540668},
		{"a-little-bit-long-string", 8836256500583638442, -198172363548498523},
		{"a-little-bit-longer-string", 1838346159335108511, 8794688210320490705},
		{"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -4024021876037397259, -1482317706335141238},
		{"abc", 1489494923063836066, -5440978547625122829},
	} {
		h1, h2 := murmur3x64([]byte(tc.in), 123)
		if int64(h1) != tc.h1 || int64(h2) != tc.h2 {
			t.Errorf("murmur3(%q) = %d, %d; want %d, %d", tc.in, int64(h1), int64(h2), tc.h1, tc.h2)
		}
	}
}

func TestForeignKeyWireFormats(t *testing.T) {
	subs := []fkSubscription{
		{instruction: fkDeleteAndPropagate, partition: 3, primaryKey: []byte("pk")},
		{instruction: fkPropagateOnlyIfValue, hash: hashValue([]byte("v")), partition: -1, primaryKey: []byte{}},
	}
	for _, s := range subs {
		data, _ := fkSubscriptionSerde{}.Serialize("t", s)
		got, err := fkSubscriptionSerde{}.Deserialize("t", data)
		if err != nil || got.instruction != s.instruction || got.hash != s.hash || got.partition != s.partition || string(got.primaryKey) != string(s.primaryKey) {
			t.Errorf("subscription %+v came back as %+v, %v", s, got, err)
		}
		for n := range len(data) - len(s.primaryKey) - 4 {
			if _, err := (fkSubscriptionSerde{}).Deserialize("t", data[:n]); err == nil {
				t.Errorf("subscription cut to %d bytes decoded", n)
			}
		}
	}
	for _, r := range []fkResponse{{}, {hash: hashValue(nil)}, {hash: hashValue([]byte("x")), value: []byte("vo"), hasValue: true}} {
		data, _ := fkResponseSerde{}.Serialize("t", r)
		got, err := fkResponseSerde{}.Deserialize("t", data)
		if err != nil || got.hash != r.hash || got.hasValue != r.hasValue || string(got.value) != string(r.value) {
			t.Errorf("response %+v came back as %+v, %v", r, got, err)
		}
	}
	if _, err := (fkResponseSerde{}).Deserialize("t", []byte{0, fkResponseHasHash, 1, 2}); err == nil {
		t.Error("a truncated response decoded")
	}
}

// TestAppForeignKeyJoin runs a foreign-key join in an App against a real
// broker, with tables of 3 and 2 partitions: responses must find their
// way back to the partition of the row that subscribed.
func TestAppForeignKeyJoin(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a broker")
	}
	addr := startGlobalTestBroker(t, map[string]int32{"orders": 3, "customers": 2, "enriched": 1})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	producer, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer producer.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	orders, customers := map[string]order{}, map[string]string{}
	for i := range 200 {
		r := &kgo.Record{}
		if i%3 == 0 {
			id := fmt.Sprintf("c%d", rng.IntN(8))
			r.Topic, r.Key = "customers", []byte(id)
			if rng.IntN(5) == 0 {
				delete(customers, id)
			} else {
				customers[id] = fmt.Sprintf("n%d", i)
				r.Value = []byte(customers[id])
			}
		} else {
			id := fmt.Sprintf("o%d", rng.IntN(20))
			r.Topic, r.Key = "orders", []byte(id)
			if rng.IntN(5) == 0 {
				delete(orders, id)
			} else {
				orders[id] = order{Customer: fmt.Sprintf("c%d", rng.IntN(8)), Amount: i}
				r.Value, _ = JSON[order]().Serialize("orders", orders[id])
			}
		}
		if err := producer.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	cfg := NewConfig("fk-e2e", addr)
	cfg.ProcessingGuarantee = ExactlyOnceV2
	cfg.CommitInterval = 100 * time.Millisecond
	cfg.StateDir = t.TempDir()
	app, err := NewApp(fkTopology(t, false), cfg, WithLogger(t.Logf))
	if err != nil {
		t.Fatal(err)
	}
	if err := app.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer app.Close(ctx)
	out := newGlobalTestReader(t, addr, "enriched")
	want := fkModel(orders, customers, false)
	view := map[string]string{}
	for !maps.Equal(view, want) {
		fetches := out.client.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("join\n got %v\nwant %v", view, want)
		}
		fetches.EachRecord(func(r *kgo.Record) {
			if r.Value == nil {
				delete(view, string(r.Key))
			} else {
				view[string(r.Key)] = string(r.Value)
			}
		})
	}
}
