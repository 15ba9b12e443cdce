package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/fjordhq/fjord/internal/checker"
)

// The end of a TestTxnChain run: drain, stop, read everything back, check.

// chainISRTimeout bounds the wait for every replica to be back in the ISR
// after a fault is healed.
const chainISRTimeout = 60 * time.Second

// openTxnTimeout bounds how long, after the copiers stopped, transactions
// that killed copiers left open may take to be aborted: the transaction
// timeout plus the coordinator's 10 s check, and slack.
const openTxnTimeout = copierTxnTimeout + 25*time.Second

// chainISRTopics are the topics whose ISR must be full again after a
// heal: the chain's and the coordinators'.
func chainISRTopics() []string {
	topics := []string{"__consumer_offsets", "__transaction_state"}
	for stage := 0; stage <= txnChainStages; stage++ {
		topics = append(topics, txnChainTopic(stage))
	}
	return topics
}

// waitISR waits until every partition of every chain and coordinator topic
// has all three replicas in its ISR.
func (c *txnChain) waitISR(ctx context.Context, what string) {
	c.t.Helper()
	isrCtx, cancel := context.WithTimeout(ctx, chainISRTimeout)
	defer cancel()
	eventually(c.t, isrCtx, what+": full ISR", func() (bool, string) {
		md, err := c.adm.Metadata(isrCtx, chainISRTopics()...)
		if err != nil {
			return false, err.Error()
		}
		for _, topic := range chainISRTopics() {
			td, ok := md.Topics[topic]
			if !ok || td.Err != nil || len(td.Partitions) == 0 {
				return false, fmt.Sprintf("%s: %v", topic, td.Err)
			}
			for _, p := range td.Partitions {
				if len(p.ISR) != len(c.servers) || p.Leader < 0 {
					return false, fmt.Sprintf("%s/%d leader %d ISR %v", topic, p.Partition, p.Leader, p.ISR)
				}
			}
		}
		return true, ""
	})
}

// finish stops the input, waits until the chain copied all of it, stops
// the copiers, reads every topic back and checks the whole run.
func (c *txnChain) finish(ctx context.Context) {
	t := c.t
	t.Helper()
	c.input.stop()
	c.waitISR(ctx, "after the faults")
	inEnds := offsetsOf(t, ctx, c.adm, txnChainTopic(0), true)
	inputCount := int(sumOffsets(inEnds))
	c.logf("input stopped at %d records (%d acknowledged): %s", inputCount, c.input.h.len(), c.progress())
	c.waitDrained(ctx, inputCount)
	c.pool.stopAll()
	c.logf("copiers stopped: %s", c.progress())
	c.waitNoOpenTransactions(ctx)

	// The input, written without transactions, goes through the checker.
	inFinal := finalRead(t, ctx, c.addrs, txnChainTopic(0), inEnds)
	checkHistory(t, fmt.Sprintf("%s-input", c.name()), c.input.h.rec.History(), inFinal)

	logs := []chainLog{chainLogFromChecker(inFinal)}
	reads := []chainLog{nil}
	for stage := 1; stage <= txnChainStages; stage++ {
		topic := txnChainTopic(stage)
		ends := offsetsOf(t, ctx, c.adm, topic, true)
		logs = append(logs, readChainLog(t, ctx, c.addrs, topic, ends))
		reads = append(reads, readChainCommitted(t, ctx, c.addrs, topic, logs[stage].visible()))
	}
	committed := c.groupOffsets(ctx)
	events, copierAnomalies := c.pool.snapshot()
	samples, backwards := c.offsets.snapshot()

	report := newChainReport()
	for _, a := range copierAnomalies {
		report.add("copier-anomaly", "%s", a)
	}
	for _, b := range backwards {
		report.add("group-offset-backwards", "%s", b)
	}
	for stage, m := range c.monitors {
		seen, resets := m.snapshot()
		for _, note := range checkMonitor(report, txnChainTopic(stage), logs[stage], seen, resets) {
			c.logf("note: %s", note)
		}
		checkPrecommittedReads(report, stage, seen, events)
	}
	for stage := 1; stage <= txnChainStages; stage++ {
		topic := txnChainTopic(stage)
		checkLogShape(report, topic, logs[stage])
		checkOpenAndTorn(report, topic, logs[stage])
		checkCommittedRead(report, topic, logs[stage], reads[stage])
		checkStage(report, stage, logs[stage-1].visible(), logs[stage].visible())
		checkCopierOutcomes(report, stage, logs[stage], events)
		checkGroupOffsets(report, stage, logs[stage-1], committed[stage], events)
	}
	c.logSummary(logs, committed)
	c.saveHistory(logs, reads, events, samples, report)
	if !report.valid() {
		t.Errorf("%s: the chain broke exactly-once:\n%s", c.name(), report)
	}
}

// name is the run's name in reports and history files.
func (c *txnChain) name() string {
	if c.kip848 {
		return fmt.Sprintf("kip848-seed-%d", c.seed)
	}
	return fmt.Sprintf("classic-seed-%d", c.seed)
}

// waitDrained waits until every stage's monitor read as many records as
// the input holds and every stage's group committed past all it read.
// Falling short is a liveness error, not fatal, so that the checks still
// say what is missing.
func (c *txnChain) waitDrained(ctx context.Context, inputCount int) {
	c.t.Helper()
	drainCtx, cancel := context.WithTimeout(ctx, chainDrainTimeout)
	defer cancel()
	ticker := time.NewTicker(pollInterval)
	defer ticker.Stop()
	for {
		behind := c.drainedBehind(inputCount)
		if behind == "" {
			return
		}
		select {
		case <-drainCtx.Done():
			c.t.Errorf("liveness: the chain did not copy all %d input records within %v: %s; %s; copiers: %s",
				inputCount, chainDrainTimeout, behind, c.progress(), c.pool.status())
			return
		case <-ticker.C:
		}
	}
}

// drainedBehind says what the chain still lacks, or "" once drained.
func (c *txnChain) drainedBehind(inputCount int) string {
	for stage, m := range c.monitors {
		if n := m.count(); n < inputCount {
			return fmt.Sprintf("%s read %d of %d", txnChainTopic(stage), n, inputCount)
		}
	}
	c.offsets.mu.Lock()
	defer c.offsets.mu.Unlock()
	for stage := 1; stage <= txnChainStages; stage++ {
		group := chainGroup(c.pool.prefix, stage)
		next := map[int32]int64{}
		seen, _ := c.monitors[stage-1].snapshot()
		for _, r := range seen {
			next[r.Partition] = max(next[r.Partition], r.Offset+1)
		}
		for p, want := range next {
			if got := c.offsets.last[group][p]; got < want {
				return fmt.Sprintf("group %s committed %d on partition %d, read up to %d", group, got, p, want)
			}
		}
	}
	return ""
}

// waitNoOpenTransactions waits until each stage topic's last stable
// offset is its high watermark: no transaction left open by a killed
// copier outlives the coordinator's timeout. It describes the open
// transactions if not.
func (c *txnChain) waitNoOpenTransactions(ctx context.Context) {
	c.t.Helper()
	cl := newKgo(c.t, c.addrs[0], kgo.SeedBrokers(c.addrs...), kgo.RequestTimeoutOverhead(clientRequestTimeout))
	waitCtx, cancel := context.WithTimeout(ctx, openTxnTimeout)
	defer cancel()
	ticker := time.NewTicker(pollInterval)
	defer ticker.Stop()
	for {
		open := ""
		for stage := 1; stage <= txnChainStages && open == ""; stage++ {
			topic := txnChainTopic(stage)
			hw, lso := endOffsets(c.t, waitCtx, cl, topic, 0), endOffsets(c.t, waitCtx, cl, topic, 1)
			if !slices.Equal(hw, lso) {
				open = fmt.Sprintf("%s: high watermarks %v, last stable offsets %v", topic, hw, lso)
			}
		}
		if open == "" {
			return
		}
		select {
		case <-waitCtx.Done():
			c.t.Errorf("liveness: a transaction is still open %v after the copiers stopped: %s; transactions: %s",
				openTxnTimeout, open, c.describeTransactions(ctx))
			return
		case <-ticker.C:
		}
	}
}

// describeTransactions lists the cluster's transactions that are not
// complete, for a failure message.
func (c *txnChain) describeTransactions(ctx context.Context) string {
	listed, err := c.adm.ListTransactions(ctx, nil, nil)
	if err != nil {
		return "ListTransactions: " + err.Error()
	}
	var ids []string
	for _, tx := range listed.Sorted() {
		if !strings.HasPrefix(tx.State, "Complete") && tx.State != "Empty" {
			ids = append(ids, tx.TxnID)
		}
	}
	if len(ids) == 0 {
		return "none listed as ongoing"
	}
	described, err := c.adm.DescribeTransactions(ctx, ids...)
	if err != nil {
		return "DescribeTransactions: " + err.Error()
	}
	var b strings.Builder
	for _, d := range described.Sorted() {
		fmt.Fprintf(&b, "\n  %s on %d: %s, producer %d/%d, started %v, timeout %v, topics %v", d.TxnID, d.Coordinator, d.State,
			d.ProducerID, d.ProducerEpoch, d.StartTimestamp, time.Duration(d.TimeoutMillis)*time.Millisecond, d.Topics)
	}
	return b.String()
}

// groupOffsets fetches each stage group's committed offsets of its input.
func (c *txnChain) groupOffsets(ctx context.Context) []map[int32]int64 {
	c.t.Helper()
	out := make([]map[int32]int64, txnChainStages+1)
	for stage := 1; stage <= txnChainStages; stage++ {
		group := chainGroup(c.pool.prefix, stage)
		resp, err := c.adm.FetchOffsets(ctx, group)
		if err == nil {
			err = resp.Error()
		}
		if err != nil {
			c.t.Fatalf("FetchOffsets %s: %v", group, err)
		}
		out[stage] = map[int32]int64{}
		for p, o := range resp[txnChainTopic(stage-1)] {
			out[stage][p] = o.At
		}
	}
	return out
}

// chainLogFromChecker turns the input's final read into a chainLog.
func chainLogFromChecker(final checker.FinalRead) chainLog {
	out := chainLog{}
	for p, records := range final {
		out[p] = []chainRecord{}
		for _, r := range records {
			out[p] = append(out[p], chainRecord{Partition: p, Offset: r.Offset, Value: r.Value})
		}
	}
	return out
}

// readChainLog reads every record of topic, data and markers, up to ends
// (read_uncommitted, control records kept), stopping early when nothing
// new arrives for finalReadIdle.
func readChainLog(t *testing.T, ctx context.Context, addrs []string, topic string, ends map[int32]int64) chainLog {
	t.Helper()
	out := chainLog{}
	done := func() bool {
		for p, end := range ends {
			if rs := out[p]; end > 0 && (len(rs) == 0 || rs[len(rs)-1].Offset < end-1) {
				return false
			}
		}
		return true
	}
	readChainTopic(t, ctx, addrs, topic, kgo.ReadUncommitted(), out, done, kgo.KeepControlRecords())
	return out
}

// readChainCommitted reads topic read_committed from the start until each
// partition returned as many records as visible lists, or nothing new
// arrives for finalReadIdle.
func readChainCommitted(t *testing.T, ctx context.Context, addrs []string, topic string, visible chainLog) chainLog {
	t.Helper()
	out := chainLog{}
	done := func() bool {
		for p, vs := range visible {
			if len(out[p]) < len(vs) {
				return false
			}
		}
		return true
	}
	readChainTopic(t, ctx, addrs, topic, kgo.ReadCommitted(), out, done)
	return out
}

func readChainTopic(t *testing.T, ctx context.Context, addrs []string, topic string, isolation kgo.IsolationLevel,
	out chainLog, done func() bool, opts ...kgo.Opt) {
	t.Helper()
	offsets := map[int32]kgo.Offset{}
	for p := range int32(txnChainPartitions) {
		offsets[p] = kgo.NewOffset().AtStart()
		out[p] = []chainRecord{}
	}
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addrs...),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: offsets}),
		kgo.FetchIsolationLevel(isolation), kgo.FetchMaxWait(200 * time.Millisecond)}, opts...)...)
	if err != nil {
		t.Fatalf("reader of %s: %v", topic, err)
	}
	defer cl.Close()
	for !done() {
		idleCtx, cancel := context.WithTimeout(ctx, finalReadIdle)
		fetches := cl.PollFetches(idleCtx)
		cancel()
		n := 0
		fetches.EachRecord(func(r *kgo.Record) {
			out[r.Partition] = append(out[r.Partition], chainRecordFromKgo(r))
			n++
		})
		if n == 0 && idleCtx.Err() != nil {
			t.Logf("final read of %s: nothing new for %v; stopping", topic, finalReadIdle)
			return
		}
	}
}

// logSummary logs what each stage did: transactions committed and
// aborted, copiers killed, records and markers in each topic.
func (c *txnChain) logSummary(logs []chainLog, committed []map[int32]int64) {
	tallies := c.pool.tallies()
	for stage := 1; stage <= txnChainStages; stage++ {
		data, markers, aborted := 0, 0, 0
		fates := logs[stage].fates()
		for p, records := range logs[stage] {
			for _, r := range records {
				switch {
				case r.Control != "":
					markers++
				case fates[p][r.Offset] == fateAborted:
					aborted++
					data++
				default:
					data++
				}
			}
		}
		c.logf("stage %d: copiers %+v; %s holds %d data records (%d aborted) and %d markers; group committed %v",
			stage, tallies[stage], txnChainTopic(stage), data, aborted, markers, committed[stage])
	}
}

// chainHistory is what FJORD_TXN_CHAIN_HISTORY_DIR keeps of a run: the
// input's checker history, every topic's final log and read_committed
// read, what the monitors read during the run, the copiers' events, the
// sampled group offsets, the fault steps and the report.
type chainHistory struct {
	Name      string              `json:"name"`
	Began     time.Time           `json:"began"`
	Steps     []string            `json:"steps"`
	Input     checker.History     `json:"input"`
	Logs      []chainLog          `json:"logs"`
	Reads     []chainLog          `json:"reads"`
	Monitors  [][]chainRecord     `json:"monitors"`
	Copiers   []timedCopierEvent  `json:"copiers"`
	Offsets   []offsetSample      `json:"offsets"`
	Anomalies map[string][]string `json:"anomalies"`
	Counts    map[string]int      `json:"counts"`
}

func (c *txnChain) saveHistory(logs, reads []chainLog, events []timedCopierEvent, samples []offsetSample, report *chainReport) {
	dir := os.Getenv("FJORD_TXN_CHAIN_HISTORY_DIR")
	if dir == "" {
		return
	}
	h := chainHistory{Name: c.name(), Began: c.began, Steps: c.steps, Input: c.input.h.rec.History(), Logs: logs, Reads: reads,
		Copiers: events, Offsets: samples, Anomalies: report.examples, Counts: report.counts}
	for _, m := range c.monitors {
		seen, _ := m.snapshot()
		h.Monitors = append(h.Monitors, seen)
	}
	data, err := json.Marshal(h)
	if err == nil {
		err = os.MkdirAll(dir, 0o755)
	}
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, "txn-chain-"+c.name()+".json"), data, 0o644)
	}
	if err != nil {
		c.t.Errorf("FJORD_TXN_CHAIN_HISTORY_DIR: %v", err)
	}
}

// saveBrokerLogs writes each broker's log, over all its restarts, into
// txnChainLogDirEnv when set.
func (c *txnChain) saveBrokerLogs() {
	dir := os.Getenv(txnChainLogDirEnv)
	if dir == "" {
		return
	}
	for i, s := range c.servers {
		path := filepath.Join(dir, fmt.Sprintf("%s-broker-%d.log", c.name(), i+1))
		if err := os.WriteFile(path, []byte(s.Log()), 0o644); err != nil {
			c.t.Errorf("%s: %v", txnChainLogDirEnv, err)
		}
	}
}
