package workergroup

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// kafkaBytes assembles bytes field by field, the way Kafka's Struct
// writes them, so that tests state the expected layout independently of
// the encoder.
type kafkaBytes struct{ bytes.Buffer }

func (k *kafkaBytes) i16(v int16) *kafkaBytes { k.Write([]byte{byte(v >> 8), byte(v)}); return k }
func (k *kafkaBytes) i32(v int32) *kafkaBytes {
	k.Write([]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
	return k
}
func (k *kafkaBytes) i64(v int64) *kafkaBytes { return k.i32(int32(v >> 32)).i32(int32(v)) }
func (k *kafkaBytes) str(s string) *kafkaBytes {
	k.i16(int16(len(s)))
	k.WriteString(s)
	return k
}
func (k *kafkaBytes) raw(b []byte) *kafkaBytes { k.Write(b); return k }

// TestAssignmentKafkaLayout checks an assignment against bytes assembled
// from Kafka's ASSIGNMENT_V1 schema: version, error, leader, leader url,
// config offset, [connector, [task]] assigned, the same revoked, delay.
func TestAssignmentKafkaLayout(t *testing.T) {
	want := (&kafkaBytes{}).
		i16(1).i16(0).str("worker-1").str("http://w1:8083").i64(42).
		i32(2). // assigned: two connectors
		str("jdbc").i32(3).i32(-1).i32(0).i32(2).
		str("s3").i32(1).i32(1).
		i32(1). // revoked: one connector, its task 4 only
		str("s3").i32(1).i32(4).
		i32(1500).Bytes()
	a := Assignment{
		Version: 1, Leader: "worker-1", LeaderURL: "http://w1:8083", ConfigOffset: 42,
		Connectors:   []string{"jdbc"},
		Tasks:        []TaskID{{"s3", 1}, {"jdbc", 2}, {"jdbc", 0}},
		RevokedTasks: []TaskID{{"s3", 4}},
		Delay:        1500 * time.Millisecond,
	}
	got, err := EncodeAssignment(a)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("encoded\n%x\nwant\n%x", got, want)
	}
	decoded, err := DecodeAssignment(want)
	if err != nil {
		t.Fatal(err)
	}
	a.Tasks = []TaskID{{"jdbc", 0}, {"jdbc", 2}, {"s3", 1}} // decoded sorted
	if !reflect.DeepEqual(decoded, a) {
		t.Fatalf("decoded %+v\nwant %+v", decoded, a)
	}
}

// TestAssignmentV0KafkaLayout checks the eager layout: it ends after the
// assigned connectors, and decodes with no revocations and no delay.
func TestAssignmentV0KafkaLayout(t *testing.T) {
	want := (&kafkaBytes{}).
		i16(0).i16(1).str("l").str("u").i64(-1).
		i32(1).str("c").i32(2).i32(-1).i32(7).Bytes()
	a := Assignment{Version: 0, Error: ConfigMismatch, Leader: "l", LeaderURL: "u", ConfigOffset: -1,
		Connectors: []string{"c"}, Tasks: []TaskID{{"c", 7}},
		RevokedConnectors: []string{"ignored in V0"}, Delay: time.Second}
	got, err := EncodeAssignment(a)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("encoded\n%x\nwant\n%x", got, want)
	}
	decoded, err := DecodeAssignment(want)
	if err != nil {
		t.Fatal(err)
	}
	a.RevokedConnectors, a.Delay = nil, 0
	if !reflect.DeepEqual(decoded, a) {
		t.Fatalf("decoded %+v\nwant %+v", decoded, a)
	}
}

// TestWorkerStateKafkaLayout checks metadata of each version against
// Kafka's layouts: V0 is version, url, config offset; V1 and V2 add the
// allocation as nullable bytes holding a whole versioned assignment.
func TestWorkerStateKafkaLayout(t *testing.T) {
	allocation := (&kafkaBytes{}).
		i16(2).i16(0).str("leader").str("http://l").i64(9).
		i32(1).str("c").i32(2).i32(-1).i32(0).
		i32(0).i32(0).Bytes()
	cases := []struct {
		name  string
		state WorkerState
		bytes []byte
	}{
		{"eager", WorkerState{Version: 0, URL: "http://w:8083", ConfigOffset: 7},
			(&kafkaBytes{}).i16(0).str("http://w:8083").i64(7).Bytes()},
		{"compatible, holding nothing", WorkerState{Version: 1, URL: "u", ConfigOffset: -1},
			(&kafkaBytes{}).i16(1).str("u").i64(-1).i32(-1).Bytes()},
		{"sessioned, holding work", WorkerState{Version: 2, URL: "http://w", ConfigOffset: 9,
			Allocation: &Assignment{Version: 2, Leader: "leader", LeaderURL: "http://l", ConfigOffset: 9,
				Connectors: []string{"c"}, Tasks: []TaskID{{"c", 0}}}},
			(&kafkaBytes{}).i16(2).str("http://w").i64(9).i32(int32(len(allocation))).raw(allocation).Bytes()},
	}
	for _, c := range cases {
		got, err := EncodeWorkerState(c.state)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if !bytes.Equal(got, c.bytes) {
			t.Fatalf("%s: encoded\n%x\nwant\n%x", c.name, got, c.bytes)
		}
		decoded, err := DecodeWorkerState(c.bytes)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if !reflect.DeepEqual(decoded, c.state) {
			t.Fatalf("%s: decoded %+v, want %+v", c.name, decoded, c.state)
		}
	}
}

// TestDecodeToleratesWhatKafkaTolerates: null arrays are empty, fields
// missing at the end take their defaults, bytes past the known fields
// are ignored, and versions past 2 are read with the V1 layout.
func TestDecodeToleratesWhatKafkaTolerates(t *testing.T) {
	head := func(version int16) *kafkaBytes {
		return (&kafkaBytes{}).i16(version).i16(0).str("l").str("u").i64(5)
	}
	cases := map[string][]byte{
		"no arrays at all":          head(1).Bytes(),
		"null arrays":               head(1).i32(-1).i32(-1).i32(0).Bytes(),
		"no delay":                  head(1).i32(0).i32(0).Bytes(),
		"trailing bytes":            head(1).i32(0).i32(0).i32(0).raw([]byte("future fields")).Bytes(),
		"a version from the future": head(9).i32(0).i32(0).i32(0).i64(1).Bytes(),
	}
	for name, b := range cases {
		a, err := DecodeAssignment(b)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if a.Leader != "l" || a.LeaderURL != "u" || a.ConfigOffset != 5 || len(a.Connectors)+len(a.Tasks) != 0 || a.Delay != 0 {
			t.Fatalf("%s: %+v", name, a)
		}
	}
	s, err := DecodeWorkerState((&kafkaBytes{}).i16(1).str("u").i64(3).Bytes())
	if err != nil || s.Allocation != nil || s.URL != "u" || s.ConfigOffset != 3 {
		t.Fatalf("V1 metadata without allocation: %+v, %v", s, err)
	}
}

// TestDecodeRejectsMalformed lists inputs Kafka's reader refuses (and a
// few it accepts that mean nothing, such as task -2): each is an error
// marked ErrMalformed, not a panic nor a large allocation.
func TestDecodeRejectsMalformed(t *testing.T) {
	head := func() *kafkaBytes { return (&kafkaBytes{}).i16(1).i16(0).str("l").str("u").i64(5) }
	assignments := map[string][]byte{
		"empty":                  nil,
		"negative version":       (&kafkaBytes{}).i16(-1).i16(0).str("l").str("u").i64(5).Bytes(),
		"short leader":           (&kafkaBytes{}).i16(1).i16(0).i16(10).raw([]byte("abc")).Bytes(),
		"negative string length": (&kafkaBytes{}).i16(1).i16(0).i16(-2).Bytes(),
		"no config offset":       (&kafkaBytes{}).i16(1).i16(0).str("l").str("u").Bytes(),
		"huge connector count":   head().i32(1 << 30).Bytes(),
		"huge task count":        head().i32(1).str("c").i32(1 << 30).Bytes(),
		"null task array":        head().i32(1).str("c").i32(-1).Bytes(),
		"task number -2":         head().i32(1).str("c").i32(1).i32(-2).Bytes(),
		"half a delay":           head().i32(0).i32(0).i16(1).Bytes(),
	}
	for name, b := range assignments {
		if _, err := DecodeAssignment(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("assignment %s: %v, want ErrMalformed", name, err)
		}
	}
	states := map[string][]byte{
		"empty":              nil,
		"negative version":   (&kafkaBytes{}).i16(-3).str("u").i64(1).Bytes(),
		"allocation too big": (&kafkaBytes{}).i16(1).str("u").i64(1).i32(100).i16(1).Bytes(),
		"bad allocation":     (&kafkaBytes{}).i16(1).str("u").i64(1).i32(2).i16(-1).Bytes(),
	}
	for name, b := range states {
		if _, err := DecodeWorkerState(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("worker state %s: %v, want ErrMalformed", name, err)
		}
	}
}

func TestEncodeRefusesWhatKafkaCannotCarry(t *testing.T) {
	long := strings.Repeat("x", 1<<15)
	if _, err := EncodeAssignment(Assignment{Version: 1, Leader: long}); !errors.Is(err, ErrTooLong) {
		t.Fatalf("long leader: %v", err)
	}
	if _, err := EncodeWorkerState(WorkerState{Version: 1, URL: "u",
		Allocation: &Assignment{Connectors: []string{long}}}); !errors.Is(err, ErrTooLong) {
		t.Fatalf("long connector in allocation: %v", err)
	}
	if _, err := EncodeAssignment(Assignment{Version: 1, Tasks: []TaskID{{"c", -1}}}); err == nil {
		t.Fatal("task -1 encoded: it would read back as the connector")
	}
}

// TestRoundTrip encodes and decodes assignments and worker states of
// every version.
func TestRoundTrip(t *testing.T) {
	full := Assignment{Leader: "m-1", LeaderURL: "http://a:8083", ConfigOffset: 1 << 40,
		Connectors: []string{"a", "b"}, Tasks: []TaskID{{"a", 0}, {"a", 1}, {"c", 3}},
		RevokedConnectors: []string{"z"}, RevokedTasks: []TaskID{{"z", 0}}, Delay: 300 * time.Second}
	for _, version := range []ProtocolVersion{0, 1, 2} {
		a := full
		a.Version = version
		if version == 0 {
			a.RevokedConnectors, a.RevokedTasks, a.Delay = nil, nil, 0
		}
		b, err := EncodeAssignment(a)
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodeAssignment(b)
		if err != nil || !reflect.DeepEqual(got, a) {
			t.Fatalf("V%d: %+v, %v; want %+v", version, got, err, a)
		}
		s := WorkerState{Version: version, URL: "http://w", ConfigOffset: 3}
		if version > 0 {
			s.Allocation = &a
		}
		b, err = EncodeWorkerState(s)
		if err != nil {
			t.Fatal(err)
		}
		gotState, err := DecodeWorkerState(b)
		if err != nil || !reflect.DeepEqual(gotState, s) {
			t.Fatalf("V%d state: %+v, %v; want %+v", version, gotState, err, s)
		}
	}
}

func TestCompatibilityNames(t *testing.T) {
	for _, c := range []struct {
		mode            Compatibility
		config, wire    string
		protocolVersion ProtocolVersion
	}{{Eager, "eager", "default", 0}, {Compatible, "compatible", "compatible", 1}, {Sessioned, "sessioned", "sessioned", 2}} {
		parsed, err := ParseCompatibility(strings.ToUpper(c.config))
		if err != nil || parsed != c.mode || c.mode.ProtocolName() != c.wire || c.mode.Version() != c.protocolVersion {
			t.Fatalf("%v: parsed %v, %v; wire %q version %d", c.mode, parsed, err, c.mode.ProtocolName(), c.mode.Version())
		}
		if back, ok := compatibilityOfProtocol(c.wire); !ok || back != c.mode {
			t.Fatalf("protocol %q: %v", c.wire, back)
		}
	}
	if _, err := ParseCompatibility("default"); err == nil {
		t.Fatal(`connect.protocol "default" accepted: Kafka's setting says eager`)
	}
}
