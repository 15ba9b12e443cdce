package streams

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/fjordhq/fjord/streams/internal/store"
)

// GlobalTable is a table that every instance of the application holds in
// full, read from all partitions of its topic (Kafka's GlobalKTable).
// Streams join it without being co-partitioned with its topic: a join looks
// up a key computed from each stream record (JoinGlobal, LeftJoinGlobal).
//
// The topic is the table's changelog: no other topic is created for it. An
// App restores the table from the topic before its stream threads start,
// then a global thread keeps it up to date; a TestDriver updates it as
// records are piped into the topic.
type GlobalTable[K, V any] struct {
	b     *Builder
	store string
	topic string
	keys  Serde[K]
	vals  Serde[V]
}

// StoreName is the name of the store holding the table.
func (g GlobalTable[K, V]) StoreName() string { return g.store }

// GlobalTableFrom reads a topic as a global table (Kafka's
// builder.globalTable): a null value deletes its key. The store is named
// by As, or "<topic>-STATE-STORE-<n>"; InMemory keeps it in memory, so it
// is read from the start of the topic at every start. Logging and caching
// options do not apply: the topic is the changelog, and every update is
// visible at once.
func GlobalTableFrom[K, V any](b *Builder, topic string, keys Serde[K], values Serde[V], opts ...StoreOption) GlobalTable[K, V] {
	t := b.t
	def := newStoreDef(t.generatedName(topic+"-STATE-STORE-"), storeKeyValue, opts)
	def.logged, def.caching = false, false
	switch {
	case topic == "":
		t.fail(fmt.Errorf("%w: a global table needs a topic", ErrTopology))
	case keys == nil || values == nil:
		t.fail(fmt.Errorf("%w: global table %q needs a key and a value serde", ErrTopology, def.name))
	case t.stores[def.name] != nil:
		t.fail(fmt.Errorf("%w: store %q is added twice", ErrTopology, def.name))
	}
	for _, g := range t.globals {
		if g.store == def.name || g.topic == topic {
			t.fail(fmt.Errorf("%w: global tables %q and %q share a store name or topic %q", ErrTopology, g.store, def.name, topic))
		}
	}
	t.globals = append(t.globals, &globalStore{store: def.name, topic: topic, def: def})
	return GlobalTable[K, V]{b: b, store: def.name, topic: topic, keys: keys, vals: values}
}

// globalState is the global tables of one App or TestDriver: their stores
// and, in an App, the global thread that keeps them up to date.
//
// Concurrency: the stores are written by one goroutine, the global thread
// (the test driver's goroutine under a TestDriver), and read by the tasks
// of every stream thread through reader. mu guards every store and is held
// for each lookup, for each batch of records the writer applies and for
// each commit, so a lookup sees a store between two batches, never during
// a write. It is a plain mutex, not a read-write one: a store is used by
// one goroutine at a time (the pebble store's Get reuses a key buffer), so
// lookups too take turns; each is one point read. mu is a leaf lock:
// nothing else is locked while it is held.
type globalState struct {
	mu      sync.Mutex
	byName  map[string]*globalTableState
	byTopic map[string]*globalTableState
	// dir holds the persistent stores and the checkpoint file; empty keeps
	// every store in memory.
	dir    string
	thread *globalThread // App only; nil once closed
	// checkpointed is what the checkpoint file holds, so that a commit
	// with nothing new does not rewrite it.
	checkpointed map[topicPartition]int64
	// restoredRecords counts the records restoration read.
	restoredRecords int64
}

// globalTableState is one global table's store and how far it has read
// its topic.
type globalTableState struct {
	def   *storeDef
	topic string
	raw   store.KeyValue
	// next is the offset after the last record applied, per partition.
	next map[int32]int64
}

func (s *globalTableState) persistent() bool { return s.def.persistent }

// globalCheckpointFile is Kafka's name for the offsets of the global
// stores, kept next to them.
const globalCheckpointFile = ".checkpoint"

// openGlobalState opens the stores of t's global tables: on pebble under
// dir for the persistent ones when dir is set, in memory otherwise.
func openGlobalState(t *Topology, dir string) (*globalState, error) {
	g := &globalState{byName: make(map[string]*globalTableState), byTopic: make(map[string]*globalTableState), dir: dir}
	for _, gs := range t.globals {
		raw, err := gs.def.openEngine(dir)
		if err != nil {
			return nil, errors.Join(fmt.Errorf("streams: open global store %q: %w", gs.store, err), g.close())
		}
		s := &globalTableState{def: gs.def, topic: gs.topic, raw: raw, next: make(map[int32]int64)}
		g.byName[gs.store] = s
		g.byTopic[gs.topic] = s
	}
	return g, nil
}

// reader returns the lookup of a global store's raw value by raw key; the
// value is nil when the key has none.
func (g *globalState) reader(name string) (func(key []byte) ([]byte, error), error) {
	if g == nil || g.byName[name] == nil {
		return nil, fmt.Errorf("%w: global store %q", ErrUnknownStore, name)
	}
	raw := g.byName[name].raw
	return func(key []byte) ([]byte, error) {
		g.mu.Lock()
		defer g.mu.Unlock()
		return raw.Get(key)
	}, nil
}

// globalRecord is a record of a global table's topic; control records
// (transaction markers) only move the offset.
type globalRecord struct {
	topic     string
	partition int32
	offset    int64
	key       []byte
	value     []byte
	control   bool
}

// apply writes a batch of records to their stores under the lock. A record
// below a partition's next offset was applied already.
func (g *globalState) apply(records []globalRecord) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	for i := range records {
		rec := &records[i]
		s := g.byTopic[rec.topic]
		if s == nil {
			continue
		}
		if next, ok := s.next[rec.partition]; ok && rec.offset < next {
			continue
		}
		s.next[rec.partition] = rec.offset + 1
		if rec.control {
			continue
		}
		if err := store.Restore(s.raw, rec.key, rec.value); err != nil {
			return fmt.Errorf("streams: global store %q: %w", s.def.name, err)
		}
	}
	return nil
}

// commit makes the stores' writes durable, then records the offsets they
// reached in the checkpoint file. A crash between the two leaves the file
// behind the stores, and restoration replays records already applied:
// harmless, since the records of a key are applied in offset order and the
// last one wins.
func (g *globalState) commit() error {
	g.mu.Lock()
	var errs []error
	for _, s := range g.byName {
		if err := s.raw.Commit(store.NoCheckpoint); err != nil {
			errs = append(errs, fmt.Errorf("streams: commit global store %q: %w", s.def.name, err))
		}
	}
	offsets := g.persistentOffsetsLocked()
	g.mu.Unlock()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if g.dir == "" || len(offsets) == 0 || maps.Equal(offsets, g.checkpointed) {
		return nil
	}
	if err := writeGlobalCheckpoint(g.dir, offsets); err != nil {
		return err
	}
	g.checkpointed = offsets
	return nil
}

func (g *globalState) persistentOffsetsLocked() map[topicPartition]int64 {
	offsets := make(map[topicPartition]int64)
	for _, s := range g.byName {
		if !s.persistent() {
			continue
		}
		for p, next := range s.next {
			offsets[topicPartition{s.topic, p}] = next
		}
	}
	return offsets
}

// close closes the stores, dropping what was not committed.
func (g *globalState) close() error {
	var errs []error
	for _, s := range g.byName {
		errs = append(errs, s.raw.Close())
	}
	return errors.Join(errs...)
}

// offsetRange is a partition's log start offset and the offset that
// restoration must reach.
type offsetRange struct{ start, end int64 }

// globalSource is what global tables are read from: the cluster for an
// App, the driver's topic logs for a TestDriver. It is used by one
// goroutine.
type globalSource interface {
	// bounds lists every partition of the topics with its offset range:
	// the end is the last stable offset under exactly-once (records past it
	// may yet abort), the high watermark otherwise.
	bounds(ctx context.Context, topics []string) (map[topicPartition]offsetRange, error)
	// consume starts reading each partition at its offset.
	consume(from map[topicPartition]int64)
	// poll returns the next records read, control records included, or
	// none when ctx ends first.
	poll(ctx context.Context) ([]globalRecord, error)
}

// restore brings every global store up to the end of its topic and
// commits it there. A persistent store resumes from the checkpoint file
// when it has an offset inside the log for each partition of its topic;
// otherwise, and always in memory, it is wiped and read from the start.
func (g *globalState) restore(ctx context.Context, src globalSource, logf func(string, ...any)) error {
	if len(g.byName) == 0 {
		return nil
	}
	topics := make([]string, 0, len(g.byTopic))
	for topic := range g.byTopic {
		topics = append(topics, topic)
	}
	slices.Sort(topics)
	ranges, err := src.bounds(ctx, topics)
	if err != nil {
		return err
	}
	checkpoint := g.readCheckpoint(logf)
	from := make(map[topicPartition]int64)
	wiped := false
	for _, topic := range topics {
		s := g.byTopic[topic]
		resumed, err := s.startingOffsets(ranges, checkpoint, logf)
		if err != nil {
			return err
		}
		wiped = wiped || !resumed && s.persistent()
		for p, next := range s.next {
			from[topicPartition{topic, p}] = next
		}
	}
	if wiped && g.dir != "" {
		// The wiped stores are empty, committed, at the start of their
		// topics: say so before reading, or a crash during restoration
		// could leave the old checkpoint to be trusted at the next start.
		if err := g.commit(); err != nil {
			return err
		}
	}
	src.consume(from)
	for !g.reached(ranges) {
		records, err := src.poll(ctx)
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		g.restoredRecords += int64(len(records))
		if err := g.apply(records); err != nil {
			return err
		}
		if err := g.commitIfLarge(); err != nil {
			return err
		}
	}
	return g.commit()
}

// globalMaxUncommittedBytes bounds the writes a global store holds in
// memory between commits (KIP-892's statestore.uncommitted.max.bytes,
// 64 MiB): restoring a large topic commits along the way.
const globalMaxUncommittedBytes = 64 << 20

// commitIfLarge commits when the stores hold more uncommitted writes than
// globalMaxUncommittedBytes.
func (g *globalState) commitIfLarge() error {
	g.mu.Lock()
	var total int64
	for _, s := range g.byName {
		total += s.raw.UncommittedBytes()
	}
	g.mu.Unlock()
	if total <= globalMaxUncommittedBytes {
		return nil
	}
	return g.commit()
}

// startingOffsets sets where the store's partitions resume, wiping the
// store when the checkpoint cannot be trusted; resumed is false then.
func (s *globalTableState) startingOffsets(ranges map[topicPartition]offsetRange, checkpoint map[topicPartition]int64, logf func(string, ...any)) (resumed bool, err error) {
	resume := s.persistent()
	partitions := 0
	for tp, r := range ranges {
		if tp.topic != s.topic {
			continue
		}
		partitions++
		cp, ok := checkpoint[tp]
		if !ok || cp < r.start || cp > r.end {
			resume = false
		}
	}
	if partitions == 0 {
		return false, fmt.Errorf("streams: topic %q of global table %q does not exist", s.topic, s.def.name)
	}
	if !resume && s.persistent() && logf != nil && len(checkpoint) > 0 {
		logf("streams: global store %s: no usable checkpoint for topic %s; restoring it from the start", s.def.name, s.topic)
	}
	if !resume {
		if err := wipe(s.raw); err != nil {
			return false, fmt.Errorf("streams: wipe global store %q: %w", s.def.name, err)
		}
	}
	clear(s.next)
	for tp, r := range ranges {
		if tp.topic != s.topic {
			continue
		}
		s.next[tp.partition] = r.start
		if resume {
			s.next[tp.partition] = checkpoint[tp]
		}
	}
	return resume, nil
}

// reached reports whether every partition was read up to its end.
func (g *globalState) reached(ranges map[topicPartition]offsetRange) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	for tp, r := range ranges {
		if s := g.byTopic[tp.topic]; s != nil && s.next[tp.partition] < r.end {
			return false
		}
	}
	return true
}

// readCheckpoint reads the checkpoint file; a missing or unreadable one
// is no checkpoint, which makes restoration start over.
func (g *globalState) readCheckpoint(logf func(string, ...any)) map[topicPartition]int64 {
	if g.dir == "" {
		return nil
	}
	offsets, err := readGlobalCheckpoint(g.dir)
	if err != nil && logf != nil {
		logf("streams: global checkpoint: %v; restoring the global stores from the start", err)
	}
	return offsets
}

// The checkpoint file has Kafka's OffsetCheckpoint format: a version line
// (0), a line with the number of entries, then one "topic partition
// offset" line per partition, the offset being the next one to read.
func writeGlobalCheckpoint(dir string, offsets map[topicPartition]int64) error {
	tps := make([]topicPartition, 0, len(offsets))
	for tp := range offsets {
		tps = append(tps, tp)
	}
	slices.SortFunc(tps, func(a, b topicPartition) int {
		if c := strings.Compare(a.topic, b.topic); c != 0 {
			return c
		}
		return int(a.partition) - int(b.partition)
	})
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "0\n%d\n", len(tps))
	for _, tp := range tps {
		fmt.Fprintf(&buf, "%s %d %d\n", tp.topic, tp.partition, offsets[tp])
	}
	return replaceFile(dir, globalCheckpointFile, buf.Bytes())
}

// replaceFile writes dir/name through a synced temporary file and a
// rename, so that a crash leaves the old file or the new one.
func replaceFile(dir, name string, data []byte) error {
	tmp, err := os.CreateTemp(dir, name+".tmp*")
	if err != nil {
		return fmt.Errorf("streams: write %s: %w", name, err)
	}
	defer os.Remove(tmp.Name()) // fails harmlessly once renamed
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Sync()
	}
	if err = errors.Join(err, tmp.Close()); err == nil {
		err = os.Rename(tmp.Name(), filepath.Join(dir, name))
	}
	if err == nil {
		var d *os.File
		if d, err = os.Open(dir); err == nil {
			err = errors.Join(d.Sync(), d.Close())
		}
	}
	if err != nil {
		return fmt.Errorf("streams: write %s: %w", name, err)
	}
	return nil
}

func readGlobalCheckpoint(dir string) (map[topicPartition]int64, error) {
	data, err := os.ReadFile(filepath.Join(dir, globalCheckpointFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	var lines []string
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if len(lines) < 2 || lines[0] != "0" {
		return nil, fmt.Errorf("%s: not a version 0 checkpoint file", globalCheckpointFile)
	}
	n, err := strconv.Atoi(lines[1])
	if err != nil || n != len(lines)-2 {
		return nil, fmt.Errorf("%s: says %q entries and has %d", globalCheckpointFile, lines[1], len(lines)-2)
	}
	offsets := make(map[topicPartition]int64, n)
	for _, line := range lines[2:] {
		fields := strings.Fields(line)
		if len(fields) != 3 {
			return nil, fmt.Errorf("%s: bad line %q", globalCheckpointFile, line)
		}
		p, err1 := strconv.ParseInt(fields[1], 10, 32)
		offset, err2 := strconv.ParseInt(fields[2], 10, 64)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("%s: bad line %q", globalCheckpointFile, line)
		}
		offsets[topicPartition{fields[0], int32(p)}] = offset
	}
	return offsets, nil
}

// openGlobals opens the driver's global stores in memory and restores them
// from its topic logs, as an App's global thread does from the cluster.
func (d *TestDriver) openGlobals() error {
	if len(d.env.topology.globals) == 0 {
		return nil
	}
	g, err := openGlobalState(d.env.topology, "")
	if err != nil {
		return err
	}
	d.env.globals = g
	return g.restore(context.Background(), d.globalSource(), nil)
}

func (d *TestDriver) isGlobalTopic(topic string) bool {
	return d.env.globals != nil && d.env.globals.byTopic[topic] != nil
}

// pipeGlobal applies a record piped into a global table's topic at once,
// and commits it.
func (d *TestDriver) pipeGlobal(rec *inputRecord) error {
	if err := d.env.globals.apply([]globalRecord{{topic: rec.topic, offset: rec.offset, key: rec.key, value: rec.value}}); err != nil {
		return err
	}
	return d.env.globals.commit()
}

func (d *TestDriver) closeGlobals() error {
	if d.env.globals == nil {
		return nil
	}
	return d.env.globals.close()
}

// globalSource reads the driver's topic logs, which have one partition.
func (d *TestDriver) globalSource() globalSource { return &driverGlobalSource{d: d} }

type driverGlobalSource struct {
	d    *TestDriver
	from map[topicPartition]int64
}

func (s *driverGlobalSource) bounds(_ context.Context, topics []string) (map[topicPartition]offsetRange, error) {
	out := make(map[topicPartition]offsetRange, len(topics))
	for _, topic := range topics {
		out[topicPartition{topic, 0}] = offsetRange{start: 0, end: int64(len(s.d.topics[topic]))}
	}
	return out, nil
}

func (s *driverGlobalSource) consume(from map[topicPartition]int64) { s.from = from }

func (s *driverGlobalSource) poll(context.Context) ([]globalRecord, error) {
	var out []globalRecord
	for tp, next := range s.from {
		log := s.d.topics[tp.topic]
		for ; next < int64(len(log)); next++ {
			rec := log[next]
			out = append(out, globalRecord{topic: tp.topic, partition: tp.partition, offset: next, key: rec.key, value: rec.value})
		}
		s.from[tp] = next
	}
	return out, nil
}

// globalDirName is the directory of the global stores in the application's
// state directory, as Kafka names it.
const globalDirName = "global"

// globalThread keeps an App's global stores up to date once restored: it
// reads their topics with its own client, outside the consumer group
// (read_committed under exactly-once), applies each poll's records as one
// batch and commits the stores and the checkpoint file every commit
// interval. Its goroutine is started by startGlobal and stopped and joined
// by closeGlobal.
type globalThread struct {
	app    *App
	state  *globalState
	src    *kafkaGlobalSource
	cancel context.CancelFunc
	done   chan struct{}
}

// startGlobal opens the global stores, restores them from their topics up
// to the topics' ends, and starts the global thread. Start calls it before
// the stream threads start, so that their tasks see complete tables.
func (a *App) startGlobal(ctx context.Context) error {
	if len(a.topology.globals) == 0 {
		return nil
	}
	dir, err := a.stateDir.TaskDir(globalDirName)
	if err != nil {
		return fmt.Errorf("streams: global state directory: %w", err)
	}
	g, err := openGlobalState(a.topology, dir)
	if err != nil {
		return err
	}
	src, err := newKafkaGlobalSource(a)
	if err != nil {
		return errors.Join(err, g.close())
	}
	if err := g.restore(ctx, src, a.logf); err != nil {
		src.client.Close()
		return errors.Join(fmt.Errorf("streams: restore global stores: %w", err), g.close())
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	th := &globalThread{app: a, state: g, src: src, cancel: cancel, done: make(chan struct{})}
	g.thread = th
	a.env.globals = g
	go func() {
		defer close(th.done)
		if err := th.run(runCtx); err != nil {
			a.globalFailed(err)
		}
	}()
	return nil
}

// globalFailed stops the instance, as Kafka Streams does when its global
// thread dies: the tables its tasks join would go stale.
func (a *App) globalFailed(err error) {
	a.logf("streams: %s-GlobalStreamThread failed: %v", a.cfg.ApplicationID, err)
	a.mu.Lock()
	if a.mu.err == nil {
		a.mu.err = err
	}
	a.mu.Unlock()
	a.setState(Error)
	a.cancel()
}

// closeGlobal stops the global thread, commits the stores and the
// checkpoint a last time and closes them. release calls it once the stream
// threads have stopped, so nothing reads the stores any more.
func (a *App) closeGlobal() {
	g := a.env.globals
	if g == nil {
		return
	}
	a.env.globals = nil
	if th := g.thread; th != nil {
		th.cancel()
		<-th.done
		th.src.client.Close()
		g.thread = nil
		if err := g.commit(); err != nil {
			a.logf("streams: close global stores: %v", err)
		}
	}
	if err := g.close(); err != nil {
		a.logf("streams: close global stores: %v", err)
	}
}

// run applies the topics' new records until ctx ends.
func (th *globalThread) run(ctx context.Context) error {
	interval := th.app.cfg.CommitInterval
	lastCommit := th.app.now()
	for {
		wait := min(max(interval-th.app.now().Sub(lastCommit), 10*time.Millisecond), time.Second)
		pollCtx, cancel := context.WithTimeout(ctx, wait)
		records, err := th.src.poll(pollCtx)
		cancel()
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			return err
		}
		if err := th.state.apply(records); err != nil {
			return err
		}
		if err := th.state.commitIfLarge(); err != nil {
			return err
		}
		if now := th.app.now(); now.Sub(lastCommit) >= interval {
			lastCommit = now
			if err := th.state.commit(); err != nil {
				return err
			}
		}
	}
}

// kafkaGlobalSource reads the global tables' topics from the cluster.
type kafkaGlobalSource struct {
	client *kgo.Client
	admin  *kadm.Client
	eos    bool
}

func newKafkaGlobalSource(a *App) (*kafkaGlobalSource, error) {
	eos := a.cfg.ProcessingGuarantee == ExactlyOnceV2
	opts := append(a.optsFor(roleGlobalConsumer), kgo.KeepControlRecords(), kgo.FetchMaxWait(200*time.Millisecond))
	if eos {
		opts = append(opts, kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	}
	client, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("streams: global consumer: %w", err)
	}
	return &kafkaGlobalSource{client: client, admin: a.admin, eos: eos}, nil
}

func (s *kafkaGlobalSource) bounds(ctx context.Context, topics []string) (map[topicPartition]offsetRange, error) {
	var end kadm.ListedOffsets
	var err error
	if s.eos {
		end, err = s.admin.ListCommittedOffsets(ctx, topics...)
	} else {
		end, err = s.admin.ListEndOffsets(ctx, topics...)
	}
	if err == nil {
		err = end.Error()
	}
	if err != nil {
		return nil, fmt.Errorf("streams: list end offsets of global topics: %w", err)
	}
	start, err := s.admin.ListStartOffsets(ctx, topics...)
	if err == nil {
		err = start.Error()
	}
	if err != nil {
		return nil, fmt.Errorf("streams: list start offsets of global topics: %w", err)
	}
	out := make(map[topicPartition]offsetRange)
	end.Each(func(o kadm.ListedOffset) {
		first, _ := start.Lookup(o.Topic, o.Partition)
		out[topicPartition{o.Topic, o.Partition}] = offsetRange{start: first.Offset, end: o.Offset}
	})
	return out, nil
}

func (s *kafkaGlobalSource) consume(from map[topicPartition]int64) {
	partitions := make(map[string]map[int32]kgo.Offset)
	for tp, offset := range from {
		if partitions[tp.topic] == nil {
			partitions[tp.topic] = make(map[int32]kgo.Offset)
		}
		partitions[tp.topic][tp.partition] = kgo.NewOffset().At(offset)
	}
	s.client.AddConsumePartitions(partitions)
}

func (s *kafkaGlobalSource) poll(ctx context.Context) ([]globalRecord, error) {
	fetches := s.client.PollFetches(ctx)
	var errs []error
	fetches.EachError(func(topic string, partition int32, err error) {
		if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
			errs = append(errs, fmt.Errorf("streams: read global topic %s-%d: %w", topic, partition, err))
		}
	})
	var out []globalRecord
	fetches.EachRecord(func(rec *kgo.Record) {
		out = append(out, globalRecord{topic: rec.Topic, partition: rec.Partition, offset: rec.Offset,
			key: rec.Key, value: rec.Value, control: rec.Attrs.IsControl()})
	})
	return out, errors.Join(errs...)
}
