package cli_test

import (
	"context"
	"fmt"
	"maps"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kversion"

	"github.com/fjordhq/fjord/internal/cli"
	"github.com/fjordhq/fjord/internal/fjordtest"
)

// TestE2EGroup is acceptance 6 of the consumer group issue: a franz-go
// group consumes and commits, stops, falls behind; `fjord group describe`
// shows its exact lag; reset-offsets is refused while it is active, changes
// nothing as a dry run and moves it with --execute; the restarted group
// re-consumes exactly from there; and the stopped group can be deleted.
func TestE2EGroup(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test starts a broker")
	}
	s := fjordtest.Start(t, fjordtest.Options{Config: map[string]string{
		"group.initial.rebalance.delay.ms": "0",
		"offsets.topic.num.partitions":     "4",
	}})
	t.Setenv(cli.BrokersEnv, s.Addr)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("broker log:\n%s", s.Log())
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// Ten records in each of partitions 0-2; partition 3 stays empty, so
	// the group never commits there.
	mustFjord(t, "", "topic", "create", "events", "--partitions", "4")
	for p := range 3 {
		mustFjord(t, numbered(10*p, 10*p+10), "produce", "events", "--partition", strconv.Itoa(p))
	}

	const group = "app"
	first := newGroupConsumer(t, s.Addr, group)
	if got := consumeTo(t, ctx, first, map[int32]int64{0: 10, 1: 10, 2: 10}); len(got) != 30 {
		t.Fatalf("first consumer read %d records, want 30", len(got))
	}
	if err := first.CommitUncommittedOffsets(ctx); err != nil {
		t.Fatalf("commit: %v", err)
	}

	t.Run("active group", func(t *testing.T) {
		r := mustFjord(t, "", "group", "describe", group)
		for _, want := range []string{"State: Stable", "Protocol: consumer/", "Members: 1", "events:0,1,2,3", "group-e2e"} {
			if !strings.Contains(r.Stdout, want) {
				t.Errorf("describe of the active group lacks %q:\n%s", want, r.Stdout)
			}
		}
		r = mustFjord(t, "", "group", "list", "--state", "stable")
		if got := groupListRow(r.Stdout, group); got != "Stable consumer 1" {
			t.Errorf("list --state stable shows %q for %s:\n%s", got, group, r.Stdout)
		}
		wantFailure(t, fjord(t, "", "group", "reset-offsets", group, "--all-topics", "--to-earliest"), 1,
			`cannot reset the offsets of a group with active members: group "app" is Stable with 1 members`)
		wantFailure(t, fjord(t, "", "group", "delete", group), 1, "NON_EMPTY_GROUP")
	})

	first.Close() // leaves the group
	// Every record so far has a timestamp before mark, every later one at
	// or after it: the clock is read, not waited on for an event.
	mark := time.Now().UnixMilli() + 1
	for time.Now().UnixMilli() < mark {
		runtime.Gosched()
	}
	// Fall behind: 5 more records in partition 0, 7 in partition 2.
	mustFjord(t, numbered(100, 105), "produce", "events", "--partition", "0")
	mustFjord(t, numbered(200, 207), "produce", "events", "--partition", "2")

	t.Run("describe lag", func(t *testing.T) {
		r := mustFjord(t, "", "group", "describe", group)
		wantGroupOffsets(t, r.Stdout, map[int32]string{
			0: "10 15 5", 1: "10 10 0", 2: "10 17 7", 3: "- 0 -",
		}, 12)
		if !strings.Contains(r.Stdout, "State: Empty") || !strings.Contains(r.Stdout, "Members: 0") {
			t.Errorf("describe after the consumer left:\n%s", r.Stdout)
		}
		r = mustFjord(t, "", "group", "list")
		if got := groupListRow(r.Stdout, group); got != "Empty consumer 0" {
			t.Errorf("list shows %q for %s:\n%s", got, group, r.Stdout)
		}
		if r = mustFjord(t, "", "group", "list", "--state", "Stable"); groupListRow(r.Stdout, group) != "" {
			t.Errorf("list --state Stable shows the empty group:\n%s", r.Stdout)
		}
	})

	t.Run("reset dry run", func(t *testing.T) {
		r := mustFjord(t, "", "group", "reset-offsets", group, "--topic", "events", "--to-earliest")
		wantPlan(t, r.Stdout, map[int32]string{0: "10 0", 1: "10 0", 2: "10 0", 3: "- 0"})
		if !strings.Contains(r.Stderr, "dry run") {
			t.Errorf("dry run does not say so: %s", r.Stderr)
		}
		r = mustFjord(t, "", "group", "reset-offsets", group, "--all-topics", "--to-latest")
		wantPlan(t, r.Stdout, map[int32]string{0: "10 15", 1: "10 10", 2: "10 17"})
		// The first record at or after mark is the first one produced
		// after the group stopped; partition 1 has none, so its log end.
		for _, at := range []string{"@" + strconv.FormatInt(mark, 10), time.UnixMilli(mark).UTC().Format(time.RFC3339Nano)} {
			r = mustFjord(t, "", "group", "reset-offsets", group, "--all-topics", "--to-datetime", at)
			wantPlan(t, r.Stdout, map[int32]string{0: "10 10", 1: "10 10", 2: "10 10"})
		}
		r = mustFjord(t, "", "group", "reset-offsets", group, "--all-topics", "--to-datetime", "@0")
		wantPlan(t, r.Stdout, map[int32]string{0: "10 0", 1: "10 0", 2: "10 0"})
		r = mustFjord(t, "", "group", "describe", group)
		wantGroupOffsets(t, r.Stdout, map[int32]string{
			0: "10 15 5", 1: "10 10 0", 2: "10 17 7", 3: "- 0 -",
		}, 12)
	})

	t.Run("reset execute", func(t *testing.T) {
		mustFjord(t, "", "group", "reset-offsets", group, "--topic", "events", "--to-earliest", "--execute")
		r := mustFjord(t, "", "group", "describe", group)
		wantGroupOffsets(t, r.Stdout, map[int32]string{
			0: "0 15 15", 1: "0 10 10", 2: "0 17 17", 3: "0 0 0",
		}, 42)
		// Shifting is clamped to the log: partition 0 moves to 3,
		// partition 1 cannot go below 0.
		r = mustFjord(t, "", "group", "reset-offsets", group, "--topic", "events:0", "--shift-by", "3", "--execute")
		wantPlan(t, r.Stdout, map[int32]string{0: "0 3"})
		r = mustFjord(t, "", "group", "reset-offsets", group, "--topic", "events:1", "--shift-by", "-5")
		wantPlan(t, r.Stdout, map[int32]string{1: "0 0"})
		wantFailure(t, fjord(t, "", "group", "reset-offsets", group, "--topic", "events:9", "--to-earliest"), 1,
			`topic "events" has no partition 9`)
		wantFailure(t, fjord(t, "", "group", "reset-offsets", group, "--topic", "nope", "--to-earliest"), 1,
			`topic "nope" does not exist`)
	})

	t.Run("re-consume from the reset", func(t *testing.T) {
		second := newGroupConsumer(t, s.Addr, group)
		got := consumeTo(t, ctx, second, map[int32]int64{0: 15, 1: 10, 2: 17})
		firstOffset := map[int32]int64{}
		for _, r := range got {
			if _, ok := firstOffset[r.Partition]; !ok {
				firstOffset[r.Partition] = r.Offset
			}
		}
		if want := map[int32]int64{0: 3, 1: 0, 2: 0}; !maps.Equal(firstOffset, want) {
			t.Errorf("re-consumed from %v, want %v", firstOffset, want)
		}
		if len(got) != 12+10+17 {
			t.Errorf("re-consumed %d records, want %d", len(got), 12+10+17)
		}
		if err := second.CommitUncommittedOffsets(ctx); err != nil {
			t.Fatalf("commit: %v", err)
		}
		second.Close()
		r := mustFjord(t, "", "group", "describe", group)
		wantGroupOffsets(t, r.Stdout, map[int32]string{
			0: "15 15 0", 1: "10 10 0", 2: "17 17 0", 3: "0 0 0",
		}, 0)
	})

	t.Run("delete", func(t *testing.T) {
		r := mustFjord(t, "", "group", "delete", group)
		if r.Stdout != "deleted group \"app\"\n" {
			t.Errorf("delete printed %q", r.Stdout)
		}
		wantFailure(t, fjord(t, "", "group", "describe", group), 1, `group "app" does not exist`)
		wantFailure(t, fjord(t, "", "group", "delete", group), 1, `group "app" does not exist (GROUP_ID_NOT_FOUND)`)
		if r = mustFjord(t, "", "group", "list"); groupListRow(r.Stdout, group) != "" {
			t.Errorf("deleted group still listed:\n%s", r.Stdout)
		}
	})
}

// newGroupConsumer joins group on the classic protocol (capped below
// KIP-848's ConsumerGroupHeartbeat) and commits only when told.
func newGroupConsumer(t *testing.T, addr, group string) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(addr),
		kgo.MaxVersions(kversion.V3_7_0()),
		kgo.ClientID("group-e2e"),
		kgo.ConsumerGroup(group),
		kgo.ConsumeTopics("events"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.DisableAutoCommit(),
		kgo.FetchMaxWait(100*time.Millisecond),
	)
	if err != nil {
		t.Fatalf("kgo.NewClient: %v", err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// consumeTo polls until every partition in ends has been read up to its
// end offset and returns the records. The log holds nothing past ends, so
// the count is exact without waiting for records that should not come.
func consumeTo(t *testing.T, ctx context.Context, cl *kgo.Client, ends map[int32]int64) []*kgo.Record {
	t.Helper()
	next := map[int32]int64{}
	var got []*kgo.Record
	reached := func() bool {
		for p, end := range ends {
			if next[p] < end {
				return false
			}
		}
		return true
	}
	for !reached() {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("consumed up to %v, want %v: %v", next, ends, ctx.Err())
		}
		fetches.EachError(func(topic string, p int32, err error) {
			t.Fatalf("fetch %s/%d: %v", topic, p, err)
		})
		fetches.EachRecord(func(r *kgo.Record) {
			got = append(got, r)
			next[r.Partition] = r.Offset + 1
		})
	}
	return got
}

// wantGroupOffsets checks describe's rows for topic events as
// "CURRENT LOG-END LAG" per partition, and the total lag.
func wantGroupOffsets(t *testing.T, describe string, want map[int32]string, totalLag int64) {
	t.Helper()
	got := map[int32]string{}
	for _, line := range lines(describe) {
		f := strings.Fields(line)
		if len(f) == 9 && f[0] == "events" {
			p, err := strconv.Atoi(f[1])
			if err != nil {
				t.Fatalf("partition %q: %v", f[1], err)
			}
			got[int32(p)] = strings.Join(f[2:5], " ")
		}
	}
	if !maps.Equal(got, want) {
		t.Errorf("offsets (current, log end, lag) %v, want %v:\n%s", got, want, describe)
	}
	if line := fmt.Sprintf("Total lag: %d\n", totalLag); !strings.Contains(describe, line) {
		t.Errorf("describe lacks %q:\n%s", line, describe)
	}
}

// wantPlan checks a reset plan's rows for topic events as "CURRENT NEW".
func wantPlan(t *testing.T, plan string, want map[int32]string) {
	t.Helper()
	got := map[int32]string{}
	for _, line := range lines(plan) {
		f := strings.Fields(line)
		if len(f) == 4 && f[0] == "events" {
			p, _ := strconv.Atoi(f[1])
			got[int32(p)] = f[2] + " " + f[3]
		}
	}
	if !maps.Equal(got, want) {
		t.Errorf("plan (current, new) %v, want %v:\n%s", got, want, plan)
	}
}

// groupListRow returns "STATE PROTOCOL-TYPE MEMBERS" of group in a list,
// or "" when it is not listed.
func groupListRow(list, group string) string {
	for _, line := range lines(list) {
		f := strings.Fields(line)
		if len(f) == 4 && f[0] == group {
			return strings.Join(f[1:], " ")
		}
	}
	return ""
}
