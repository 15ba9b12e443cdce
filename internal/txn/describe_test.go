package txn

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestDescribeTransactions(t *testing.T) {
	h := newHarness(t, Config{}, nil)
	pid, epoch := h.begin("a")
	h.addCode("a", pid, epoch, tp("u", 0), tp("t", 2), tp("t", 1))
	req := kmsg.NewPtrDescribeTransactionsRequest()
	req.TransactionalIDs = []string{"a", "", "nobody"}
	resp := h.c.Handle(context.Background(), req).(*kmsg.DescribeTransactionsResponse)
	a := resp.TransactionStates[0]
	if a.ErrorCode != 0 || a.TransactionalID != "a" || a.State != "Ongoing" || a.ProducerID != pid ||
		a.ProducerEpoch != epoch || a.TimeoutMillis != 60_000 || a.StartTimestamp != h.clock.Now().UnixMilli() {
		t.Fatalf("a: %+v", a)
	}
	if len(a.Topics) != 2 || a.Topics[0].Topic != "t" || !slices.Equal(a.Topics[0].Partitions, []int32{1, 2}) ||
		a.Topics[1].Topic != "u" {
		t.Fatalf("a's partitions: %+v", a.Topics)
	}
	if resp.TransactionStates[1].ErrorCode != kerr.InvalidRequest.Code ||
		resp.TransactionStates[2].ErrorCode != kerr.TransactionalIDNotFound.Code {
		t.Fatalf("errors: %+v", resp.TransactionStates[1:])
	}
	h.begin("b")
	if st := h.describe("b"); st.State != "Empty" || st.StartTimestamp != -1 || len(st.Topics) != 0 {
		t.Fatalf("b: %+v", st)
	}
}

func TestListTransactions(t *testing.T) {
	h := newHarness(t, Config{}, nil)
	pa, ea := h.begin("app-1")
	h.addCode("app-1", pa, ea, tp("t", 0))
	// 40 s: past the 30 s duration filter below, short of app-1's 60 s
	// transaction timeout, whose abort would race with the listing.
	h.clock.Advance(40 * time.Second)
	pb, eb := h.begin("app-2")
	h.addCode("app-2", pb, eb, tp("t", 0))
	h.end("app-2", 3, pb, eb, true)
	h.waitState("app-2", kmsg.TransactionStateCompleteCommit)
	h.begin("other")
	h.clock.Advance(time.Second)
	list := func(version int16, f func(r *kmsg.ListTransactionsRequest)) *kmsg.ListTransactionsResponse {
		r := kmsg.NewPtrListTransactionsRequest()
		r.Version = version
		if f != nil {
			f(r)
		}
		return h.c.Handle(context.Background(), r).(*kmsg.ListTransactionsResponse)
	}
	ids := func(resp *kmsg.ListTransactionsResponse) []string {
		var out []string
		for _, s := range resp.TransactionStates {
			out = append(out, s.TransactionalID+":"+s.TransactionState)
		}
		return out
	}
	pattern := func(p string) func(r *kmsg.ListTransactionsRequest) {
		return func(r *kmsg.ListTransactionsRequest) { r.TransactionalIDPattern = &p }
	}
	for _, tt := range []struct {
		name    string
		version int16
		f       func(r *kmsg.ListTransactionsRequest)
		want    []string
	}{
		{"all", 0, nil, []string{"app-1:Ongoing", "app-2:CompleteCommit", "other:Empty"}},
		{"by state", 0, func(r *kmsg.ListTransactionsRequest) { r.StateFilters = []string{"Ongoing", "CompleteCommit"} },
			[]string{"app-1:Ongoing", "app-2:CompleteCommit"}},
		{"by producer id", 0, func(r *kmsg.ListTransactionsRequest) { r.ProducerIDFilters = []int64{pb} },
			[]string{"app-2:CompleteCommit"}},
		// Running longer than 30 s: app-1; app-2 started 1 s ago; other
		// never started, and Kafka lists it (its start time is -1).
		{"by duration", 1, func(r *kmsg.ListTransactionsRequest) { r.DurationFilterMillis = 30_000 },
			[]string{"app-1:Ongoing", "other:Empty"}},
		{"duration ignored before v1", 0, func(r *kmsg.ListTransactionsRequest) { r.DurationFilterMillis = 30_000 },
			[]string{"app-1:Ongoing", "app-2:CompleteCommit", "other:Empty"}},
		{"by pattern", 2, pattern("app-.*"), []string{"app-1:Ongoing", "app-2:CompleteCommit"}},
		{"pattern matches whole ids", 2, pattern("app"), nil},
		{"empty pattern", 2, pattern(""), []string{"app-1:Ongoing", "app-2:CompleteCommit", "other:Empty"}},
	} {
		resp := list(tt.version, tt.f)
		if got := ids(resp); resp.ErrorCode != 0 || !slices.Equal(got, tt.want) {
			t.Errorf("%s: code %d, %v, want %v", tt.name, resp.ErrorCode, got, tt.want)
		}
	}
	resp := list(0, func(r *kmsg.ListTransactionsRequest) {
		r.StateFilters = []string{"Bogus", "Ongoing", "Bogus", "ongoing"}
	})
	if !slices.Equal(resp.UnknownStateFilters, []string{"Bogus", "ongoing"}) || len(resp.TransactionStates) != 1 {
		t.Fatalf("unknown states: %+v", resp)
	}
	if resp := list(2, pattern("(")); resp.ErrorCode != kerr.InvalidRegularExpression.Code {
		t.Fatalf("bad pattern: %+v", resp)
	}
}
