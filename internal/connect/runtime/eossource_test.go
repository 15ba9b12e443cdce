package runtime

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/fjordhq/fjord/connect"
	"github.com/fjordhq/fjord/internal/fjordtest"
)

// TestFenceTasksAbortsZombies: fencing a removed task's transactional id
// aborts the transaction its producer has open and makes its commit fail,
// so a task the group gave up on cannot write after its connector shrank.
func TestFenceTasksAbortsZombies(t *testing.T) {
	srv := fjordtest.Start(t, fjordtest.Options{})
	srv.CreateTopics(t, map[string]int32{"out": 1})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	zombie, err := kgo.NewClient(kgo.SeedBrokers(srv.Addr), kgo.TransactionalID(transactionalID("g", TaskID{Connector: "c", Task: 3})))
	if err != nil {
		t.Fatal(err)
	}
	defer zombie.Close()
	if err := zombie.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := zombie.ProduceSync(ctx, &kgo.Record{Topic: "out", Value: []byte("zombie")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	admin, err := kgo.NewClient(kgo.SeedBrokers(srv.Addr))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if err := fenceTasks(ctx, admin, "g", "c", 2, 4); err != nil {
		t.Fatal(err)
	}
	err = zombie.EndTransaction(ctx, kgo.TryCommit)
	if !errors.Is(err, kerr.ProducerFenced) && !errors.Is(err, kerr.InvalidProducerEpoch) {
		t.Fatalf("the zombie's commit after the fence: %v, want a fencing error", err)
	}
	reader, err := kgo.NewClient(kgo.SeedBrokers(srv.Addr), kgo.ConsumeTopics("out"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	quiet, cancelQuiet := context.WithTimeout(ctx, time.Second)
	defer cancelQuiet()
	for quiet.Err() == nil {
		reader.PollFetches(quiet).EachRecord(func(r *kgo.Record) { t.Errorf("read committed %q from the fenced zombie", r.Value) })
	}
}

// boundaryConnector's tasks define their transactions: of each poll's ten
// records, batches 0 and 1 of every three are committed in two
// transactions (after the fifth record, and after the batch), batch 2 is
// aborted.
type boundaryConnector struct{ spreadConnector }

func (c *boundaryConnector) ExactlyOnceSupport(map[string]string) connect.Support {
	return connect.Supported
}
func (c *boundaryConnector) CanDefineTransactionBoundaries(map[string]string) connect.Support {
	return connect.Supported
}
func (c *boundaryConnector) NewTask() connect.SourceTask {
	return &boundaryTask{countingSource: countingSource{limit: c.limit, topic: "spread"}}
}

type boundaryTask struct {
	countingSource
	txn connect.TransactionContext
}

func (b *boundaryTask) Start(ctx connect.SourceTaskContext, config map[string]string) error {
	b.txn = ctx.TransactionContext()
	if b.txn == nil {
		return errors.New("no TransactionContext under transaction.boundary=connector")
	}
	return b.countingSource.Start(ctx, config)
}

func (b *boundaryTask) Poll(ctx context.Context) ([]connect.SourceRecord, error) {
	batch := b.next / 10
	records, err := b.countingSource.Poll(ctx)
	if len(records) == 0 {
		return records, err
	}
	if batch%3 == 2 {
		b.txn.AbortTransaction()
	} else {
		b.txn.CommitTransactionAfter(&records[4])
		b.txn.CommitTransaction()
	}
	return records, err
}

// TestDistributedConnectorDefinedTransactions: under
// transaction.boundary=connector the worker commits and aborts where the
// task asks, an aborted batch is never read but not polled again either
// (its offsets are committed), and the preflight checks refuse connectors
// that cannot honour exactly.once.support=required or define boundaries.
func TestDistributedConnectorDefinedTransactions(t *testing.T) {
	srv := fjordtest.Start(t, fjordtest.Options{})
	srv.CreateTopics(t, map[string]int32{"spread": 1})
	reg := connect.NewRegistry()
	for _, p := range []connect.Plugin{
		{Class: "test.SpreadSourceConnector", New: func() connect.Connector { return &spreadConnector{limit: 60} }},
		{Class: "test.BoundarySourceConnector", New: func() connect.Connector { return &boundaryConnector{spreadConnector{limit: 60}} }},
	} {
		if err := reg.Register(p); err != nil {
			t.Fatal(err)
		}
	}
	w := startDistributedWorker(t, srv.Addr, reg, "exactly.once.source.support", "enabled")
	waitHealthy(t, w.client)
	for _, bad := range []map[string]string{
		{"connector.class": "SpreadSource", "exactly.once.support": "required"},
		{"connector.class": "SpreadSource", "transaction.boundary": "connector"},
	} {
		out := w.client.expect(http.StatusBadRequest, http.MethodPost, "/connectors", map[string]any{"name": "bad", "config": bad})
		if !strings.Contains(fmt.Sprint(out["message"]), "contains the following 1 error(s)") {
			t.Errorf("%v: %v", bad, out)
		}
	}
	eventually(t, "connector created", func() (bool, string) {
		status, out := w.client.call(http.MethodPost, "/connectors", map[string]any{"name": "boundary", "config": map[string]string{
			"connector.class": "BoundarySource", "exactly.once.support": "required", "transaction.boundary": "connector"}})
		return status == http.StatusCreated, fmt.Sprint(status, out)
	})
	values := readCommittedValues(t, srv.Addr, "spread", 40)
	for i := range 60 {
		want := 1
		if (i/10)%3 == 2 {
			want = 0
		}
		if v := fmt.Sprintf("t0-n=%d", i); values[v] != want {
			t.Errorf("%s read %d times, want %d", v, values[v], want)
		}
	}
	// The aborted batches' offsets were committed: the task resumes after
	// them.
	offsets := w.client.expect(http.StatusOK, http.MethodGet, "/connectors/boundary/offsets", nil)
	if !strings.Contains(fmt.Sprint(offsets), "next:60") {
		t.Errorf("offsets %v, want next 60", offsets)
	}
}
