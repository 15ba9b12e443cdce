package connect_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"

	"github.com/fjordhq/fjord/connect"
)

// stubConnector is the least a connector can be.
type stubConnector struct{ version string }

func (c stubConnector) Version() string { return c.version }

func (stubConnector) Start(connect.ConnectorContext, map[string]string) error { return nil }

func (stubConnector) TaskConfigs(int) ([]map[string]string, error) { return nil, nil }

func (stubConnector) Stop() error { return nil }

func (stubConnector) Config() *connect.ConfigDef { return connect.NewConfigDef() }

type stubSource struct{ stubConnector }

func (stubSource) NewTask() connect.SourceTask { return nil }

type stubSink struct{ stubConnector }

func (stubSink) NewTask() connect.SinkTask { return nil }

type stubSinkTask struct{}

func (stubSinkTask) Start(connect.SinkTaskContext, map[string]string) error { return nil }

func (stubSinkTask) Put(context.Context, []connect.SinkRecord) error { return nil }

func (stubSinkTask) Flush(context.Context, map[connect.TopicPartition]int64) error { return nil }

func (stubSinkTask) Stop() error { return nil }

func source(version string) func() connect.Connector {
	return func() connect.Connector { return stubSource{stubConnector{version}} }
}

func sink(version string) func() connect.Connector {
	return func() connect.Connector { return stubSink{stubConnector{version}} }
}

func TestRegistry(t *testing.T) {
	r := connect.NewRegistry()
	for _, p := range []connect.Plugin{
		{Class: "org.apache.kafka.connect.file.FileStreamSourceConnector", New: source("4.0.0")},
		{Class: "org.apache.kafka.connect.file.FileStreamSinkConnector", New: sink("4.0.0"), Aliases: []string{"files-out"}},
		{Class: "com.a.JdbcSourceConnector", New: source("")},
		{Class: "com.b.JdbcSourceConnector", New: source("2")},
	} {
		if err := r.Register(p); err != nil {
			t.Fatal(err)
		}
	}
	for name, wantClass := range map[string]string{
		"org.apache.kafka.connect.file.FileStreamSourceConnector": "org.apache.kafka.connect.file.FileStreamSourceConnector",
		"FileStreamSource":          "org.apache.kafka.connect.file.FileStreamSourceConnector",
		"FileStreamSinkConnector":   "org.apache.kafka.connect.file.FileStreamSinkConnector",
		"files-out":                 "org.apache.kafka.connect.file.FileStreamSinkConnector",
		"com.b.JdbcSourceConnector": "com.b.JdbcSourceConnector",
	} {
		p, err := r.Lookup(name)
		if err != nil || p.Class != wantClass {
			t.Errorf("Lookup(%s) = %s, %v; want %s", name, p.Class, err, wantClass)
		}
	}
	for _, name := range []string{"JdbcSource", "nope"} {
		if _, err := r.Lookup(name); !errors.Is(err, connect.ErrUnknownPlugin) {
			t.Errorf("Lookup(%s): %v; want ErrUnknownPlugin (ambiguous or absent)", name, err)
		}
	}
	p, _ := r.Lookup("FileStreamSink")
	if p.Type != connect.PluginSink || p.Version != "4.0.0" || p.New() == nil {
		t.Errorf("plugin %+v", p)
	}
	got, err := json.Marshal(r.Plugins())
	if err != nil {
		t.Fatal(err)
	}
	const want = `[{"class":"com.a.JdbcSourceConnector","type":"source"},` +
		`{"class":"com.b.JdbcSourceConnector","type":"source","version":"2"},` +
		`{"class":"org.apache.kafka.connect.file.FileStreamSinkConnector","type":"sink","version":"4.0.0"},` +
		`{"class":"org.apache.kafka.connect.file.FileStreamSourceConnector","type":"source","version":"4.0.0"}]`
	if string(got) != want {
		t.Fatalf("GET /connector-plugins:\n%s\nwant\n%s", got, want)
	}
}

func TestRegistryRefuses(t *testing.T) {
	r := connect.NewRegistry()
	if err := r.Register(connect.Plugin{Class: "a.B", New: source("1")}); err != nil {
		t.Fatal(err)
	}
	for name, p := range map[string]connect.Plugin{
		"no class":       {New: source("1")},
		"no factory":     {Class: "a.C"},
		"duplicate":      {Class: "a.B", New: sink("1")},
		"neither kind":   {Class: "a.D", New: func() connect.Connector { return stubConnector{} }},
		"alias is class": {Class: "a.E", New: source("1"), Aliases: []string{"a.B"}},
	} {
		if err := r.Register(p); err == nil {
			t.Errorf("%s: registered", name)
		}
	}
}

func TestRegistryConcurrentUse(t *testing.T) {
	r := connect.NewRegistry()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			_ = r.Register(connect.Plugin{Class: "x.C" + string(rune('a'+i)), New: sink("1")})
			_, _ = r.Lookup("x.Ca")
			_ = r.Plugins()
		})
	}
	wg.Wait()
	if len(r.Plugins()) != 8 {
		t.Fatalf("%d plugins", len(r.Plugins()))
	}
}

// The interfaces a sink task may implement compile as intended.
var (
	_ connect.SinkTask = stubSinkTask{}
	_ error            = connect.Retriable(errors.New("x"))
)

func TestRetriable(t *testing.T) {
	cause := errors.New("database busy")
	err := errors.Join(errors.New("put failed"), connect.Retriable(cause))
	var re *connect.RetriableError
	if !errors.As(err, &re) || !errors.Is(err, cause) {
		t.Fatalf("retriable mark lost: %v", err)
	}
	if connect.Retriable(nil) != nil {
		t.Fatal("Retriable(nil) should be nil")
	}
}

func TestRecordHelpers(t *testing.T) {
	tp := connect.TopicPartition{Topic: "orders", Partition: 3}
	if tp.String() != "orders-3" {
		t.Error(tp)
	}
	h := connect.Headers{{Key: "a", Value: "1"}, {Key: "b"}, {Key: "a", Value: "2"}}
	if last, ok := h.Last("a"); !ok || last.Value != "2" {
		t.Errorf("Last: %v %v", last, ok)
	}
	var rh connect.RecordHeaders
	rh.Add("id", []byte{1})
	if got, ok := rh.Last("id"); !ok || got.Value[0] != 1 {
		t.Errorf("RecordHeaders: %v", rh)
	}
	if connect.LogAppendTime.String() != "LogAppendTime" || connect.NoTimestampType.String() != "NoTimestampType" {
		t.Error("timestamp type names")
	}
}
