package streams

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fjordhq/fjord/streams/internal/assign"
)

// These tests give an App that was never started tasks and an assignment
// by hand, so that the query code sees what a running App would show it,
// without a broker. query_e2e_test.go runs the real thing.

type discardCollector struct{}

func (discardCollector) send(string, int32, []byte, []byte, []Header, int64) {}

const iqPartitions = 3

func newIQApp(t *testing.T, topo *Topology, self string, cacheBytes int64) *App {
	t.Helper()
	cfg := NewConfig("iq-test", "127.0.0.1:1")
	cfg.ApplicationServer = self
	cfg.CacheMaxBytes = cacheBytes
	a, err := NewApp(topo, cfg, WithLogger(t.Logf))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range a.subs {
		a.tasksPerSub[s.id] = iqPartitions
	}
	a.env.collector = discardCollector{}
	a.mu.state = Running
	return a
}

func addIQThread(a *App, index int) *streamThread {
	th := &streamThread{app: a, index: index, tasks: make(map[TaskID]*task), standbys: make(map[TaskID]*task)}
	a.mu.threads[index] = th
	return th
}

// openIQTask opens task sub_p on th, active or standby.
func openIQTask(t *testing.T, th *streamThread, sub int, p int32, standby bool) *task {
	t.Helper()
	id := TaskID{Subtopology: sub, Partition: p}
	var tk *task
	var err error
	if standby {
		tk, err = openStandby(th.app.env, th.app.subs[sub], p, nil)
		th.standbys[id] = tk
	} else {
		tk, err = newTask(th.app.env, th.app.subs[sub], p, nil)
		th.tasks[id] = tk
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tk.close() })
	return tk
}

// setIQHosts installs an assignment's map of hosts; each host lists the
// partitions of topic it runs, then "standby" and those it keeps standbys of.
func setIQHosts(a *App, topic string, hosts map[string][2][]int32) {
	active, standby := map[string][]assign.TopicPartition{}, map[string][]assign.TopicPartition{}
	for h, ps := range hosts {
		for _, p := range ps[0] {
			active[h] = append(active[h], assign.TopicPartition{Topic: topic, Partition: p})
		}
		for _, p := range ps[1] {
			standby[h] = append(standby[h], assign.TopicPartition{Topic: topic, Partition: p})
		}
	}
	a.mu.Lock()
	a.mu.hosts = assign.Assignment{Version: assign.AssignmentVersion, PartitionsByHost: active, StandbyPartitionsByHost: standby}
	a.mu.Unlock()
}

func tableTopology(t *testing.T) *Topology {
	t.Helper()
	b := NewBuilder()
	TableFrom(b, "table-in", String, String, As("tbl"))
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return topo
}

func pipeIQ(t *testing.T, tk *task, key string, value *string, ts int64) {
	t.Helper()
	rec := &inputRecord{topic: "table-in", partition: tk.id.Partition, key: []byte(key), timestamp: ts}
	if value != nil {
		rec.value = []byte(*value)
	}
	if err := tk.process(rec); err != nil {
		t.Fatal(err)
	}
}

func TestPartitionForKeyMatchesKafka(t *testing.T) {
	// Kafka's UtilsTest.testMurmur2 vectors; partitions of MaxInt32 leave
	// toPositive(murmur2) as it is.
	for key, hash := range map[string]int32{
		"21": -973932308, "foobar": -790332482, "a-little-bit-long-string": -985981536,
		"a-little-bit-longer-string": -1486304829, "lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971, "abc": 479470107,
	} {
		want := int32(uint32(hash)&0x7fffffff) % math.MaxInt32
		if got := partitionForKey([]byte(key), math.MaxInt32); got != want {
			t.Errorf("partition of %q: %d, want %d", key, got, want)
		}
		if got, want := partitionForKey([]byte(key), 7), int32(uint32(hash)&0x7fffffff)%7; got != want {
			t.Errorf("partition of %q of 7: %d, want %d", key, got, want)
		}
	}
}

// TestQueryKeyValueStoreModel checks Get, Range and All of a cached DSL
// table against a map, over random updates, deletes and flushes spread
// over three tasks on two threads.
func TestQueryKeyValueStoreModel(t *testing.T) {
	for seed := range uint64(60) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { runQueryModel(t, seed) })
	}
}

type modelValue struct {
	value string
	ts    int64
}

func runQueryModel(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 16))
	a := newIQApp(t, tableTopology(t), "", []int64{0, 300, 1 << 20}[seed%3])
	threads := []*streamThread{addIQThread(a, 0), addIQThread(a, 1)}
	tasks := make([]*task, iqPartitions)
	for p := range int32(iqPartitions) {
		tasks[p] = openIQTask(t, threads[p%2], 0, p, false)
	}
	keys := []string{"", "a", "a\x00", "a\x00b", "b", "k"}
	for i := range 20 {
		keys = append(keys, fmt.Sprintf("k%02d", i))
	}
	model := make(map[string]modelValue)
	for i := range 300 {
		key := keys[rng.IntN(len(keys))]
		tk := tasks[partitionForKey([]byte(key), iqPartitions)]
		if rng.IntN(5) == 0 {
			pipeIQ(t, tk, key, nil, int64(i))
			delete(model, key)
		} else {
			v := fmt.Sprint(rng.IntN(1000))
			pipeIQ(t, tk, key, &v, int64(i))
			model[key] = modelValue{v, int64(i)}
		}
		if rng.IntN(40) == 0 {
			if err := tasks[rng.IntN(len(tasks))].flush(); err != nil {
				t.Fatal(err)
			}
		}
	}
	checkQueryModel(t, a, rng, keys, model)
	for _, tk := range tasks {
		if err := tk.flush(); err != nil {
			t.Fatal(err)
		}
	}
	checkQueryModel(t, a, rng, keys, model)
	kv, _ := QueryKeyValueStore[string, string](a, "tbl")
	if n, err := kv.ApproximateNumEntries(); err != nil || n != int64(len(model)) {
		t.Fatalf("ApproximateNumEntries = %d, %v; want %d", n, err, len(model))
	}
}

func checkQueryModel(t *testing.T, a *App, rng *rand.Rand, keys []string, model map[string]modelValue) {
	t.Helper()
	kv, err := QueryKeyValueStore[string, string](a, "tbl")
	if err != nil {
		t.Fatal(err)
	}
	timed, err := QueryTimestampedKeyValueStore[string, string](a, "tbl")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		want, wantOK := model[k]
		v, ok, err := kv.Get(k)
		if err != nil || ok != wantOK || v != want.value {
			t.Fatalf("Get(%q) = %q, %v, %v; want %q, %v", k, v, ok, err, want.value, wantOK)
		}
		vt, ok, err := timed.Get(k)
		if err != nil || ok != wantOK || vt.Value != want.value || vt.Timestamp != want.ts {
			t.Fatalf("timestamped Get(%q) = %+v, %v, %v; want %+v", k, vt, ok, err, want)
		}
	}
	checkScan(t, "All", kv.All, model, func(string) bool { return true })
	for range 10 {
		from, to := keys[rng.IntN(len(keys))], keys[rng.IntN(len(keys))]
		checkScan(t, fmt.Sprintf("Range(%q, %q)", from, to), func() ([]KeyValue[string, string], error) { return kv.Range(from, to) },
			model, func(k string) bool { return k >= from && k <= to })
	}
	for p := range int32(iqPartitions) {
		one, err := QueryKeyValueStore[string, string](a, "tbl", WithPartition(p))
		if err != nil {
			t.Fatal(err)
		}
		checkScan(t, fmt.Sprintf("All of partition %d", p), one.All, model, func(k string) bool { return partitionForKey([]byte(k), iqPartitions) == p })
	}
}

func checkScan(t *testing.T, what string, scan func() ([]KeyValue[string, string], error), model map[string]modelValue, keep func(string) bool) {
	t.Helper()
	got, err := scan()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	var want []KeyValue[string, string]
	for _, k := range slices.Sorted(maps.Keys(model)) {
		if keep(k) {
			want = append(want, KeyValue[string, string]{k, model[k].value})
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("%s\n got %q\nwant %q", what, got, want)
	}
}

// keyIn returns a key of the table topology's partition p.
func keyIn(p int32) string {
	for i := 0; ; i++ {
		if k := fmt.Sprintf("key%d", i); partitionForKey([]byte(k), iqPartitions) == p {
			return k
		}
	}
}

// routingFixture hosts partition 0 active and 1 standby on "self:1";
// "other:1" runs 1 and 2 and keeps a standby of 0.
func routingFixture(t *testing.T) (*App, *streamThread) {
	t.Helper()
	a := newIQApp(t, tableTopology(t), "self:1", 0)
	th := addIQThread(a, 0)
	pipeIQ(t, openIQTask(t, th, 0, 0, false), keyIn(0), ptr("zero"), 1)
	sb := openIQTask(t, th, 0, 1, true)
	if err := sb.stores["tbl"].typed.(*kvStore[string, ValueAndTimestamp[string]]).Put(keyIn(1), ValueAndTimestamp[string]{Value: "one", Timestamp: 2}); err != nil {
		t.Fatal(err)
	}
	setIQHosts(a, "table-in", map[string][2][]int32{"self:1": {{0}, {1}}, "other:1": {{1, 2}, {0}}})
	return a, th
}

func ptr[T any](v T) *T { return &v }

func TestQueryRoutesToTheKeysPartition(t *testing.T) {
	a, _ := routingFixture(t)
	kv, err := QueryKeyValueStore[string, string](a, "tbl")
	if err != nil {
		t.Fatal(err)
	}
	if v, ok, err := kv.Get(keyIn(0)); err != nil || !ok || v != "zero" {
		t.Fatalf("Get of a local key = %q, %v, %v", v, ok, err)
	}
	_, _, err = kv.Get(keyIn(1))
	var nh *NotHostedError
	if !errors.As(err, &nh) || !errors.Is(err, ErrNotHostedHere) {
		t.Fatalf("Get of a key hosted elsewhere: %v", err)
	}
	if nh.ActiveHost != "other:1" || !slices.Equal(nh.StandbyHosts, []string{"self:1"}) || nh.Partition != 1 || nh.Store != "tbl" {
		t.Fatalf("NotHostedError %+v", nh)
	}
	stale, err := QueryKeyValueStore[string, string](a, "tbl", WithStaleStores())
	if err != nil {
		t.Fatal(err)
	}
	if v, ok, err := stale.Get(keyIn(1)); err != nil || !ok || v != "one" {
		t.Fatalf("stale Get of a standby's key = %q, %v, %v", v, ok, err)
	}
	if _, _, err := stale.Get(keyIn(2)); !errors.Is(err, ErrNotHostedHere) {
		t.Fatalf("stale Get of a key on no local task: %v", err)
	}
	if all, err := kv.All(); err != nil || len(all) != 1 {
		t.Fatalf("All = %v, %v; want the active task's entry", all, err)
	}
	if all, err := stale.All(); err != nil || len(all) != 2 {
		t.Fatalf("stale All = %v, %v; want the active's and the standby's", all, err)
	}
	two, _ := QueryKeyValueStore[string, string](a, "tbl", WithPartition(2))
	if _, err := two.All(); !errors.Is(err, ErrNotHostedHere) {
		t.Fatalf("All of a partition hosted elsewhere: %v", err)
	}
	// The assignment gives partition 2 here, but its task is not open yet.
	setIQHosts(a, "table-in", map[string][2][]int32{"self:1": {{0, 2}, {1}}, "other:1": {{1}, {0}}})
	if _, _, err := kv.Get(keyIn(2)); !errors.Is(err, ErrStoreNotReady) {
		t.Fatalf("Get of a key whose task is on its way: %v", err)
	}
}

func TestQueryWhileRebalancing(t *testing.T) {
	a, th := routingFixture(t)
	kv, _ := QueryKeyValueStore[string, string](a, "tbl")
	stale, _ := QueryKeyValueStore[string, string](a, "tbl", WithStaleStores())
	th.mu.events = append(th.mu.events, groupEvent{revoked: true})
	th.mu.rebalancing = true
	if _, _, err := kv.Get(keyIn(0)); !errors.Is(err, ErrStoreNotReady) {
		t.Fatalf("Get while the thread rebalances: %v", err)
	}
	if v, _, err := stale.Get(keyIn(0)); err != nil || v != "zero" {
		t.Fatalf("stale Get while the thread rebalances between rounds = %q, %v", v, err)
	}
	// A thread restoring holds its lock: a stale query does not wait.
	th.stateMu.Lock()
	_, _, err := stale.Get(keyIn(0))
	th.stateMu.Unlock()
	if !errors.Is(err, ErrStoreNotReady) {
		t.Fatalf("stale Get while the thread restores: %v", err)
	}
	th.settled() // an event is still queued
	if !th.isRebalancing() {
		t.Fatal("settled with an event queued")
	}
	th.takeEvents()
	th.settled()
	if _, _, err := kv.Get(keyIn(0)); err != nil {
		t.Fatalf("Get once settled: %v", err)
	}
	for state, want := range map[State]error{Rebalancing: ErrStoreNotReady, Created: errNotStarted, NotRunning: ErrClosed, PendingShutdown: ErrClosed} {
		a.mu.state = state
		if _, _, err := kv.Get(keyIn(0)); !errors.Is(err, want) {
			t.Errorf("Get in state %s: %v, want %v", state, err, want)
		}
	}
	a.mu.state = Rebalancing
	if _, _, err := stale.Get(keyIn(0)); err != nil {
		t.Errorf("stale Get while the application rebalances: %v", err)
	}
	a.mu.state = Error
	if _, _, err := kv.Get(keyIn(0)); err == nil {
		t.Error("Get in state ERROR succeeded")
	}
}

func TestQueryProcessorAPIStore(t *testing.T) {
	topo := NewTopology()
	src := AddSource(topo, "src", String, Int64, "papi-in")
	AddProcessorFunc(topo, "proc", func(ProcessorContext[string, int64], Record[string, int64]) error { return nil }, src)
	topo.AddStateStore(KeyValueStoreBuilder("papi", String, Int64), "proc")
	a := newIQApp(t, topo, "", 0)
	th := addIQThread(a, 0)
	for p := range int32(iqPartitions) {
		s := openIQTask(t, th, 0, p, false).stores["papi"].typed.(*kvStore[string, int64])
		if err := s.Put(keyIn(p), int64(p)+10); err != nil {
			t.Fatal(err)
		}
	}
	kv, err := QueryKeyValueStore[string, int64](a, "papi")
	if err != nil {
		t.Fatal(err)
	}
	if v, ok, err := kv.Get(keyIn(2)); err != nil || !ok || v != 12 {
		t.Fatalf("Get = %d, %v, %v", v, ok, err)
	}
	if all, err := kv.All(); err != nil || len(all) != iqPartitions {
		t.Fatalf("All = %v, %v", all, err)
	}
	for name, err := range map[string]error{
		"wrong value type":      errOf(QueryKeyValueStore[string, string](a, "papi")),
		"wrong key type":        errOf(QueryKeyValueStore[int64, int64](a, "papi")),
		"not timestamped":       errOf(QueryTimestampedKeyValueStore[string, int64](a, "papi")),
		"not a window store":    errOf(QueryWindowStore[string, int64](a, "papi")),
		"unknown store":         errOf(QueryKeyValueStore[string, int64](a, "nope")),
		"unknown store's hosts": errOf(a.StoreMetadata("nope")),
	} {
		if !errors.Is(err, ErrUnknownStore) {
			t.Errorf("%s: %v, want ErrUnknownStore", name, err)
		}
	}
}

func errOf[T any](_ T, err error) error { return err }

func TestQueryWindowStore(t *testing.T) {
	b := NewBuilder()
	in := StreamFrom(b, String, String, []string{"table-in"})
	WindowedBy(GroupByKey(in, String, String), TimeWindowsOf(10*time.Second).WithGrace(time.Hour)).Count(As("wcounts"))
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	src := AddSource(topo, "papi-src", String, String, "papi-in")
	AddProcessorFunc(topo, "papi-proc", func(ProcessorContext[string, string], Record[string, string]) error { return nil }, src)
	topo.AddStateStore(WindowStoreBuilder("papi-win", String, String, 10*time.Second, time.Hour), "papi-proc")
	a := newIQApp(t, topo, "", 0)
	th := addIQThread(a, 0)
	tasks := make([]*task, iqPartitions)
	for p := range int32(iqPartitions) {
		tasks[p] = openIQTask(t, th, 0, p, false)
	}
	papiTask := openIQTask(t, th, 1, 1, false)
	k := keyIn(1)
	for _, ts := range []int64{1_000, 2_000, 12_000, 25_000} {
		pipeIQ(t, tasks[1], k, ptr("x"), ts)
	}
	pipeIQ(t, tasks[0], keyIn(0), ptr("y"), 3_000)
	papi := papiTask.stores["papi-win"].typed.(*windowStore[string, string])
	if err := papi.Put(k, "w", time.UnixMilli(20_000)); err != nil {
		t.Fatal(err)
	}
	counts, err := QueryWindowStore[string, int64](a, "wcounts")
	if err != nil {
		t.Fatal(err)
	}
	if n, ok, err := counts.Fetch(k, time.UnixMilli(0)); err != nil || !ok || n != 2 {
		t.Fatalf("Fetch = %d, %v, %v", n, ok, err)
	}
	got, err := counts.FetchRange(k, time.UnixMilli(0), time.UnixMilli(20_000))
	if err != nil || len(got) != 3 || got[0].Value != 2 || got[1].Value != 1 || got[2].Key.Start != time.UnixMilli(20_000) {
		t.Fatalf("FetchRange = %v, %v", got, err)
	}
	if all, err := counts.FetchAll(time.UnixMilli(0), time.UnixMilli(5_000)); err != nil || len(all) != 2 {
		t.Fatalf("FetchAll = %v, %v; want a window of each key", all, err)
	}
	if all, err := counts.All(); err != nil || len(all) != 4 {
		t.Fatalf("All = %v, %v", all, err)
	}
	ws, err := QueryWindowStore[string, string](a, "papi-win")
	if err != nil {
		t.Fatal(err)
	}
	if v, ok, err := ws.Fetch(k, time.UnixMilli(20_000)); err != nil || !ok || v != "w" {
		t.Fatalf("Processor API window Fetch = %q, %v, %v", v, ok, err)
	}
	setIQHosts(a, "table-in", map[string][2][]int32{"other:1": {{0, 1, 2}, nil}})
	delete(th.tasks, TaskID{0, 1})
	if _, err := counts.FetchRange(k, time.UnixMilli(0), time.UnixMilli(1)); !errors.Is(err, ErrNotHostedHere) {
		t.Fatalf("FetchRange of a key hosted elsewhere: %v", err)
	}
}

func TestQueryMetadata(t *testing.T) {
	topo, err := newIQWordCount()
	if err != nil {
		t.Fatal(err)
	}
	a := newIQApp(t, topo, "a:1", 0)
	if _, err := a.AllMetadata(); !errors.Is(err, ErrStoreNotReady) {
		t.Fatalf("metadata before an assignment: %v", err)
	}
	repartition := "iq-test-counts-repartition"
	active := map[string][]assign.TopicPartition{
		"a:1": {{Topic: "text-input", Partition: 0}, {Topic: repartition, Partition: 0}, {Topic: repartition, Partition: 2}},
		"b:1": {{Topic: "text-input", Partition: 1}, {Topic: "text-input", Partition: 2}, {Topic: repartition, Partition: 1}},
		"c:1": {{Topic: "text-input", Partition: 3}},
	}
	standby := map[string][]assign.TopicPartition{"b:1": {{Topic: repartition, Partition: 0}}, "c:1": {{Topic: repartition, Partition: 0}}}
	a.mu.hosts = assign.Assignment{Version: 1, PartitionsByHost: active, StandbyPartitionsByHost: standby}
	all, err := a.AllMetadata()
	if err != nil {
		t.Fatal(err)
	}
	var summary []string
	for _, md := range all {
		summary = append(summary, fmt.Sprintf("%s %v %d %v %d", md.Host, md.StateStores, len(md.TopicPartitions), md.StandbyStateStores, len(md.StandbyTopicPartitions)))
	}
	want := "a:1 [counts] 3 [] 0|b:1 [counts] 3 [counts] 1|c:1 [] 1 [counts] 1"
	if got := strings.Join(summary, "|"); got != want {
		t.Fatalf("AllMetadata\n got %s\nwant %s", got, want)
	}
	stores, err := a.StoreMetadata("counts")
	if err != nil || len(stores) != 3 {
		t.Fatalf("StoreMetadata = %v, %v", stores, err)
	}
	for word := range strings.FieldsSeq("the quick brown fox jumps over the lazy dog") {
		md, err := QueryMetadataForKey(a, "counts", word)
		if err != nil {
			t.Fatal(err)
		}
		p := partitionForKey([]byte(word), iqPartitions)
		wantHost := map[int32]string{0: "a:1", 1: "b:1", 2: "a:1"}[p]
		wantStandbys := map[int32][]string{0: {"b:1", "c:1"}}[p]
		if md.Partition != p || md.ActiveHost != wantHost || !slices.Equal(md.StandbyHosts, wantStandbys) {
			t.Errorf("metadata of %q: %+v; want partition %d on %s, standbys %v", word, md, p, wantHost, wantStandbys)
		}
	}
	if _, err := QueryMetadataForKey(a, "counts", 7); !errors.Is(err, ErrUnknownStore) {
		t.Errorf("metadata with a key of the wrong type: %v", err)
	}
}

// newIQWordCount is the word count of wordcount_test.go, which this
// package's tests cannot import.
func newIQWordCount() (*Topology, error) {
	b := NewBuilder()
	lines := StreamFrom(b, String, String, []string{"text-input"})
	words := FlatMapValues(lines, func(_ string, line string) []string { return strings.Fields(line) })
	grouped := GroupBy(words, func(_, word string) string { return word }, String, String)
	Count(grouped, As("counts")).ToStream().To("word-counts", String, Int64)
	return b.Build()
}

func TestRawBoundsIncludeTo(t *testing.T) {
	lo, hi, err := rawBounds(String, "t", ptr("a"), ptr("b"))
	if err != nil || !bytes.Equal(lo, []byte("a")) || !bytes.Equal(hi, []byte("b\x00")) {
		t.Fatalf("bounds %q %q %v", lo, hi, err)
	}
	lo, _, _ = rawBounds(String, "t", ptr(""), nil)
	if lo == nil {
		t.Fatal("an empty from became an open bound")
	}
}

// serveIQ serves h on ln until the test ends.
func serveIQ(t *testing.T, ln net.Listener, h http.Handler) {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
}

func listenIQ(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// getIQ fetches a URL and returns the status and the decoded JSON body.
func getIQ(t *testing.T, url string, header http.Header) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	maps.Copy(req.Header, header)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) > 0 && raw[0] == '{' {
		if err := json.Unmarshal(raw, &body); err != nil {
			t.Fatalf("%s: %v in %s", url, err, raw)
		}
	}
	return resp.StatusCode, body
}

func TestKeyValueQueryHandler(t *testing.T) {
	lnA, lnB := listenIQ(t), listenIQ(t)
	hostA, hostB := lnA.Addr().String(), lnB.Addr().String()
	a := newIQApp(t, tableTopology(t), hostA, 0)
	b := newIQApp(t, tableTopology(t), hostB, 0)
	thA, thB := addIQThread(a, 0), addIQThread(b, 0)
	pipeIQ(t, openIQTask(t, thA, 0, 0, false), keyIn(0), ptr("zero"), 1)
	openIQTask(t, thA, 0, 1, false)
	tkB := openIQTask(t, thB, 0, 2, false)
	pipeIQ(t, tkB, keyIn(2), ptr("two"), 1)
	slashed := "a/b"
	for i := 0; partitionForKey([]byte(slashed), iqPartitions) != 2; i++ {
		slashed = fmt.Sprintf("a/b %d", i)
	}
	pipeIQ(t, tkB, slashed, ptr("slash"), 1)
	for _, app := range []*App{a, b} {
		setIQHosts(app, "table-in", map[string][2][]int32{hostA: {{0, 1}, nil}, hostB: {{2}, nil}})
		h, err := NewKeyValueQueryHandler[string, string](app, "tbl", func(s string) (string, error) {
			if s == "bad" {
				return "", errors.New("refused")
			}
			return s, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		ln := map[*App]net.Listener{a: lnA, b: lnB}[app]
		serveIQ(t, ln, h)
	}
	urlA := "http://" + hostA + "/stores/tbl/"
	for _, tt := range []struct {
		path         string
		header       http.Header
		status       int
		value, host  string
		retriable    bool
		errorMessage string
	}{
		{path: "keys/" + keyIn(0), status: 200, value: "zero", host: hostA},
		{path: "keys/" + keyIn(2), status: 200, value: "two", host: hostB},
		{path: "keys/" + url.PathEscape(slashed), status: 200, value: "slash", host: hostB},
		{path: "keys/" + keyIn(0), header: http.Header{ForwardedHeader: {hostB}}, status: 200, value: "zero", host: hostA},
		{path: "keys/absent1", status: 404},
		{path: "keys/bad", status: 400},
		{path: "../other/keys/x", status: 404},
		{path: "../other/metadata", status: 404},
	} {
		status, body := getIQ(t, urlA+tt.path, tt.header)
		if status != tt.status || tt.value != "" && (body["value"] != tt.value || body["host"] != tt.host || body["key"] == nil) {
			t.Errorf("GET %s: %d %v; want %d with value %q from %s", tt.path, status, body, tt.status, tt.value, tt.host)
		}
	}
	// B was asked by A for a key A hosts: it answers from its own stores
	// only, and it has none.
	absent2 := "absent"
	for i := 0; partitionForKey([]byte(absent2), iqPartitions) != 2; i++ {
		absent2 = fmt.Sprint("absent", i)
	}
	if status, body := getIQ(t, urlA+"keys/"+absent2, nil); status != 404 || body["host"] != hostB {
		t.Errorf("absent key forwarded: %d %v", status, body)
	}
	if status, _ := getIQ(t, "http://"+hostB+"/stores/tbl/keys/"+keyIn(0), http.Header{ForwardedHeader: {hostA}}); status != 503 {
		t.Errorf("a forwarded query for a key hosted elsewhere got %d, want 503", status)
	}
	checkHandlerMetadata(t, urlA+"metadata", hostA, hostB)
	thA.mu.Lock()
	thA.mu.rebalancing = true
	thA.mu.Unlock()
	resp, err := http.Get(urlA + "keys/" + keyIn(0))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
		t.Errorf("query while rebalancing: %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	thA.settled()
	gone := listenIQ(t)
	gone.Close()
	setIQHosts(a, "table-in", map[string][2][]int32{hostA: {{0, 1}, nil}, gone.Addr().String(): {{2}, nil}})
	if status, _ := getIQ(t, urlA+"keys/"+keyIn(2), nil); status != 502 {
		t.Errorf("query forwarded to an instance that is gone: %d, want 502", status)
	}
}

func checkHandlerMetadata(t *testing.T, url, hostA, hostB string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var md []StreamsMetadata
	if err := json.NewDecoder(resp.Body).Decode(&md); err != nil || resp.StatusCode != 200 {
		t.Fatalf("metadata: %d %v", resp.StatusCode, err)
	}
	hosts := []string{md[0].Host, md[1].Host}
	slices.Sort(hosts)
	want := []string{hostA, hostB}
	slices.Sort(want)
	if len(md) != 2 || !slices.Equal(hosts, want) || !slices.Contains(md[0].StateStores, "tbl") {
		t.Errorf("metadata %+v", md)
	}
}
