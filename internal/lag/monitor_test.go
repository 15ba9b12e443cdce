package lag

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// fakeSource is a scripted cluster: one topic "t" with partition 0, a
// record every second written at t0 + offset seconds.
type fakeSource struct {
	groups    []GroupInfo
	committed map[string]map[TopicPartition]int64
	end       int64
	reads     int
}

var tp0 = TopicPartition{Topic: "t", Partition: 0}

func (f *fakeSource) Groups(context.Context) ([]GroupInfo, error) { return f.groups, nil }
func (f *fakeSource) Committed(_ context.Context, g string) (map[TopicPartition]int64, error) {
	return f.committed[g], nil
}

func (f *fakeSource) EndOffsets(_ context.Context, tps []TopicPartition) (map[TopicPartition]EndOffset, error) {
	out := map[TopicPartition]EndOffset{}
	for _, tp := range tps {
		out[tp] = EndOffset{Offset: f.end}
	}
	return out, nil
}

func (f *fakeSource) RecordTimestamp(_ context.Context, _ TopicPartition, offset, end int64) (time.Time, bool, error) {
	f.reads++
	return t0.Add(time.Duration(offset) * time.Second), offset < end, nil
}

// step advances the fake world one second: a record is written and, when
// consuming, the group commits up to the end.
type world struct {
	src *fakeSource
	now time.Time
	m   *Monitor
}

func newWorld(t *testing.T) *world {
	w := &world{now: t0}
	w.src = &fakeSource{groups: []GroupInfo{{Group: "g", State: "Stable", Members: 1}},
		committed: map[string]map[TopicPartition]int64{"g": {tp0: 0}}}
	w.m = NewMonitor(w.src, Options{Interval: time.Second, Window: 5, Now: func() time.Time { return w.now }})
	return w
}

func (w *world) step(t *testing.T, consuming bool) GroupLag {
	t.Helper()
	w.now = w.now.Add(time.Second)
	w.src.end++
	if consuming {
		w.src.committed["g"][tp0] = w.src.end - 1
	}
	if err := w.m.Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	g, ok := w.m.Group("g")
	if !ok {
		t.Fatal("group g not reported")
	}
	return g
}

func TestMonitorOKThenStalledThenStopped(t *testing.T) {
	w := newWorld(t)
	for range 6 {
		if g := w.step(t, true); g.Status != StatusOK && g.Status != StatusUnknown {
			t.Fatalf("consuming group is %s", g.Status)
		}
	}
	if g, _ := w.m.Group("g"); g.Status != StatusOK || g.Partitions[0].Lag != 1 || g.Partitions[0].LagSeconds != 1 {
		t.Fatalf("after a full window of commits: %+v, want OK with lag 1 record, 1 s", g)
	}
	stoppedAt := w.src.committed["g"][tp0]
	reads := w.src.reads
	var g GroupLag
	for range 5 {
		g = w.step(t, false)
	}
	if w.src.reads != reads {
		t.Errorf("%d timestamp reads while the commit stayed, want none: the last is cached", w.src.reads-reads)
	}
	p := g.Partitions[0]
	if g.Status != StatusStalled || p.Status != StatusStalled {
		t.Fatalf("stopped committing for a window: %s, want STALLED", g.Status)
	}
	// The first record not consumed was written at t0 + stoppedAt seconds.
	wantAge := w.now.Sub(t0.Add(time.Duration(stoppedAt) * time.Second)).Seconds()
	if p.LagSeconds != wantAge || p.Lag != w.src.end-stoppedAt || g.TotalLag != p.Lag || g.MaxLagSeconds != wantAge {
		t.Fatalf("partition %+v, want lag %d and %.0f s", p, w.src.end-stoppedAt, wantAge)
	}
	if !p.LastCommit.Equal(w.now.Add(-5 * time.Second)) {
		t.Errorf("last commit %v, want %v", p.LastCommit, w.now.Add(-5*time.Second))
	}
	w.src.groups[0].Members, w.src.groups[0].State = 0, "Empty"
	if g := w.step(t, false); g.Status != StatusStopped || g.State != "Empty" {
		t.Fatalf("no members: %s %s, want STOPPED", g.Status, g.State)
	}
}

func TestMonitorStoppedAfterLongSilence(t *testing.T) {
	w := newWorld(t)
	w.m = NewMonitor(w.src, Options{Interval: time.Second, Window: 3, StopAfter: 10 * time.Second,
		Now: func() time.Time { return w.now }})
	w.step(t, true)
	var g GroupLag
	for range 10 {
		g = w.step(t, false)
	}
	if g.Status != StatusStopped {
		t.Fatalf("commits stopped for StopAfter with members: %s, want STOPPED", g.Status)
	}
}

// TestMonitorQuietPartitionNotStopped: a consumer caught up on a quiet
// partition for longer than StopAfter is not STOPPED when a record
// arrives, before it had the time to commit (Burrow's #303).
func TestMonitorQuietPartitionNotStopped(t *testing.T) {
	w := newWorld(t)
	w.m = NewMonitor(w.src, Options{Interval: time.Second, Window: 3, StopAfter: 10 * time.Second,
		Now: func() time.Time { return w.now }})
	w.src.committed["g"][tp0] = w.src.end // caught up
	for range 20 {
		w.now = w.now.Add(time.Second) // nothing written, nothing to commit
		if err := w.m.Poll(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if g := w.step(t, false); g.Status != StatusOK || g.Partitions[0].Lag != 1 {
		t.Fatalf("a record after a quiet spell: %s, want OK (lag 0 a sample ago)", g.Status)
	}
}

func TestMonitorForgetsGroups(t *testing.T) {
	w := newWorld(t)
	w.step(t, true)
	w.src.groups = nil
	if err := w.m.Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, ok := w.m.Group("g"); ok || len(w.m.Groups()) != 0 || len(w.m.histories) != 0 {
		t.Fatal("a group the source no longer lists is still reported")
	}
}

func TestCollectorAndHandler(t *testing.T) {
	w := newWorld(t)
	for range 3 {
		w.step(t, false)
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(w.m.Collector())
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			key := f.GetName()
			for _, l := range m.GetLabel() {
				key += "," + l.GetName() + "=" + l.GetValue()
			}
			got[key] = m.GetGauge().GetValue()
		}
	}
	for key, want := range map[string]float64{
		"fjord_consumer_group_lag_offsets,group=g,partition=0,topic=t":      3,
		"fjord_consumer_group_lag_seconds,group=g,partition=0,topic=t":      3,
		"fjord_consumer_group_status,group=g,status=UNKNOWN":                1,
		"fjord_consumer_group_status,group=g,status=OK":                     0,
		"fjord_consumer_group_total_lag_offsets,group=g":                    3,
		"fjord_consumer_group_committed_offset,group=g,partition=0,topic=t": 0,
	} {
		if v, ok := got[key]; !ok || v != want {
			t.Errorf("%s = %v (present %v), want %v", key, v, ok, want)
		}
	}

	srv := httptest.NewServer(w.m.Handler())
	defer srv.Close()
	var all struct{ Groups []GroupLag }
	getJSON(t, srv.URL+"/api/v1/groups/lag", http.StatusOK, &all)
	if len(all.Groups) != 1 || all.Groups[0].Group != "g" || all.Groups[0].Partitions[0].Lag != 3 {
		t.Fatalf("all groups: %+v", all)
	}
	var one GroupLag
	getJSON(t, srv.URL+"/api/v1/groups/g/lag", http.StatusOK, &one)
	if one.Group != "g" || one.Status != StatusUnknown || one.Partitions[0].LagSeconds != 3 {
		t.Fatalf("group g: %+v", one)
	}
	getJSON(t, srv.URL+"/api/v1/groups/nope/lag", http.StatusNotFound, &struct{}{})
}

func getJSON(t *testing.T, url string, wantCode int, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != wantCode {
		t.Fatalf("GET %s: %s, want %d", url, resp.Status, wantCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}
