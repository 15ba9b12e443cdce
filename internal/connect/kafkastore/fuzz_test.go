package kafkastore

import (
	"reflect"
	"testing"
)

// Record values come from a topic anyone with write access can fill:
// every decoder must refuse what it cannot read, never panic, and what it
// accepts must encode back to a value it reads the same.

func addSeeds(f *testing.F, seeds ...string) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Add([]byte(nil))
	f.Add([]byte(`null`))
	f.Add([]byte(`{"a":`))
}

func FuzzDecodeTargetState(f *testing.F) {
	addSeeds(f, `{"state":"PAUSED","state.v2":"STOPPED"}`, `{"state":"STARTED"}`, `{"state.v2":1,"state":"PAUSED"}`)
	f.Fuzz(func(t *testing.T, b []byte) {
		state, err := decodeTargetState(b)
		if err != nil {
			return
		}
		encoded, err := encodeTargetState(state)
		if err != nil {
			t.Fatal(err)
		}
		if again, err := decodeTargetState(encoded); err != nil || again != state {
			t.Fatalf("%q -> %s -> %s (%v)", b, encoded, again, err)
		}
	})
}

func FuzzDecodeProperties(f *testing.F) {
	addSeeds(f, `{"properties":{"a":"b","c":null}}`, `{"properties":{}}`, `{"properties":{"a":1}}`)
	f.Fuzz(func(t *testing.T, b []byte) {
		props, err := decodeProperties(b)
		if err != nil {
			return
		}
		encoded, err := marshalJSON(propertiesValue{Properties: props})
		if err != nil {
			t.Fatal(err)
		}
		if again, err := decodeProperties(encoded); err != nil || !reflect.DeepEqual(again, props) {
			t.Fatalf("%q -> %s -> %v (%v)", b, encoded, again, err)
		}
	})
}

func FuzzDecodeCount(f *testing.F) {
	addSeeds(f, `{"tasks":3}`, `{"task-count":0}`, `{"tasks":1e2}`, `{"tasks":-0}`)
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, field := range []string{"tasks", "task-count"} {
			n, err := decodeCount(b, field)
			if err == nil && n < 0 {
				t.Fatalf("%q: negative count %d", b, n)
			}
		}
	})
}

func FuzzDecodeSessionKey(f *testing.F) {
	addSeeds(f, `{"key":"AAEC","algorithm":"HmacSHA256","creation-timestamp":5}`, `{"key":"=","algorithm":"","creation-timestamp":1}`)
	f.Fuzz(func(t *testing.T, b []byte) {
		key, err := decodeSessionKey(b)
		if err != nil {
			return
		}
		encoded, err := encodeSessionKey(key)
		if err != nil {
			t.Fatal(err)
		}
		if again, err := decodeSessionKey(encoded); err != nil || !reflect.DeepEqual(again, key) {
			t.Fatalf("%q -> %s -> %+v (%v)", b, encoded, again, err)
		}
	})
}

func FuzzDecodeRestart(f *testing.F) {
	addSeeds(f, `{"include-tasks":true,"only-failed":false}`, `{"only-failed":"true"}`)
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = decodeRestart("c", b)
	})
}

func FuzzDecodeLoggerLevel(f *testing.F) {
	addSeeds(f, `{"level":"DEBUG"}`, `{"level":null}`)
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = decodeLoggerLevel(b)
	})
}

func FuzzDecodeStatus(f *testing.F) {
	addSeeds(f, `{"state":"RUNNING","trace":null,"worker_id":"w:1","generation":3}`,
		`{"state":"FAILED","trace":"x","worker_id":null,"generation":2147483648}`)
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := decodeStatus(b)
		if err != nil || st.State == StateDestroyed {
			return
		}
		encoded, err := encodeStatus(st)
		if err != nil {
			t.Fatal(err)
		}
		if again, err := decodeStatus(encoded); err != nil || again != st {
			t.Fatalf("%q -> %s -> %+v (%v)", b, encoded, again, err)
		}
	})
}

func FuzzDecodeTopicStatus(f *testing.F) {
	addSeeds(f, `{"topic":{"name":"a","connector":"c","task":1,"discoverTimestamp":9}}`, `{"topic":null}`)
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := decodeTopicStatus(b)
		if err != nil {
			return
		}
		encoded, err := encodeTopicStatus(st)
		if err != nil {
			t.Fatal(err)
		}
		if again, err := decodeTopicStatus(encoded); err != nil || !again.Discovered.Equal(st.Discovered) ||
			again.Topic != st.Topic || again.Connector != st.Connector || again.Task != st.Task {
			t.Fatalf("%q -> %s -> %+v (%v)", b, encoded, again, err)
		}
	})
}

func FuzzParseOffsetKey(f *testing.F) {
	addSeeds(f, `["c",{"f":"a"}]`, `["c",{"b":1,"a":1.5e3}]`, `["c",null]`, `[1,2,3]`)
	f.Fuzz(func(t *testing.T, b []byte) {
		key, err := parseOffsetKey(b)
		if err != nil {
			return
		}
		// The canonical form is a fixed point.
		if again, err := parseOffsetKey([]byte(key.canonical)); err != nil || again != key {
			t.Fatalf("%q -> %+v -> %+v (%v)", b, key, again, err)
		}
	})
}

// FuzzConfigRecord feeds whole records, any key and value, to the config
// topic's state machine and takes a snapshot after each.
func FuzzConfigRecord(f *testing.F) {
	seeds := [][2]string{
		{"connector-a", `{"properties":{"x":"y"}}`}, {"task-a-0", `{"properties":{}}`}, {"commit-a", `{"tasks":1}`},
		{"target-state-a", `{"state":"PAUSED"}`}, {"tasks-fencing-a", `{"task-count":1}`}, {"restart-connector-a", `{}`},
		{"session-key", `{"key":"","algorithm":"a","creation-timestamp":0}`}, {"logger-cluster-x", `{"level":"INFO"}`},
	}
	for _, s := range seeds {
		f.Add([]byte(s[0]), []byte(s[1]), true)
		f.Add([]byte(s[0]), []byte(nil), false)
	}
	f.Fuzz(func(t *testing.T, key, value []byte, setup bool) {
		s := newConfigState()
		if setup {
			// A connector with pending tasks, so that commits apply.
			s.apply(Record{Offset: 0, Key: []byte("connector-a"), Value: []byte(`{"properties":{}}`)})
			s.apply(Record{Offset: 1, Key: []byte("task-a-0"), Value: []byte(`{"properties":{}}`)})
		}
		s.apply(Record{Offset: 2, Key: key, Value: value})
		snap := s.snapshot()
		for connector, tasks := range snap.TaskConfigs {
			if len(tasks) != snap.TaskCounts[connector] {
				t.Fatalf("%s has %d task configs and count %d", connector, len(tasks), snap.TaskCounts[connector])
			}
		}
	})
}

// FuzzStatusRecord does the same for the status topic.
func FuzzStatusRecord(f *testing.F) {
	f.Add([]byte("status-connector-a"), []byte(`{"state":"RUNNING","trace":null,"worker_id":"w","generation":1}`))
	f.Add([]byte("status-task-a-b-0"), []byte(`{"state":"UNASSIGNED","trace":null,"worker_id":"w","generation":1}`))
	f.Add([]byte("status-topic-t:connector-a"), []byte(`{"topic":{"name":"t","connector":"a","task":0,"discoverTimestamp":1}}`))
	f.Add([]byte("status-task-a-0"), []byte(nil))
	f.Fuzz(func(t *testing.T, key, value []byte) {
		s := newStatusState()
		_ = s.apply(Record{Key: key, Value: value})
		_ = s.apply(Record{Key: key, Value: value})
	})
}
