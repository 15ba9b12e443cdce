package cli_test

import (
	"context"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/fjordhq/fjord/internal/cli"
	"github.com/fjordhq/fjord/internal/fjordtest"
)

// TestConsumeTransactionalTopic reads a topic whose last offsets are
// transaction markers: consume must reach the end and exit, printing the
// records and not the markers.
func TestConsumeTransactionalTopic(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test starts a broker")
	}
	s := fjordtest.Start(t, fjordtest.Options{})
	t.Setenv(cli.BrokersEnv, s.Addr)
	mustFjord(t, "", "topic", "create", "txn-out", "--partitions", "2")
	cl, err := kgo.NewClient(kgo.SeedBrokers(s.Addr), kgo.TransactionalID("cli-consume-test"), kgo.DefaultProduceTopic("txn-out"))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx := context.Background()
	for round := range 2 {
		if err := cl.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		for _, v := range []string{"a", "b"} {
			if err := cl.ProduceSync(ctx, &kgo.Record{Key: []byte(v), Value: []byte(v)}).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
		if err := cl.EndTransaction(ctx, kgo.TransactionEndTry(round == 0)); err != nil {
			t.Fatal(err)
		}
	}
	r := mustFjord(t, "", "consume", "txn-out", "--from", "beginning", "--timeout", "10s")
	if got := len(lines(r.Stdout)); got != 4 {
		t.Fatalf("consume printed %d records, want the 4 data records (read_uncommitted):\n%s", got, r.Stdout)
	}
}
