package e2e

import (
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestDescribeTopicPartitionsPages lists topics the way Kafka's Java admin
// client does since 3.7 (DescribeTopicPartitions, KIP-966): topics in name
// order, a partition limit per response and a cursor to resume from, and
// an unknown topic answered with its own error.
func TestDescribeTopicPartitionsPages(t *testing.T) {
	srv := startServer(t, nil)
	ctx := testContext(t, testTimeout)
	adm := newAdmin(t, srv.Addr)
	createTopic(t, ctx, adm, "dtp-c", 1, nil)
	createTopic(t, ctx, adm, "dtp-a", 3, nil)
	createTopic(t, ctx, adm, "dtp-b", 2, nil)
	cl := newKgo(t, srv.Addr)

	describe := func(limit int32, cursor *kmsg.DescribeTopicPartitionsRequestCursor, topics ...string) *kmsg.DescribeTopicPartitionsResponse {
		t.Helper()
		req := kmsg.NewPtrDescribeTopicPartitionsRequest()
		req.ResponsePartitionLimit, req.Cursor = limit, cursor
		for _, name := range topics {
			rt := kmsg.NewDescribeTopicPartitionsRequestTopic()
			rt.Topic = name
			req.Topics = append(req.Topics, rt)
		}
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			t.Fatalf("DescribeTopicPartitions: %v", err)
		}
		return resp
	}
	pageOf := func(resp *kmsg.DescribeTopicPartitionsResponse) string {
		out := ""
		for _, rt := range resp.Topics {
			if rt.ErrorCode != 0 {
				out += fmt.Sprintf("%s:%s ", *rt.Topic, kerr.ErrorForCode(rt.ErrorCode).(*kerr.Error).Message)
				continue
			}
			for _, p := range rt.Partitions {
				if p.LeaderID < 0 || len(p.Replicas) != 1 || len(p.ISR) != 1 {
					t.Errorf("%s-%d: leader %d replicas %v isr %v", *rt.Topic, p.Partition, p.LeaderID, p.Replicas, p.ISR)
				}
				out += fmt.Sprintf("%s-%d ", *rt.Topic, p.Partition)
			}
		}
		if c := resp.NextCursor; c != nil {
			out += fmt.Sprintf("next %s-%d", c.Topic, c.Partition)
		}
		return out
	}

	first := describe(4, nil, "dtp-c", "dtp-b", "dtp-a")
	if got, want := pageOf(first), "dtp-a-0 dtp-a-1 dtp-a-2 dtp-b-0 next dtp-b-1"; got != want {
		t.Fatalf("first page %q, want %q", got, want)
	}
	cursor := &kmsg.DescribeTopicPartitionsRequestCursor{Topic: first.NextCursor.Topic, Partition: first.NextCursor.Partition}
	if got, want := pageOf(describe(4, cursor, "dtp-c", "dtp-b", "dtp-a")), "dtp-b-1 dtp-c-0 "; got != want {
		t.Fatalf("second page %q, want %q", got, want)
	}
	if got, want := pageOf(describe(0, nil, "dtp-a", "dtp-missing")), "dtp-a-0 dtp-a-1 dtp-a-2 dtp-missing:UNKNOWN_TOPIC_OR_PARTITION "; got != want {
		t.Fatalf("with an unknown topic %q, want %q", got, want)
	}
	all := describe(0, nil)
	names := map[string]bool{}
	for _, rt := range all.Topics {
		names[*rt.Topic] = true
	}
	if !names["dtp-a"] || !names["dtp-b"] || !names["dtp-c"] || all.NextCursor != nil {
		t.Fatalf("all topics: %s", pageOf(all))
	}
}
