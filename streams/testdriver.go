package streams

import (
	"errors"
	"fmt"
	"time"
)

// TestDriver runs a topology in memory, without a cluster, for unit tests
// (Kafka Streams' TopologyTestDriver). Every topic has one partition; each
// sub-topology runs as one task; records written to a topic the topology
// reads (repartition topics included) are processed right after the record
// that made them. After each piped record the driver commits, so caches are
// flushed and every result is visible. Wall-clock time moves only through
// AdvanceWallClockTime.
//
// A TestDriver is used by one goroutine.
type TestDriver struct {
	env     *taskEnv
	tasks   []*task
	readers map[string]*task // resolved topic -> the task reading it
	topics  map[string][]*inputRecord
	read    map[string]int // how far output topics have been read
	pending []*inputRecord
	now     time.Time
	closed  bool
}

// TestDriverConfig configures a TestDriver; the zero value works.
type TestDriverConfig struct {
	// ApplicationID prefixes internal topics; default "test-app".
	ApplicationID string
	// StartTime is the wall-clock time at the start; default the Unix epoch.
	StartTime time.Time
	// CacheMaxBytes bounds each task's cache; default 0 (off), so every
	// update is forwarded.
	CacheMaxBytes int64
	// SkipBadRecords skips records that cannot be deserialized.
	SkipBadRecords bool
}

// NewTestDriver starts the tasks of topology t.
func NewTestDriver(t *Topology, cfg TestDriverConfig) (*TestDriver, error) {
	if err := t.validate(); err != nil {
		return nil, err
	}
	if cfg.ApplicationID == "" {
		cfg.ApplicationID = "test-app"
	}
	if cfg.StartTime.IsZero() {
		cfg.StartTime = time.UnixMilli(0)
	}
	d := &TestDriver{
		readers: make(map[string]*task),
		topics:  make(map[string][]*inputRecord),
		read:    make(map[string]int),
		now:     cfg.StartTime,
	}
	d.env = &taskEnv{
		applicationID:     cfg.ApplicationID,
		topology:          t,
		collector:         d,
		wallClock:         func() time.Time { return d.now },
		skipBadRecords:    cfg.SkipBadRecords,
		cacheBytesPerTask: cfg.CacheMaxBytes,
		counters:          &recordCounters{},
	}
	if err := d.openGlobals(); err != nil {
		d.Close()
		return nil, err
	}
	for _, sub := range t.subtopologies() {
		tk, err := newTask(d.env, sub, 0, nil)
		if err != nil {
			d.Close()
			return nil, err
		}
		d.tasks = append(d.tasks, tk)
		for topic := range tk.sources {
			d.readers[topic] = tk
		}
	}
	return d, nil
}

// send is the driver's record collector: it appends to the topic and queues
// the record for the task that reads the topic, if any.
func (d *TestDriver) send(topic string, _ int32, key, value []byte, headers []Header, timestampMs int64) {
	rec := &inputRecord{topic: topic, offset: int64(len(d.topics[topic])), key: key, value: value, headers: headers, timestamp: timestampMs}
	d.topics[topic] = append(d.topics[topic], rec)
	if _, ok := d.readers[topic]; ok {
		d.pending = append(d.pending, rec)
	}
}

// pipe writes one record to an input topic and processes everything it
// leads to, then commits.
func (d *TestDriver) pipe(topic string, key, value []byte, headers []Header, ts time.Time) error {
	if d.closed {
		return ErrClosed
	}
	if d.isGlobalTopic(topic) {
		rec := &inputRecord{topic: topic, offset: int64(len(d.topics[topic])), key: key, value: value, headers: headers, timestamp: toMillis(ts)}
		d.topics[topic] = append(d.topics[topic], rec)
		return d.pipeGlobal(rec)
	}
	if _, ok := d.readers[topic]; !ok {
		return fmt.Errorf("streams: the topology reads no topic %q", topic)
	}
	d.send(topic, 0, key, value, headers, toMillis(ts))
	for len(d.pending) > 0 {
		rec := d.pending[0]
		d.pending = d.pending[1:]
		if err := d.readers[rec.topic].process(rec); err != nil {
			return err
		}
		if len(d.pending) == 0 {
			if err := d.commit(); err != nil {
				return err
			}
		}
	}
	return nil
}

// commit flushes every task's caches, which may produce more records to
// process, then commits the stores at the changelogs' ends.
func (d *TestDriver) commit() error {
	for _, tk := range d.tasks {
		if err := tk.flush(); err != nil {
			return err
		}
	}
	if len(d.pending) > 0 {
		return nil // the caller processes them and commits again
	}
	next := func(topic string, _ int32) (int64, bool) {
		n := len(d.topics[topic])
		return int64(n), n > 0
	}
	for _, tk := range d.tasks {
		if err := tk.commitStores(next); err != nil {
			return err
		}
	}
	return nil
}

// AdvanceWallClockTime moves the driver's clock and runs the wall-clock
// punctuators that became due.
func (d *TestDriver) AdvanceWallClockTime(by time.Duration) error {
	if d.closed {
		return ErrClosed
	}
	d.now = d.now.Add(by)
	for _, tk := range d.tasks {
		if err := tk.punctuateWallClock(d.now); err != nil {
			return err
		}
	}
	for len(d.pending) > 0 {
		rec := d.pending[0]
		d.pending = d.pending[1:]
		if err := d.readers[rec.topic].process(rec); err != nil {
			return err
		}
	}
	return d.commit()
}

// StateStore returns a store of the topology for inspection; use
// KeyValueStoreOf and the like for a typed one.
func (d *TestDriver) StateStore(name string) (StateStore, error) {
	for _, tk := range d.tasks {
		if _, ok := tk.stores[name]; ok {
			return tk.store(name)
		}
	}
	return nil, fmt.Errorf("%w: %q", ErrUnknownStore, name)
}

// Metrics returns the record counts of the driver's tasks, as App.Metrics:
// a test can check that its late records were dropped and counted.
func (d *TestDriver) Metrics() Metrics { return d.env.counters.metrics() }

// Close closes the tasks and their stores.
func (d *TestDriver) Close() error {
	if d.closed {
		return nil
	}
	d.closed = true
	var errs []error
	for _, tk := range d.tasks {
		errs = append(errs, tk.close())
	}
	errs = append(errs, d.closeGlobals())
	return errors.Join(errs...)
}

// TestInputTopic pipes typed records into a TestDriver.
type TestInputTopic[K, V any] struct {
	d      *TestDriver
	topic  string
	keys   Serde[K]
	values Serde[V]
}

// NewTestInputTopic returns a typed input for topic.
func NewTestInputTopic[K, V any](d *TestDriver, topic string, keys Serde[K], values Serde[V]) *TestInputTopic[K, V] {
	return &TestInputTopic[K, V]{d: d, topic: topic, keys: keys, values: values}
}

// Pipe writes a record with timestamp ts and processes it.
func (in *TestInputTopic[K, V]) Pipe(key K, value V, ts time.Time) error {
	return in.PipeRecord(Record[K, V]{Key: key, Value: value, Timestamp: ts})
}

// PipeTombstone writes a record with a null value.
func (in *TestInputTopic[K, V]) PipeTombstone(key K, ts time.Time) error {
	return in.PipeRecord(Record[K, V]{Key: key, Timestamp: ts, Tombstone: true})
}

// PipeRecord writes a record, headers and tombstone mark included.
func (in *TestInputTopic[K, V]) PipeRecord(r Record[K, V]) error {
	key, err := in.keys.Serialize(in.topic, r.Key)
	if err != nil {
		return err
	}
	var value []byte
	if !r.Tombstone {
		if value, err = in.values.Serialize(in.topic, r.Value); err != nil {
			return err
		}
	}
	return in.d.pipe(in.topic, key, value, r.Headers, r.Timestamp)
}

// TestOutputTopic reads what a TestDriver's topology wrote to a topic.
type TestOutputTopic[K, V any] struct {
	d      *TestDriver
	topic  string
	keys   Serde[K]
	values Serde[V]
}

// NewTestOutputTopic returns a typed reader of topic. Internal topics are
// named "<application id>-<suffix>".
func NewTestOutputTopic[K, V any](d *TestDriver, topic string, keys Serde[K], values Serde[V]) *TestOutputTopic[K, V] {
	return &TestOutputTopic[K, V]{d: d, topic: topic, keys: keys, values: values}
}

// QueueSize is the number of records not read yet.
func (out *TestOutputTopic[K, V]) QueueSize() int {
	return len(out.d.topics[out.topic]) - out.d.read[out.topic]
}

// ReadRecord returns the next record; ok is false when there is none.
func (out *TestOutputTopic[K, V]) ReadRecord() (r Record[K, V], ok bool, err error) {
	log := out.d.topics[out.topic]
	i := out.d.read[out.topic]
	if i >= len(log) {
		return r, false, nil
	}
	out.d.read[out.topic] = i + 1
	raw := log[i]
	if r.Key, err = out.keys.Deserialize(out.topic, raw.key); err != nil {
		return r, false, err
	}
	if raw.value == nil {
		r.Tombstone = true
	} else if r.Value, err = out.values.Deserialize(out.topic, raw.value); err != nil {
		return r, false, err
	}
	r.Timestamp = fromMillis(raw.timestamp)
	r.Headers = raw.headers
	return r, true, nil
}

// ReadRecords returns every record not read yet.
func (out *TestOutputTopic[K, V]) ReadRecords() ([]Record[K, V], error) {
	var records []Record[K, V]
	for {
		r, ok, err := out.ReadRecord()
		if err != nil || !ok {
			return records, err
		}
		records = append(records, r)
	}
}
