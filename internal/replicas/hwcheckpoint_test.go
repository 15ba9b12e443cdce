package replicas

import (
	"bytes"
	"errors"
	"testing"

	"github.com/fjordhq/fjord/internal/storage"
)

func TestHWCheckpointRoundTrip(t *testing.T) {
	in := map[replicaKey]storage.Offset{{"b", 1}: 7, {"a", 10}: 0, {"a", 2}: 1 << 40, {"__consumer_offsets", 49}: 3}
	enc := encodeHWCheckpoint(in)
	if !bytes.HasPrefix(enc, []byte("0\n4\n__consumer_offsets 49 3\na 2 ")) {
		t.Fatalf("encoding not in Kafka's layout, sorted:\n%s", enc)
	}
	out, err := decodeHWCheckpoint(enc)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != len(in) {
		t.Fatalf("decoded %v, want %v", out, in)
	}
	for k, v := range in {
		if out[k] != v {
			t.Fatalf("%v: %d, want %d", k, out[k], v)
		}
	}
}

func TestHWCheckpointRefusesMalformed(t *testing.T) {
	for _, in := range []string{
		"", "1\n0\n", "0\n", "0\n2\na 0 1\n", "0\n1\na 0\n", "0\n1\na -1 5\n", "0\n1\na 0 -5\n",
		"0\n1\na 0 x\n", "0\n99999999999\n", "0\n1\na b 0 1\n",
	} {
		if _, err := decodeHWCheckpoint([]byte(in)); !errors.Is(err, errBadHWCheckpoint) {
			t.Errorf("%q: %v, want errBadHWCheckpoint", in, err)
		}
	}
}

func FuzzHWCheckpoint(f *testing.F) {
	f.Add(encodeHWCheckpoint(map[replicaKey]storage.Offset{{"t", 0}: 5, {"u", 3}: 9}))
	f.Add([]byte("0\n1\nt 0 1"))
	f.Fuzz(func(t *testing.T, b []byte) {
		hws, err := decodeHWCheckpoint(b)
		if err != nil {
			return
		}
		again, err := decodeHWCheckpoint(encodeHWCheckpoint(hws))
		if err != nil || len(again) != len(hws) {
			t.Fatalf("re-encoding %v: %v %v", hws, again, err)
		}
	})
}

// A leader restarted on the same data resumes the high watermark it saved
// at close instead of restarting from the log start with nothing visible
// to consumers until the ISR fetches again.
func TestRestartedReplicaResumesCheckpointedHighWatermark(t *testing.T) {
	f := newFixture(t) // high watermark 100, follower 2 in the ISR
	if hw := f.partition().HighWatermark(); hw != 100 {
		t.Fatalf("high watermark %d before the restart, want 100", hw)
	}
	f.restart()
	if hw := f.partition().HighWatermark(); hw != 100 {
		t.Fatalf("high watermark %d after the restart, want the checkpointed 100", hw)
	}
}
