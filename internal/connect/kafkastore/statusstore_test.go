package kafkastore

import (
	"reflect"
	"testing"
	"time"
)

func TestStatusStoresConverge(t *testing.T) {
	c := startCluster(t)
	w1 := startStatusStore(t, c, "connect-status")
	w2 := startStatusStore(t, c, "connect-status")
	ctx := testContext(t)
	readBoth := func() {
		t.Helper()
		for _, s := range []*StatusStore{w1, w2} {
			if err := s.ReadToEnd(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	running := Status{State: StateRunning, WorkerID: "w1:8083", Generation: 5}
	if err := w1.PutConnector(ctx, "foo", running); err != nil {
		t.Fatal(err)
	}
	for task := range 3 {
		if err := w1.PutTask(ctx, TaskID{"foo", task}, running); err != nil {
			t.Fatal(err)
		}
	}
	// A worker that lags behind reports task 0 UNASSIGNED at an older
	// generation: Kafka keeps the RUNNING.
	if err := w2.PutTask(ctx, TaskID{"foo", 0}, Status{State: StateUnassigned, WorkerID: "w2:8083", Generation: 4}); err != nil {
		t.Fatal(err)
	}
	failed := Status{State: StateFailed, Trace: "boom", WorkerID: "w2:8083", Generation: 6}
	if err := w2.PutTask(ctx, TaskID{"foo", 1}, failed); err != nil {
		t.Fatal(err)
	}
	readBoth()
	for _, s := range []*StatusStore{w1, w2} {
		want := []TaskStatus{{TaskID{"foo", 0}, running}, {TaskID{"foo", 1}, failed}, {TaskID{"foo", 2}, running}}
		if got := s.Tasks("foo"); !reflect.DeepEqual(got, want) {
			t.Errorf("tasks %+v, want %+v", got, want)
		}
		if got, ok := s.Connector("foo"); !ok || got != running {
			t.Errorf("connector %+v %v", got, ok)
		}
	}

	// putSafe: w2 may not overwrite w1's generation-5 status with an
	// older generation; w1 itself may.
	wrote, err := w2.PutTaskSafe(ctx, TaskID{"foo", 2}, Status{State: StatePaused, WorkerID: "w2:8083", Generation: 3})
	if err != nil || wrote {
		t.Fatalf("unsafe write went through: %v %v", wrote, err)
	}
	wrote, err = w1.PutTaskSafe(ctx, TaskID{"foo", 2}, Status{State: StatePaused, WorkerID: "w1:8083", Generation: 3})
	if err != nil || !wrote {
		t.Fatalf("same worker's write refused: %v %v", wrote, err)
	}
	readBoth()
	if got, _ := w2.Task(TaskID{"foo", 2}); got.State != StatePaused {
		t.Errorf("task 2 %+v, want PAUSED", got)
	}

	// Topics a connector used, then its destruction.
	used := TopicStatus{Topic: "orders", Connector: "foo", Task: 1, Discovered: time.UnixMilli(1700000000000)}
	if err := w1.PutTopic(ctx, used); err != nil {
		t.Fatal(err)
	}
	if err := w1.PutTopic(ctx, TopicStatus{Topic: "gone", Connector: "foo", Discovered: time.UnixMilli(1)}); err != nil {
		t.Fatal(err)
	}
	if err := w1.DeleteTopic(ctx, "foo", "gone"); err != nil {
		t.Fatal(err)
	}
	if err := w1.PutConnector(ctx, "foo", Status{State: StateDestroyed}); err != nil {
		t.Fatal(err)
	}
	readBoth()
	if got := w2.Topics("foo"); !reflect.DeepEqual(got, []TopicStatus{used}) {
		t.Errorf("topics %+v, want %+v", got, used)
	}
	if _, ok := w2.Connector("foo"); ok || len(w2.Tasks("foo")) != 0 || len(w2.Connectors()) != 0 {
		t.Errorf("destroyed connector still has statuses: %v %+v", w2.Connectors(), w2.Tasks("foo"))
	}
}

func TestStatusRulesAsKafka(t *testing.T) {
	s := newStatusState()
	apply := func(key, value string) {
		t.Helper()
		if err := s.apply(Record{Key: []byte(key), Value: kv(key, value).Value}); err != nil {
			t.Fatal(err)
		}
	}
	apply("status-task-foo-0", `{"state":"RUNNING","trace":null,"worker_id":"a","generation":5}`)
	apply("status-task-foo-0", `{"state":"UNASSIGNED","trace":null,"worker_id":"b","generation":5}`)
	if st := s.tasks["foo"][0]; st.State != StateRunning {
		t.Fatalf("UNASSIGNED of the same generation replaced RUNNING: %+v", st)
	}
	apply("status-task-foo-0", `{"state":"UNASSIGNED","trace":null,"worker_id":"b","generation":6}`)
	if st := s.tasks["foo"][0]; st.State != StateUnassigned {
		t.Fatalf("UNASSIGNED of a later generation ignored: %+v", st)
	}
	// Other states replace whatever the generation: the last record wins.
	apply("status-task-foo-0", `{"state":"FAILED","trace":"x","worker_id":"c","generation":1}`)
	if st := s.tasks["foo"][0]; st.State != StateFailed || st.Generation != 1 {
		t.Fatalf("FAILED not applied: %+v", st)
	}
	apply("status-task-foo-0", "")
	if _, ok := s.tasks["foo"]; ok {
		t.Fatal("task status tombstone ignored")
	}
	safe := []struct {
		current Status
		exists  bool
		next    Status
		want    bool
	}{
		{Status{}, false, Status{WorkerID: "a", Generation: 1}, true},
		{Status{WorkerID: "a", Generation: 9}, true, Status{WorkerID: "a", Generation: 1}, true},
		{Status{WorkerID: "a", Generation: 9}, true, Status{WorkerID: "b", Generation: 9}, true},
		{Status{WorkerID: "a", Generation: 9}, true, Status{WorkerID: "b", Generation: 8}, false},
	}
	for _, tc := range safe {
		if got := canWriteSafely(tc.current, tc.exists, tc.next); got != tc.want {
			t.Errorf("canWriteSafely(%+v, %v, %+v) = %v", tc.current, tc.exists, tc.next, got)
		}
	}
}
