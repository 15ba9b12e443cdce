package streams

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/fjordhq/fjord/internal/fjordtest"
)

// These tests are in package streams: restoration is checked against the
// global stores and their checkpoint file directly. The join tests use
// the public API only.

// globalJoinTopology joins clicks (click id -> user id) with the users
// global table (user id -> region) into "enriched-clicks".
func globalJoinTopology(t *testing.T, left bool, opts ...StoreOption) *Topology {
	t.Helper()
	b := NewBuilder()
	users := GlobalTableFrom(b, "users", String, String, append([]StoreOption{As("users")}, opts...)...)
	clicks := StreamFrom(b, String, String, []string{"clicks"})
	userOf := func(_ string, user string) string { return user }
	var enriched Stream[string, string]
	if left {
		enriched = LeftJoinGlobalTable(clicks, users, userOf, func(_, user string, region *string) string {
			if region == nil {
				return user + "@-"
			}
			return user + "@" + *region
		})
	} else {
		enriched = JoinGlobalTable(clicks, users, userOf, func(_, user, region string) string { return user + "@" + region })
	}
	enriched.To("enriched-clicks", String, String)
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return topo
}

// TestGlobalTableJoinModel interleaves, over many seeds, updates and
// deletes of the global table with stream records (tombstones among them)
// and checks each output against the table as it was when the record was
// piped: the driver applies global updates at once.
func TestGlobalTableJoinModel(t *testing.T) {
	seeds := 240
	if testing.Short() {
		seeds = 40
	}
	for seed := range seeds {
		left := seed%2 == 1
		runGlobalJoinModel(t, uint64(seed), left)
		if t.Failed() {
			t.Fatalf("seed %d (left=%v)", seed, left)
		}
	}
}

func runGlobalJoinModel(t *testing.T, seed uint64, left bool) {
	rng := rand.New(rand.NewPCG(seed, 3))
	d, err := NewTestDriver(globalJoinTopology(t, left), TestDriverConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	users := NewTestInputTopic(d, "users", String, String)
	clicks := NewTestInputTopic(d, "clicks", String, String)
	out := NewTestOutputTopic(d, "enriched-clicks", String, String)
	table := map[string]string{}
	var want []string
	for step := range 80 {
		user := fmt.Sprintf("u%d", rng.IntN(5))
		ts := time.UnixMilli(int64(1000 + rng.IntN(500)))
		switch r := rng.IntN(10); {
		case r < 3:
			table[user] = fmt.Sprintf("r%d", rng.IntN(3))
			err = users.Pipe(user, table[user], ts)
		case r < 4:
			delete(table, user)
			err = users.PipeTombstone(user, ts)
		case r < 5:
			err = clicks.PipeTombstone(fmt.Sprintf("c%d", step), ts) // dropped
		default:
			region, ok := table[user]
			switch {
			case ok:
				want = append(want, fmt.Sprintf("c%d=%s@%s", step, user, region))
			case left:
				want = append(want, fmt.Sprintf("c%d=%s@-", step, user))
			}
			err = clicks.Pipe(fmt.Sprintf("c%d", step), user, ts)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	records, err := out.ReadRecords()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range records {
		got = append(got, r.Key+"="+r.Value)
	}
	if !slices.Equal(got, want) {
		t.Errorf("joins\n got %v\nwant %v", got, want)
	}
	if users := globalContents(t, d.env.globals, "users"); !maps.Equal(users, table) {
		t.Errorf("global store\n got %v\nwant %v", users, table)
	}
}

// globalContents reads a global store whose keys and values are strings.
func globalContents(t *testing.T, g *globalState, name string) map[string]string {
	t.Helper()
	it, err := g.byName[name].raw.Range(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	out := map[string]string{}
	for it.Next() {
		out[string(it.Key())] = string(it.Value())
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestGlobalTableTopology(t *testing.T) {
	desc := globalJoinTopology(t, false).Describe()
	if !strings.Contains(desc, "Global store: users (topic: users)") || !strings.Contains(desc, "Processor: KSTREAM-JOIN-") {
		t.Errorf("Describe:\n%s", desc)
	}
	for _, streamFirst := range []bool{true, false} {
		b := NewBuilder()
		if streamFirst {
			StreamFrom(b, String, String, []string{"users"})
		}
		GlobalTableFrom(b, "users", String, String)
		if !streamFirst {
			StreamFrom(b, String, String, []string{"users"})
		}
		if _, err := b.Build(); err == nil {
			t.Errorf("a topic read by a stream and a global table was accepted (stream first: %v)", streamFirst)
		}
	}
	b := NewBuilder()
	GlobalTableFrom(b, "users", String, String)
	GlobalTableFrom(b, "users", String, String)
	if _, err := b.Build(); err == nil {
		t.Error("two global tables of one topic were accepted")
	}
}

// TestGlobalTableRestoreInTestDriver restores a global store from the
// driver's topic log, as an App's global thread restores from the
// cluster: into a persistent store, then again from its checkpoint after a
// "restart", reading only what is new, and from the start when the topic
// was recreated shorter than the checkpoint.
func TestGlobalTableRestoreInTestDriver(t *testing.T) {
	topo := globalJoinTopology(t, true)
	d, err := NewTestDriver(topo, TestDriverConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	users := NewTestInputTopic(d, "users", String, String)
	ts := time.UnixMilli(1)
	pipe := func(key, value string) {
		t.Helper()
		if value == "" {
			err = users.PipeTombstone(key, ts)
		} else {
			err = users.Pipe(key, value, ts)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	for i := range 10 {
		pipe(fmt.Sprintf("u%d", i%4), fmt.Sprintf("r%d", i))
	}
	pipe("u1", "")
	dir := t.TempDir()
	restored := restoreGlobals(t, topo, dir, d.globalSource())
	want := globalContents(t, d.env.globals, "users")
	if got := globalContents(t, restored, "users"); !maps.Equal(got, want) || restored.restoredRecords != 11 {
		t.Fatalf("restored %v from %d records, want %v from 11", got, restored.restoredRecords, want)
	}
	if data, _ := os.ReadFile(filepath.Join(dir, globalCheckpointFile)); string(data) != "0\n1\nusers 0 11\n" {
		t.Fatalf("checkpoint file %q", data)
	}
	closeGlobals(t, restored)
	pipe("u2", "late")
	pipe("u3", "")
	restored = restoreGlobals(t, topo, dir, d.globalSource())
	want = globalContents(t, d.env.globals, "users")
	if got := globalContents(t, restored, "users"); !maps.Equal(got, want) || restored.restoredRecords != 2 {
		t.Fatalf("after a restart restored %v from %d records, want %v from the 2 new ones", got, restored.restoredRecords, want)
	}
	closeGlobals(t, restored)
	d.topics["users"] = d.topics["users"][:3] // recreated, shorter than the checkpoint
	restored = restoreGlobals(t, topo, dir, d.globalSource())
	if got := globalContents(t, restored, "users"); !maps.Equal(got, map[string]string{"u0": "r0", "u1": "r1", "u2": "r2"}) || restored.restoredRecords != 3 {
		t.Fatalf("after the topic shrank restored %v from %d records", got, restored.restoredRecords)
	}
	closeGlobals(t, restored)
}

func restoreGlobals(t *testing.T, topo *Topology, dir string, src globalSource) *globalState {
	t.Helper()
	g, err := openGlobalState(topo, dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.restore(context.Background(), src, t.Logf); err != nil {
		t.Fatal(err)
	}
	return g
}

func closeGlobals(t *testing.T, g *globalState) {
	t.Helper()
	if err := g.close(); err != nil {
		t.Fatal(err)
	}
}

// partitionedSource is a global topic of several partitions whose logs
// start past offset 0 and hold transaction markers.
type partitionedSource struct {
	logs  map[topicPartition][]globalRecord
	start map[topicPartition]int64
	from  map[topicPartition]int64
	polls int
}

func (s *partitionedSource) bounds(_ context.Context, topics []string) (map[topicPartition]offsetRange, error) {
	out := map[topicPartition]offsetRange{}
	for tp, log := range s.logs {
		if slices.Contains(topics, tp.topic) {
			out[tp] = offsetRange{start: s.start[tp], end: s.start[tp] + int64(len(log))}
		}
	}
	return out, nil
}

func (s *partitionedSource) consume(from map[topicPartition]int64) { s.from = maps.Clone(from) }

// poll returns at most two records of one partition, so that restoration
// takes several polls.
func (s *partitionedSource) poll(context.Context) ([]globalRecord, error) {
	s.polls++
	tps := slices.SortedFunc(maps.Keys(s.from), func(a, b topicPartition) int { return int(a.partition - b.partition) })
	for _, tp := range tps {
		next, log := s.from[tp], s.logs[tp]
		i := next - s.start[tp]
		if i >= int64(len(log)) {
			continue
		}
		batch := log[i:min(i+2, int64(len(log)))]
		s.from[tp] = next + int64(len(batch))
		return batch, nil
	}
	return nil, nil
}

func (s *partitionedSource) append(tp topicPartition, key, value string, control bool) {
	rec := globalRecord{topic: tp.topic, partition: tp.partition, offset: s.start[tp] + int64(len(s.logs[tp])), key: []byte(key), control: control}
	if value != "" {
		rec.value = []byte(value)
	}
	s.logs[tp] = append(s.logs[tp], rec)
}

func TestGlobalRestoreAcrossPartitions(t *testing.T) {
	topo := globalJoinTopology(t, false)
	p0, p1 := topicPartition{"users", 0}, topicPartition{"users", 1}
	src := &partitionedSource{logs: map[topicPartition][]globalRecord{}, start: map[topicPartition]int64{p0: 5, p1: 0}}
	src.append(p0, "a", "1", false)
	src.append(p0, "", "", true) // commit marker
	src.append(p0, "b", "2", false)
	src.append(p1, "c", "3", false)
	src.append(p1, "a", "", false) // p0 and p1 never share keys in Kafka; the store does not care
	src.append(p1, "", "", true)
	dir := t.TempDir()
	g := restoreGlobals(t, topo, dir, src)
	if got := globalContents(t, g, "users"); !maps.Equal(got, map[string]string{"b": "2", "c": "3"}) {
		t.Fatalf("restored %v", got)
	}
	if data, _ := os.ReadFile(filepath.Join(dir, globalCheckpointFile)); string(data) != "0\n2\nusers 0 8\nusers 1 3\n" {
		t.Fatalf("checkpoint file %q", data)
	}
	closeGlobals(t, g)
	// A partition missing from the checkpoint (the topic grew) makes the
	// store start over: its checkpoint no longer covers the topic.
	// A crash during that restoration must not leave the old checkpoint
	// to be trusted later: the wiped store is checkpointed at the start.
	p2 := topicPartition{"users", 2}
	src.append(p2, "d", "4", false)
	g, err := openGlobalState(topo, dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.restore(context.Background(), failingSource{src}, t.Logf); err == nil {
		t.Fatal("restoration from a failing source succeeded")
	}
	if data, _ := os.ReadFile(filepath.Join(dir, globalCheckpointFile)); string(data) != "0\n3\nusers 0 5\nusers 1 0\nusers 2 0\n" {
		t.Fatalf("checkpoint file after a failed restoration %q", data)
	}
	closeGlobals(t, g)
	g = restoreGlobals(t, topo, dir, src)
	if got := globalContents(t, g, "users"); !maps.Equal(got, map[string]string{"b": "2", "c": "3", "d": "4"}) || g.restoredRecords != 7 {
		t.Fatalf("after the topic grew restored %v from %d records", got, g.restoredRecords)
	}
	closeGlobals(t, g)
}

// failingSource fails every poll.
type failingSource struct{ *partitionedSource }

func (failingSource) poll(context.Context) ([]globalRecord, error) {
	return nil, errors.New("broker gone")
}

// TestGlobalLookupsDuringUpdates reads a global store from several
// goroutines, as stream threads do, while another applies and commits
// batches, as the global thread does; run with -race.
func TestGlobalLookupsDuringUpdates(t *testing.T) {
	for _, persistent := range []bool{false, true} {
		t.Run(fmt.Sprintf("persistent=%v", persistent), func(t *testing.T) {
			var opts []StoreOption
			if !persistent {
				opts = append(opts, InMemory())
			}
			g, err := openGlobalState(globalJoinTopology(t, false, opts...), t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			defer g.close()
			get, err := g.reader("users")
			if err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			stop := make(chan struct{})
			for range 4 {
				wg.Go(func() {
					for {
						select {
						case <-stop:
							return
						default:
						}
						if v, err := get([]byte("k1")); err != nil || v != nil && !strings.HasPrefix(string(v), "v") {
							t.Errorf("lookup: %q, %v", v, err)
							return
						}
					}
				})
			}
			for i := range 200 {
				batch := []globalRecord{
					{topic: "users", offset: int64(2 * i), key: []byte(fmt.Sprintf("k%d", i%3)), value: []byte(fmt.Sprintf("v%d", i))},
					{topic: "users", offset: int64(2*i + 1), key: []byte(fmt.Sprintf("k%d", (i+1)%3))},
				}
				if err := g.apply(batch); err != nil {
					t.Fatal(err)
				}
				if i%10 == 0 {
					if err := g.commit(); err != nil {
						t.Fatal(err)
					}
				}
			}
			close(stop)
			wg.Wait()
		})
	}
}

// TestAppGlobalTable runs a stream-global table join in an App against a
// real broker: the table is restored from its topic before Start returns,
// follows later updates, is checkpointed on Close and resumed from the
// checkpoint by the next instance.
func TestAppGlobalTable(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a broker")
	}
	addr := startGlobalTestBroker(t, map[string]int32{"users": 3, "clicks": 2, "enriched-clicks": 1})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	producer, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer producer.Close()
	produce := func(topic, key, value string) {
		t.Helper()
		r := &kgo.Record{Topic: topic, Key: []byte(key)}
		if value != "" {
			r.Value = []byte(value)
		}
		if err := producer.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 12 {
		produce("users", fmt.Sprintf("u%d", i%6), fmt.Sprintf("r%d", i))
	}
	produce("users", "u5", "")
	cfg := NewConfig("global-e2e", addr)
	cfg.ProcessingGuarantee = ExactlyOnceV2
	cfg.CommitInterval = 100 * time.Millisecond
	cfg.StateDir = t.TempDir()
	out := newGlobalTestReader(t, addr, "enriched-clicks")
	app := startGlobalTestApp(t, ctx, cfg)
	for i := range 6 {
		produce("clicks", fmt.Sprintf("c%d", i), fmt.Sprintf("u%d", i))
	}
	want := []string{"c0=u0@r6", "c1=u1@r7", "c2=u2@r8", "c3=u3@r9", "c4=u4@r10", "c5=u5@-"}
	got := out.read(ctx, 6)
	slices.Sort(got) // the clicks' two partitions interleave
	if !slices.Equal(got, want) {
		t.Fatalf("joins of the restored table\n got %v\nwant %v", got, want)
	}
	produce("users", "u0", "moved")
	for i := 0; ; i++ { // the global thread applies the update soon after
		produce("clicks", fmt.Sprintf("again%d", i), "u0")
		if got := out.read(ctx, 1); got[0] == fmt.Sprintf("again%d=u0@moved", i) {
			break
		}
	}
	if err := app.Close(ctx); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(cfg.StateDir, cfg.ApplicationID, globalDirName, globalCheckpointFile))
	if err != nil || !strings.HasPrefix(string(data), "0\n3\nusers 0 ") {
		t.Fatalf("checkpoint file %q, %v", data, err)
	}
	app = startGlobalTestApp(t, ctx, cfg)
	defer app.Close(ctx)
	produce("clicks", "last", "u0")
	if got := out.read(ctx, 1); got[0] != "last=u0@moved" {
		t.Fatalf("after a restart joined %v", got)
	}
}

func startGlobalTestApp(t *testing.T, ctx context.Context, cfg Config) *App {
	t.Helper()
	app, err := NewApp(globalJoinTopology(t, true), cfg, WithLogger(t.Logf))
	if err != nil {
		t.Fatal(err)
	}
	if err := app.Start(ctx); err != nil {
		t.Fatal(err)
	}
	return app
}

func startGlobalTestBroker(t *testing.T, topics map[string]int32) string {
	t.Helper()
	srv := fjordtest.Start(t, fjordtest.Options{})
	srv.CreateTopics(t, topics)
	return srv.Addr
}

// globalTestReader reads a topic's committed records as "key=value".
type globalTestReader struct {
	t      *testing.T
	client *kgo.Client
}

func newGlobalTestReader(t *testing.T, addr, topic string) *globalTestReader {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics(topic),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return &globalTestReader{t: t, client: cl}
}

func (r *globalTestReader) read(ctx context.Context, n int) []string {
	r.t.Helper()
	var out []string
	for len(out) < n {
		fetches := r.client.PollRecords(ctx, n-len(out))
		if ctx.Err() != nil {
			r.t.Fatalf("read %d of %d records before the deadline", len(out), n)
		}
		fetches.EachRecord(func(rec *kgo.Record) { out = append(out, string(rec.Key)+"="+string(rec.Value)) })
	}
	return out
}
