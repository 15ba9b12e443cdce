package workergroup

import (
	"errors"
	"reflect"
	"testing"
)

func fuzzSeedAssignments() [][]byte {
	var seeds [][]byte
	for _, a := range []Assignment{
		{Version: 0, Leader: "l", LeaderURL: "u", Connectors: []string{"c"}, Tasks: []TaskID{{"c", 0}}},
		{Version: 1, Leader: "l", LeaderURL: "u", ConfigOffset: 3, RevokedTasks: []TaskID{{"d", 2}}, Delay: 5000000},
		{Version: 2, Error: ConfigMismatch, Leader: "leader", LeaderURL: "http://l:8083", ConfigOffset: -1},
	} {
		b, err := EncodeAssignment(a)
		if err != nil {
			panic(err)
		}
		seeds = append(seeds, b)
	}
	return seeds
}

// FuzzDecodeAssignment: any bytes decode to an assignment or to an error
// marked ErrMalformed, and what decodes encodes back to the same value.
func FuzzDecodeAssignment(f *testing.F) {
	for _, b := range fuzzSeedAssignments() {
		f.Add(b)
	}
	f.Add((&kafkaBytes{}).i16(1).i16(0).str("l").str("u").i64(5).i32(1 << 30).Bytes())
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := DecodeAssignment(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error not marked malformed: %v", err)
			}
			return
		}
		again, err := EncodeAssignment(a)
		if err != nil {
			t.Fatalf("re-encoding %+v: %v", a, err)
		}
		back, err := DecodeAssignment(again)
		if err != nil {
			t.Fatalf("decoding the re-encoded %x: %v", again, err)
		}
		if a.Version == 0 {
			// V0 carries neither revocations nor a delay.
			a.RevokedConnectors, a.RevokedTasks, a.Delay = nil, nil, 0
		}
		if !reflect.DeepEqual(back, a) {
			t.Fatalf("round trip: %+v, want %+v", back, a)
		}
	})
}

// FuzzDecodeWorkerState does for member metadata what
// FuzzDecodeAssignment does for assignments.
func FuzzDecodeWorkerState(f *testing.F) {
	for _, a := range fuzzSeedAssignments() {
		f.Add((&kafkaBytes{}).i16(1).str("http://w").i64(1).i32(int32(len(a))).raw(a).Bytes())
	}
	f.Add((&kafkaBytes{}).i16(0).str("http://w").i64(1).Bytes())
	f.Add((&kafkaBytes{}).i16(2).str("u").i64(1).i32(-1).Bytes())
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := DecodeWorkerState(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error not marked malformed: %v", err)
			}
			return
		}
		again, err := EncodeWorkerState(s)
		if err != nil {
			t.Fatalf("re-encoding %+v: %v", s, err)
		}
		back, err := DecodeWorkerState(again)
		if err != nil {
			t.Fatalf("decoding the re-encoded %x: %v", again, err)
		}
		switch {
		case s.Version == 0:
			s.Allocation = nil // V0 carries none
		case s.Allocation != nil:
			a := *s.Allocation
			a.Version = s.Version // written with the state's version
			s.Allocation = &a
		}
		if !reflect.DeepEqual(back, s) {
			t.Fatalf("round trip: %+v, want %+v", back, s)
		}
	})
}
