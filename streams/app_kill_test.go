package streams_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/fjordhq/fjord/streams"
)

// killSeedsEnv runs TestWordCountExactlyOnceUnderKills with that many seeds
// (default 2; even seeds run the instances with a standby replica of each
// task); killLinesEnv sets the lines produced per seed.
const (
	killSeedsEnv = "FJORD_STREAMS_KILL_SEEDS"
	killLinesEnv = "FJORD_STREAMS_KILL_LINES"
	// killFirstSeedEnv is the first seed of the run, default 1.
	killFirstSeedEnv = "FJORD_STREAMS_KILL_FIRST_SEED"
)

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// TestWordCountExactlyOnceUnderKills is issue 16's first acceptance test:
// word count under exactly_once_v2 with three instances, one SIGKILLed and
// restarted every few seconds (sometimes with its state directory lost)
// while lines are produced. A read_committed reader of the output must see,
// for every word, exactly the counts 1, 2, ..., n in order, and the final
// counts must equal a brute-force count of the input.
func TestWordCountExactlyOnceUnderKills(t *testing.T) {
	seeds := envInt(killSeedsEnv, 2)
	first := envInt(killFirstSeedEnv, 1)
	for seed := first; seed < first+seeds; seed++ {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) { wordCountUnderKills(t, uint64(seed)) })
	}
}

func wordCountUnderKills(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 16))
	addr := startBroker(t, map[string]int32{"text-input": 6, "word-counts": 6})
	appID := fmt.Sprintf("wc-kill-%d", seed)
	dirs := make([]string, 3)
	envs := make([][]string, 3)
	procs := make([]*instanceProc, 3)
	for i := range procs {
		dirs[i] = filepath.Join(t.TempDir(), fmt.Sprint(i))
		envs[i] = []string{instanceBrokersEnv + "=" + addr, instanceStateDirEnv + "=" + dirs[i], instanceAppIDEnv + "=" + appID}
		if seed%2 == 0 {
			envs[i] = append(envs[i], instanceStandbysEnv+"=1")
		}
		procs[i] = startInstance(t, envs[i])
	}
	defer func() {
		for _, p := range procs {
			if p != nil {
				p.stop(t)
			}
		}
	}()

	// An instance dies every 3 to 10 seconds of input: some faults fall
	// while the group is still recovering from the last one.
	nextKill := 600 + rng.IntN(1400)
	want, total := produceLines(t, addr, rng, envInt(killLinesEnv, 6000), func(i int) {
		if i != nextKill {
			return
		}
		nextKill += 600 + rng.IntN(1400)
		victim := rng.IntN(len(procs))
		procs[victim].kill()
		if rng.IntN(3) == 0 {
			if err := os.RemoveAll(dirs[victim]); err != nil {
				t.Error(err)
			}
			t.Logf("line %d: killed instance %d and removed its state directory", i, victim)
		} else {
			t.Logf("line %d: killed instance %d", i, victim)
		}
		procs[victim] = startInstance(t, envs[victim])
	})
	produced := time.Now()
	checkWordCounts(t, addr, want, total)
	t.Logf("%d words counted; the output was complete %v after the last line", total, time.Since(produced).Round(time.Millisecond))
}

// produceLines writes n lines of random words, calling between before each
// line, and returns the brute-force count of each word.
func produceLines(t *testing.T, addr string, rng *rand.Rand, n int, between func(i int)) (map[string]int64, int) {
	t.Helper()
	producer, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer producer.Close()
	want := make(map[string]int64)
	total := 0
	ctx := context.Background()
	// The lines are spread over time so that faults fall while input
	// flows: lineRate lines a second.
	const lineRate = 200
	tick := time.NewTicker(time.Second / lineRate)
	defer tick.Stop()
	for i := range n {
		<-tick.C
		between(i)
		words := make([]string, 1+rng.IntN(5))
		for j := range words {
			words[j] = fmt.Sprintf("w%02d", rng.IntN(40))
			want[words[j]]++
			total++
		}
		r := &kgo.Record{Topic: "text-input", Key: []byte(strconv.Itoa(i)), Value: []byte(strings.Join(words, " "))}
		producer.Produce(ctx, r, func(_ *kgo.Record, err error) {
			if err != nil {
				t.Errorf("produce: %v", err)
			}
		})
		if i%50 == 0 {
			if err := producer.Flush(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := producer.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	return want, total
}

// checkWordCounts reads the committed output until every word reached its
// count and checks that each word's counts ran 1, 2, ..., n.
func checkWordCounts(t *testing.T, addr string, want map[string]int64, total int) {
	t.Helper()
	records, err := readCommittedUpTo(addr, "word-counts", total, 180*time.Second)
	if err != nil {
		t.Error(err)
		describeGroup(t, addr)
	}
	last := make(map[string]int64)
	for _, r := range records {
		v, err := streams.Int64.Deserialize("word-counts", r.Value)
		if err != nil {
			t.Fatal(err)
		}
		w := string(r.Key)
		if v != last[w]+1 {
			t.Errorf("word %q at %d-%d@%d: count %d after %d", w, r.Partition, r.Partition, r.Offset, v, last[w])
		}
		last[w] = v
	}
	short := false
	for w, n := range want {
		if last[w] != n {
			t.Errorf("word %q: final count %d, want %d", w, last[w], n)
			short = true
		}
	}
	if short {
		describeRepartition(t, addr, want, last)
		describeUncommitted(t, addr, want, last)
	}
}

// describeRepartition counts each word in the committed repartition topics
// beside the model and the output, to tell which sub-topology lost it.
func describeRepartition(t *testing.T, addr string, want, last map[string]int64) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	topics, err := adm.ListTopics(context.Background())
	if err != nil {
		t.Log(err)
		return
	}
	for _, topic := range topics.Names() {
		if !strings.HasSuffix(topic, "-repartition") {
			continue
		}
		ends, _ := adm.ListEndOffsets(context.Background(), topic)
		var total int64
		ends.Each(func(o kadm.ListedOffset) { total += o.Offset })
		records, _ := readCommittedUpTo(addr, topic, int(total), 20*time.Second)
		seen := make(map[string]int64)
		where := make(map[string]int32)
		for _, r := range records {
			seen[string(r.Key)]++
			where[string(r.Key)] = r.Partition
		}
		for w, n := range want {
			if last[w] != n {
				t.Logf("%s: word %q in partition %d: %d times, model %d, output %d", topic, w, where[w], seen[w], n, last[w])
			}
		}
	}
}

// TestWordCountScaleOutAndIn grows word count under exactly_once_v2 from one
// instance to three and back to one while lines are produced: tasks move
// with their state, and the committed output must still count every word
// exactly 1, 2, ..., n.
func TestWordCountScaleOutAndIn(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 16))
	addr := startBroker(t, map[string]int32{"text-input": 6, "word-counts": 6})
	env := func(i int) []string {
		return []string{instanceBrokersEnv + "=" + addr, instanceStateDirEnv + "=" + filepath.Join(t.TempDir(), fmt.Sprint(i)),
			instanceAppIDEnv + "=wc-scale", instanceStandbysEnv + "=1"}
	}
	procs := []*instanceProc{startInstance(t, env(0))}
	defer func() {
		for _, p := range procs {
			if t.Failed() {
				p.dumpStacks()
				continue
			}
			p.stop(t)
		}
	}()
	want, total := produceLines(t, addr, rng, envInt(killLinesEnv, 6000), func(i int) {
		switch i {
		case 1000, 2000:
			procs = append(procs, startInstance(t, env(len(procs))))
			t.Logf("line %d: %d instances", i, len(procs))
		case 3500, 4500:
			last := procs[len(procs)-1]
			procs = procs[:len(procs)-1]
			last.stop(t)
			t.Logf("line %d: %d instances", i, len(procs))
		}
	})
	checkWordCounts(t, addr, want, total)
}

// describeGroup logs the application group's committed offsets beside the
// end offsets of what it reads, to tell a stuck task from a lost record.
func describeGroup(t *testing.T, addr string) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx := context.Background()
	groups, err := adm.ListGroups(ctx)
	if err != nil {
		t.Log(err)
		return
	}
	if lso, err := adm.ListCommittedOffsets(ctx); err == nil {
		lso.Each(func(o kadm.ListedOffset) {
			if !strings.HasPrefix(o.Topic, "__") {
				t.Logf("last stable offset %s-%d: %d", o.Topic, o.Partition, o.Offset)
			}
		})
	}
	if txns, err := adm.ListTransactions(ctx, nil, nil); err == nil {
		for _, tx := range txns.Sorted() {
			t.Logf("transaction %s: producer %d state %s", tx.TxnID, tx.ProducerID, tx.State)
		}
	}
	for _, g := range groups.Groups() {
		lag, err := adm.Lag(ctx, g)
		if err != nil {
			t.Log(err)
			continue
		}
		for _, dl := range lag {
			for _, l := range dl.Lag.Sorted() {
				t.Logf("group %s %s-%d: committed %d end %d lag %d member %v", g, l.Topic, l.Partition, l.Commit.At, l.End.Offset, l.Lag, l.Member)
				if l.Lag > 1 {
					probeTail(t, addr, l.Topic, l.Partition, l.Commit.At)
				}
			}
		}
	}
}

// probeTail reads a partition from an offset with a fresh read_committed
// consumer and logs what it gets, to tell the broker's answer apart from
// the application's client.
func probeTail(t *testing.T, addr, topic string, partition int32, from int64) {
	for _, keep := range []bool{false, true} {
		opts := []kgo.Opt{kgo.SeedBrokers(addr), kgo.FetchIsolationLevel(kgo.ReadCommitted()),
			kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {partition: kgo.NewOffset().At(from)}})}
		if keep {
			opts = append(opts, kgo.KeepControlRecords())
		}
		cl, err := kgo.NewClient(opts...)
		if err != nil {
			t.Log(err)
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		fetches := cl.PollFetches(ctx)
		cancel()
		fetches.EachRecord(func(r *kgo.Record) {
			t.Logf("probe %s-%d from %d (control records kept: %v): offset %d control %v key %q producer %d", topic, partition, from, keep, r.Offset, r.Attrs.IsControl(), r.Key, r.ProducerID)
		})
		fetches.EachError(func(_ string, _ int32, err error) { t.Logf("probe %s-%d: %v", topic, partition, err) })
		cl.Close()
	}
}

// describeUncommitted reads the output without read_committed and logs, for
// each word the committed output lacks, the records of it past the last
// committed count: whether they exist, and in which producer's transaction.
func describeUncommitted(t *testing.T, addr string, want, last map[string]int64) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics("word-counts"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) {
			w := string(r.Key)
			n, _ := streams.Int64.Deserialize("word-counts", r.Value)
			if last[w] != want[w] && n > last[w] {
				t.Logf("uncommitted read: word %q count %d at %d-%d@%d producer %d epoch %d", w, n, r.Partition, r.Partition, r.Offset, r.ProducerID, r.ProducerEpoch)
			}
		})
	}
}
