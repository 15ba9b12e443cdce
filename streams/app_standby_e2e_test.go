package streams_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fjordhq/fjord/streams"
)

// takeoverDeadline bounds the wait for the standby to serve every word
// after the kill: the group needs the 6 s session timeout of the killed
// instance to notice it, and the race detector and a shared machine slow
// the rest. It is a deadline for the test to fail, not a performance claim.
const takeoverDeadline = 60 * time.Second

// TestStandbyTakesOverAndServesQueries is issue 16's acceptance for losing
// an instance's state with a standby: word count under exactly_once_v2
// with one standby replica runs on instance A (a process) and instance B
// (in this process, so that the test can query it). Once the tasks are
// split and B's standbys of A's tasks are caught up, A is SIGKILLed; the
// test measures how long until B answers every word's count from active
// tasks, checks that B took A's tasks over from its warm standbys rather
// than restoring them from the changelog's start, and that B goes on
// counting input produced after the takeover.
func TestStandbyTakesOverAndServesQueries(t *testing.T) {
	addr := startBroker(t, map[string]int32{"text-input": 6, "word-counts": 6})
	const appID = "wc-standby-takeover"
	procA := startInstance(t, []string{instanceBrokersEnv + "=" + addr, instanceStateDirEnv + "=" + filepath.Join(t.TempDir(), "a"),
		instanceAppIDEnv + "=" + appID, instanceStandbysEnv + "=1"})
	// After the kill, stop returns at once: the process is gone.
	t.Cleanup(func() { procA.stop(t) })
	b := startTakeoverInstance(t, addr, appID)

	rng := rand.New(rand.NewPCG(21, 16))
	want, total := produceLines(t, addr, rng, 1000, func(int) {})
	var standbys []int32
	eventually(t, 2*time.Minute, func() error {
		var err error
		if standbys, err = b.standbysOfPeer(); err != nil {
			return err
		}
		return b.answers(want, true)
	})
	// The words of A's partitions are A's to answer before the kill.
	if err := b.answers(want, false); !errors.Is(err, streams.ErrNotHostedHere) {
		t.Fatalf("before the kill, B's active tasks answer: %v; want some words hosted by A", err)
	}
	t.Logf("B keeps standbys of A's tasks of partitions %v", standbys)

	logsBefore := b.log.len()
	procA.kill()
	killed := time.Now()
	t.Logf("A killed at B +%v", killed.Sub(b.log.start).Round(time.Millisecond))
	takeover := b.awaitAnswers(t, want, killed, takeoverDeadline)
	t.Logf("takeover: B answered every word from active tasks %v after A was killed", takeover.Round(time.Millisecond))

	restored, lines := b.log.restoredBytesSince(logsBefore)
	fromScratch := changelogBytes(t, addr, appID+"-counts-changelog", standbys, total)
	t.Logf("B restored %d bytes after the kill; restoring A's tasks from scratch reads %d bytes of changelog; B logged:\n%s",
		restored, fromScratch, strings.Join(lines, "\n"))
	if len(lines) == 0 {
		t.Errorf("B logged no assignment after the kill")
	}
	if restored*10 > fromScratch {
		t.Errorf("B restored %d bytes after the kill, over a tenth of the %d bytes of A's changelogs: its standbys were not used", restored, fromScratch)
	}
	if active, standby, err := b.countingTasks(); err != nil || !slices.Equal(active, countingPartitions) || len(standby) != 0 {
		t.Errorf("after the takeover B runs counting tasks %v, standbys %v (%v); want all of %v and no standbys", active, standby, err, countingPartitions)
	}

	more, moreTotal := produceLines(t, addr, rng, 300, func(int) {})
	for w, n := range more {
		want[w] += n
	}
	eventually(t, time.Minute, func() error { return b.answers(want, false) })
	checkWordCounts(t, addr, want, total+moreTotal)
}

// takeoverInstance is instance B: an App with runInstance's settings, an
// application.server so that the assignment lists its partitions, and
// its log kept.
type takeoverInstance struct {
	app   *streams.App
	appID string
	host  string
	log   *takeoverLog
}

// countingPartitions are the partitions of the counting tasks: the
// repartition topic has text-input's six.
var countingPartitions = []int32{0, 1, 2, 3, 4, 5}

func startTakeoverInstance(t *testing.T, addr, appID string) *takeoverInstance {
	t.Helper()
	topo, err := newWordCount()
	if err != nil {
		t.Fatal(err)
	}
	cfg := streams.NewConfig(appID, addr)
	cfg.ProcessingGuarantee = streams.ExactlyOnceV2
	cfg.CommitInterval = 100 * time.Millisecond
	cfg.CacheMaxBytes = 0
	cfg.NumStreamThreads = 2
	cfg.StateDir = filepath.Join(t.TempDir(), "b")
	cfg.NumStandbyReplicas = 1
	// Nothing listens there: the test queries B in-process. The endpoint
	// only makes the assignment name B's partitions.
	cfg.ApplicationServer = "instance-b:8080"
	cfg.Properties["session.timeout.ms"] = "6000"
	cfg.Properties["heartbeat.interval.ms"] = "500"
	log := &takeoverLog{logf: t.Logf, start: time.Now()}
	app, err := streams.NewApp(topo, cfg, streams.WithLogger(log.printf))
	if err != nil {
		t.Fatal(err)
	}
	if err := app.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := app.Close(ctx); err != nil {
			t.Errorf("close B: %v", err)
		}
	})
	return &takeoverInstance{app: app, appID: appID, host: cfg.ApplicationServer, log: log}
}

// countingTasks returns the partitions of the counting tasks that the
// latest assignment gives B, active and standby.
func (b *takeoverInstance) countingTasks() (active, standby []int32, err error) {
	all, err := b.app.AllMetadata()
	if err != nil {
		return nil, nil, err
	}
	i := slices.IndexFunc(all, func(md streams.StreamsMetadata) bool { return md.Host == b.host })
	if i < 0 {
		return nil, nil, fmt.Errorf("B is not in the metadata %+v", all)
	}
	// The counting tasks' partitions are listed under their first input
	// topic, the repartition topic.
	topic := b.appID + "-counts-repartition"
	for _, tp := range all[i].TopicPartitions {
		if tp.Topic == topic {
			active = append(active, tp.Partition)
		}
	}
	for _, tp := range all[i].StandbyTopicPartitions {
		if tp.Topic == topic {
			standby = append(standby, tp.Partition)
		}
	}
	slices.Sort(active)
	slices.Sort(standby)
	return active, standby, nil
}

// standbysOfPeer returns the partitions of the counting tasks that B
// keeps standbys of, once the latest assignment splits them between B and
// the other instance: B runs some and not all, and keeps a standby of
// every other one. With two instances and one standby replica, those are
// exactly the other instance's tasks.
func (b *takeoverInstance) standbysOfPeer() ([]int32, error) {
	active, standby, err := b.countingTasks()
	if err != nil {
		return nil, err
	}
	both := slices.Sorted(slices.Values(append(slices.Clone(active), standby...)))
	if len(active) == 0 || len(standby) == 0 || !slices.Equal(both, countingPartitions) {
		return nil, fmt.Errorf("B runs counting tasks %v and keeps standbys %v; want the partitions %v split between them",
			active, standby, countingPartitions)
	}
	return standby, nil
}

// answers checks B's count of every word against want, from active tasks
// only or, with stale, from standbys too.
func (b *takeoverInstance) answers(want map[string]int64, stale bool) error {
	var opts []streams.QueryOption
	if stale {
		opts = append(opts, streams.WithStaleStores())
	}
	store, err := streams.QueryKeyValueStore[string, int64](b.app, "counts", opts...)
	if err != nil {
		return err
	}
	for _, w := range slices.Sorted(maps.Keys(want)) {
		v, ok, err := store.Get(w)
		if err != nil {
			return fmt.Errorf("word %q: %w", w, err)
		}
		if !ok || v != want[w] {
			return fmt.Errorf("word %q: count %d (found %v), want %d", w, v, ok, want[w])
		}
	}
	return nil
}

// awaitAnswers polls B's answers from active tasks every 50 ms until they
// are want's, logging each change of what B answers with the time since
// since, and returns the time from since to the right answers. It fails
// the test at the deadline.
func (b *takeoverInstance) awaitAnswers(t *testing.T, want map[string]int64, since time.Time, deadline time.Duration) time.Duration {
	t.Helper()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	timeout := time.After(deadline)
	last := ""
	for {
		err := b.answers(want, false)
		if err == nil {
			return time.Since(since)
		}
		if kind := answerKind(err); kind != last {
			t.Logf("+%v: B answers: %v", time.Since(since).Round(time.Millisecond), err)
			last = kind
		}
		select {
		case <-timeout:
			t.Fatalf("B did not answer every word from active tasks %v after the kill: %v", deadline, err)
		case <-tick.C:
		}
	}
}

// answerKind classifies a wrong answer of B, to log its changes only: the
// word it is about does not matter, which thread is not ready does.
func answerKind(err error) string {
	var elsewhere *streams.NotHostedError
	if errors.As(err, &elsewhere) {
		return "not hosted"
	}
	if inner := errors.Unwrap(err); inner != nil {
		return inner.Error()
	}
	return "wrong count"
}

// takeoverLog keeps an App's log lines and passes them on.
type takeoverLog struct {
	logf  func(format string, args ...any)
	start time.Time
	mu    struct {
		sync.Mutex
		lines []string
	}
}

func (l *takeoverLog) printf(format string, args ...any) {
	line := fmt.Sprintf(format, args...)
	l.mu.Lock()
	l.mu.lines = append(l.mu.lines, line)
	l.mu.Unlock()
	l.logf("B +%v: %s", time.Since(l.start).Round(time.Millisecond), line)
}

func (l *takeoverLog) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.mu.lines)
}

// restoredPattern reads the bytes a thread restored applying an
// assignment from its log line (thread.go, applyEvents).
var restoredPattern = regexp.MustCompile(`runs tasks .*; restored (\d+) bytes in`)

// restoredBytesSince sums the bytes restored by the assignments logged
// from line from on, and returns those lines.
func (l *takeoverLog) restoredBytesSince(from int) (int64, []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var total int64
	var lines []string
	for _, line := range l.mu.lines[from:] {
		m := restoredPattern.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		n, _ := strconv.ParseInt(m[1], 10, 64)
		total += n
		lines = append(lines, line)
	}
	return total, lines
}

// changelogBytes is what restoring partitions of a changelog from its
// start reads: the keys and values of its committed records, of which the
// changelog holds records in all.
func changelogBytes(t *testing.T, addr, topic string, partitions []int32, records int) int64 {
	t.Helper()
	var n int64
	for _, r := range readCommitted(t, addr, topic, records, time.Minute) {
		if slices.Contains(partitions, r.Partition) {
			n += int64(len(r.Key) + len(r.Value))
		}
	}
	return n
}
