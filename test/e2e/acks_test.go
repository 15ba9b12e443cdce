package e2e

import (
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TestAcksZeroRecordsBecomeVisible produces with acks=0, which gets no
// response: the records must still be fsynced and exposed below the high
// watermark, so a consumer reads every one of them.
func TestAcksZeroRecordsBecomeVisible(t *testing.T) {
	s := startServer(t, nil)
	ctx := testContext(t, testTimeout)
	topic := uniqueTopic(t, "acks0")
	createTopic(t, ctx, newAdmin(t, s.Addr), topic, 1, nil)
	cl := newKgo(t, s.Addr, kgo.RequiredAcks(kgo.NoAck()), kgo.DisableIdempotentWrite(), kgo.DefaultProduceTopic(topic))
	const n = 500
	for i := range n {
		cl.Produce(ctx, &kgo.Record{Value: fmt.Appendf(nil, "v%d", i)}, nil)
	}
	if err := cl.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	got := consumeKgo(t, ctx, s.Addr, topic, n)
	for i, r := range got {
		if want := fmt.Sprintf("v%d", i); r.Value != want || r.Offset != int64(i) {
			t.Fatalf("record %d: offset %d value %q, want offset %d value %q", i, r.Offset, r.Value, i, want)
		}
	}
}
