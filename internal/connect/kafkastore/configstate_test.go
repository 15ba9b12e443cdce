package kafkastore

import (
	"reflect"
	"testing"
)

// feed applies records in order, as the log would, and returns every
// change they made.
func feed(t *testing.T, s *configState, records ...KeyValue) []ConfigChange {
	t.Helper()
	var changes []ConfigChange
	for _, r := range records {
		// Offsets follow on from the last record counted.
		c, _ := s.apply(Record{Offset: max(s.offset, 0), Key: r.Key, Value: r.Value})
		changes = append(changes, c...)
	}
	return changes
}

const (
	fooConfig = `{"properties":{"connector.class":"Foo","tasks.max":"2"}}`
	task0     = `{"properties":{"task":"0"}}`
	task1     = `{"properties":{"task":"1"}}`
)

func TestTaskConfigsAppliedOnlyByTheirCommit(t *testing.T) {
	s := newConfigState()
	feed(t, s, kv("connector-foo", fooConfig), kv("task-foo-0", task0), kv("task-foo-1", task1))
	snap := s.snapshot()
	if len(snap.TaskConfigs) != 0 || len(snap.TaskCounts) != 0 {
		t.Fatalf("task configs visible before their commit: %v %v", snap.TaskConfigs, snap.TaskCounts)
	}
	changes := feed(t, s, kv("commit-foo", `{"tasks":2}`))
	want := []ConfigChange{{Kind: TaskConfigsUpdated, Connector: "foo", Tasks: []TaskID{{"foo", 0}, {"foo", 1}}}}
	if !reflect.DeepEqual(changes, want) {
		t.Fatalf("changes %+v, want %+v", changes, want)
	}
	snap = s.snapshot()
	wantTasks := []map[string]string{{"task": "0"}, {"task": "1"}}
	if !reflect.DeepEqual(snap.TaskConfigs["foo"], wantTasks) || snap.TaskCounts["foo"] != 2 {
		t.Fatalf("tasks %v count %d", snap.TaskConfigs["foo"], snap.TaskCounts["foo"])
	}
	if snap.TaskConfigGenerations["foo"] != 0 || !snap.PendingFencing["foo"] || snap.Offset != 4 {
		t.Errorf("generation %d, pending fencing %v, offset %d", snap.TaskConfigGenerations["foo"], snap.PendingFencing, snap.Offset)
	}
	if !reflect.DeepEqual(snap.AppliedConnectorConfigs["foo"], snap.ConnectorConfigs["foo"]) {
		t.Errorf("applied config %v", snap.AppliedConnectorConfigs["foo"])
	}

	// Fewer tasks: the old task 1 config stays behind, unlisted.
	feed(t, s, kv("task-foo-0", `{"properties":{"task":"only"}}`), kv("commit-foo", `{"tasks":1}`),
		kv("tasks-fencing-foo", `{"task-count":1}`))
	snap = s.snapshot()
	if !reflect.DeepEqual(snap.TaskConfigs["foo"], []map[string]string{{"task": "only"}}) {
		t.Errorf("after shrinking, tasks %v", snap.TaskConfigs["foo"])
	}
	if snap.TaskConfigGenerations["foo"] != 1 || snap.PendingFencing["foo"] || snap.TaskCountRecords["foo"] != 1 {
		t.Errorf("generation %d, pending %v, task count record %d", snap.TaskConfigGenerations["foo"],
			snap.PendingFencing, snap.TaskCountRecords["foo"])
	}
}

// TestIncompleteCommitMarksInconsistent replays a log whose compaction
// removed a task config its commit needs, then the rewrite that heals it.
func TestIncompleteCommitMarksInconsistent(t *testing.T) {
	s := newConfigState()
	changes := feed(t, s, kv("connector-foo", fooConfig), kv("task-foo-1", task1), kv("commit-foo", `{"tasks":2}`))
	snap := s.snapshot()
	if !snap.Inconsistent["foo"] || snap.TaskConfigs["foo"] != nil || snap.TaskCounts["foo"] != 2 {
		t.Fatalf("inconsistent %v, tasks %v, counts %v", snap.Inconsistent, snap.TaskConfigs, snap.TaskCounts)
	}
	if last := changes[len(changes)-1]; last.Kind != TaskConfigsUpdated || len(last.Tasks) != 0 {
		t.Errorf("last change %+v, want a task update with no tasks", last)
	}
	// The deferred task 1 was dropped with the incomplete commit.
	feed(t, s, kv("task-foo-0", task0), kv("commit-foo", `{"tasks":2}`))
	if snap := s.snapshot(); !snap.Inconsistent["foo"] {
		t.Fatal("a commit after half the tasks made the connector consistent")
	}
	feed(t, s, kv("task-foo-0", task0), kv("task-foo-1", task1), kv("commit-foo", `{"tasks":2}`))
	if snap := s.snapshot(); snap.Inconsistent["foo"] || len(snap.TaskConfigs["foo"]) != 2 {
		t.Fatalf("after the rewrite: inconsistent %v, tasks %v", snap.Inconsistent, snap.TaskConfigs)
	}
}

func TestConnectorRemovalAndTargetStates(t *testing.T) {
	s := newConfigState()
	// An initial state written before its connector says nothing yet.
	changes := feed(t, s, kv("target-state-foo", `{"state":"PAUSED","state.v2":"STOPPED"}`))
	if len(changes) != 0 {
		t.Fatalf("changes %+v before the connector exists", changes)
	}
	changes = feed(t, s, kv("connector-foo", fooConfig), kv("task-foo-0", task0), kv("commit-foo", `{"tasks":1}`),
		kv("target-state-foo", `{"state":"PAUSED","state.v2":"STOPPED"}`), // unchanged: no news
		kv("target-state-foo", `{"state":"PAUSED","state.v2":"PAUSED"}`))
	kinds := []ConfigChangeKind{}
	for _, c := range changes {
		kinds = append(kinds, c.Kind)
	}
	if !reflect.DeepEqual(kinds, []ConfigChangeKind{ConnectorConfigUpdated, TaskConfigsUpdated, TargetStateChanged}) {
		t.Fatalf("change kinds %v", kinds)
	}
	if st := s.snapshot().TargetStates["foo"]; st != TargetPaused {
		t.Fatalf("target state %s", st)
	}

	changes = feed(t, s, kv("connector-foo", ""), kv("target-state-foo", ""))
	if !reflect.DeepEqual(changes, []ConfigChange{{Kind: ConnectorConfigRemoved, Connector: "foo"}}) {
		t.Fatalf("removal changes %+v", changes)
	}
	snap := s.snapshot()
	if len(snap.ConnectorConfigs)+len(snap.TargetStates)+len(snap.TaskConfigs)+len(snap.TaskCounts) != 0 {
		t.Fatalf("after removal: %+v", snap)
	}
	// A commit whose connector is gone (compaction took both its config
	// and the tombstone) is ignored.
	if changes := feed(t, s, kv("task-foo-0", task0), kv("commit-foo", `{"tasks":1}`)); len(changes) != 0 {
		t.Fatalf("orphan commit made changes %+v", changes)
	}
	if snap := s.snapshot(); len(snap.TaskConfigs) != 0 {
		t.Fatalf("orphan tasks applied: %v", snap.TaskConfigs)
	}
	// A connector without a target state is STARTED; a target state
	// tombstone while the config is there puts it back to STARTED.
	feed(t, s, kv("connector-bar", fooConfig), kv("target-state-bar", `{"state":"PAUSED"}`), kv("target-state-bar", ""))
	if st := s.snapshot().TargetStates["bar"]; st != TargetStarted {
		t.Fatalf("target state after tombstone %s, want STARTED", st)
	}
}

func TestWorkerRecords(t *testing.T) {
	s := newConfigState()
	changes := feed(t, s,
		kv("session-key", `{"key":"AAEC","algorithm":"HmacSHA256","creation-timestamp":42}`),
		kv("restart-connector-foo", `{"include-tasks":true,"only-failed":"yes"}`),
		kv("logger-cluster-org.example", `{"level":"DEBUG"}`),
		kv("something-else", `{}`),
		KeyValue{Key: []byte("connector-bad"), Value: []byte("not json")},
	)
	want := []ConfigChange{
		{Kind: SessionKeyUpdated},
		{Kind: RestartRequested, Connector: "foo", Restart: RestartRequest{Connector: "foo", IncludeTasks: true}},
		{Kind: LoggerLevelChanged, Namespace: "org.example", Level: "DEBUG"},
	}
	if !reflect.DeepEqual(changes, want) {
		t.Fatalf("changes %+v, want %+v", changes, want)
	}
	snap := s.snapshot()
	if snap.SessionKey == nil || snap.SessionKey.Created.UnixMilli() != 42 || snap.SessionKey.Algorithm != "HmacSHA256" {
		t.Errorf("session key %+v", snap.SessionKey)
	}
	// The unknown key counts; the value that is not JSON does not, as in
	// Kafka, where the converter fails before the offset is taken.
	if snap.Offset != 4 {
		t.Errorf("offset %d, want 4", snap.Offset)
	}
}
