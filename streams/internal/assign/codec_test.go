package assign

import (
	"bytes"
	"encoding/binary"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func sampleSubscription() Subscription {
	return Subscription{
		ProcessID:      "6f1c-4e2a",
		Endpoint:       "streams-1.example:7070",
		TaskOffsetSums: map[TaskID]int64{{0, 1}: 100, {1, 0}: LatestOffset, {0, 0}: 0},
		PrevActive:     ids("1_0 0_3"),
		PrevStandby:    ids("0_1"),
		ErrorCode:      ErrorShutdownRequested,
	}
}

func sampleAssignment() Assignment {
	return Assignment{
		ErrorCode: ErrorNone,
		Active:    ids("0_1 0_0"),
		Standby:   ids("1_2"),
		PartitionsByHost: map[string][]TopicPartition{
			"a:1": {{"in", 1}, {"in", 0}, {"other", 1}},
			"b:1": {{"in", 2}},
		},
		StandbyPartitionsByHost: map[string][]TopicPartition{"a:1": {{"in", 2}}},
		NextRebalanceIn:         10 * time.Minute,
	}
}

func TestSubscriptionRoundTrip(t *testing.T) {
	for _, s := range []Subscription{sampleSubscription(), {ProcessID: "p"}} {
		b, err := s.Encode()
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodeSubscription(b)
		if err != nil {
			t.Fatal(err)
		}
		want := s
		want.Version = SubscriptionVersion
		want.PrevActive, want.PrevStandby = sortedTasks(s.PrevActive), sortedTasks(s.PrevStandby)
		if len(want.TaskOffsetSums) == 0 {
			want.TaskOffsetSums = nil
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("got %+v, want %+v", got, want)
		}
	}
}

func TestAssignmentRoundTrip(t *testing.T) {
	for _, a := range []Assignment{sampleAssignment(), {}} {
		b, err := a.Encode()
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodeAssignment(b)
		if err != nil {
			t.Fatal(err)
		}
		want := a
		want.Version = AssignmentVersion
		want.Active, want.Standby = sortedTasks(a.Active), sortedTasks(a.Standby)
		for _, m := range []map[string][]TopicPartition{want.PartitionsByHost, want.StandbyPartitionsByHost} {
			for host, tps := range m {
				m[host] = slices.SortedFunc(slices.Values(tps), compareTopicPartitions)
			}
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("got %+v, want %+v", got, want)
		}
	}
}

func TestEncodeRejects(t *testing.T) {
	long := strings.Repeat("x", maxNameBytes+1)
	subs := map[string]func(*Subscription){
		"empty process id": func(s *Subscription) { s.ProcessID = "" },
		"long endpoint":    func(s *Subscription) { s.Endpoint = long },
		"bad offset sum":   func(s *Subscription) { s.TaskOffsetSums[TaskID{2, 2}] = -1 },
		"negative task":    func(s *Subscription) { s.PrevActive = append(s.PrevActive, TaskID{0, -1}) },
		"duplicate task":   func(s *Subscription) { s.PrevStandby = append(s.PrevStandby, s.PrevStandby[0]) },
		"active & standby": func(s *Subscription) { s.PrevStandby = append(s.PrevStandby, s.PrevActive[0]) },
		"huge subtopology": func(s *Subscription) { s.PrevActive = append(s.PrevActive, TaskID{1 << 40, 0}) },
	}
	for name, breakIt := range subs {
		s := sampleSubscription()
		breakIt(&s)
		if _, err := s.Encode(); !errors.Is(err, ErrInvalidInput) || s.Validate() == nil {
			t.Errorf("subscription with %s: got %v, want ErrInvalidInput", name, err)
		}
	}
	assignments := map[string]func(*Assignment){
		"negative delay":   func(a *Assignment) { a.NextRebalanceIn = -time.Second },
		"active & standby": func(a *Assignment) { a.Standby = append(a.Standby, a.Active[0]) },
		"empty host":       func(a *Assignment) { a.PartitionsByHost[""] = nil },
		"empty topic":      func(a *Assignment) { a.PartitionsByHost["c:1"] = []TopicPartition{{"", 0}} },
		"long topic":       func(a *Assignment) { a.PartitionsByHost["c:1"] = []TopicPartition{{long, 0}} },
		"dup partition":    func(a *Assignment) { a.PartitionsByHost["c:1"] = []TopicPartition{{"t", 0}, {"t", 0}} },
	}
	for name, breakIt := range assignments {
		a := sampleAssignment()
		breakIt(&a)
		if _, err := a.Encode(); !errors.Is(err, ErrInvalidInput) {
			t.Errorf("assignment with %s: got %v, want ErrInvalidInput", name, err)
		}
	}
}

// TestDecodeTruncated cuts valid encodings at every length, and adds a
// byte: every cut must fail as malformed, never panic.
func TestDecodeTruncated(t *testing.T) {
	sub, _ := (&Subscription{ProcessID: "p", TaskOffsetSums: map[TaskID]int64{{0, 0}: 5}, PrevActive: ids("0_1")}).Encode()
	asg, _ := (&Assignment{Active: ids("0_0"), PartitionsByHost: map[string][]TopicPartition{"h:1": {{"t", 0}}}}).Encode()
	decoders := map[string]struct {
		b      []byte
		decode func([]byte) error
	}{
		"subscription": {sub, func(b []byte) error { _, err := DecodeSubscription(b); return err }},
		"assignment":   {asg, func(b []byte) error { _, err := DecodeAssignment(b); return err }},
	}
	for name, d := range decoders {
		if err := d.decode(d.b); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for n := range len(d.b) {
			if err := d.decode(d.b[:n]); !errors.Is(err, ErrMalformed) {
				t.Errorf("%s cut at %d: got %v, want ErrMalformed", name, n, err)
			}
		}
		if err := d.decode(append(bytes.Clone(d.b), 0)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s with a trailing byte: got %v, want ErrMalformed", name, err)
		}
		future := bytes.Clone(d.b)
		future[0] = 2
		if err := d.decode(future); !errors.Is(err, ErrUnsupportedVersion) {
			t.Errorf("%s of version 2: got %v, want ErrUnsupportedVersion", name, err)
		}
	}
}

// TestDecodeHugeCount checks that a count far beyond the bytes sent is
// refused before anything is allocated for it.
func TestDecodeHugeCount(t *testing.T) {
	b := []byte{SubscriptionVersion, 0, 1, 'p', 0, 0, 0, 0, 0, 0, 0, 0}
	b = binary.BigEndian.AppendUint32(b, maxTasks) // offset sums: a million, with no bytes behind
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := DecodeSubscription(b); !errors.Is(err, ErrMalformed) {
			t.Fatalf("got %v, want ErrMalformed", err)
		}
	})
	if allocs > 8 {
		t.Fatalf("%v allocations decoding a hostile count", allocs)
	}
}

// fuzzRoundTrip checks that what decodes re-encodes, and that the
// re-encoding decodes and encodes to the same bytes.
func fuzzRoundTrip[T any](t *testing.T, b []byte, decode func([]byte) (T, error), encode func(*T) ([]byte, error)) {
	v, err := decode(b)
	if err != nil {
		if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnsupportedVersion) {
			t.Fatalf("unmarked error: %v", err)
		}
		return
	}
	once, err := encode(&v)
	if err != nil {
		t.Fatalf("decoded value does not encode: %v", err)
	}
	v2, err := decode(once)
	if err != nil {
		t.Fatalf("re-encoding does not decode: %v", err)
	}
	twice, err := encode(&v2)
	if err != nil || !bytes.Equal(once, twice) {
		t.Fatalf("encoding not stable: %v\n%x\n%x", err, once, twice)
	}
}

func FuzzDecodeSubscription(f *testing.F) {
	for _, s := range []Subscription{sampleSubscription(), {ProcessID: "p"}} {
		b, _ := s.Encode()
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add([]byte{SubscriptionVersion, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		fuzzRoundTrip(t, b, DecodeSubscription, (*Subscription).Encode)
	})
}

func FuzzDecodeAssignment(f *testing.F) {
	for _, a := range []Assignment{sampleAssignment(), {}} {
		b, _ := a.Encode()
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add([]byte{AssignmentVersion, 0, 0, 0, 0, 0x80, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		fuzzRoundTrip(t, b, DecodeAssignment, (*Assignment).Encode)
	})
}
