package e2e

// Acceptance 2 of the consumer group issue with librdkafka's balanced
// consumer, driven through kcat -G processes: the scenarios of
// TestGroupFranzGoClassic, with assignments read from kcat's stderr and
// checked against the partitions of the records each process printed.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/fjordhq/fjord/internal/clustertest"
)

// kcatSessionTimeout is short so that a killed member is removed within a
// few seconds; the heartbeat interval must be below it (librdkafka's
// default of 3 s is not) or live members time out themselves.
const (
	kcatSessionTimeout = 2 * time.Second
	kcatHeartbeat      = 200 * time.Millisecond
)

// kcatRebalanceLine matches kcat's stderr report of a rebalance, e.g.
//
//	% Group g rebalanced (memberid rdkafka-...): assigned: t [0], t [3]
var kcatRebalanceLine = regexp.MustCompile(`^% Group \S+ rebalanced \(memberid [^)]*\): (assigned|revoked): (.*)$`)

// kcatPartitionRef matches one "topic [partition]" of such a line.
var kcatPartitionRef = regexp.MustCompile(`\[(\d+)\]`)

// kcatMember is one kcat -G process: what it owns according to its last
// rebalance report, and every record it printed.
type kcatMember struct {
	*ownedPartitions
	cmd  *exec.Cmd
	done chan struct{} // closed once both pipes are drained and the process reaped

	mu      sync.Mutex
	records []rec
	stderr  []string // every stderr line; a kcat run in these tests prints a few dozen
}

// startKcatMember starts kcat -G in groupID on topic. Offsets are
// auto-committed every 100ms, on every revocation and on close, as
// librdkafka does with enable.auto.commit=true; -u makes each printed
// record reach the pipe at once, so a SIGKILL loses none already printed.
func startKcatMember(t *testing.T, addr, groupID, topic, name string) *kcatMember {
	t.Helper()
	path, err := clustertest.LookKcat(t)
	if err != nil {
		t.Skip(err)
	}
	// No -o: in -G mode kcat applies it on every assignment, overriding
	// the committed offsets.
	cmd := exec.Command(path, "-b", addr, "-G", groupID, "-u", "-f", `%p %o %s\n`,
		"-X", "client.id="+name,
		"-X", "auto.offset.reset=earliest",
		"-X", "enable.auto.commit=true",
		"-X", "auto.commit.interval.ms=100",
		// The group, topic and fetch debug logs (committed offsets
		// fetched, where fetching starts, offset resets and their
		// causes) are printed only when the test fails: a rare run
		// re-reads a partition from its start after a handover.
		"-X", "debug=cgrp,topic,fetch",
		"-X", fmt.Sprintf("session.timeout.ms=%d", kcatSessionTimeout.Milliseconds()),
		"-X", fmt.Sprintf("heartbeat.interval.ms=%d", kcatHeartbeat.Milliseconds()),
		topic)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("stdout pipe: %v", err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatalf("stderr pipe: %v", err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting kcat: %v", err)
	}
	m := &kcatMember{ownedPartitions: &ownedPartitions{name: name}, cmd: cmd, done: make(chan struct{})}
	go func() {
		defer close(m.done)
		var wg sync.WaitGroup
		wg.Go(func() { m.readRecords(t, stdout) })
		wg.Go(func() { m.readStderr(t, stderr) })
		wg.Wait()
		_ = cmd.Wait() // a signalled kcat exits non-zero; the test checks outcomes instead
	}()
	t.Cleanup(func() {
		m.signal(t, syscall.SIGKILL)
		<-m.done
		if t.Failed() {
			t.Logf("%s printed %s; stderr:\n%s", name, m.printedRuns(), strings.Join(m.stderrLines(), "\n"))
		}
	})
	return m
}

// readRecords parses kcat's "%p %o %s" lines until stdout closes.
func (m *kcatMember) readRecords(t *testing.T, stdout io.Reader) {
	scanner := bufio.NewScanner(stdout)
	for scanner.Scan() {
		fields := strings.Fields(scanner.Text())
		if len(fields) != 3 {
			t.Errorf("%s: unexpected output line %q", m.name, scanner.Text())
			continue
		}
		p, err1 := strconv.ParseInt(fields[0], 10, 32)
		o, err2 := strconv.ParseInt(fields[1], 10, 64)
		if err1 != nil || err2 != nil {
			t.Errorf("%s: bad numbers in output line %q", m.name, scanner.Text())
			continue
		}
		m.mu.Lock()
		// produceValues makes key and value equal; kcat prints the value.
		m.records = append(m.records, rec{Partition: int32(p), Offset: o, Key: fields[2], Value: fields[2]})
		m.mu.Unlock()
	}
}

// readStderr keeps every stderr line and follows the rebalance reports.
func (m *kcatMember) readStderr(t *testing.T, stderr io.Reader) {
	scanner := bufio.NewScanner(stderr)
	for scanner.Scan() {
		line := scanner.Text()
		m.mu.Lock()
		m.stderr = append(m.stderr, line)
		m.mu.Unlock()
		match := kcatRebalanceLine.FindStringSubmatch(line)
		if match == nil {
			continue
		}
		if match[1] == "revoked" {
			m.set(nil)
			continue
		}
		var ps []int32
		for _, ref := range kcatPartitionRef.FindAllStringSubmatch(match[2], -1) {
			p, err := strconv.ParseInt(ref[1], 10, 32)
			if err != nil {
				t.Errorf("%s: bad partition in %q", m.name, line)
			}
			ps = append(ps, int32(p))
		}
		slices.Sort(ps)
		m.set(ps)
	}
}

func (m *kcatMember) signal(t *testing.T, sig syscall.Signal) {
	if err := m.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Errorf("%s: %v: %v", m.name, sig, err)
	}
}

// stop sends sig and waits for kcat to exit: SIGTERM makes it close the
// consumer (final commit, LeaveGroup), SIGKILL makes it vanish.
func (m *kcatMember) stop(t *testing.T, ctx context.Context, sig syscall.Signal) {
	t.Helper()
	m.signal(t, sig)
	select {
	case <-m.done:
	case <-ctx.Done():
		t.Fatalf("%s: kcat did not exit after %v: %v", m.name, sig, ctx.Err())
	}
}

func (m *kcatMember) consumedRecords() []rec {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.records)
}

// printedRuns describes what the member printed, in order, as runs of
// consecutive offsets per partition ("p0 0-19, p1 0-19, p0 20-39"), so a
// failure shows who read what from where.
func (m *kcatMember) printedRuns() string {
	var runs []string
	var open *rec
	var last int64
	flush := func() {
		if open != nil {
			runs = append(runs, fmt.Sprintf("p%d %d-%d", open.Partition, open.Offset, last))
		}
	}
	for _, r := range m.consumedRecords() {
		if open != nil && r.Partition == open.Partition && r.Offset == last+1 {
			last = r.Offset
			continue
		}
		flush()
		open, last = &r, r.Offset
	}
	flush()
	return strings.Join(runs, ", ")
}

func (m *kcatMember) stderrLines() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.stderr)
}

// kcatGroup is the kcat members of one test, and where each one's records
// stood when the current phase began.
type kcatGroup struct {
	members []*kcatMember
	marks   map[*kcatMember]int
}

// startPhase remembers how many records each member has printed so far.
func (g *kcatGroup) startPhase() {
	g.marks = map[*kcatMember]int{}
	for _, m := range g.members {
		g.marks[m] = len(m.consumedRecords())
	}
}

// all is every record printed by any member.
func (g *kcatGroup) all() []rec {
	var out []rec
	for _, m := range g.members {
		out = append(out, m.consumedRecords()...)
	}
	return out
}

// waitConsumed waits until the members together printed at least n
// records.
func (g *kcatGroup) waitConsumed(t *testing.T, ctx context.Context, what string, n int) {
	t.Helper()
	eventually(t, ctx, what, func() (bool, string) {
		got := len(g.all())
		return got >= n, fmt.Sprintf("%d of %d records", got, n)
	})
}

// checkPhaseOwnership asserts that every record a member printed in this
// phase, during which no rebalance happened, came from a partition its
// rebalance report says it owns: assignment and consumption agree, and
// since assignments are disjoint, so are the partitions consumed.
func (g *kcatGroup) checkPhaseOwnership(t *testing.T, live ...*kcatMember) {
	t.Helper()
	for _, m := range g.members {
		records := m.consumedRecords()[g.marks[m]:]
		owned := m.partitions()
		if !slices.Contains(live, m) && len(records) > 0 {
			t.Errorf("%s printed %d records after it stopped", m.name, len(records))
		}
		for _, r := range records {
			if !slices.Contains(owned, r.Partition) {
				t.Errorf("%s printed %s from partition %d; it owns %v", m.name, r.Value, r.Partition, owned)
				break
			}
		}
	}
}

// waitCommitted waits until the group's committed offsets reach the log end
// of every partition of topic.
func waitCommitted(t *testing.T, ctx context.Context, adm *kadm.Client, groupID, topic string) {
	t.Helper()
	end := offsetsOf(t, ctx, adm, topic, true)
	eventually(t, ctx, "offsets committed up to the log end", func() (bool, string) {
		fetched, err := adm.FetchOffsets(ctx, groupID)
		if err == nil {
			err = fetched.Error()
		}
		if err != nil {
			return false, err.Error()
		}
		for p, e := range end {
			o, ok := fetched.Lookup(topic, p)
			if !ok || o.At != e {
				return false, fmt.Sprintf("partition %d committed %v, log end %d", p, o.At, e)
			}
		}
		return true, ""
	})
}

// TestGroupKcatBalanced is acceptance 2 with librdkafka's balanced consumer
// (kcat -G, eager range assignor, offsets auto-committed every 100ms and on
// every revocation and close): two processes split six partitions 3/3, a
// third makes it 2/2/2, one stopped with SIGTERM leaves and the others take
// over at once, one SIGKILLed is removed after its session timeout.
//
// What is asserted, and why it must hold: every produced record is printed,
// and printed exactly once across the group. Exactly once holds across the
// clean handovers because librdkafka commits the offsets of revoked
// partitions before it rejoins and commits on close before LeaveGroup, so
// the next owner starts where the previous one stopped; it holds across the
// SIGKILL because the test waits, before killing, until the committed
// offsets reach the log end (an auto-commit every 100ms gets there), so the
// killed process holds nothing uncommitted. Without that wait a kill would
// legitimately repeat up to one commit interval of records.
func TestGroupKcatBalanced(t *testing.T) {
	srv := startServer(t, groupBrokerConfig())
	ctx := testContext(t, testTimeout)
	adm := newAdmin(t, srv.Addr)
	topic := uniqueTopic(t, "kcat")
	createTopic(t, ctx, adm, topic, 6, nil)
	producer := newKgo(t, srv.Addr, kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	const groupID = "kcat-balanced"
	// The group starts with committed offsets (0), so that no member
	// ever looks up the log start: librdkafka 2.0.2 (Debian's kcat) takes
	// a ListOffsets answer that arrives after its partition was revoked
	// (it waits behind a long-polling Fetch on the same connection) for a
	// reason to look the offset up again, and then moves the partition
	// back to the log start even once it is reassigned at a committed
	// offset: its debug log says "outdated offset response: (re)starting
	// offset query timer for offset BEGINNING" and the partition is read
	// again from 0. A client bug, not a broker answer: the OffsetFetch it
	// got carried the right offset.
	initial := kadm.Offsets{}
	for p := range int32(6) {
		initial.Add(kadm.Offset{Topic: topic, Partition: p, At: 0, LeaderEpoch: -1})
	}
	if committed, err := adm.CommitOffsets(ctx, groupID, initial); err != nil || committed.Error() != nil {
		t.Fatalf("committing the initial offsets: %v %v", err, committed.Error())
	}
	g := &kcatGroup{}
	start := func(name string) *kcatMember {
		m := startKcatMember(t, srv.Addr, groupID, topic, name)
		g.members = append(g.members, m)
		return m
	}

	a, b := start("a"), start("b")
	waitOwnedSplit(t, ctx, 6, []int{3, 3}, a, b)
	g.startPhase()
	produced := produceValues(t, ctx, producer, topic, "one", 120)
	g.waitConsumed(t, ctx, "records printed by a and b", len(produced))
	g.checkPhaseOwnership(t, a, b)

	c := start("c")
	waitOwnedSplit(t, ctx, 6, []int{2, 2, 2}, a, b, c)
	g.startPhase()
	produced = append(produced, produceValues(t, ctx, producer, topic, "two", 120)...)
	g.waitConsumed(t, ctx, "records printed by a, b and c", len(produced))
	g.checkPhaseOwnership(t, a, b, c)

	a.stop(t, ctx, syscall.SIGTERM)
	waitOwnedSplit(t, ctx, 6, []int{3, 3}, b, c)
	g.startPhase()
	produced = append(produced, produceValues(t, ctx, producer, topic, "three", 120)...)
	g.waitConsumed(t, ctx, "records printed by b and c after a left", len(produced))
	g.checkPhaseOwnership(t, b, c)

	waitCommitted(t, ctx, adm, groupID, topic)
	killed := time.Now()
	b.stop(t, ctx, syscall.SIGKILL)
	waitOwnedSplit(t, ctx, 6, []int{6}, c)
	// Only the session timeout frees a killed member's partitions; its last
	// heartbeat was at most one interval before the kill.
	if took := time.Since(killed); took < kcatSessionTimeout/2 {
		t.Errorf("partitions of the killed member moved after %v; a session timeout of %v should have held them", took, kcatSessionTimeout)
	} else {
		t.Logf("partitions of the killed member moved after %v (session timeout %v)", took, kcatSessionTimeout)
	}
	g.startPhase()
	produced = append(produced, produceValues(t, ctx, producer, topic, "four", 120)...)
	g.waitConsumed(t, ctx, "records printed by c alone", len(produced))
	g.checkPhaseOwnership(t, c)

	checkExactlyOnce(t, produced, g.all())
	for _, m := range g.members {
		for _, line := range m.stderrLines() {
			// A failed commit is what would make a clean handover repeat
			// records; name it rather than only count duplicates. Debug
			// lines (level 7) only narrate.
			if strings.HasPrefix(line, "%7|") {
				continue
			}
			if strings.Contains(line, "COMMITFAIL") || strings.Contains(line, "ERROR") {
				t.Errorf("%s: %s", m.name, line)
			}
		}
	}
}

// TestGroupKcat checks librdkafka's committed-offset resume: a consumer
// that stops after part of the topic commits on close, and the next one in
// the group resumes exactly there.
func TestGroupKcat(t *testing.T) {
	srv := startServer(t, groupBrokerConfig())
	ctx := testContext(t, testTimeout)
	adm := newAdmin(t, srv.Addr)
	topic := uniqueTopic(t, "kcat")
	createTopic(t, ctx, adm, topic, 1, nil)
	producer := newKgo(t, srv.Addr)
	produced := produceValues(t, ctx, producer, topic, "k", 200)
	const groupID = "kcat-group"
	// No -o: in -G mode kcat applies it on every assignment, overriding
	// the committed offsets this test is about.
	args := func(count string) []string {
		return []string{"-G", groupID, "-X", "auto.offset.reset=earliest", "-c", count, "-f", `%s\n`,
			"-X", "session.timeout.ms=3000", "-X", "heartbeat.interval.ms=300", topic}
	}
	first := strings.Fields(kcat(t, ctx, srv.Addr, "", args("120")...))
	second := strings.Fields(kcat(t, ctx, srv.Addr, "", args("80")...))
	if len(first) != 120 || len(second) != 80 {
		t.Fatalf("consumed %d then %d records", len(first), len(second))
	}
	var got []rec
	for _, v := range append(first, second...) {
		got = append(got, rec{Key: v, Value: v})
	}
	checkExactlyOnce(t, produced, got)
	if first[0] != produced[0] || second[0] != produced[120] {
		t.Errorf("first run started at %s, second at %s; want %s and %s", first[0], second[0], produced[0], produced[120])
	}
}
