package e2e

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Transactions version 2 (KIP-890 part 2) with franz-go, which uses it when
// the broker finalizes the transaction.version feature at 2 (the default):
// produces add their partitions and TxnOffsetCommit its group's (no
// AddPartitionsToTxn or AddOffsetsToTxn from the client), and every EndTxn
// bumps the producer epoch. Each test also runs against a broker pinned to
// transaction.version=1, where the same client keeps version 1's protocol.

// txnVersions are the broker settings the tests run under, and whether
// clients use version 2 under each.
var txnVersions = []struct {
	name   string
	config map[string]string
	v2     bool
}{
	{"version2", nil, true},
	{"version1", map[string]string{"transaction.version": "1"}, false},
}

// addRequests counts the AddPartitionsToTxn and AddOffsetsToTxn requests a
// client sends: a client of version 2 sends none.
type addRequests struct{ partitions, offsets atomic.Int64 }

func (a *addRequests) OnBrokerWrite(_ kgo.BrokerMetadata, key int16, _ int, _, _ time.Duration, _ error) {
	switch kmsg.Key(key) {
	case kmsg.AddPartitionsToTxn:
		a.partitions.Add(1)
	case kmsg.AddOffsetsToTxn:
		a.offsets.Add(1)
	}
}

// checkAddRequests asserts a client sent add requests exactly when it was
// not of version 2.
func checkAddRequests(t *testing.T, adds *addRequests, v2, offsets bool) {
	t.Helper()
	partitions, offsetAdds := adds.partitions.Load(), adds.offsets.Load()
	switch {
	case v2 && (partitions != 0 || offsetAdds != 0):
		t.Fatalf("client of version 2 sent %d AddPartitionsToTxn and %d AddOffsetsToTxn", partitions, offsetAdds)
	case !v2 && (partitions == 0 || offsets && offsetAdds == 0):
		t.Fatalf("client of version 1 sent %d AddPartitionsToTxn and %d AddOffsetsToTxn", partitions, offsetAdds)
	}
}

// warmUp commits one transaction ("w", one record per partition) before a
// test looks at the protocol: franz-go chooses the transaction version when
// a transaction begins, from the features of the brokers it has talked to,
// and fjord's answer to its first ApiVersions (v5, above the v4 served) is
// Kafka's KIP-511 downgrade answer but listing every API rather than
// ApiVersions alone, which franz-go takes as final: the features arrive
// with its next connection, so its first transaction may be of version 1.
// It switches to version 2 at that transaction's end, as it does when a
// cluster is upgraded.
func warmUp(t *testing.T, ctx context.Context, cl *kgo.Client, topic string, adds *addRequests) {
	t.Helper()
	if err := runKgoTxn(ctx, cl, txnRecords(topic, "w", 1), kgo.TryCommit); err != nil {
		t.Fatalf("warm-up transaction: %v", err)
	}
	adds.partitions.Store(0)
	adds.offsets.Store(0)
}

// txnState describes a transactional id through the admin API.
func txnState(t *testing.T, ctx context.Context, adm *kadm.Client, id string) kadm.DescribedTransaction {
	t.Helper()
	described, err := adm.DescribeTransactions(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	d, ok := described[id]
	if !ok || d.Err != nil {
		t.Fatalf("DescribeTransactions %s: %+v", id, d)
	}
	return d
}

func TestTransactionsV2CommitAbort(t *testing.T) {
	for _, tv := range txnVersions {
		t.Run(tv.name, func(t *testing.T) {
			s := startServer(t, tv.config)
			ctx := testContext(t, 3*testTimeout)
			adm := newAdmin(t, s.Addr)
			topic := uniqueTopic(t, "txnv2")
			createTopic(t, ctx, adm, topic, txnPartitions, nil)
			id := "e2e-" + topic
			adds := &addRequests{}
			cl := newKgo(t, s.Addr, kgo.TransactionalID(id), kgo.RecordPartitioner(kgo.ManualPartitioner()),
				kgo.TransactionTimeout(time.Minute), kgo.WithHooks(adds))
			warmUp(t, ctx, cl, topic, adds)

			steps := []struct {
				prefix string
				end    kgo.TransactionEndTry
			}{{"c", kgo.TryCommit}, {"a", kgo.TryAbort}, {"d", kgo.TryCommit}, {"b", kgo.TryAbort}, {"e", kgo.TryCommit}}
			var epochs []int16
			for _, step := range steps {
				if err := runKgoTxn(ctx, cl, txnRecords(topic, step.prefix, 5), step.end); err != nil {
					t.Fatalf("transaction %s: %v", step.prefix, err)
				}
				d := txnState(t, ctx, adm, id)
				epochs = append(epochs, d.ProducerEpoch)
			}
			// Version 2 bumps the epoch at every end, version 1 never.
			for i := 1; i < len(epochs); i++ {
				if want := epochs[i-1] + 1; tv.v2 && epochs[i] != want || !tv.v2 && epochs[i] != epochs[0] {
					t.Fatalf("producer epochs after each transaction: %v", epochs)
				}
			}
			checkAddRequests(t, adds, tv.v2, false)

			checkReadCommitted(t, ctx, s.Addr, topic, map[string]int{"w": 3, "c": 15, "d": 15, "e": 15})
			all := consumeKgo(t, ctx, s.Addr, topic, 78)
			if counts := valuesByPrefix(all); !mapsEqual(counts, map[string]int{"w": 3, "c": 15, "a": 15, "d": 15, "b": 15, "e": 15}) {
				t.Fatalf("read_uncommitted read %v", counts)
			}
			// Each partition: the records of each transaction and its marker.
			eventually(t, ctx, "last stable offsets at the high watermarks", func() (bool, string) {
				hw, lso := endOffsets(t, ctx, cl, topic, 0), endOffsets(t, ctx, cl, topic, 1)
				return slices.Equal(hw, lso) && hw[0] == 32, fmt.Sprintf("high watermarks %v, last stable offsets %v", hw, lso)
			})

			// An open transaction holds read_committed readers back; its
			// records show once it commits.
			if err := cl.BeginTransaction(); err != nil {
				t.Fatal(err)
			}
			if err := cl.ProduceSync(ctx, txnRecords(topic, "o", 1)...).FirstErr(); err != nil {
				t.Fatal(err)
			}
			if lso := endOffsets(t, ctx, cl, topic, 1); lso[0] != 32 {
				t.Fatalf("last stable offsets with a transaction open: %v", lso)
			}
			if err := cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
				t.Fatal(err)
			}
			checkReadCommitted(t, ctx, s.Addr, topic, map[string]int{"w": 3, "c": 15, "d": 15, "e": 15, "o": 3})
		})
	}
}

// TestTransactionsV2Fencing: a second producer with the same transactional
// id fences the first, whose open transaction is aborted.
func TestTransactionsV2Fencing(t *testing.T) {
	for _, tv := range txnVersions {
		t.Run(tv.name, func(t *testing.T) {
			s := startServer(t, tv.config)
			ctx := testContext(t, 3*testTimeout)
			adm := newAdmin(t, s.Addr)
			topic := uniqueTopic(t, "txnv2fence")
			createTopic(t, ctx, adm, topic, txnPartitions, nil)
			id := "e2e-" + topic
			first := newKgo(t, s.Addr, kgo.TransactionalID(id), kgo.RecordPartitioner(kgo.ManualPartitioner()))
			if err := runKgoTxn(ctx, first, txnRecords(topic, "c", 1), kgo.TryCommit); err != nil {
				t.Fatal(err)
			}
			if err := first.BeginTransaction(); err != nil {
				t.Fatal(err)
			}
			if err := first.ProduceSync(ctx, txnRecords(topic, "z", 2)...).FirstErr(); err != nil {
				t.Fatal(err)
			}
			second := newKgo(t, s.Addr, kgo.TransactionalID(id), kgo.RecordPartitioner(kgo.ManualPartitioner()))
			if err := runKgoTxn(ctx, second, txnRecords(topic, "s", 2), kgo.TryCommit); err != nil {
				t.Fatalf("second producer: %v", err)
			}
			if err := first.EndTransaction(ctx, kgo.TryCommit); err == nil {
				t.Fatal("the fenced producer committed")
			}
			checkReadCommitted(t, ctx, s.Addr, topic, map[string]int{"c": 3, "s": 6})
		})
	}
}

// TestTransactionsV2GroupSession runs a consume-transform-produce loop with
// kgo.GroupTransactSession: it copies an input topic to an output topic,
// aborting its first transaction and committing the others; read_committed
// readers of the output see every input record exactly once, and the
// group's committed offsets are the input's end.
func TestTransactionsV2GroupSession(t *testing.T) {
	for _, tv := range txnVersions {
		t.Run(tv.name, func(t *testing.T) {
			s := startServer(t, tv.config)
			ctx := testContext(t, 3*testTimeout)
			adm := newAdmin(t, s.Addr)
			in, out := uniqueTopic(t, "txnv2in"), uniqueTopic(t, "txnv2out")
			createTopic(t, ctx, adm, in, txnPartitions, nil)
			createTopic(t, ctx, adm, out, txnPartitions, nil)
			const n = 60
			producer := newKgo(t, s.Addr, kgo.RecordPartitioner(kgo.ManualPartitioner()))
			var input []*kgo.Record
			for i := range n {
				input = append(input, &kgo.Record{Topic: in, Partition: int32(i % txnPartitions), Value: fmt.Appendf(nil, "v%03d", i)})
			}
			if err := producer.ProduceSync(ctx, input...).FirstErr(); err != nil {
				t.Fatal(err)
			}

			group := "g-" + out
			adds := &addRequests{}
			sess, err := kgo.NewGroupTransactSession(kgo.SeedBrokers(s.Addr), kgo.TransactionalID("e2e-"+out),
				kgo.ConsumerGroup(group), kgo.ConsumeTopics(in), kgo.FetchIsolationLevel(kgo.ReadCommitted()),
				kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.RecordPartitioner(kgo.ManualPartitioner()),
				kgo.FetchMaxWait(200*time.Millisecond), kgo.TransactionTimeout(time.Minute), kgo.WithHooks(adds))
			if err != nil {
				t.Fatal(err)
			}
			defer sess.Close()
			copied, aborted := 0, false
			for copied < n {
				pollCtx, cancel := context.WithTimeout(ctx, time.Second)
				fetches := sess.PollRecords(pollCtx, 10) // several transactions
				cancel()
				if ctx.Err() != nil {
					t.Fatalf("copied %d of %d records before %v", copied, n, ctx.Err())
				}
				fetches.EachError(func(topic string, p int32, err error) {
					if !errors.Is(err, context.DeadlineExceeded) {
						t.Fatalf("fetch %s/%d: %v", topic, p, err)
					}
				})
				if fetches.NumRecords() == 0 {
					continue
				}
				copied += copyTransaction(t, ctx, sess, out, fetches, !aborted)
				if !aborted {
					// The first transaction is the warm-up (see warmUp).
					adds.partitions.Store(0)
					adds.offsets.Store(0)
					aborted = true
				}
			}
			checkAddRequests(t, adds, tv.v2, true)

			got := consumeKgo(t, ctx, s.Addr, out, n, kgo.FetchIsolationLevel(kgo.ReadCommitted()))
			seen := map[string]bool{}
			for _, r := range got {
				if seen[r.Value] {
					t.Fatalf("read_committed read %s twice", r.Value)
				}
				seen[r.Value] = true
			}
			if len(seen) != n {
				t.Fatalf("read_committed read %d distinct records, want %d", len(seen), n)
			}
			// The aborted copy is in the log, visible read_uncommitted.
			if all := consumeKgo(t, ctx, s.Addr, out, n+1); len(all) <= n {
				t.Fatalf("read_uncommitted read %d records, want the aborted copies too", len(all))
			}
			committed, err := adm.FetchOffsets(ctx, group)
			if err != nil {
				t.Fatal(err)
			}
			for p := range int32(txnPartitions) {
				o, ok := committed.Lookup(in, p)
				if !ok || o.Err != nil || o.At != n/txnPartitions {
					t.Fatalf("group offset of %s/%d: %+v, want %d", in, p, o, n/txnPartitions)
				}
			}
		})
	}
}

// copyTransaction copies fetches to topic out in one transaction of sess,
// aborting it when abort is set, and returns how many records it committed.
func copyTransaction(t *testing.T, ctx context.Context, sess *kgo.GroupTransactSession, out string, fetches kgo.Fetches, abort bool) int {
	t.Helper()
	if err := sess.Begin(); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var produceErr atomic.Value
	fetches.EachRecord(func(r *kgo.Record) {
		wg.Add(1)
		sess.Produce(ctx, &kgo.Record{Topic: out, Partition: r.Partition, Value: r.Value}, func(_ *kgo.Record, err error) {
			defer wg.Done()
			if err != nil {
				produceErr.CompareAndSwap(nil, err)
			}
		})
	})
	wg.Wait()
	if err, _ := produceErr.Load().(error); err != nil {
		t.Fatalf("produce: %v", err)
	}
	end := kgo.TryCommit
	if abort {
		end = kgo.TryAbort
	}
	committed, err := sess.End(ctx, end)
	if err != nil {
		t.Fatalf("End: %v", err)
	}
	if committed == abort {
		t.Fatalf("End(%v) committed %v", end, committed)
	}
	if !committed {
		return 0
	}
	return fetches.NumRecords()
}
