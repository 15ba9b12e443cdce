package streams_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/fjordhq/fjord/streams"
)

// iqInstance is one App of the interactive query test with the HTTP server
// on its application.server.
type iqInstance struct {
	app  *streams.App
	host string
}

// startIQInstance starts a word count instance serving queries of its
// "counts" store on a free loopback port, stopped when the test ends.
func startIQInstance(t *testing.T, addr string) *iqInstance {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := streams.NewConfig("iq-e2e", addr)
	cfg.ApplicationServer = ln.Addr().String()
	cfg.StateDir = t.TempDir()
	cfg.ProcessingGuarantee = streams.ExactlyOnceV2
	cfg.CommitInterval = 100 * time.Millisecond
	cfg.NumStandbyReplicas = 1
	app, err := streams.NewApp(wordCountTopology(t), cfg, streams.WithLogger(t.Logf))
	if err != nil {
		t.Fatal(err)
	}
	handler, err := streams.NewKeyValueQueryHandler[string, int64](app, "counts", func(s string) (string, error) { return s, nil })
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-served; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("query server: %v", err)
		}
	})
	if err := app.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := app.Close(ctx); err != nil {
			t.Errorf("close %s: %v", cfg.ApplicationServer, err)
		}
	})
	return &iqInstance{app: app, host: cfg.ApplicationServer}
}

// TestInteractiveQueriesAcrossInstances is issue 16's acceptance: the
// interactive queries answer what the output topic's final values are,
// from any instance, over HTTP and locally.
func TestInteractiveQueriesAcrossInstances(t *testing.T) {
	addr := startBroker(t, map[string]int32{"text-input": 3, "word-counts": 3})
	t.Cleanup(iqClient.CloseIdleConnections)
	var instances []*iqInstance
	for range 3 {
		instances = append(instances, startIQInstance(t, addr))
	}
	want := produceIQLines(t, addr, 300)
	final := readFinalCounts(t, addr, want)
	if !maps.Equal(final, want) {
		t.Fatalf("final counts of the output topic\n got %v\nwant %v", final, want)
	}
	words := slices.Sorted(maps.Keys(final))
	eventually(t, 2*time.Minute, func() error { return checkHTTPAnswers(instances, words, final) })
	eventually(t, time.Minute, func() error { return checkLocalAnswers(instances, words, final) })
	eventually(t, time.Minute, func() error { return checkStandbyAnswers(instances, words, final) })
	for _, in := range instances {
		all, err := in.app.AllMetadata()
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != len(instances) {
			t.Errorf("%s lists %d instances: %+v", in.host, len(all), all)
		}
		if status, _ := queryIQ(in.host, "no-such-word"); status != http.StatusNotFound {
			t.Errorf("%s answers %d for a word never seen", in.host, status)
		}
	}
}

// produceIQLines writes n lines of words and returns the count of each.
func produceIQLines(t *testing.T, addr string, n int) map[string]int64 {
	t.Helper()
	producer, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer producer.Close()
	rng := rand.New(rand.NewPCG(16, 16))
	want := make(map[string]int64)
	var records []*kgo.Record
	for i := range n {
		line := make([]string, 1+rng.IntN(4))
		for j := range line {
			line[j] = fmt.Sprintf("w%02d", rng.IntN(30))
			want[line[j]]++
		}
		records = append(records, &kgo.Record{Topic: "text-input", Key: []byte(fmt.Sprint(i)), Value: []byte(strings.Join(line, " "))})
	}
	if err := producer.ProduceSync(context.Background(), records...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	return want
}

// readFinalCounts reads the committed output until each word's latest
// count is want's, or fails at the deadline; it returns the latest counts.
func readFinalCounts(t *testing.T, addr string, want map[string]int64) map[string]int64 {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics("word-counts"),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	last := make(map[string]int64)
	for !maps.Equal(last, want) {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("output before the deadline\n got %v\nwant %v", last, want)
		}
		fetches.EachRecord(func(r *kgo.Record) {
			v, err := streams.Int64.Deserialize(r.Topic, r.Value)
			if err != nil {
				t.Fatal(err)
			}
			last[string(r.Key)] = v
		})
	}
	return last
}

// eventually calls check until it returns nil, every 50ms, failing the
// test with check's last error after timeout.
func eventually(t *testing.T, timeout time.Duration, check func() error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		err := check()
		if err == nil {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("not so after %v: %v", timeout, err)
		case <-tick.C:
		}
	}
}

var iqClient = &http.Client{Timeout: 10 * time.Second}

// queryIQ asks host for word's count over HTTP.
func queryIQ(host, word string) (int, streams.KeyQueryResponse[string, int64]) {
	var body streams.KeyQueryResponse[string, int64]
	resp, err := iqClient.Get("http://" + host + "/stores/counts/keys/" + url.PathEscape(word))
	if err != nil {
		return 0, body
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return -1, body
	}
	return resp.StatusCode, body
}

// checkHTTPAnswers asks every instance for every word: each must answer
// the final count, read by the key's active host.
func checkHTTPAnswers(instances []*iqInstance, words []string, final map[string]int64) error {
	for _, in := range instances {
		for _, w := range words {
			status, body := queryIQ(in.host, w)
			if status != http.StatusOK || body.Key != w || body.Value != final[w] {
				return fmt.Errorf("%s answers %d %+v for %q, want %d", in.host, status, body, w, final[w])
			}
			md, err := streams.QueryMetadataForKey(in.app, "counts", w)
			if err != nil {
				return err
			}
			if body.Host != md.ActiveHost {
				return fmt.Errorf("%s's answer for %q came from %s; its active host is %s", in.host, w, body.Host, md.ActiveHost)
			}
		}
	}
	return nil
}

// checkLocalAnswers queries each instance's own store: the words it hosts
// have their final counts, the others are reported hosted elsewhere, and
// the instances' All together make the final counts.
func checkLocalAnswers(instances []*iqInstance, words []string, final map[string]int64) error {
	union := make(map[string]int64)
	for _, in := range instances {
		store, err := streams.QueryKeyValueStore[string, int64](in.app, "counts")
		if err != nil {
			return err
		}
		for _, w := range words {
			md, err := streams.QueryMetadataForKey(in.app, "counts", w)
			if err != nil {
				return err
			}
			v, ok, err := store.Get(w)
			var elsewhere *streams.NotHostedError
			switch {
			case md.ActiveHost == in.host && (err != nil || !ok || v != final[w]):
				return fmt.Errorf("%s's own store has %q = %d, %v, %v; want %d", in.host, w, v, ok, err, final[w])
			case md.ActiveHost != in.host && (!errors.As(err, &elsewhere) || elsewhere.ActiveHost != md.ActiveHost):
				return fmt.Errorf("%s's store for %q, hosted by %s: %v", in.host, w, md.ActiveHost, err)
			}
		}
		all, err := store.All()
		if err != nil {
			return err
		}
		for _, kv := range all {
			if _, dup := union[kv.Key]; dup {
				return fmt.Errorf("%q is in the stores of two instances", kv.Key)
			}
			union[kv.Key] = kv.Value
		}
	}
	if !maps.Equal(union, final) {
		return fmt.Errorf("the instances' stores hold %v, want %v", union, final)
	}
	return nil
}

// checkStandbyAnswers reads every word from a standby with stale stores
// allowed: with one standby replica, each word has one (or more, with
// warm-ups) on other instances, and each catches up with the final count.
func checkStandbyAnswers(instances []*iqInstance, words []string, final map[string]int64) error {
	byHost := make(map[string]*iqInstance)
	for _, in := range instances {
		byHost[in.host] = in
	}
	for _, w := range words {
		md, err := streams.QueryMetadataForKey(instances[0].app, "counts", w)
		if err != nil {
			return err
		}
		if len(md.StandbyHosts) == 0 || slices.Contains(md.StandbyHosts, md.ActiveHost) {
			return fmt.Errorf("%q: standby hosts %v beside active %s", w, md.StandbyHosts, md.ActiveHost)
		}
		for _, host := range md.StandbyHosts {
			store, err := streams.QueryKeyValueStore[string, int64](byHost[host].app, "counts", streams.WithStaleStores())
			if err != nil {
				return err
			}
			if v, ok, err := store.Get(w); err != nil || !ok || v != final[w] {
				return fmt.Errorf("standby %s has %q = %d, %v, %v; want %d", host, w, v, ok, err, final[w])
			}
		}
	}
	return nil
}
