package kafkastore

import (
	"bytes"
	"reflect"
	"testing"
	"time"
)

// The expected bytes below are written by hand from Kafka's schemas
// (KafkaConfigBackingStore, KafkaStatusBackingStore) as its JsonConverter
// serializes them with schemas.enable=false: fields in schema order, no
// spaces, a null optional field written as null.

func TestConfigValuesAsKafkaWritesThem(t *testing.T) {
	mustEncode := func(b []byte, err error) []byte {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	cases := []struct {
		name string
		got  []byte
		want string
	}{
		{"connector config", mustEncode(marshalJSON(propertiesValue{Properties: map[string]string{
			"connector.class": "FileStreamSource", "file": "/tmp/a&b<c>.txt", "tasks.max": "1"}})),
			`{"properties":{"connector.class":"FileStreamSource","file":"/tmp/a&b<c>.txt","tasks.max":"1"}}`},
		{"empty config", mustEncode(marshalJSON(propertiesValue{Properties: map[string]string{}})), `{"properties":{}}`},
		{"commit", mustEncode(marshalJSON(commitValue{Tasks: 2})), `{"tasks":2}`},
		{"started", mustEncode(encodeTargetState(TargetStarted)), `{"state":"STARTED","state.v2":"STARTED"}`},
		{"paused", mustEncode(encodeTargetState(TargetPaused)), `{"state":"PAUSED","state.v2":"PAUSED"}`},
		{"stopped", mustEncode(encodeTargetState(TargetStopped)), `{"state":"PAUSED","state.v2":"STOPPED"}`},
		{"task count", mustEncode(marshalJSON(taskCountValue{TaskCount: 3})), `{"task-count":3}`},
		{"session key", mustEncode(encodeSessionKey(SessionKey{Key: []byte("secret-key-bytes"), Algorithm: "HmacSHA256",
			Created: time.UnixMilli(1700000000123)})),
			`{"key":"c2VjcmV0LWtleS1ieXRlcw==","algorithm":"HmacSHA256","creation-timestamp":1700000000123}`},
		{"restart", mustEncode(marshalJSON(restartValue{IncludeTasks: true})), `{"include-tasks":true,"only-failed":false}`},
		{"logger level", mustEncode(marshalJSON(loggerLevelValue{Level: "DEBUG"})), `{"level":"DEBUG"}`},
	}
	for _, tc := range cases {
		if string(tc.got) != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, tc.got, tc.want)
		}
	}
	keys := map[string][]byte{
		"connector-my-conn":    connectorKey("my-conn"),
		"target-state-my-conn": targetStateKey("my-conn"),
		"task-my-conn-12":      taskKey(TaskID{Connector: "my-conn", Task: 12}),
		"commit-my-conn":       commitKey("my-conn"),
	}
	for want, got := range keys {
		if string(got) != want {
			t.Errorf("key %q, want %q", got, want)
		}
	}
}

func TestStatusValuesAsKafkaWritesThem(t *testing.T) {
	cases := []struct {
		name string
		st   Status
		want string
	}{
		{"running", Status{State: StateRunning, WorkerID: "10.0.0.1:8083", Generation: 3},
			`{"state":"RUNNING","trace":null,"worker_id":"10.0.0.1:8083","generation":3}`},
		{"failed", Status{State: StateFailed, Trace: "org.example.Boom: \"bad\"\n\tat X", WorkerID: "w:8083", Generation: 0},
			`{"state":"FAILED","trace":"org.example.Boom: \"bad\"\n\tat X","worker_id":"w:8083","generation":0}`},
	}
	for _, tc := range cases {
		got, err := encodeStatus(tc.st)
		if err != nil || string(got) != tc.want {
			t.Errorf("%s:\n got %s (%v)\nwant %s", tc.name, got, err, tc.want)
		}
		back, err := decodeStatus(got)
		if err != nil || back != tc.st {
			t.Errorf("%s: decoded %+v (%v), want %+v", tc.name, back, err, tc.st)
		}
	}
	if got, err := encodeStatus(Status{State: StateDestroyed}); got != nil || err != nil {
		t.Errorf("DESTROYED encodes as %q (%v), want a tombstone", got, err)
	}
	topic, err := encodeTopicStatus(TopicStatus{Topic: "orders", Connector: "sink", Task: 2, Discovered: time.UnixMilli(1700000000000)})
	want := `{"topic":{"name":"orders","connector":"sink","task":2,"discoverTimestamp":1700000000000}}`
	if err != nil || string(topic) != want {
		t.Errorf("topic status:\n got %s (%v)\nwant %s", topic, err, want)
	}
	keys := map[string][]byte{
		"status-connector-my-conn":              connectorStatusKey("my-conn"),
		"status-task-my-conn-0":                 taskStatusKey(TaskID{Connector: "my-conn", Task: 0}),
		"status-topic-orders:connector-my-conn": topicStatusKey("my-conn", "orders"),
	}
	for want, got := range keys {
		if string(got) != want {
			t.Errorf("key %q, want %q", got, want)
		}
	}
}

// TestValuesKafkaWroteAreRead decodes bytes as Kafka's Java worker writes
// them, older versions' included.
func TestValuesKafkaWroteAreRead(t *testing.T) {
	states := map[string]TargetState{
		`{"state":"PAUSED"}`:                      TargetPaused, // before Kafka 3.5
		`{"state":"PAUSED","state.v2":"STOPPED"}`: TargetStopped,
		`{"state":"STARTED","state.v2":null}`:     TargetStarted,
		`{"state":"PAUSED","state.v2":7}`:         TargetPaused, // Kafka falls back on state
	}
	for in, want := range states {
		if got, err := decodeTargetState([]byte(in)); err != nil || got != want {
			t.Errorf("%s: %q (%v), want %s", in, got, err, want)
		}
	}
	props, err := decodeProperties([]byte(`{"properties":{"tasks.max":"1","topic":"t\u00e9","gone":null}}`))
	if err != nil || !reflect.DeepEqual(props, map[string]string{"tasks.max": "1", "topic": "té"}) {
		t.Errorf("properties %v (%v)", props, err)
	}
	if n, err := decodeCount([]byte(`{"tasks":4}`), "tasks"); err != nil || n != 4 {
		t.Errorf("commit %d (%v), want 4", n, err)
	}
	key, err := decodeSessionKey([]byte(`{"key":"AAEC","algorithm":"HmacSHA256","creation-timestamp":5}`))
	if err != nil || !bytes.Equal(key.Key, []byte{0, 1, 2}) || key.Algorithm != "HmacSHA256" || key.Created.UnixMilli() != 5 {
		t.Errorf("session key %+v (%v)", key, err)
	}
	st, err := decodeStatus([]byte(`{"state":"UNASSIGNED","trace":null,"worker_id":"w:1","generation":12}`))
	if err != nil || st != (Status{State: StateUnassigned, WorkerID: "w:1", Generation: 12}) {
		t.Errorf("status %+v (%v)", st, err)
	}
	topic, err := decodeTopicStatus([]byte(`{"topic":{"name":"a","connector":"c","task":1,"discoverTimestamp":9}}`))
	if err != nil || topic.Topic != "a" || topic.Connector != "c" || topic.Task != 1 || topic.Discovered.UnixMilli() != 9 {
		t.Errorf("topic status %+v (%v)", topic, err)
	}
}

// TestMalformedValuesRefused lists values Kafka's stores skip.
func TestMalformedValuesRefused(t *testing.T) {
	bad := map[string]func([]byte) error{
		`{"state":"RUNNING"}`:                         func(b []byte) error { _, err := decodeTargetState(b); return err },
		`{"STATE":"PAUSED"}`:                          func(b []byte) error { _, err := decodeTargetState(b); return err },
		`{"properties":{"a":1}}`:                      func(b []byte) error { _, err := decodeProperties(b); return err },
		`{"properties":"x"}`:                          func(b []byte) error { _, err := decodeProperties(b); return err },
		`[]`:                                          func(b []byte) error { _, err := decodeProperties(b); return err },
		`{"tasks":1.0}`:                               func(b []byte) error { _, err := decodeCount(b, "tasks"); return err },
		`{"tasks":-1}`:                                func(b []byte) error { _, err := decodeCount(b, "tasks"); return err },
		`{"tasks":"1"}`:                               func(b []byte) error { _, err := decodeCount(b, "tasks"); return err },
		`{"tasks":4294967297}`:                        func(b []byte) error { _, err := decodeCount(b, "tasks"); return err },
		`{"state":"RUNNING","worker_id":"w"}`:         func(b []byte) error { _, err := decodeStatus(b); return err },
		`{"state":"running","generation":1}`:          func(b []byte) error { _, err := decodeStatus(b); return err },
		`{"state":"FAILED","trace":3,"generation":1}`: func(b []byte) error { _, err := decodeStatus(b); return err },
		`{"key":"!!","algorithm":"a","creation-timestamp":1}`: func(b []byte) error {
			_, err := decodeSessionKey(b)
			return err
		},
		`{"topic":{"name":"a","connector":"c","task":1}}`: func(b []byte) error { _, err := decodeTopicStatus(b); return err },
	}
	for in, decode := range bad {
		if err := decode([]byte(in)); err == nil {
			t.Errorf("%s decoded without error", in)
		}
	}
}

func TestTaskKeysParsedAsKafkaDoes(t *testing.T) {
	cases := []struct {
		key    string
		prefix int
		want   TaskID
		ok     bool
	}{
		{"task-conn-0", 1, TaskID{"conn", 0}, true},
		{"task-my-dashed-conn-17", 1, TaskID{"my-dashed-conn", 17}, true},
		{"task-conn--3", 1, TaskID{"conn-", 3}, true},
		{"task-conn-3-", 1, TaskID{"conn", 3}, true}, // Java's split drops the trailing empty part
		{"task-conn", 1, TaskID{}, false},
		{"task-conn-x", 1, TaskID{}, false},
		{"task-conn-99999999999", 1, TaskID{}, false},
		{"status-task-a-b-2", 2, TaskID{"a-b", 2}, true},
		{"status-task-2", 2, TaskID{}, false},
	}
	for _, tc := range cases {
		got, ok := parseTaskKey(tc.key, tc.prefix)
		if ok != tc.ok || got != tc.want {
			t.Errorf("parseTaskKey(%q) = %+v, %v; want %+v, %v", tc.key, got, ok, tc.want, tc.ok)
		}
	}
	topics := []struct{ key, topic, connector string }{
		{"status-topic-orders:connector-sink", "orders", "sink"},
		{"status-topic-a.b_c:connector-x:y", "a.b_c", "x:y"},
		{"status-topic-:connector-x", "", ""},
		{"status-topic-orders:connector-", "", ""},
		{"status-topic-orders:other-x", "", ""},
		{"status-topic-orders", "", ""},
	}
	for _, tc := range topics {
		topic, connector, ok := parseTopicStatusKey(tc.key)
		if topic != tc.topic || connector != tc.connector || ok != (tc.topic != "") {
			t.Errorf("parseTopicStatusKey(%q) = %q, %q, %v", tc.key, topic, connector, ok)
		}
	}
}
