package file_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fjordhq/fjord/connect"
	"github.com/fjordhq/fjord/connect/file"
)

func startSource(t *testing.T, offsets *offsetStore, config map[string]string) connect.SourceTask {
	t.Helper()
	connector := &file.SourceConnector{}
	if err := connector.Start(nil, config); err != nil {
		t.Fatal(err)
	}
	configs, err := connector.TaskConfigs(4)
	if err != nil || len(configs) != 1 {
		t.Fatalf("TaskConfigs(4) = %d configurations, %v; want 1", len(configs), err)
	}
	task := connector.NewTask()
	if err := task.Start(sourceContext{offsets: offsets}, configs[0]); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := task.Stop(); err != nil {
			t.Error(err)
		}
	})
	return task
}

// lines polls once and returns the lines with their positions.
func lines(t *testing.T, task connect.SourceTask, ctx context.Context) ([]string, []int64) {
	t.Helper()
	records, err := task.Poll(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	var positions []int64
	for _, r := range records {
		texts = append(texts, r.Value.(string))
		positions = append(positions, r.SourceOffset["position"].(int64))
	}
	return texts, positions
}

func appendTo(t *testing.T, path, text string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(text); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestSourceReadsLinesAndResumes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "in.txt")
	appendTo(t, path, "alpha\nbéta\r\ngamma\rdel")
	offsets := &offsetStore{}
	config := map[string]string{"file": path, "topic": "lines"}
	task := startSource(t, offsets, config)

	records, err := task.Poll(context.Background())
	if err != nil || len(records) != 3 {
		t.Fatalf("%d records, %v", len(records), err)
	}
	r := records[0]
	if r.Topic != "lines" || r.Key != nil || r.KeySchema != nil || !r.ValueSchema.Equal(connect.StringSchema) ||
		r.SourcePartition["filename"] != path || !r.Timestamp.IsZero() {
		t.Errorf("record %+v", r)
	}
	var texts []string
	var positions []int64
	for _, r := range records {
		texts, positions = append(texts, r.Value.(string)), append(positions, r.SourceOffset["position"].(int64))
	}
	// Positions are bytes after each line end: é is two bytes.
	if !slices.Equal(texts, []string{"alpha", "béta", "gamma"}) || !slices.Equal(positions, []int64{6, 13, 19}) {
		t.Fatalf("lines %q at %v", texts, positions)
	}
	offsets.commit(records[:2]) // the worker committed up to "béta"

	restarted := startSource(t, offsets, config)
	texts, positions = lines(t, restarted, context.Background())
	if !slices.Equal(texts, []string{"gamma"}) || !slices.Equal(positions, []int64{19}) {
		t.Fatalf("after restart %q at %v; want gamma only (del has no end yet)", texts, positions)
	}
}

func TestSourceFollowsTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "in.txt")
	appendTo(t, path, "one\ntw")
	task := startSource(t, &offsetStore{}, map[string]string{"file": path, "topic": "t"})
	if texts, _ := lines(t, task, context.Background()); !slices.Equal(texts, []string{"one"}) {
		t.Fatalf("first poll %q", texts)
	}
	// The partial line is held back until its end arrives.
	if texts, _ := lines(t, task, done()); texts != nil {
		t.Fatalf("partial line emitted: %q", texts)
	}
	appendTo(t, path, "o\nthree\r")
	// A "\r" at the end may be the start of "\r\n": wait for the next byte.
	if texts, positions := lines(t, task, done()); !slices.Equal(texts, []string{"two"}) || positions[0] != 8 {
		t.Fatalf("after append %q %v", texts, positions)
	}
	appendTo(t, path, "\nfour\n")
	if texts, positions := lines(t, task, done()); !slices.Equal(texts, []string{"three", "four"}) ||
		!slices.Equal(positions, []int64{15, 20}) {
		t.Fatalf("after second append %q %v", texts, positions)
	}
}

func TestSourceBatchSizeAndLateFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "late.txt")
	task := startSource(t, &offsetStore{}, map[string]string{"file": path, "topic": "t", "batch.size": "2"})
	start := time.Now()
	if records, err := task.Poll(done()); records != nil || err != nil {
		t.Fatalf("missing file: %v %v", records, err)
	}
	if waited := time.Since(start); waited > 500*time.Millisecond {
		t.Errorf("Poll waited %v after its context ended", waited)
	}
	appendTo(t, path, "1\n2\n3\n4\n5\n")
	var batches [][]string
	for range 3 {
		texts, _ := lines(t, task, done())
		batches = append(batches, texts)
	}
	if !slices.EqualFunc(batches, [][]string{{"1", "2"}, {"3", "4"}, {"5"}}, slices.Equal) {
		t.Fatalf("batches %q", batches)
	}
}

func TestSourceErrors(t *testing.T) {
	path := filepath.Join(t.TempDir(), "in.txt")
	appendTo(t, path, "x\n")
	for name, store := range map[string]*offsetStore{
		"offset of the wrong type": {offsets: map[string]map[string]any{path: {"position": "12"}}},
		"negative offset":          {offsets: map[string]map[string]any{path: {"position": int64(-1)}}},
		"offset store fails":       {err: errors.New("store down")},
	} {
		task := startSource(t, store, map[string]string{"file": path, "topic": "t"})
		if _, err := task.Poll(done()); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	for _, config := range []map[string]string{{"file": path}, {"file": path, "topic": ""},
		{"file": path, "topic": "t", "batch.size": "many"}} {
		if err := (&file.SourceConnector{}).Start(nil, config); !errors.Is(err, connect.ErrInvalidConfig) {
			t.Errorf("Start(%v): %v", config, err)
		}
	}
}

func TestSourceConnectorHooks(t *testing.T) {
	c := &file.SourceConnector{}
	if c.ExactlyOnceSupport(map[string]string{"file": "/x"}) != connect.Supported ||
		c.ExactlyOnceSupport(map[string]string{"topic": "t"}) != connect.Unsupported {
		t.Error("exactly-once support")
	}
	config := map[string]string{"file": "/x", "topic": "t"}
	partition := map[string]any{"filename": "/x"}
	for _, tc := range []struct {
		config  map[string]string
		offsets []connect.SourcePartitionOffset
		want    string
	}{
		{config, []connect.SourcePartitionOffset{{Partition: partition, Offset: map[string]any{"position": int64(3)}},
			{Partition: map[string]any{"junk": 1}}}, ""},
		{map[string]string{"topic": "t"}, nil, "Offsets cannot be modified if the 'file' configuration is unspecified."},
		{config, []connect.SourcePartitionOffset{{Partition: partition, Offset: map[string]any{"pos": int64(3)}}},
			"Offset objects should either be null or contain the key 'position'"},
		{config, []connect.SourcePartitionOffset{{Partition: partition, Offset: map[string]any{"position": 3.5}}},
			"expected to be a Long value"},
		{config, []connect.SourcePartitionOffset{{Partition: partition, Offset: map[string]any{"position": int64(-3)}}},
			"should be a non-negative value"},
		{config, []connect.SourcePartitionOffset{{Offset: map[string]any{"position": int64(3)}}}, "Partition objects cannot be null"},
		{config, []connect.SourcePartitionOffset{{Partition: map[string]any{"file": "/x"}, Offset: map[string]any{"position": int64(3)}}},
			"Partition objects should contain the key 'filename'"},
	} {
		err := c.AlterOffsets(tc.config, tc.offsets)
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("AlterOffsets(%v): %v, want %q", tc.offsets, err, tc.want)
		}
	}
}

func TestRegister(t *testing.T) {
	r := connect.NewRegistry()
	if err := file.Register(r); err != nil {
		t.Fatal(err)
	}
	for alias, want := range map[string]connect.PluginType{"FileStreamSource": connect.PluginSource,
		"FileStreamSinkConnector": connect.PluginSink, file.SourceConnectorClass: connect.PluginSource} {
		if p, err := r.Lookup(alias); err != nil || p.Type != want || p.Version != file.Version {
			t.Errorf("Lookup(%s) = %+v, %v", alias, p, err)
		}
	}
}
