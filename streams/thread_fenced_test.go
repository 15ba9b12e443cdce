package streams

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestFencedThreadStartsAgain fences an exactly-once thread as a
// transaction timeout or a zombie's successor does, by initializing a
// producer with the thread's transactional id: the thread's next write
// fails with a fencing error. As Kafka Streams treats its
// TaskMigratedException, the instance must start the thread again rather
// than hand the error to the uncaught-error handler (whose default shuts
// the instance down), and every input record must reach the output once.
func TestFencedThreadStartsAgain(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a broker")
	}
	addr := startGlobalTestBroker(t, map[string]int32{"in": 1, "out": 1, "in-fence": 1})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	b := NewBuilder()
	MapValues(StreamFrom(b, String, String, []string{"in"}), func(_, v string) string { return v }).To("out", String, String)
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	cfg := NewConfig("fence-test", addr)
	cfg.ProcessingGuarantee = ExactlyOnceV2
	cfg.CommitInterval = 100 * time.Millisecond
	cfg.StateDir = t.TempDir()
	var logMu sync.Mutex
	var logs strings.Builder
	a, err := NewApp(topo, cfg, WithLogger(func(format string, args ...any) {
		logMu.Lock()
		defer logMu.Unlock()
		fmt.Fprintf(&logs, format+"\n", args...)
	}))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := a.Close(context.Background()); err != nil {
			t.Error(err)
		}
		logMu.Lock()
		defer logMu.Unlock()
		t.Logf("application log:\n%s", logs.String())
	}()
	produce := inputProducer(t, ctx, addr)
	produce(0, 10)
	reader := newGlobalTestReader(t, addr, "out")
	first := reader.read(ctx, 10)
	fenceTransactionalID(t, ctx, addr, fmt.Sprintf("%s-%s-%d", cfg.ApplicationID, a.stateDir.ProcessID(), 0))
	produce(10, 20)
	got := make(map[string]int)
	for _, kv := range append(first, reader.read(ctx, 10)...) {
		got[kv]++
	}
	quiet, cancelQuiet := context.WithTimeout(ctx, time.Second)
	defer cancelQuiet()
	for quiet.Err() == nil {
		reader.client.PollFetches(quiet).EachRecord(func(r *kgo.Record) { got[string(r.Key)+"="+string(r.Value)]++ })
	}
	if a.State() != Running && a.State() != Rebalancing {
		t.Fatalf("state %v after the fence, want the instance still running", a.State())
	}
	logMu.Lock()
	fenced := strings.Contains(logs.String(), "was fenced")
	logMu.Unlock()
	if !fenced {
		t.Error("the thread was never fenced: the test did not test anything")
	}
	for kv, n := range got {
		if n != 1 {
			t.Errorf("%s is in the output %d times", kv, n)
		}
	}
	if len(got) != 20 {
		t.Errorf("the output holds %d distinct records, want 20: %v", len(got), slices.Sorted(maps.Keys(got)))
	}
}

// fenceTransactionalID bumps the producer epoch of a transactional id, as a
// newer instance of the same producer does, and commits an empty-handed
// transaction with it.
func fenceTransactionalID(t *testing.T, ctx context.Context, addr, id string) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.TransactionalID(id))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	r := &kgo.Record{Topic: "in-fence", Value: []byte("fence")}
	if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if err := cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
		t.Fatal(err)
	}
}

// TestFetchErrorKeepsInformationalErrors: franz-go's lost-session and
// data-loss notices are logged, not fatal; a fetch's real error is fatal.
func TestFetchErrorKeepsInformationalErrors(t *testing.T) {
	var logged []string
	th := &streamThread{app: &App{cfg: NewConfig("fetch-errors", "127.0.0.1:1"), logf: func(format string, args ...any) {
		logged = append(logged, fmt.Sprintf(format, args...))
	}}}
	fetchWith := func(err error) kgo.Fetches {
		return kgo.Fetches{{Topics: []kgo.FetchTopic{{Topic: "in", Partitions: []kgo.FetchPartition{{Partition: 0, Err: err}}}}}}
	}
	informational := []error{
		&kgo.ErrGroupSession{Err: kerr.UnknownMemberID},
		&kgo.ErrDataLoss{Topic: "in", ConsumedTo: 10, ResetTo: 5},
		context.DeadlineExceeded,
	}
	for _, err := range informational {
		if got := th.fetchError(fetchWith(err)); got != nil {
			t.Errorf("fetchError(%v) = %v, want nil", err, got)
		}
	}
	if len(logged) != 2 {
		t.Errorf("logged %q, want the two notices", logged)
	}
	if got := th.fetchError(fetchWith(kerr.TopicAuthorizationFailed)); !errors.Is(got, kerr.TopicAuthorizationFailed) {
		t.Errorf("fetchError(TOPIC_AUTHORIZATION_FAILED) = %v, want it", got)
	}
}
