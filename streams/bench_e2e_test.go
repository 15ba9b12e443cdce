package streams_test

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/fjordhq/fjord/internal/fjordtest"
	"github.com/fjordhq/fjord/streams"
)

// The benchmarks of issue 16's performance acceptance, each against a real
// fjord server: a stateless Streams pipeline (map and filter) beside a plain
// franz-go consume-transform-produce loop doing the same work, a stateful
// count under exactly-once, and the restore rate of a store from its
// changelog. Each iteration processes benchRecords records preloaded in an
// input topic of benchPartitions partitions; records/s and MB/s are
// reported per benchmark. Run them with:
//
//	go test ./streams -run '^$' -bench 'Pipeline|Loop|CountExactlyOnce|Restore' -benchtime 3x
const (
	benchRecords    = 1_000_000
	benchPartitions = 4
	benchValueBytes = 100
	benchKeys       = 10_000
)

// benchBroker starts a server and preloads topic with benchRecords records.
func benchBroker(b *testing.B, input string, keys int) (addr string, adm *kadm.Client) {
	b.Helper()
	srv := fjordtest.Start(b, fjordtest.Options{})
	cl, err := kgo.NewClient(kgo.SeedBrokers(srv.Addr), kgo.ProducerLinger(5*time.Millisecond))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(cl.Close)
	adm = kadm.NewClient(cl)
	ctx := context.Background()
	if _, err := adm.CreateTopic(ctx, benchPartitions, 1, nil, input); err != nil {
		b.Fatal(err)
	}
	value := bytes.Repeat([]byte("x"), benchValueBytes)
	for i := range benchRecords {
		cl.Produce(ctx, &kgo.Record{Topic: input, Key: []byte(strconv.Itoa(i % keys)), Value: value}, nil)
	}
	if err := cl.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	return srv.Addr, adm
}

// waitForOutput waits until the output topic's partitions hold n records in
// all, checking the end offsets as they grow, and reports the rate from the
// first output on: the group's join (and its initial rebalance delay) is
// the same for every pipeline and not what is measured.
func waitForOutput(b *testing.B, adm *kadm.Client, topic string, n int64, report bool) {
	b.Helper()
	deadline := time.Now().Add(5 * time.Minute)
	var first time.Time
	var firstCount int64
	for time.Now().Before(deadline) {
		ends, err := adm.ListEndOffsets(context.Background(), topic)
		if err == nil {
			var total int64
			ends.Each(func(o kadm.ListedOffset) { total += o.Offset })
			if total > 0 && first.IsZero() {
				first, firstCount = time.Now(), total
			}
			if total >= n && !report {
				return
			}
			if total >= n {
				elapsed := time.Since(first)
				records := float64(benchRecords) * float64(n-firstCount) / float64(n)
				b.ReportMetric(records/elapsed.Seconds(), "records/s")
				b.ReportMetric(records*benchValueBytes/elapsed.Seconds()/1e6, "MB/s")
				return
			}
		}
		time.Sleep(10 * time.Millisecond) // polling the broker's offsets: the event is on another process
	}
	b.Fatalf("output %s did not reach %d records", topic, n)
}

// transform is the work both pipelines do: upper-case the value's first
// byte and keep nine records in ten.
func transform(key, value []byte) ([]byte, bool) {
	if len(key) > 0 && key[len(key)-1] == '7' {
		return nil, false
	}
	out := append([]byte(nil), value...)
	out[0] = 'X'
	return out, true
}

// expectedOutputs is how many of the preloaded records transform keeps.
func expectedOutputs() int64 {
	var n int64
	for i := range benchRecords {
		if _, ok := transform([]byte(strconv.Itoa(i%benchKeys)), []byte("x")); ok {
			n++
		}
	}
	return n
}

func BenchmarkStatelessPipeline(b *testing.B) {
	addr, adm := benchBroker(b, "bench-in", benchKeys)
	want := expectedOutputs()
	for i := 0; b.Loop(); i++ {
		out := fmt.Sprintf("bench-out-%d", i)
		if _, err := adm.CreateTopic(context.Background(), benchPartitions, 1, nil, out); err != nil {
			b.Fatal(err)
		}
		sb := streams.NewBuilder()
		in := streams.StreamFrom(sb, streams.Bytes, streams.Bytes, []string{"bench-in"})
		kept := in.Filter(func(k, v []byte) bool { _, ok := transform(k, v); return ok })
		mapped := streams.MapValues(kept, func(k, v []byte) []byte { w, _ := transform(k, v); return w })
		mapped.To(out, streams.Bytes, streams.Bytes)
		topo, err := sb.Build()
		if err != nil {
			b.Fatal(err)
		}
		cfg := streams.NewConfig(fmt.Sprintf("bench-stateless-%d", i), addr)
		cfg.StateDir = b.TempDir()
		app, err := streams.NewApp(topo, cfg, streams.WithLogger(func(string, ...any) {}))
		if err != nil {
			b.Fatal(err)
		}
		if err := app.Start(context.Background()); err != nil {
			b.Fatal(err)
		}
		waitForOutput(b, adm, out, want, true)
		if err := app.Close(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFranzGoLoop is the plain client doing the stateless pipeline's
// work: a group member that polls, transforms, produces and commits.
func BenchmarkFranzGoLoop(b *testing.B) {
	addr, adm := benchBroker(b, "bench-in", benchKeys)
	want := expectedOutputs()
	for i := 0; b.Loop(); i++ {
		out := fmt.Sprintf("bench-out-%d", i)
		if _, err := adm.CreateTopic(context.Background(), benchPartitions, 1, nil, out); err != nil {
			b.Fatal(err)
		}
		cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumerGroup(fmt.Sprintf("bench-loop-%d", i)),
			kgo.ConsumeTopics("bench-in"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DisableAutoCommit())
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			lastCommit := time.Now()
			for ctx.Err() == nil {
				fetches := cl.PollRecords(ctx, 500)
				fetches.EachRecord(func(r *kgo.Record) {
					if v, ok := transform(r.Key, r.Value); ok {
						cl.Produce(ctx, &kgo.Record{Topic: out, Key: r.Key, Value: v}, nil)
					}
				})
				if time.Since(lastCommit) > 30*time.Second {
					_ = cl.Flush(ctx)
					_ = cl.CommitUncommittedOffsets(ctx)
					lastCommit = time.Now()
				}
			}
		}()
		waitForOutput(b, adm, out, want, true)
		cancel()
		<-done
		cl.Close()
	}
}

func BenchmarkCountExactlyOnce(b *testing.B) {
	addr, adm := benchBroker(b, "bench-in", benchKeys)
	for i := 0; b.Loop(); i++ {
		out := fmt.Sprintf("bench-counts-%d", i)
		if _, err := adm.CreateTopic(context.Background(), benchPartitions, 1, nil, out); err != nil {
			b.Fatal(err)
		}
		sb := streams.NewBuilder()
		in := streams.StreamFrom(sb, streams.String, streams.Bytes, []string{"bench-in"})
		counts := streams.Count(streams.GroupByKey(in, streams.String, streams.Bytes), streams.As("bench-counts"))
		// With the record cache on (the default), each commit writes a
		// key's latest count once: the output is done when the counts it
		// holds add up to the input.
		counts.ToStream().To(out, streams.String, streams.Int64)
		topo, err := sb.Build()
		if err != nil {
			b.Fatal(err)
		}
		cfg := streams.NewConfig(fmt.Sprintf("bench-count-%d", i), addr)
		cfg.ProcessingGuarantee = streams.ExactlyOnceV2
		cfg.CommitInterval = 100 * time.Millisecond
		cfg.StateDir = b.TempDir()
		app, err := streams.NewApp(topo, cfg, streams.WithLogger(func(string, ...any) {}))
		if err != nil {
			b.Fatal(err)
		}
		if err := app.Start(context.Background()); err != nil {
			b.Fatal(err)
		}
		waitForCounts(b, addr, out)
		if err := app.Close(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}

// waitForCounts reads the committed counts until they add up to the input
// and reports the rate from the first count read on.
func waitForCounts(b *testing.B, addr, topic string) {
	b.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics(topic),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	counts := make(map[string]int64)
	var total int64
	var first time.Time
	for total < benchRecords {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			b.Fatalf("counts reached %d of %d", total, benchRecords)
		}
		fetches.EachRecord(func(r *kgo.Record) {
			if first.IsZero() {
				first = time.Now()
			}
			n, _ := streams.Int64.Deserialize(topic, r.Value)
			total += n - counts[string(r.Key)]
			counts[string(r.Key)] = n
		})
	}
	elapsed := time.Since(first)
	b.ReportMetric(benchRecords/elapsed.Seconds(), "records/s")
	b.ReportMetric(benchRecords*benchValueBytes/elapsed.Seconds()/1e6, "MB/s")
}

// BenchmarkRestore measures how fast a store is rebuilt from its changelog:
// a count over benchRecords distinct keys fills the changelog, then an
// instance with an empty state directory restores it before processing.
func BenchmarkRestore(b *testing.B) {
	addr, adm := benchBroker(b, "bench-in", benchRecords)
	for i := 0; b.Loop(); i++ {
		appID := fmt.Sprintf("bench-restore-%d", i)
		sb := streams.NewBuilder()
		in := streams.StreamFrom(sb, streams.Bytes, streams.Bytes, []string{"bench-in"})
		latest := streams.Reduce(streams.GroupByKey(in, streams.Bytes, streams.Bytes), func(_, v []byte) []byte { return v }, streams.As("restored"))
		latest.ToStream().Foreach(func([]byte, []byte) {})
		topo, err := sb.Build()
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		fillChangelog(b, topo, addr, adm, appID)
		b.StartTimer()
		var mu sync.Mutex
		var restoredBytes int64
		var restoreTime time.Duration
		restored := make(chan struct{}, benchPartitions)
		logf := func(format string, args ...any) {
			line := fmt.Sprintf(format, args...)
			var bytes int64
			var took string
			if i := strings.Index(line, "; restored "); i >= 0 {
				if _, err := fmt.Sscanf(line[i:], "; restored %d bytes in %s", &bytes, &took); err == nil && bytes > 0 {
					d, _ := time.ParseDuration(took)
					mu.Lock()
					restoredBytes += bytes
					restoreTime = max(restoreTime, d)
					mu.Unlock()
					restored <- struct{}{}
				}
			}
		}
		cfg := streams.NewConfig(appID, addr)
		cfg.StateDir = b.TempDir()
		cfg.NumStreamThreads = 1
		app, err := streams.NewApp(topo, cfg, streams.WithLogger(logf))
		if err != nil {
			b.Fatal(err)
		}
		if err := app.Start(context.Background()); err != nil {
			b.Fatal(err)
		}
		<-restored
		mu.Lock()
		b.ReportMetric(float64(restoredBytes)/restoreTime.Seconds()/(1<<20), "MiB/s")
		mu.Unlock()
		if err := app.Close(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}

// fillChangelog runs the topology until its changelog holds a count for
// every distinct value (benchRecords) and closes it.
func fillChangelog(b *testing.B, topo *streams.Topology, addr string, adm *kadm.Client, appID string) {
	b.Helper()
	cfg := streams.NewConfig(appID, addr)
	cfg.StateDir = b.TempDir()
	app, err := streams.NewApp(topo, cfg, streams.WithLogger(func(string, ...any) {}))
	if err != nil {
		b.Fatal(err)
	}
	if err := app.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	waitForOutput(b, adm, appID+"-restored-changelog", benchRecords, false)
	if err := app.Close(context.Background()); err != nil {
		b.Fatal(err)
	}
}
