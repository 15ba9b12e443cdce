package e2e

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TestCLIJSONRoundTrip prints records produced by franz-go with `fjord
// consume --format json` and checks every field against what was
// produced, binary keys and values, null ones and repeated headers
// included; then feeds that output to `fjord produce --format json` for
// another topic and reads the copy back the same.
func TestCLIJSONRoundTrip(t *testing.T) {
	s := startServer(t, nil)
	ctx := testContext(t, testTimeout)
	useCLI(t, s.Addr)
	adm := newAdmin(t, s.Addr)
	source, copied := uniqueTopic(t, "source"), uniqueTopic(t, "copy")
	createTopic(t, ctx, adm, source, 2, nil)
	createTopic(t, ctx, adm, copied, 2, nil)
	base := time.UnixMilli(1_700_000_000_000)
	produced := []*kgo.Record{
		{Partition: 0, Key: []byte("alice"), Value: []byte(`{"total":3,"note":"<ok>"}`), Timestamp: base,
			Headers: []kgo.RecordHeader{{Key: "source", Value: []byte("web")}, {Key: "source", Value: []byte("again")}, {Key: "bin", Value: []byte{0xff, 0, 0x10}}}},
		{Partition: 1, Key: []byte{0xde, 0xad, 0xbe, 0xef}, Value: []byte("ünïcode ✓\ttab"), Timestamp: base.Add(time.Millisecond)},
		{Partition: 1, Value: nil, Timestamp: base.Add(2 * time.Millisecond), Headers: []kgo.RecordHeader{{Key: "empty", Value: []byte{}}}},
		{Partition: 0, Key: []byte{}, Value: []byte{0x80}, Timestamp: base.Add(3 * time.Millisecond)},
	}
	producer := newKgo(t, s.Addr, kgo.DefaultProduceTopic(source), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err := producer.ProduceSync(ctx, produced...).FirstErr(); err != nil {
		t.Fatal(err)
	}

	out := mustCLI(t, "", "consume", source, "--from", "beginning", "--format", "json").Stdout
	checkCLIJSON(t, source, parseCLIJSON(t, out), produced)

	// TOPIC overrides the topic of each line; partitions and timestamps
	// are the lines' own, so the copy matches record for record.
	r := mustCLI(t, out, "produce", copied, "--format", "json")
	size := 0
	for _, p := range produced {
		size += len(p.Key) + len(p.Value)
	}
	if !strings.Contains(r.Stderr, fmt.Sprintf("produced 4 records (%d bytes of keys and values) to topic %q", size, copied)) {
		t.Errorf("produce summary: %s", r.Stderr)
	}
	checkCLIJSON(t, copied, parseCLIJSON(t, mustCLI(t, "", "consume", copied, "--from", "beginning", "--format", "json").Stdout), produced)

	// Without TOPIC each line names its own.
	lines := fmt.Sprintf(`{"topic":%q,"partition":1,"key":"k","value":"v"}`+"\n\n"+`{"topic":%q,"partition":0,"value":"w"}`+"\n", source, copied)
	if r := mustCLI(t, lines, "produce", "--format", "json"); !strings.Contains(r.Stderr, fmt.Sprintf("to topics %q, %q", copied, source)) {
		t.Errorf("produce summary: %s", r.Stderr)
	}
	if got := mustCLI(t, "", "consume", source, "--partition", "1", "--from", "2", "--format", "%k=%v\\n").Stdout; got != "k=v\n" {
		t.Errorf("source partition 1 from offset 2 holds %q, want k=v", got)
	}
	bad := runCLI(t, `{"topic":"`+source+`","partition":5,"value":"x"}`+"\n", "produce", "--format", "json")
	if bad.Code != 1 || !strings.Contains(bad.Stderr, "line 1: topic \""+source+"\" has 2 partitions, so partition 5 does not exist") {
		t.Errorf("partition 5 of a 2-partition topic: exit %d, %s", bad.Code, bad.Stderr)
	}
}

// checkCLIJSON compares the JSON records of topic with what was produced,
// partition by partition in order (offsets are counted from 0).
func checkCLIJSON(t *testing.T, topic string, got []cliJSONRecord, produced []*kgo.Record) {
	t.Helper()
	if len(got) != len(produced) {
		t.Fatalf("%s: %d records printed, want %d", topic, len(got), len(produced))
	}
	slices.SortFunc(got, func(a, b cliJSONRecord) int {
		return int(a.Partition-b.Partition)*1000 + int(a.Offset-b.Offset)
	})
	want := slices.Clone(produced)
	slices.SortStableFunc(want, func(a, b *kgo.Record) int { return int(a.Partition - b.Partition) })
	next := map[int32]int64{}
	for i, g := range got {
		w := want[i]
		if g.Topic != topic || g.Partition != w.Partition || g.Offset != next[w.Partition] || g.Timestamp != w.Timestamp.UnixMilli() {
			t.Errorf("record %d: %s/%d@%d ts %d, want %s/%d@%d ts %d", i, g.Topic, g.Partition, g.Offset, g.Timestamp,
				topic, w.Partition, next[w.Partition], w.Timestamp.UnixMilli())
		}
		next[w.Partition]++
		if key := cliBytes(t, g.Key, g.KeyEncoding); !equalNullable(key, w.Key) {
			t.Errorf("record %d: key %q, want %q", i, key, w.Key)
		}
		if value := cliBytes(t, g.Value, g.ValueEncoding); !equalNullable(value, w.Value) {
			t.Errorf("record %d: value %q, want %q", i, value, w.Value)
		}
		if len(g.Headers) != len(w.Headers) {
			t.Errorf("record %d: headers %+v, want %q", i, g.Headers, w.Headers)
			continue
		}
		for j, h := range g.Headers {
			if value := cliBytes(t, h.Value, h.ValueEncoding); h.Key != w.Headers[j].Key || !equalNullable(value, w.Headers[j].Value) {
				t.Errorf("record %d header %d: %s=%q, want %s=%q", i, j, h.Key, value, w.Headers[j].Key, w.Headers[j].Value)
			}
		}
	}
}

// equalNullable is bytes.Equal that also tells null from empty.
func equalNullable(a, b []byte) bool {
	return (a == nil) == (b == nil) && bytes.Equal(a, b)
}
