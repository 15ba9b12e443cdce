package file_test

import (
	"context"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fjordhq/fjord/connect"
	"github.com/fjordhq/fjord/connect/file"
)

func startSink(t *testing.T, config map[string]string) connect.SinkTask {
	t.Helper()
	connector := &file.SinkConnector{}
	if err := connector.Start(nil, config); err != nil {
		t.Fatal(err)
	}
	configs, err := connector.TaskConfigs(3)
	if err != nil || len(configs) != 3 {
		t.Fatalf("TaskConfigs(3) = %d configurations, %v; Kafka's sink makes maxTasks", len(configs), err)
	}
	task := connector.NewTask()
	if err := task.Start(sinkContext{}, configs[0]); err != nil {
		t.Fatal(err)
	}
	return task
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestSinkWritesAndFlushes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.txt")
	appendTo(t, path, "existing\n")
	task := startSink(t, map[string]string{"file": path, "topics": "in"})
	schema := connect.NewSchemaBuilder(connect.TypeStruct).Field("n", connect.Int32Schema).MustBuild()
	value := connect.NewStruct(schema)
	if err := value.Put("n", int32(7)); err != nil {
		t.Fatal(err)
	}
	records := []connect.SinkRecord{
		{Topic: "in", Offset: 0, ValueSchema: connect.StringSchema, Value: "line one"},
		{Topic: "in", Offset: 1, Value: nil},
		{Topic: "in", Offset: 2, ValueSchema: connect.Int32Schema, Value: int32(42)},
		{Topic: "in", Offset: 3, ValueSchema: schema, Value: value},
		{Topic: "in", Offset: 4, Value: []byte("raw bytes")},
		{Topic: "in", Offset: 5, Value: 1.0},
		{Topic: "in", Offset: 6, ValueSchema: connect.DecimalBuilder(2).MustBuild(), Value: connect.Decimal{Unscaled: big.NewInt(1234), Scale: 2}},
	}
	if err := task.Put(context.Background(), records); err != nil {
		t.Fatal(err)
	}
	if got := read(t, path); got != "existing\n" {
		t.Fatalf("written before Flush: %q", got)
	}
	if err := task.Flush(context.Background(), map[connect.TopicPartition]int64{{Topic: "in"}: 7}); err != nil {
		t.Fatal(err)
	}
	const want = "existing\nline one\nnull\n42\nStruct{n=7}\nraw bytes\n1.0\n12.34\n"
	if got := read(t, path); got != want {
		t.Fatalf("file:\n%q\nwant\n%q", got, want)
	}
	if err := task.Put(context.Background(), records[:1]); err != nil {
		t.Fatal(err)
	}
	if err := task.Stop(); err != nil {
		t.Fatal(err)
	}
	if got := read(t, path); got != want+"line one\n" {
		t.Fatalf("Stop lost the buffered line: %q", got)
	}
}

func TestSinkWritesLargeBatchesBeforeFlush(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.txt")
	task := startSink(t, map[string]string{"file": path})
	defer task.Stop()
	line := strings.Repeat("x", 1023)
	records := make([]connect.SinkRecord, 200) // 200 KiB: more than the buffer holds
	for i := range records {
		records[i] = connect.SinkRecord{Value: line}
	}
	if err := task.Put(context.Background(), records); err != nil {
		t.Fatal(err)
	}
	if got := len(read(t, path)); got == 0 || got%1024 != 0 {
		t.Fatalf("%d bytes written before Flush: want whole lines, some", got)
	}
	if err := task.Flush(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if got := len(read(t, path)); got != 200*1024 {
		t.Fatalf("%d bytes after Flush", got)
	}
}

func TestSinkErrors(t *testing.T) {
	task := (&file.SinkConnector{}).NewTask()
	err := task.Start(sinkContext{}, map[string]string{"file": filepath.Join(t.TempDir(), "no", "such", "dir", "f")})
	if err == nil || !strings.Contains(err.Error(), "Couldn't find or create file") {
		t.Errorf("Start in a missing directory: %v", err)
	}
	var connector file.SinkConnector
	if err := connector.AlterOffsets(nil, map[connect.TopicPartition]*int64{{Topic: "t"}: nil}); err != nil {
		t.Error(err)
	}
	if err := connector.Start(nil, map[string]string{"file": "a"}); err != nil || connector.Config().Keys()[0].Name != "file" {
		t.Errorf("Start: %v", err)
	}
	if err := (&file.SinkTask{}).Stop(); err != nil {
		t.Errorf("Stop before Start: %v", err)
	}
	if !errors.Is(connector.Start(nil, map[string]string{}), nil) {
		t.Error("no file is standard output, not an error")
	}
}
