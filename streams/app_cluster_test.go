package streams_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/fjordhq/fjord/internal/clustertest"
	"github.com/fjordhq/fjord/streams"
)

// The windowed count of TestWindowedCountOnClusterUnderKills: ten-second
// tumbling windows with five seconds of grace, one final count per window.
const (
	windowSize  = 10 * time.Second
	windowGrace = 5 * time.Second
	windowParts = 6
)

func newWindowedCount() (*streams.Topology, error) {
	b := streams.NewBuilder()
	events := streams.StreamFrom(b, streams.String, streams.String, []string{"events"})
	counts := streams.WindowedBy(streams.GroupByKey(events, streams.String, streams.String),
		streams.TimeWindowsOf(windowSize).WithGrace(windowGrace)).Count(streams.As("window-counts"))
	final := streams.SuppressUntilWindowCloses(counts)
	final.ToStream().To("window-counts", streams.TimeWindowedSerde(streams.String, windowSize), streams.Int64)
	return b.Build()
}

// windowKey names one window of one key.
type windowKey struct {
	key   string
	start int64
}

// TestWindowedCountOnClusterUnderKills runs a suppressed windowed count
// under exactly_once_v2 on a three-node cluster (internal topics with three
// replicas) while instances are SIGKILLed and a broker restarts. Records
// arrive out of order, some within the grace period and some after it. Each
// window must be emitted exactly once, with the count a brute-force replay of
// each partition gives: the late records dropped as the partition's stream
// time says.
func TestWindowedCountOnClusterUnderKills(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 16))
	cluster := clustertest.Start(t, 3, map[string]string{"min.insync.replicas": "2"})
	addrs := strings.Join(cluster.Addrs(), ",")
	cl, err := kgo.NewClient(kgo.SeedBrokers(cluster.Addrs()...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx := context.Background()
	adm := kadm.NewClient(cl)
	for _, topic := range []string{"events", "window-counts"} {
		if resp, err := adm.CreateTopic(ctx, windowParts, 3, nil, topic); err != nil || resp.Err != nil {
			t.Fatalf("create %s: %v %v", topic, err, resp.Err)
		}
	}
	procs := make([]*instanceProc, 3)
	envs := make([][]string, 3)
	for i := range procs {
		envs[i] = []string{instanceEnv + "=windowed", instanceBrokersEnv + "=" + addrs, instanceRFEnv + "=3",
			instanceStateDirEnv + "=" + filepath.Join(t.TempDir(), fmt.Sprint(i)), instanceAppIDEnv + "=windowed-cluster"}
		procs[i] = startInstance(t, envs[i])
	}
	defer func() {
		for _, p := range procs {
			p.stop(t)
		}
	}()
	want := produceWindowedEvents(t, cl, rng, func(i int) {
		switch {
		case i == 2500:
			t.Logf("event %d: restarting broker 2", i)
			cluster.Node(2).Restart()
		case i%700 == 350:
			victim := rng.IntN(len(procs))
			procs[victim].kill()
			t.Logf("event %d: killed instance %d", i, victim)
			procs[victim] = startInstance(t, envs[victim])
		}
	})
	checkWindowCounts(t, strings.Split(addrs, ","), want)
}

// produceWindowedEvents writes events to chosen partitions with event times
// that run forward with jitter and returns the final count of every window
// a replay of each partition in order gives.
func produceWindowedEvents(t *testing.T, cl *kgo.Client, rng *rand.Rand, between func(i int)) map[windowKey]int64 {
	t.Helper()
	const events = 5000
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	streamTime := make([]int64, windowParts)
	for p := range streamTime {
		streamTime[p] = -1
	}
	want := make(map[windowKey]int64)
	tick := time.NewTicker(time.Second / 250)
	defer tick.Stop()
	ctx := context.Background()
	for i := range events + windowParts {
		<-tick.C
		between(i)
		key := fmt.Sprintf("k%02d", rng.IntN(24))
		p := int32(key[2]-'0') % windowParts
		// Event time advances 20 ms per event; one event in ten is up
		// to 12 s behind, beyond the grace period for some.
		ts := base + int64(i)*20
		if rng.IntN(10) == 0 {
			ts -= rng.Int64N(12_000)
		}
		if i >= events {
			// Closing events, one per partition, an hour on: every
			// window of the data closes.
			key, p, ts = fmt.Sprintf("~close-%d", i-events), int32(i-events), base+int64(events)*20+3_600_000
		}
		streamTime[p] = max(streamTime[p], ts)
		start := ts - ts%windowSize.Milliseconds()
		late := start+windowSize.Milliseconds()+windowGrace.Milliseconds() <= streamTime[p]
		if !late && i < events {
			want[windowKey{key, start}]++
		}
		r := &kgo.Record{Topic: "events", Partition: p, Key: []byte(key), Value: []byte("e"), Timestamp: time.UnixMilli(ts)}
		if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	return want
}

// checkWindowCounts reads the committed final counts until every window
// the model expects arrived, and checks each arrived once with its count.
func checkWindowCounts(t *testing.T, addrs []string, want map[windowKey]int64) {
	t.Helper()
	records := readCommittedFrom(t, addrs, "window-counts", len(want), 3*time.Minute)
	serde := streams.TimeWindowedSerde(streams.String, windowSize)
	got := make(map[windowKey]int64)
	for _, r := range records {
		w, err := serde.Deserialize("window-counts", r.Key)
		if err != nil {
			t.Fatal(err)
		}
		n, err := streams.Int64.Deserialize("window-counts", r.Value)
		if err != nil {
			t.Fatal(err)
		}
		k := windowKey{w.Key, w.Start.UnixMilli()}
		if _, dup := got[k]; dup {
			t.Errorf("window %v emitted twice", k)
		}
		got[k] = n
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("window %v: count %d, want %d", k, got[k], n)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("window %v emitted but not expected", k)
		}
	}
}

// readCommittedFrom is readCommitted against a cluster.
func readCommittedFrom(t *testing.T, addrs []string, topic string, n int, deadline time.Duration) []*kgo.Record {
	t.Helper()
	return readCommitted(t, strings.Join(addrs, ","), topic, n, deadline)
}
