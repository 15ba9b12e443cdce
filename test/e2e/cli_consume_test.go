package e2e

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TestCLIGroupConsumeCommits uses `fjord consume --group` as
// kafka-console-consumer's --group is used: a member stopped by --count
// commits exactly the records it printed, and the next run of the group
// continues after them, so that the runs together print every record once.
func TestCLIGroupConsumeCommits(t *testing.T) {
	s := startServer(t, groupBrokerConfig())
	ctx := testContext(t, testTimeout)
	useCLI(t, s.Addr)
	adm := newAdmin(t, s.Addr)
	topic := uniqueTopic(t, "orders")
	createTopic(t, ctx, adm, topic, 3, nil)
	produced := produceValues(t, ctx, newKgo(t, s.Addr), topic, "order", 30)

	first := parseCLIJSON(t, mustCLI(t, "", "consume", topic, "--group", "billing", "--from", "beginning", "--count", "10", "--format", "json").Stdout)
	if len(first) != 10 {
		t.Fatalf("first run printed %d records, want --count 10", len(first))
	}
	printed := map[int32]int64{} // partition -> offset after the last record printed
	for _, r := range first {
		printed[r.Partition] = max(printed[r.Partition], r.Offset+1)
	}
	if got := committedOffsets(t, ctx, adm, "billing", topic); !maps.Equal(got, printed) {
		t.Fatalf("committed %v after the first run, want the offsets after the records printed %v", got, printed)
	}

	// The group flag before the topic this time; --from only applies to
	// partitions the first run printed nothing of.
	second := parseCLIJSON(t, mustCLI(t, "", "consume", "--group", "billing", "--from", "beginning", "--format", "json", topic).Stdout)
	for _, r := range second {
		if next, ok := printed[r.Partition]; ok && r.Offset < next {
			t.Errorf("second run read %d/%d again, below the committed %d", r.Partition, r.Offset, next)
		}
	}
	got := append(cliValues(t, first), cliValues(t, second)...)
	slices.Sort(got)
	if want := slices.Sorted(slices.Values(produced)); !slices.Equal(got, want) {
		t.Errorf("the two runs printed %d records %q, want each of the %d produced once", len(got), got, len(want))
	}
	if got, ends := committedOffsets(t, ctx, adm, "billing", topic), offsetsOf(t, ctx, adm, topic, true); !maps.Equal(got, ends) {
		t.Errorf("committed %v after the second run, want the end offsets %v", got, ends)
	}
	third := mustCLI(t, "", "consume", topic, "--group", "billing", "--from", "beginning")
	if third.Stdout != "" || !strings.Contains(third.Stderr, `consumed 0 records from topic "`+topic+`" as group "billing"`) {
		t.Errorf("third run of a caught-up group printed %q, stderr %q", third.Stdout, third.Stderr)
	}
}

// TestCLIConsumeReadCommitted reads a partition holding a committed, an
// aborted, a committed and an open transaction: read_committed prints the
// committed records only and stops at the last stable offset, directly and
// as a group member, whose commit then points past the last marker;
// read_uncommitted prints every record.
func TestCLIConsumeReadCommitted(t *testing.T) {
	s := startServer(t, groupBrokerConfig())
	ctx := testContext(t, testTimeout)
	useCLI(t, s.Addr)
	adm := newAdmin(t, s.Addr)
	topic := uniqueTopic(t, "txn")
	createTopic(t, ctx, adm, topic, 1, nil)
	producer := newKgo(t, s.Addr, kgo.TransactionalID("cli-read-committed"), kgo.DefaultProduceTopic(topic))
	// transaction produces values in a transaction and ends it with end,
	// or leaves it open when end is nil.
	transaction := func(end *kgo.TransactionEndTry, values ...string) {
		t.Helper()
		if err := producer.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		for _, v := range values {
			if err := producer.ProduceSync(ctx, &kgo.Record{Value: []byte(v)}).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
		if end != nil {
			if err := producer.EndTransaction(ctx, *end); err != nil {
				t.Fatal(err)
			}
		}
	}
	commit, abort := kgo.TryCommit, kgo.TryAbort
	transaction(&commit, "c1", "c2")
	transaction(&abort, "aborted1", "aborted2")
	transaction(&commit, "c3")
	transaction(nil, "open1") // left open: the last stable offset stays before it
	defer func() {
		if err := producer.EndTransaction(ctx, kgo.TryAbort); err != nil {
			t.Errorf("aborting the open transaction: %v", err)
		}
	}()

	committedOnly := []string{"c1", "c2", "c3"}
	direct := mustCLI(t, "", "consume", topic, "--from", "beginning", "--isolation", "read_committed", "--format", "json")
	if got := cliValues(t, parseCLIJSON(t, direct.Stdout)); !slices.Equal(got, committedOnly) {
		t.Errorf("read_committed printed %q, want %q", got, committedOnly)
	}
	all := mustCLI(t, "", "consume", topic, "--from", "beginning", "--isolation", "read_uncommitted")
	if got, want := strings.Fields(all.Stdout), []string{"c1", "c2", "aborted1", "aborted2", "c3", "open1"}; !slices.Equal(got, want) {
		t.Errorf("read_uncommitted printed %q, want %q", got, want)
	}
	member := mustCLI(t, "", "consume", topic, "--group", "txn-reader", "--from", "beginning", "--isolation", "read_committed", "--format", "json")
	if got := cliValues(t, parseCLIJSON(t, member.Stdout)); !slices.Equal(got, committedOnly) {
		t.Errorf("read_committed group member printed %q, want %q", got, committedOnly)
	}
	// c1 c2 marker aborted1 aborted2 marker c3 marker: the open
	// transaction starts at offset 8, the last stable offset.
	if got := committedOffsets(t, ctx, adm, "txn-reader", topic); got[0] != 8 {
		t.Errorf("group committed %v, want partition 0 at the last stable offset 8, past the last marker", got)
	}
}
