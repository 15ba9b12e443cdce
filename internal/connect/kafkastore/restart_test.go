package kafkastore

import (
	"reflect"
	"testing"
)

// TestStoresReadBackAfterRestart writes to the three topics, restarts the
// broker, and checks that new stores rebuild the same state from them.
func TestStoresReadBackAfterRestart(t *testing.T) {
	c := startCluster(t)
	ctx := testContext(t)
	configs := NewConfigStore(c.storeOptions("connect-configs"), nil)
	statuses := NewStatusStore(c.storeOptions("connect-status"))
	offsets := NewOffsetStore(c.storeOptions("connect-offsets"))
	// Closed below before the restart; these cover a failure on the way.
	t.Cleanup(configs.Close)
	t.Cleanup(statuses.Close)
	t.Cleanup(offsets.Close)
	for _, start := range []func() error{
		func() error { return configs.Start(ctx) }, func() error { return statuses.Start(ctx) },
		func() error { return offsets.Start(ctx) },
	} {
		if err := start(); err != nil {
			t.Fatal(err)
		}
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"a", "b", "c"} {
		must(configs.PutConnectorConfig(ctx, name, map[string]string{"connector.class": "X", "name": name}, ""))
		must(configs.PutTaskConfigs(ctx, name, []map[string]string{{"n": name + "0"}, {"n": name + "1"}}))
		must(statuses.PutConnector(ctx, name, Status{State: StateRunning, WorkerID: "w:1", Generation: 2}))
		must(statuses.PutTask(ctx, TaskID{name, 1}, Status{State: StateFailed, Trace: "t", WorkerID: "w:1", Generation: 2}))
	}
	must(configs.RemoveConnectorConfig(ctx, "b"))
	must(configs.PutTargetState(ctx, "c", TargetPaused))
	must(offsets.Put(ctx, []OffsetRecord{
		{Key: b(`["a",{"f":"1"}]`), Value: b(`{"o":1}`)}, {Key: b(`["a",{"f":"2"}]`), Value: b(`{"o":2}`)}}))
	must(configs.ReadToEnd(ctx))
	must(statuses.ReadToEnd(ctx))
	wantConfigs := configs.Snapshot()
	wantTasks := statuses.Tasks("c")
	wantOffsets, err := offsets.All(ctx, "a")
	must(err)
	configs.Close()
	statuses.Close()
	offsets.Close()

	c.srv.Restart(t)

	gotConfigs := startConfigStore(t, c, "connect-configs", nil).Snapshot()
	if !reflect.DeepEqual(gotConfigs, wantConfigs) {
		t.Errorf("configs after restart\n%+v\nwant\n%+v", gotConfigs, wantConfigs)
	}
	if _, ok := gotConfigs.ConnectorConfigs["b"]; ok || gotConfigs.TargetStates["c"] != TargetPaused || len(gotConfigs.TaskConfigs["a"]) != 2 {
		t.Errorf("configs after restart %+v", gotConfigs)
	}
	restartedStatuses := startStatusStore(t, c, "connect-status")
	if got := restartedStatuses.Tasks("c"); !reflect.DeepEqual(got, wantTasks) || len(got) != 1 {
		t.Errorf("task statuses after restart %+v, want %+v", got, wantTasks)
	}
	if got := restartedStatuses.Connectors(); !reflect.DeepEqual(got, []string{"a", "b", "c"}) {
		t.Errorf("connectors with a status %v", got)
	}
	gotOffsets, err := startOffsetStore(t, c, "connect-offsets").All(ctx, "a")
	must(err)
	if !reflect.DeepEqual(gotOffsets, wantOffsets) || len(gotOffsets) != 2 {
		t.Errorf("offsets after restart %q, want %q", gotOffsets, wantOffsets)
	}
}
