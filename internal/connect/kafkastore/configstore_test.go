package kafkastore

import (
	"reflect"
	"sync"
	"testing"
)

// changeLog records a listener's changes.
type changeLog struct {
	mu      sync.Mutex
	changes []ConfigChange
}

func (c *changeLog) listen(change ConfigChange) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.changes = append(c.changes, change)
}

func (c *changeLog) kinds() []ConfigChangeKind {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []ConfigChangeKind
	for _, ch := range c.changes {
		out = append(out, ch.Kind)
	}
	return out
}

// TestConfigStoresConverge has one store write and another see it all
// after ReadToEnd, with the listener told each change once, in order.
func TestConfigStoresConverge(t *testing.T) {
	c := startCluster(t)
	writer := startConfigStore(t, c, "connect-configs", nil)
	var heard changeLog
	reader := startConfigStore(t, c, "connect-configs", heard.listen)
	ctx := testContext(t)

	config := map[string]string{"connector.class": "Foo", "tasks.max": "2"}
	if err := writer.PutConnectorConfig(ctx, "foo", config, TargetPaused); err != nil {
		t.Fatal(err)
	}
	tasks := []map[string]string{{"task": "0"}, {"task": "1"}}
	if err := writer.PutTaskConfigs(ctx, "foo", tasks); err != nil {
		t.Fatal(err)
	}
	if err := writer.PutTargetState(ctx, "foo", TargetStopped); err != nil {
		t.Fatal(err)
	}
	if err := writer.ReadToEnd(ctx); err != nil {
		t.Fatal(err)
	}
	if err := reader.ReadToEnd(ctx); err != nil {
		t.Fatal(err)
	}
	want := writer.Snapshot()
	got := reader.Snapshot()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("reader's snapshot\n%+v\nwriter's\n%+v", got, want)
	}
	if !reflect.DeepEqual(got.ConnectorConfigs["foo"], config) || !reflect.DeepEqual(got.TaskConfigs["foo"], tasks) ||
		got.TargetStates["foo"] != TargetStopped || got.TaskCounts["foo"] != 2 {
		t.Fatalf("snapshot %+v", got)
	}
	// Records: target state, connector, 2 tasks, commit, target state.
	if got.Offset != 6 {
		t.Errorf("offset %d, want 6", got.Offset)
	}
	wantKinds := []ConfigChangeKind{ConnectorConfigUpdated, TaskConfigsUpdated, TargetStateChanged}
	if kinds := heard.kinds(); !reflect.DeepEqual(kinds, wantKinds) {
		t.Errorf("listener heard %v, want %v", kinds, wantKinds)
	}
}

// TestConfigRecordsOfAJavaWorker writes the config topic as Kafka's Java
// worker does, byte for byte, and checks that task configs stay invisible
// until their commit record arrives.
func TestConfigRecordsOfAJavaWorker(t *testing.T) {
	c := startCluster(t)
	store := startConfigStore(t, c, "connect-configs", nil)
	ctx := testContext(t)
	c.produceRaw(t, "connect-configs",
		kv("connector-local-file-source", `{"properties":{"connector.class":"FileStreamSource","tasks.max":"1",`+
			`"file":"test.txt","topic":"connect-test","name":"local-file-source"}}`),
		kv("target-state-local-file-source", `{"state":"STARTED","state.v2":"STARTED"}`),
		kv("task-local-file-source-0", `{"properties":{"file":"test.txt","topic":"connect-test",`+
			`"task.class":"org.apache.kafka.connect.file.FileStreamSourceTask","batch.size":"2000"}}`))
	if err := store.ReadToEnd(ctx); err != nil {
		t.Fatal(err)
	}
	snap := store.Snapshot()
	if snap.ConnectorConfigs["local-file-source"]["file"] != "test.txt" || snap.TargetStates["local-file-source"] != TargetStarted {
		t.Fatalf("connector not read: %+v", snap)
	}
	if len(snap.TaskConfigs) != 0 || len(snap.TaskCounts) != 0 {
		t.Fatalf("task config visible before its commit: %+v", snap.TaskConfigs)
	}
	c.produceRaw(t, "connect-configs", kv("commit-local-file-source", `{"tasks":1}`))
	if err := store.ReadToEnd(ctx); err != nil {
		t.Fatal(err)
	}
	snap = store.Snapshot()
	if got := snap.TaskConfigs["local-file-source"]; len(got) != 1 || got[0]["batch.size"] != "2000" {
		t.Fatalf("task configs after commit: %v", got)
	}
}

// TestConfigRecordsAsAJavaWorkerReadsThem checks the bytes the store puts
// on the topic, tombstones included.
func TestConfigRecordsAsAJavaWorkerReadsThem(t *testing.T) {
	c := startCluster(t)
	store := startConfigStore(t, c, "connect-configs", nil)
	ctx := testContext(t)
	if err := store.PutConnectorConfig(ctx, "foo", map[string]string{"connector.class": "Foo", "tasks.max": "1"}, TargetStopped); err != nil {
		t.Fatal(err)
	}
	if err := store.PutTaskConfigs(ctx, "foo", []map[string]string{{"k": "v"}}); err != nil {
		t.Fatal(err)
	}
	if err := store.RemoveConnectorConfig(ctx, "foo"); err != nil {
		t.Fatal(err)
	}
	want := []KeyValue{
		kv("target-state-foo", `{"state":"PAUSED","state.v2":"STOPPED"}`),
		kv("connector-foo", `{"properties":{"connector.class":"Foo","tasks.max":"1"}}`),
		kv("task-foo-0", `{"properties":{"k":"v"}}`),
		kv("commit-foo", `{"tasks":1}`),
		kv("connector-foo", ""),
		kv("target-state-foo", ""),
	}
	got := c.readRaw(t, "connect-configs")
	if len(got) != len(want) {
		t.Fatalf("topic has %d records, want %d", len(got), len(want))
	}
	for i, r := range got {
		if string(r.Key) != string(want[i].Key) || string(r.Value) != string(want[i].Value) ||
			(r.Value == nil) != (want[i].Value == nil) || r.Offset != int64(i) {
			t.Errorf("record %d: %d %s=%q, want %s=%q", i, r.Offset, r.Key, r.Value, want[i].Key, want[i].Value)
		}
	}
	snap := store.Snapshot()
	if len(snap.ConnectorConfigs)+len(snap.TargetStates)+len(snap.TaskConfigs) != 0 {
		t.Errorf("after removal the store still has %+v", snap)
	}
}

func TestConfigStoreWorkerRecords(t *testing.T) {
	c := startCluster(t)
	writer := startConfigStore(t, c, "connect-configs", nil)
	var heard changeLog
	reader := startConfigStore(t, c, "connect-configs", heard.listen)
	ctx := testContext(t)
	key := SessionKey{Key: []byte{1, 2, 3}, Algorithm: "HmacSHA256"}
	if err := writer.PutSessionKey(ctx, key); err != nil {
		t.Fatal(err)
	}
	if err := writer.PutRestartRequest(ctx, RestartRequest{Connector: "foo", OnlyFailed: true}); err != nil {
		t.Fatal(err)
	}
	if err := writer.PutTaskCountRecord(ctx, "foo", 3); err != nil {
		t.Fatal(err)
	}
	if err := writer.PutLoggerLevel(ctx, "org.example", "TRACE"); err != nil {
		t.Fatal(err)
	}
	if err := writer.ReadToEnd(ctx); err != nil {
		t.Fatal(err)
	}
	snap := writer.Snapshot()
	if snap.SessionKey == nil || !reflect.DeepEqual(snap.SessionKey.Key, key.Key) || snap.TaskCountRecords["foo"] != 3 {
		t.Fatalf("snapshot %+v", snap)
	}
	if err := reader.ReadToEnd(ctx); err != nil {
		t.Fatal(err)
	}
	want := []ConfigChange{
		{Kind: SessionKeyUpdated},
		{Kind: RestartRequested, Connector: "foo", Restart: RestartRequest{Connector: "foo", OnlyFailed: true}},
		{Kind: LoggerLevelChanged, Namespace: "org.example", Level: "TRACE"},
	}
	heard.mu.Lock()
	defer heard.mu.Unlock()
	if !reflect.DeepEqual(heard.changes, want) {
		t.Fatalf("listener heard %+v, want %+v", heard.changes, want)
	}
}
