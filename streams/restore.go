package streams

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/fjordhq/fjord/streams/internal/store"
)

// restorer reads changelog partitions into stores: up to the changelog's
// end for a task about to run (restoration), and for as long as the thread
// holds it for a standby (keeping a warm copy). Its clients are outside the
// group and read committed records only under exactly-once.
//
// Each restoration has a client of its own, and the standbys' client is made
// anew whenever the set of standbys changes: a client that stopped reading a
// partition may still hold fetched records of it, and records from an
// earlier read arriving after a later one began would skip the offsets in
// between.
//
// A restorer is used by its thread's goroutine only.
type restorer struct {
	opts  []kgo.Opt
	admin *kadm.Client
	logf  func(format string, args ...any)
	// followed are the standbys' changelog partitions; standbys reads them.
	followed map[topicPartition]*restoreEntry
	standbys *kgo.Client // nil while nothing is followed
	// restoredBytes counts what restoration wrote, for the restore rate.
	restoredBytes int64
}

// restoreEntry is one changelog partition being read into a store.
type restoreEntry struct {
	raw  store.KeyValue
	next int64 // the offset after the last record applied
	// dirty is true when records were applied since the last Commit.
	dirty bool
}

func newRestorer(opts []kgo.Opt, admin *kadm.Client, eos bool, logf func(string, ...any)) *restorer {
	opts = append(opts[:len(opts):len(opts)], kgo.KeepControlRecords(), kgo.FetchMaxWait(200*time.Millisecond))
	if eos {
		opts = append(opts, kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	}
	return &restorer{opts: opts, admin: admin, followed: make(map[topicPartition]*restoreEntry), logf: logf}
}

func (r *restorer) close() {
	if r.standbys != nil {
		r.standbys.Close()
		r.standbys = nil
	}
}

// clientFor makes a client reading entries from their next offsets.
func (r *restorer) clientFor(entries map[topicPartition]*restoreEntry) (*kgo.Client, error) {
	consume := make(map[string]map[int32]kgo.Offset)
	for tp, e := range entries {
		if consume[tp.topic] == nil {
			consume[tp.topic] = make(map[int32]kgo.Offset)
		}
		consume[tp.topic][tp.partition] = kgo.NewOffset().At(e.next)
	}
	client, err := kgo.NewClient(append(r.opts[:len(r.opts):len(r.opts)], kgo.ConsumePartitions(consume))...)
	if err != nil {
		return nil, fmt.Errorf("streams: changelog reader: %w", err)
	}
	return client, nil
}

// changelogsOf lists a task's logged stores by changelog partition.
func changelogsOf(stores map[string]*taskStore, partition int32) map[topicPartition]store.KeyValue {
	out := make(map[topicPartition]store.KeyValue)
	for _, ts := range stores {
		if ts.changelogTopic != "" {
			out[topicPartition{ts.changelogTopic, partition}] = ts.raw
		}
	}
	return out
}

// ends lists the offsets restoration must reach, the high watermarks, and
// the log start offsets, below which nothing can be read.
//
// Under exactly-once the client reads committed records only, yet the
// target is the high watermark and not the last stable offset: a
// transaction the previous owner of a task committed may still lack its
// markers when the next owner starts (EndTxn returns before the markers
// are written), and stopping at the last stable offset would then skip
// changes whose input offsets are already committed. Reading up to the high
// watermark waits for every transaction written so far to end, by its
// commit, its abort, or its timeout.
func (r *restorer) ends(ctx context.Context, topics []string) (end, start kadm.ListedOffsets, err error) {
	end, err = r.admin.ListEndOffsets(ctx, topics...)
	if err == nil {
		err = end.Error()
	}
	if err != nil {
		return nil, nil, fmt.Errorf("streams: list changelog end offsets: %w", err)
	}
	start, err = r.admin.ListStartOffsets(ctx, topics...)
	if err == nil {
		err = start.Error()
	}
	if err != nil {
		return nil, nil, fmt.Errorf("streams: list changelog start offsets: %w", err)
	}
	return end, start, nil
}

// restore brings the stores up to their changelogs' ends and commits them
// there. A store whose checkpoint is past the end (the changelog was
// recreated) or before the log start is wiped and read from the start.
func (r *restorer) restore(ctx context.Context, logs map[topicPartition]store.KeyValue) error {
	if len(logs) == 0 {
		return nil
	}
	topics := make([]string, 0, len(logs))
	for tp := range logs {
		topics = append(topics, tp.topic)
	}
	end, start, err := r.ends(ctx, topics)
	if err != nil {
		return err
	}
	targets := make(map[topicPartition]int64)
	entries := make(map[topicPartition]*restoreEntry)
	for tp, raw := range logs {
		from, err := r.startingOffset(tp, raw, end, start)
		if err != nil {
			return err
		}
		if target := end[tp.topic][tp.partition].Offset; from < target {
			targets[tp] = target
			entries[tp] = &restoreEntry{raw: raw, next: from}
		}
	}
	if len(targets) == 0 {
		return nil
	}
	client, err := r.clientFor(entries)
	if err != nil {
		return err
	}
	defer client.Close()
	for len(targets) > 0 {
		pollCtx, cancel := context.WithTimeout(ctx, time.Second)
		fetches := client.PollFetches(pollCtx)
		cancel()
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := r.apply(entries, fetches); err != nil {
			return err
		}
		for tp, target := range targets {
			if e := entries[tp]; e.next >= target {
				if err := e.raw.Commit(store.Checkpoint{Offset: e.next}); err != nil {
					return err
				}
				delete(targets, tp)
			}
		}
	}
	return nil
}

// startingOffset is where a store's restoration begins.
func (r *restorer) startingOffset(tp topicPartition, raw store.KeyValue, end, start kadm.ListedOffsets) (int64, error) {
	endOffset, ok := end.Lookup(tp.topic, tp.partition)
	if !ok {
		return 0, fmt.Errorf("streams: changelog %s-%d does not exist", tp.topic, tp.partition)
	}
	startOffset, _ := start.Lookup(tp.topic, tp.partition)
	cp, err := raw.Checkpoint()
	if err != nil {
		return 0, err
	}
	from := cp.Offset
	if from < 0 {
		from = startOffset.Offset
	}
	if from > endOffset.Offset || from < startOffset.Offset {
		r.logf("streams: store %s: checkpoint %d is outside changelog %s-%d [%d, %d]; restoring it from the start",
			raw.Name(), cp.Offset, tp.topic, tp.partition, startOffset.Offset, endOffset.Offset)
		if err := wipe(raw); err != nil {
			return 0, err
		}
		from = startOffset.Offset
	}
	return from, nil
}

// wipe deletes every key of a store and its checkpoint.
func wipe(raw store.KeyValue) error {
	it, err := raw.Range(nil, nil)
	if err != nil {
		return err
	}
	var keys [][]byte
	for it.Next() {
		keys = append(keys, append([]byte(nil), it.Key()...))
	}
	err = errors.Join(it.Err(), it.Close())
	for _, k := range keys {
		err = errors.Join(err, raw.Delete(k))
	}
	if err != nil {
		return err
	}
	return raw.Commit(store.Checkpoint{Offset: -1})
}

// apply writes polled changelog records to their entries' stores.
func (r *restorer) apply(entries map[topicPartition]*restoreEntry, fetches kgo.Fetches) error {
	var errs []error
	fetches.EachError(func(topic string, partition int32, err error) {
		if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
			errs = append(errs, fmt.Errorf("streams: read changelog %s-%d: %w", topic, partition, err))
		}
	})
	if err := errors.Join(errs...); err != nil {
		return err
	}
	fetches.EachRecord(func(rec *kgo.Record) {
		e := entries[topicPartition{rec.Topic, rec.Partition}]
		if e == nil || rec.Offset < e.next {
			return
		}
		e.next = rec.Offset + 1
		if rec.Attrs.IsControl() {
			return
		}
		e.dirty = true
		r.restoredBytes += int64(len(rec.Key) + len(rec.Value))
		err := store.Restore(e.raw, rec.Key, rec.Value)
		if err == nil && e.raw.UncommittedBytes() > maxUncommittedBytes {
			err = e.raw.Commit(store.Checkpoint{Offset: e.next})
			e.dirty = false
		}
		if err != nil {
			errs = append(errs, err)
		}
	})
	return errors.Join(errs...)
}

// follow starts keeping stores up to date with their changelogs for as
// long as they are followed: a standby's.
func (r *restorer) follow(ctx context.Context, logs map[topicPartition]store.KeyValue) error {
	if len(logs) == 0 {
		return nil
	}
	topics := make([]string, 0, len(logs))
	for tp := range logs {
		topics = append(topics, tp.topic)
	}
	end, start, err := r.ends(ctx, topics)
	if err != nil {
		return err
	}
	for tp, raw := range logs {
		from, err := r.startingOffset(tp, raw, end, start)
		if err != nil {
			return err
		}
		r.followed[tp] = &restoreEntry{raw: raw, next: from}
	}
	return r.remakeStandbyClient()
}

// unfollow stops following changelogs; what was read and not committed is
// dropped with the stores' next Abort or Close.
func (r *restorer) unfollow(logs map[topicPartition]store.KeyValue) {
	changed := false
	for tp := range logs {
		if _, ok := r.followed[tp]; ok {
			delete(r.followed, tp)
			changed = true
		}
	}
	if changed {
		if err := r.remakeStandbyClient(); err != nil {
			r.logf("streams: standby changelog reader: %v", err)
		}
	}
}

// remakeStandbyClient replaces the standbys' client with one reading the
// followed partitions from where each stands.
func (r *restorer) remakeStandbyClient() error {
	r.close()
	if len(r.followed) == 0 {
		return nil
	}
	client, err := r.clientFor(r.followed)
	if err != nil {
		return err
	}
	r.standbys = client
	return nil
}

// pollFollowed applies what the standbys' client has buffered, without
// waiting.
func (r *restorer) pollFollowed() error {
	if r.standbys == nil {
		return nil
	}
	//nolint:staticcheck // A nil context makes franz-go return what is buffered at once.
	return r.apply(r.followed, r.standbys.PollFetches(nil))
}

// commitFollowed commits the followed stores that read records since their
// last commit, at the offset they reached.
func (r *restorer) commitFollowed() error {
	var errs []error
	for _, e := range r.followed {
		if e.dirty {
			e.dirty = false
			errs = append(errs, e.raw.Commit(store.Checkpoint{Offset: e.next}))
		}
	}
	return errors.Join(errs...)
}
