package cli_test

import (
	"context"
	"fmt"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fjordhq/fjord/internal/cli"
	"github.com/fjordhq/fjord/internal/e2etest"
	"github.com/fjordhq/fjord/internal/fjordtest"
)

// cliRun is one finished CLI invocation.
type cliRun = e2etest.CLIResult

// fjord runs the CLI against the test broker (found through FJORD_BROKERS)
// and returns its output and exit code; mustFjord also fails the test
// unless it exits with 0.
var (
	fjord     = e2etest.RunCLI
	mustFjord = e2etest.MustCLI
)

// wantFailure checks an exit code and a fragment of the error message.
func wantFailure(t *testing.T, r cliRun, code int, fragment string) {
	t.Helper()
	if r.Code != code {
		t.Errorf("exit code = %d, want %d; stderr:\n%s", r.Code, code, r.Stderr)
	}
	if !strings.Contains(r.Stderr, fragment) {
		t.Errorf("stderr does not contain %q:\n%s", fragment, r.Stderr)
	}
}

func lines(s string) []string {
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

// TestE2ECLI drives every client command against one real broker; the
// subtests share it and run in order, each building on the last.
func TestE2ECLI(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test starts a broker")
	}
	s := fjordtest.Start(t, fjordtest.Options{})
	t.Setenv(cli.BrokersEnv, s.Addr)

	t.Run("cluster info", func(t *testing.T) {
		r := mustFjord(t, "", "cluster", "info")
		for _, want := range []string{"Cluster ID:", "Controller:", "Brokers:     1"} {
			if !strings.Contains(r.Stdout, want) {
				t.Errorf("cluster info lacks %q:\n%s", want, r.Stdout)
			}
		}
	})

	t.Run("create", func(t *testing.T) {
		mustFjord(t, "", "topic", "create", "orders", "--partitions", "3", "--replication-factor", "1")
		wantFailure(t, fjord(t, "", "topic", "create", "orders", "--partitions", "3"), 1, "TOPIC_ALREADY_EXISTS")
		mustFjord(t, "", "topic", "create", "orders", "--partitions", "3", "--if-not-exists")
		mustFjord(t, "", "topic", "create", "single", "--partitions=1", "--config", "retention.ms=3600000")
	})

	t.Run("bad partitions", func(t *testing.T) {
		wantFailure(t, fjord(t, "", "topic", "create", "bad", "--partitions", "0"), 2, "--partitions must be")
		wantFailure(t, fjord(t, "", "topic", "create", "bad", "--partitions", "many"), 2, "invalid value")
	})

	t.Run("list", func(t *testing.T) {
		r := mustFjord(t, "", "topic", "list")
		fields := map[string][]string{}
		for _, line := range lines(r.Stdout)[1:] {
			f := strings.Fields(line)
			fields[f[0]] = f[1:]
		}
		if got := fields["orders"]; !slices.Equal(got, []string{"3", "1"}) {
			t.Errorf("orders listed as %q, want 3 partitions RF 1:\n%s", got, r.Stdout)
		}
		if _, ok := fields["single"]; !ok {
			t.Errorf("single not listed:\n%s", r.Stdout)
		}
	})

	t.Run("describe", func(t *testing.T) {
		r := mustFjord(t, "", "topic", "describe", "orders", "single")
		for _, want := range []string{"Topic: orders", "PartitionCount: 3", "Topic: single", "retention.ms=3600000"} {
			if !strings.Contains(r.Stdout, want) {
				t.Errorf("describe lacks %q:\n%s", want, r.Stdout)
			}
		}
		wantFailure(t, fjord(t, "", "topic", "describe", "nope"), 1, `topic "nope" does not exist (UNKNOWN_TOPIC_OR_PARTITION)`)
	})

	t.Run("produce and consume with keys", func(t *testing.T) {
		var in strings.Builder
		for i := range 100 {
			fmt.Fprintf(&in, "key-%d:value-%d\n", i%10, i)
		}
		r := mustFjord(t, in.String(), "produce", "orders", "--key-separator", ":", "--header", "src=e2e", "--compression", "lz4")
		if !strings.Contains(r.Stderr, "produced 100 records") {
			t.Errorf("produce summary: %s", r.Stderr)
		}

		r = mustFjord(t, "", "consume", "orders", "--from", "beginning", "--count", "100")
		got := lines(r.Stdout)
		slices.Sort(got)
		var want []string
		for i := range 100 {
			want = append(want, fmt.Sprintf("value-%d", i))
		}
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("consumed %d values, want the 100 produced:\n%s", len(got), r.Stdout)
		}

		// Without --count the consumer stops at the end offsets seen at start.
		r = mustFjord(t, "", "consume", "orders", "--from", "beginning", "--format", `%p %o %k %v %h\n`)
		checkKeyedRecords(t, lines(r.Stdout))

		r = mustFjord(t, "", "topic", "describe", "orders")
		if total := sumLogEndOffsets(t, r.Stdout); total != 100 {
			t.Errorf("log end offsets sum to %d, want 100:\n%s", total, r.Stdout)
		}
	})

	t.Run("consume from offset and timestamp", func(t *testing.T) {
		mustFjord(t, numbered(0, 10), "produce", "single")
		r := mustFjord(t, "", "consume", "single", "--from", "5")
		if got := lines(r.Stdout); !slices.Equal(got, strings.Fields(numbered(5, 10))) {
			t.Errorf("--from 5 gave %q", got)
		}

		mustFjord(t, numbered(10, 15), "produce", "single")

		// Kafka starts at the first offset whose timestamp is at or after
		// the time asked for. Take the time of the first record of the
		// second batch; records of the first batch written in the same
		// millisecond are then expected too.
		r = mustFjord(t, "", "consume", "single", "--from", "beginning", "--format", `%T %v\n`)
		var stamps []int64
		var values []string
		for _, l := range lines(r.Stdout) {
			stamp, value, _ := strings.Cut(l, " ")
			ms, err := strconv.ParseInt(stamp, 10, 64)
			if err != nil {
				t.Fatalf("timestamp %q: %v", stamp, err)
			}
			stamps, values = append(stamps, ms), append(values, value)
		}
		if len(values) != 15 {
			t.Fatalf("single holds %d records, want 15", len(values))
		}
		at := stamps[10]
		first := slices.IndexFunc(stamps, func(ms int64) bool { return ms >= at })
		want := values[first:]

		r = mustFjord(t, "", "consume", "single", "--from", "@"+strconv.FormatInt(at, 10))
		if got := lines(r.Stdout); !slices.Equal(got, want) {
			t.Errorf("--from @%d gave %q, want %q", at, got, want)
		}
		rfc := time.UnixMilli(at).UTC().Format(time.RFC3339Nano)
		r = mustFjord(t, "", "consume", "single", "--from", rfc)
		if got := lines(r.Stdout); !slices.Equal(got, want) {
			t.Errorf("--from %s gave %q, want %q", rfc, got, want)
		}
		r = mustFjord(t, "", "consume", "single", "--from", "@"+strconv.FormatInt(time.Now().Add(time.Hour).UnixMilli(), 10))
		if r.Stdout != "" {
			t.Errorf("--from a future time gave %q", r.Stdout)
		}
		if r = mustFjord(t, "", "consume", "single", "--from", "1000"); r.Stdout != "" {
			t.Errorf("--from past the end gave %q", r.Stdout)
		}
		// The default is the end: nothing to print, and no waiting.
		if r = mustFjord(t, "", "consume", "single"); r.Stdout != "" {
			t.Errorf("default --from end gave %q", r.Stdout)
		}
	})

	t.Run("follow", func(t *testing.T) {
		// Start at the current end offset (15) so the records produced
		// below are seen however late the consumer starts.
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, fjordtest.Binary(t), "consume", "single", "--from", "15", "--follow", "--count", "3", "--partition", "0")
		var out strings.Builder
		cmd.Stdout = &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		mustFjord(t, "a\nb\nc\n", "produce", "single", "--partition", "0", "--acks", "1")
		if err := cmd.Wait(); err != nil {
			t.Fatalf("follow consumer: %v", err)
		}
		if got := out.String(); got != "a\nb\nc\n" {
			t.Errorf("follow consumer printed %q", got)
		}
	})

	t.Run("produce errors", func(t *testing.T) {
		wantFailure(t, fjord(t, "x\n", "produce", "nope"), 1, `topic "nope" does not exist`)
		wantFailure(t, fjord(t, "x\n", "produce", "single", "--partition", "7"), 1, "partition 7 does not exist")
		wantFailure(t, fjord(t, "k:v\nnokey\n", "produce", "single", "--key-separator", ":"), 1, "line 2: no key separator")
	})

	t.Run("alter config", func(t *testing.T) {
		mustFjord(t, "", "topic", "alter-config", "orders", "--set", "retention.ms=86400000", "--set", "cleanup.policy=compact")
		r := mustFjord(t, "", "topic", "describe", "orders")
		if !strings.Contains(r.Stdout, "retention.ms=86400000") || !strings.Contains(r.Stdout, "cleanup.policy=compact") {
			t.Errorf("describe after alter-config:\n%s", r.Stdout)
		}
		mustFjord(t, "", "topic", "alter-config", "orders", "--delete", "retention.ms")
		r = mustFjord(t, "", "topic", "describe", "orders")
		if strings.Contains(r.Stdout, "retention.ms") || !strings.Contains(r.Stdout, "cleanup.policy=compact") {
			t.Errorf("describe after --delete retention.ms:\n%s", r.Stdout)
		}
		wantFailure(t, fjord(t, "", "topic", "alter-config", "nope", "--set", "retention.ms=1"), 1, "UNKNOWN_TOPIC_OR_PARTITION")
	})

	t.Run("delete", func(t *testing.T) {
		mustFjord(t, "", "topic", "delete", "orders")
		if r := mustFjord(t, "", "topic", "list"); strings.Contains(r.Stdout, "orders") {
			t.Errorf("orders still listed after delete:\n%s", r.Stdout)
		}
		wantFailure(t, fjord(t, "", "topic", "delete", "orders"), 1, `topic "orders" does not exist`)
		mustFjord(t, "", "topic", "delete", "orders", "--if-exists")
	})
}

// numbered returns the lines "v-from" .. "v-(to-1)", each ending in "\n".
func numbered(from, to int) string {
	var b strings.Builder
	for i := from; i < to; i++ {
		fmt.Fprintf(&b, "v-%d\n", i)
	}
	return b.String()
}

// checkKeyedRecords checks lines of "%p %o %k %v %h": 100 records, every key
// in one partition, offsets in each partition 0..n-1 in order, headers kept.
func checkKeyedRecords(t *testing.T, got []string) {
	t.Helper()
	if len(got) != 100 {
		t.Fatalf("got %d records, want 100", len(got))
	}
	keyPartition := map[string]string{}
	nextOffset := map[string]int{}
	for _, line := range got {
		f := strings.Fields(line)
		if len(f) != 5 {
			t.Fatalf("line %q does not have 5 fields", line)
		}
		partition, offset, key, header := f[0], f[1], f[2], f[4]
		if p, ok := keyPartition[key]; ok && p != partition {
			t.Errorf("key %s in partitions %s and %s", key, p, partition)
		}
		keyPartition[key] = partition
		if offset != strconv.Itoa(nextOffset[partition]) {
			t.Errorf("partition %s: offset %s, want %d", partition, offset, nextOffset[partition])
		}
		nextOffset[partition]++
		if header != "src=e2e" {
			t.Errorf("headers %q, want src=e2e", header)
		}
	}
}

// sumLogEndOffsets adds the LOG-END-OFFSET column of a describe.
func sumLogEndOffsets(t *testing.T, describe string) int64 {
	t.Helper()
	var total int64
	inTable := false
	for _, line := range lines(describe) {
		f := strings.Fields(line)
		if len(f) > 0 && f[0] == "PARTITION" {
			inTable = true
			continue
		}
		if !inTable || len(f) != 6 {
			continue
		}
		n, err := strconv.ParseInt(f[5], 10, 64)
		if err != nil {
			t.Fatalf("log end offset %q: %v", f[5], err)
		}
		total += n
	}
	return total
}
