package clustertest_test

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/fjordhq/fjord/internal/clustertest"
	"github.com/fjordhq/fjord/internal/recordbatch"
)

// TestFollowerReportsCorruptBatchFromLeader: the leader's disk returns a
// flipped byte in what it reads for its followers' fetches, a few times.
// A follower refuses the batch failing its CRC, reports it at ERROR and
// fetches again, so that once the reads are sound it catches up:
// acks=all with min.insync.replicas=3 (every replica must hold the
// records) completes, and every record reads back intact.
func TestFollowerReportsCorruptBatchFromLeader(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := clustertest.Start(t, 3, clusterProps)
	cl := newClient(t, c.Addrs()...)
	const topic = "crc"
	leader := createReplicated(ctx, t, c, cl, topic, 3)
	produceNumbered(ctx, t, cl, topic, 0, 100)

	// The next reads of record data on the leader come back with a byte
	// flipped inside their first batch's records.
	var corrupt struct {
		sync.Mutex
		left int
	}
	corrupt.left = 3
	c.Node(leader).FS.SetReadHook(func(name string, _ int64, p []byte) {
		if !strings.HasSuffix(name, ".log") || len(p) < recordbatch.HeaderSize+16 {
			return
		}
		corrupt.Lock()
		defer corrupt.Unlock()
		if corrupt.left > 0 {
			corrupt.left--
			p[recordbatch.HeaderSize+8] ^= 0xff
		}
	})
	produceNumbered(ctx, t, cl, topic, 100, 100)
	corrupt.Lock()
	left := corrupt.left
	corrupt.Unlock()
	if left != 0 {
		t.Fatalf("%d corrupt reads left: the followers did not fetch through them", left)
	}
	reported := 0
	for _, nd := range c.Nodes {
		if nd.ID != leader && strings.Contains(nd.Log(), `level=ERROR msg="fetched a corrupt batch from the leader`) {
			reported++
		}
	}
	if reported == 0 {
		t.Fatal("no follower reported the corrupt batch")
	}
	c.Node(leader).FS.SetReadHook(nil)
	checkAllAcked(ctx, t, c, topic, numbers(0, 200))
}

// produceNumbered sends the numbers from..from+n with acks=all and fails
// the test unless every one is acknowledged.
func produceNumbered(ctx context.Context, t *testing.T, cl *kgo.Client, topic string, from, n int) {
	t.Helper()
	var recs []*kgo.Record
	for i := from; i < from+n; i++ {
		recs = append(recs, &kgo.Record{Topic: topic, Value: []byte("kgo-" + strconv.Itoa(i))})
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatalf("produce %d..%d: %v", from, from+n, err)
	}
}

// numbers are the values produceNumbered sends.
func numbers(from, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = "kgo-" + strconv.Itoa(from+i)
	}
	return out
}
