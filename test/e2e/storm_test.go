package e2e

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/fjordhq/fjord/internal/fjordtest"
)

// The connection-storm tests (security acceptance item 3; RELIABILITY.md
// sections 8 and 9): a broker under thousands of hostile or useless
// connections keeps its memory within what its configuration promises and
// keeps serving well-behaved clients.
//
// Memory bound. The broker's memory under a storm is its baseline (measured
// first, in the same test, after the same workload ran without the storm)
// plus what the storm can make it hold:
//
//   - request frames: at most queued.max.request.bytes (the pool), overrun
//     by at most one frame (the oldest being read may always grow), plus the
//     produce buffers connections keep for their next request, at most a
//     quarter of the pool (Server.maxKeptFrameBytes);
//   - per connection: an 8 KiB socket read buffer, the reader and writer
//     goroutines' stacks and the connection's bookkeeping, counted as
//     stormConnectionBytes (a write buffer is made only for a connection that
//     gets a response, which no attacker does);
//   - the Go heap may grow to twice what is live before a collection
//     (GOGC=100), so the heap terms count double;
//   - stormSlackBytes for the rest: log segments and indexes of the flooded
//     topic, the runtime's own growth with thousands of goroutines.
//
// The point of the bound is the failure it excludes: a broker that believed
// the stalled connections' announced 50 MiB frames, or kept per-connection
// buffers proportional to traffic, exceeds it by gigabytes.
const (
	stormConnectionBytes = 32 << 10
	stormSlackBytes      = 96 << 20
)

// stormBoundBytes is the memory bound above the baseline for a pool of
// poolBytes, a largest partial frame of overrunBytes and conns connections.
func stormBoundBytes(poolBytes, overrunBytes int64, conns int) int64 {
	heap := poolBytes + poolBytes/4 + overrunBytes + int64(conns)*stormConnectionBytes
	return 2*heap + stormSlackBytes
}

// Liveness bounds of the well-behaved clients: generous, because the test
// binary runs with -race on two cores beside the storm's own goroutines.
// They catch a broker that stops serving, not a slow one.
const (
	stormProduceP99Bound  = 2 * time.Second
	stormEndToEndP99Bound = 3 * time.Second
	tinyPoolP99Bound      = 15 * time.Second
	stormWorkloadRecords  = 300
	stormWorkloadInterval = 20 * time.Millisecond
	stormRecoveryTimeout  = 30 * time.Second
	stormGoroutineSlack   = 50
	stormFileSlack        = 20
	stormPartialFrameStep = 16 << 10 // internal/server frameFirstStep
	stormDefaultConns     = 2000
	stormDefaultDuration  = 10 * time.Second
	stormChurnPerSecond   = 200
	stormFloodPerSecond   = 2000 // per flood connection
	stormFloodConns       = 2
	stormFloodRecords     = 10
	stormStallFrameBytes  = 50 << 20
	stormMainPoolBytes    = 64 << 20
	stormTinyPoolBytes    = 4 << 20
	stormTinyFrameBytes   = 1 << 20
	stormTinyConns        = 300
)

// stormScale reads the scale of a manual run: FJORD_STORM_CONNS held
// connections (default 2000) and FJORD_STORM_DURATION, the least time the
// storm lasts (default 10s; it lasts at least as long as the well-behaved
// workload).
func stormScale(t *testing.T) (conns int, duration time.Duration) {
	t.Helper()
	conns, duration = stormDefaultConns, stormDefaultDuration
	if v := os.Getenv("FJORD_STORM_CONNS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 10 {
			t.Fatalf("FJORD_STORM_CONNS=%q: want a count of at least 10", v)
		}
		conns = n
	}
	if v := os.Getenv("FJORD_STORM_DURATION"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("FJORD_STORM_DURATION=%q: %v", v, err)
		}
		duration = d
	}
	return conns, duration
}

// startStormBroker starts a broker with the given pool and connection
// limit, its pprof endpoint on, and returns it with its probe.
func startStormBroker(t *testing.T, ctx context.Context, poolBytes int64, maxConnections int) (*fjordtest.Server, *brokerProbe) {
	t.Helper()
	srv := startServer(t, map[string]string{
		"queued.max.request.bytes": strconv.FormatInt(poolBytes, 10),
		"max.connections":          strconv.Itoa(maxConnections),
	}, "--pprof", "127.0.0.1:0")
	return srv, newBrokerProbe(t, ctx, srv)
}

// TestConnectionStorm holds a couple of thousand connections open against
// a broker (silent ones, ones that announce a 50 MiB frame and stall after
// a few bytes, slow-loris ones sending a byte every 300ms), opens and closes
// 200 more a second and floods acks=0 produce requests on two more, while a
// well-behaved producer and consumer do their work. The partial frames take
// at most half the pool, so the pool is never dry here (that case is
// TestConnectionStormTinyPool).
func TestConnectionStorm(t *testing.T) {
	conns, duration := stormScale(t)
	partial := min(conns/2, stormMainPoolBytes/2/stormPartialFrameStep)
	mix := stormMix{
		silent:           conns - partial,
		stalled:          partial * 3 / 5,
		stallFrameBytes:  stormStallFrameBytes,
		stallPrefixBytes: 16,
		drip:             partial - partial*3/5,
		dripInterval:     300 * time.Millisecond,
		churnPerSecond:   stormChurnPerSecond,
		floodConns:       stormFloodConns,
		floodPerSecond:   stormFloodPerSecond,
		floodRecords:     stormFloodRecords,
	}
	raiseFileLimit(t, uint64(2*mix.held()+2000))
	ctx := testContext(t, 5*time.Minute)
	srv, probe := startStormBroker(t, ctx, stormMainPoolBytes, mix.held()+1000)
	adm := newAdmin(t, srv.Addr)
	mix.floodTopic = uniqueTopic(t, "flood")
	createTopic(t, ctx, adm, mix.floodTopic, 1, nil)
	for _, topic := range []string{"quiet", "storm", "after"} {
		createTopic(t, ctx, adm, uniqueTopic(t, topic), 3, nil)
	}

	quiet := runWellBehaved(t, ctx, srv.Addr, uniqueTopic(t, "quiet"), stormWorkloadRecords)
	base := probe.sample(t)
	t.Logf("baseline after the quiet workload: %v", base)
	t.Logf("quiet workload: %v", quiet)

	st, peak, during := runStorm(t, ctx, srv.Addr, probe, mix, duration, uniqueTopic(t, "storm"))
	t.Logf("storm workload: %v", during.workload)
	t.Logf("storm: %d held connections (%d silent, %d stalled at 16 of %d bytes, %d dripping), %d churned, %d acks=0 requests (%d records) on %d connections",
		mix.held(), mix.silent, mix.stalled, mix.stallFrameBytes, mix.drip, st.churned.Load(),
		st.floodFrames.Load(), st.floodRecords.Load(), mix.floodConns)
	bound := base.rssBytes + stormBoundBytes(stormMainPoolBytes, 0, mix.held())
	t.Logf("broker under the storm: %v; peak RSS %s sampled, VmHWM %s, bound %s; %.1f KiB per held connection over the baseline",
		during.sample, mib(peak), mib(during.sample.hwmBytes), mib(bound),
		float64(peak-base.rssBytes)/1024/float64(mix.held()))
	if during.sample.hwmBytes > bound {
		t.Errorf("broker peak RSS %s over the bound %s (baseline %s + pool %s + %d connections)",
			mib(during.sample.hwmBytes), mib(bound), mib(base.rssBytes), mib(stormMainPoolBytes), mix.held())
	}
	// Two goroutines per connection, and an acks=0 request's pending work
	// at most 64 per flood connection.
	if limit := base.goroutines + 2*mix.held() + 64*mix.floodConns + stormGoroutineSlack; during.sample.goroutines > limit {
		t.Errorf("broker had %d goroutines under the storm, more than %d (baseline %d, 2 per connection, 64 per flood connection)",
			during.sample.goroutines, limit, base.goroutines)
	}
	checkLiveness(t, "storm", during.workload, stormProduceP99Bound, stormEndToEndP99Bound)

	// Every acks=0 record the flood wrote in full was appended: nothing
	// dropped under load.
	wantFlood := st.floodRecords.Load()
	eventually(t, ctx, "acks=0 flood records appended", func() (bool, string) {
		got := offsetsOf(t, ctx, adm, mix.floodTopic, true)[0]
		return got == wantFlood, fmt.Sprintf("log end offset %d, %d records sent", got, wantFlood)
	})

	after := waitRecovered(t, ctx, probe, base, peak)
	t.Logf("broker after the storm: %v", after)
	again := runWellBehaved(t, ctx, srv.Addr, uniqueTopic(t, "after"), stormWorkloadRecords/3)
	t.Logf("workload after the storm: %v", again)
	checkLiveness(t, "after the storm", again, stormProduceP99Bound, stormEndToEndP99Bound)
}

// TestConnectionStormTinyPool runs a storm that drains a 4 MiB request pool:
// 300 connections each send a 1 MiB frame as fast as the broker reads it,
// and dial again once the broker has read it and closed the connection (the
// frame's api key is unknown). Without the pool the broker would hold up to
// 300 MiB of partly read frames; with it, the pool plus one overrunning
// frame, while the others wait mid-frame or before their first byte. The
// well-behaved clients compete for the memory freed and must still finish,
// more slowly.
//
// FJORD_STORM_TINY_ATTACK=stall-rotate replaces the senders by connections
// that send 1 MiB of a 50 MiB frame, reset after 0.75 to 2.25s and dial
// again: a manual reproduction of the broker wedging under that attack
// (connections waiting for pool memory do not notice their client has gone,
// and only the oldest frame may grow), which this test then fails on.
func TestConnectionStormTinyPool(t *testing.T) {
	mix := stormMix{senders: stormTinyConns, sendFrameBytes: stormTinyFrameBytes}
	if attack := os.Getenv("FJORD_STORM_TINY_ATTACK"); attack == "stall-rotate" {
		mix = stormMix{
			stalled:          stormTinyConns,
			stallFrameBytes:  stormStallFrameBytes,
			stallPrefixBytes: stormTinyFrameBytes,
			stallHold:        1500 * time.Millisecond,
		}
	} else if attack != "" {
		t.Fatalf("FJORD_STORM_TINY_ATTACK=%q: want stall-rotate or nothing", attack)
	}
	raiseFileLimit(t, uint64(20*mix.held()+2000))
	ctx := testContext(t, 5*time.Minute)
	// A connection slot per redial the storm may have in flight, many
	// times over: slots are not what this test is about.
	srv, probe := startStormBroker(t, ctx, stormTinyPoolBytes, 20*mix.held())
	adm := newAdmin(t, srv.Addr)
	for _, topic := range []string{"quiet", "storm"} {
		createTopic(t, ctx, adm, uniqueTopic(t, topic), 3, nil)
	}
	quiet := runWellBehaved(t, ctx, srv.Addr, uniqueTopic(t, "quiet"), stormWorkloadRecords)
	base := probe.sample(t)
	t.Logf("baseline after the quiet workload: %v", base)
	t.Logf("quiet workload: %v", quiet)

	st, peak, during := runStorm(t, ctx, srv.Addr, probe, mix, 0, uniqueTopic(t, "storm"))
	t.Logf("storm workload (pool dry): %v", during.workload)
	t.Logf("storm: %d connections; %d frames of %s read in full by the broker; %d stalled dials",
		mix.held(), st.sentFrames.Load(), mib(stormTinyFrameBytes), st.stallDials.Load())
	if during.maxPoolWaiters == 0 {
		t.Errorf("no goroutine of the broker ever waited for request pool memory: the pool did not run dry")
	}
	bound := base.rssBytes + stormBoundBytes(stormTinyPoolBytes, stormTinyFrameBytes, mix.held())
	unbounded := int64(mix.held()) * stormTinyFrameBytes
	t.Logf("broker under the storm: %v; up to %d goroutines waited for pool memory; peak RSS %s sampled, VmHWM %s, bound %s (frames in flight without a pool: %s)",
		during.sample, during.maxPoolWaiters, mib(peak), mib(during.sample.hwmBytes), mib(bound), mib(unbounded))
	if during.sample.hwmBytes > bound {
		t.Errorf("broker peak RSS %s over the bound %s (baseline %s + pool %s + %d connections)",
			mib(during.sample.hwmBytes), mib(bound), mib(base.rssBytes), mib(stormTinyPoolBytes), mix.held())
	}
	checkLiveness(t, "tiny pool", during.workload, tinyPoolP99Bound, tinyPoolP99Bound)
	after := waitRecovered(t, ctx, probe, base, peak)
	t.Logf("broker after the storm: %v", after)
}

// stormObservation is what was seen while a storm ran.
type stormObservation struct {
	workload       workloadStats
	sample         brokerSample // taken at the end, before the storm stopped
	maxPoolWaiters int          // most goroutines seen waiting for pool memory
}

// runStorm starts the storm, runs the well-behaved workload on topic while
// sampling the broker, keeps the storm up at least duration, then stops it
// and reports its failures.
func runStorm(t *testing.T, ctx context.Context, addr string, probe *brokerProbe, mix stormMix, duration time.Duration, topic string) (*storm, int64, stormObservation) {
	t.Helper()
	sampler := startRSSSampler(probe)
	defer sampler.stop()
	begin := time.Now()
	st := startStorm(t, addr, mix)
	t.Logf("storm of %d held connections up in %v", mix.held(), time.Since(begin).Round(time.Millisecond))

	var obs stormObservation
	var wg sync.WaitGroup
	watchCtx, stopWatch := context.WithCancel(ctx)
	wg.Go(func() {
		// Goroutine profiles are costly with thousands of goroutines:
		// one every 200ms is enough to see the pool waiters.
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for {
			if _, waiters, err := probe.goroutines(); err == nil {
				obs.maxPoolWaiters = max(obs.maxPoolWaiters, waiters)
			}
			select {
			case <-tick.C:
			case <-watchCtx.Done():
				return
			}
		}
	})
	obs.workload = runWellBehaved(t, ctx, addr, topic, stormWorkloadRecords)
	if rest := duration - time.Since(begin); rest > 0 {
		select {
		case <-time.After(rest):
		case <-ctx.Done():
		}
	}
	stopWatch()
	wg.Wait()
	obs.sample = probe.sample(t)
	for _, e := range st.stop() {
		t.Errorf("storm: %s", e)
	}
	sampler.stop()
	return st, max(sampler.peak.Load(), obs.sample.rssBytes), obs
}

// waitRecovered waits until the broker's goroutines and file descriptors
// are back near the baseline once the storm's connections are closed, and
// its resident memory back below the midpoint between the baseline and the
// storm's peak (the Go runtime returns freed memory to the kernel
// gradually, so not to the baseline itself).
func waitRecovered(t *testing.T, ctx context.Context, probe *brokerProbe, base brokerSample, peak int64) brokerSample {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, stormRecoveryTimeout)
	defer cancel()
	var now brokerSample
	memoryLimit := base.rssBytes + (peak-base.rssBytes)/2
	eventually(t, ctx, "broker back to its baseline after the storm", func() (bool, string) {
		now = probe.sample(t)
		ok := now.goroutines <= base.goroutines+stormGoroutineSlack &&
			now.fds <= base.fds+stormFileSlack &&
			now.rssBytes <= memoryLimit
		return ok, fmt.Sprintf("%v; baseline %v; memory limit %s", now, base, mib(memoryLimit))
	})
	return now
}

// workloadStats are the latencies a well-behaved client saw.
type workloadStats struct {
	records  int
	elapsed  time.Duration
	produce  []time.Duration // Produce call to acknowledgement (acks=all)
	endToEnd []time.Duration // Produce call to the consumer receiving it
}

func (w workloadStats) String() string {
	return fmt.Sprintf("%d records in %v; produce p50 %v p99 %v max %v; end-to-end p50 %v p99 %v max %v",
		w.records, w.elapsed.Round(time.Millisecond),
		percentile(w.produce, 0.50), percentile(w.produce, 0.99), percentile(w.produce, 1),
		percentile(w.endToEnd, 0.50), percentile(w.endToEnd, 0.99), percentile(w.endToEnd, 1))
}

// percentile is the smallest duration at or above fraction p of ds.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	sorted := slices.Sorted(slices.Values(ds))
	i := max(0, int(float64(len(sorted))*p+0.999999)-1)
	return sorted[min(i, len(sorted)-1)].Round(100 * time.Microsecond)
}

// checkLiveness asserts the p99 latencies of a workload within bounds.
func checkLiveness(t *testing.T, what string, w workloadStats, produceBound, endToEndBound time.Duration) {
	t.Helper()
	if p := percentile(w.produce, 0.99); p > produceBound {
		t.Errorf("%s: produce p99 %v over the liveness bound %v", what, p, produceBound)
	}
	if p := percentile(w.endToEnd, 0.99); p > endToEndBound {
		t.Errorf("%s: end-to-end p99 %v over the liveness bound %v", what, p, endToEndBound)
	}
}

// runWellBehaved produces n keyed records to topic with an idempotent
// acks=all franz-go producer, one every stormWorkloadInterval, while a
// franz-go consumer reads the topic from the start; it asserts that every
// record was acknowledged and consumed exactly once, in order per
// partition, and returns the latencies seen.
func runWellBehaved(t *testing.T, ctx context.Context, addr, topic string, n int) workloadStats {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, testTimeout)
	defer cancel()
	produced := keyedWorkload(n, 16, time.UnixMilli(time.Now().UnixMilli())) // the wire keeps milliseconds
	sentAt := make([]time.Time, n)
	var mu sync.Mutex // guards sentAt, stats and produceErrs
	stats := workloadStats{records: n}
	var produceErrs []error

	type consumeResult struct {
		records []rec
		err     error
	}
	consumed := make(chan consumeResult, 1)
	consumer := newKgo(t, addr, kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(100*time.Millisecond))
	defer consumer.Close()
	go func() {
		var out []rec
		for len(out) < n {
			fetches := consumer.PollFetches(ctx)
			if err := ctx.Err(); err != nil {
				consumed <- consumeResult{out, fmt.Errorf("consumed %d of %d records: %w", len(out), n, err)}
				return
			}
			var fetchErr error
			fetches.EachError(func(topic string, partition int32, err error) {
				fetchErr = fmt.Errorf("fetch %s/%d: %w", topic, partition, err)
			})
			if fetchErr != nil {
				consumed <- consumeResult{out, fetchErr}
				return
			}
			now := time.Now()
			fetches.EachRecord(func(r *kgo.Record) {
				out = append(out, recFromKgo(r))
				var i int
				if _, err := fmt.Sscanf(string(r.Value), "v%06d", &i); err == nil && i < n {
					mu.Lock()
					stats.endToEnd = append(stats.endToEnd, now.Sub(sentAt[i]))
					mu.Unlock()
				}
			})
		}
		consumed <- consumeResult{out, nil}
	}()

	producer := newKgo(t, addr, kgo.DefaultProduceTopic(topic), kgo.ProducerLinger(0))
	defer producer.Close()
	begin := time.Now()
	tick := time.NewTicker(stormWorkloadInterval)
	defer tick.Stop()
	for i, r := range produced {
		if i > 0 {
			select {
			case <-tick.C:
			case <-ctx.Done():
				t.Fatalf("produce %s: %v after %d records", topic, ctx.Err(), i)
			}
		}
		record := &kgo.Record{Key: []byte(r.Key), Value: []byte(r.Value), Timestamp: r.Timestamp}
		mu.Lock()
		sentAt[i] = time.Now()
		start := sentAt[i]
		mu.Unlock()
		producer.Produce(ctx, record, func(_ *kgo.Record, err error) {
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				produceErrs = append(produceErrs, err)
				return
			}
			stats.produce = append(stats.produce, time.Since(start))
		})
	}
	if err := producer.Flush(ctx); err != nil {
		t.Fatalf("flush %s: %v", topic, err)
	}
	res := <-consumed
	stats.elapsed = time.Since(begin)
	mu.Lock()
	defer mu.Unlock()
	if len(produceErrs) > 0 {
		t.Fatalf("produce %s: %d of %d records failed, first: %v", topic, len(produceErrs), n, produceErrs[0])
	}
	if res.err != nil {
		t.Fatalf("consume %s: %v", topic, res.err)
	}
	if len(stats.produce) != n {
		t.Fatalf("produce %s: %d of %d records acknowledged", topic, len(stats.produce), n)
	}
	checkConsumed(t, produced, res.records, checkTimestamps)
	return stats
}
