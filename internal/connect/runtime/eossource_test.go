package runtime

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

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
