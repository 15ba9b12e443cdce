package runtime

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/fjordhq/fjord/connect"
)

// rebalanceKind is what a rebalance did to some partitions.
type rebalanceKind uint8

const (
	partitionsAssigned rebalanceKind = iota + 1
	partitionsRevoked
	partitionsLost
)

// rebalanceEvent hands partitions from a kgo hook to the task goroutine;
// done is closed once they are handled.
type rebalanceEvent struct {
	kind       rebalanceKind
	partitions []connect.TopicPartition
	done       chan struct{}
}

// groupOpts join the group with manual commits and the hooks.
func (r *sinkTaskRunner) groupOpts() []kgo.Opt {
	hook := func(kind rebalanceKind) func(context.Context, *kgo.Client, map[string][]int32) {
		return func(_ context.Context, _ *kgo.Client, m map[string][]int32) { r.handOver(kind, m) }
	}
	return []kgo.Opt{
		kgo.ConsumerGroup(sinkGroupID(r.id.Connector)),
		kgo.Balancers(kgo.CooperativeStickyBalancer()),
		kgo.DisableAutoCommit(),
		kgo.OnPartitionsAssigned(hook(partitionsAssigned)),
		kgo.OnPartitionsRevoked(hook(partitionsRevoked)),
		kgo.OnPartitionsLost(hook(partitionsLost)),
		kgo.AdjustFetchOffsetsFn(r.adjustFetchOffsets),
	}
}

// handOver runs on kgo's group goroutine: it queues the partitions for the
// task goroutine and waits until they are handled, or until the runner
// handles no more (it has then committed and closed every partition).
func (r *sinkTaskRunner) handOver(kind rebalanceKind, m map[string][]int32) {
	partitions := topicPartitions(m)
	if len(partitions) == 0 {
		return
	}
	ev := &rebalanceEvent{kind: kind, partitions: partitions, done: make(chan struct{})}
	r.hooks.Lock()
	if r.hooks.stopped {
		r.hooks.Unlock()
		return
	}
	r.hooks.events = append(r.hooks.events, ev)
	r.hooks.Unlock()
	r.wakeup()
	select {
	case <-ev.done:
	case <-r.released:
	}
}

// adjustFetchOffsets runs on kgo's group goroutine once newly assigned
// partitions' committed offsets are fetched, after Open: it starts them
// where the task asked in Open (SinkTaskContext.Offset), if it did.
func (r *sinkTaskRunner) adjustFetchOffsets(_ context.Context, offsets map[string]map[int32]kgo.Offset) (map[string]map[int32]kgo.Offset, error) {
	rewinds := r.tctx.takeRewinds(func(tp connect.TopicPartition) bool {
		_, ok := offsets[tp.Topic][tp.Partition]
		return ok
	})
	for tp, offset := range rewinds {
		offsets[tp.Topic][tp.Partition] = kgo.NewOffset().At(offset).WithEpoch(-1)
	}
	return offsets, nil
}

// handleRebalances handles the partitions the hooks handed over.
func (r *sinkTaskRunner) handleRebalances(ctx context.Context) error {
	for {
		r.hooks.Lock()
		if len(r.hooks.events) == 0 {
			r.hooks.Unlock()
			return nil
		}
		ev := r.hooks.events[0]
		r.hooks.events = r.hooks.events[1:]
		r.hooks.Unlock()
		err := r.handleRebalance(ctx, ev)
		close(ev.done)
		if err != nil {
			return err
		}
	}
}

func (r *sinkTaskRunner) handleRebalance(ctx context.Context, ev *rebalanceEvent) error {
	switch ev.kind {
	case partitionsAssigned:
		r.logger.Debug("sink task: partitions assigned", "task", r.id.String(), "partitions", ev.partitions)
		r.tctx.assign(ev.partitions)
		if oc, ok := r.task.(connect.PartitionOpenCloser); ok {
			if err := oc.Open(ctx, slices.Clone(ev.partitions)); err != nil {
				return fmt.Errorf("task %s: opening partitions %v: %w", r.id, ev.partitions, err)
			}
		}
		return nil
	case partitionsRevoked:
		r.logger.Debug("sink task: partitions revoked", "task", r.id.String(), "partitions", ev.partitions)
		r.dropRecords(ev.partitions)
		// The partitions go to another member whatever happens here: what
		// was put must be committed even if the task is stopping.
		ctx := context.WithoutCancel(ctx)
		err := r.commit(ctx, ev.partitions)
		if closeErr := r.closePartitions(ctx, ev.partitions); err == nil {
			err = closeErr
		}
		r.forget(ev.partitions)
		return err
	default:
		r.logger.Warn("sink task: partitions lost; their offsets are not committed", "task", r.id.String(), "partitions", ev.partitions)
		r.dropRecords(ev.partitions)
		err := r.closePartitions(ctx, ev.partitions)
		if r.dlq != nil {
			r.dlq.discard(ev.partitions)
		}
		r.forget(ev.partitions)
		return err
	}
}

// dropRecords drops the records of partitions from those in hand and the
// batch: the consumer reads them again from the committed offset or the
// new position.
func (r *sinkTaskRunner) dropRecords(partitions []connect.TopicPartition) {
	gone := func(topic string, partition int32) bool {
		return slices.Contains(partitions, connect.TopicPartition{Topic: topic, Partition: partition})
	}
	r.inHand = slices.DeleteFunc(r.inHand, func(kr *kgo.Record) bool { return gone(kr.Topic, kr.Partition) })
	r.batch.records = slices.DeleteFunc(r.batch.records, func(rec connect.SinkRecord) bool {
		return gone(rec.OriginalTopic, rec.OriginalPartition)
	})
	for _, tp := range partitions {
		delete(r.batch.next, tp)
	}
	if r.retryTimer != nil && len(r.batch.records) == 0 {
		r.retryTimer.Stop()
		r.retryTimer = nil
		r.batch = sinkBatch{}
		r.tctx.pauseAll(pausedForRedelivery, false)
	}
}

// forget drops the state of partitions no longer assigned.
func (r *sinkTaskRunner) forget(partitions []connect.TopicPartition) {
	r.tctx.unassign(partitions)
	for _, tp := range partitions {
		delete(r.positions, tp)
		delete(r.committed, tp)
	}
	if r.reporter != nil {
		r.reporter.consumed.drop(partitions)
	}
}

// closePartitions calls the task's Close, if it has one.
func (r *sinkTaskRunner) closePartitions(ctx context.Context, partitions []connect.TopicPartition) error {
	oc, ok := r.task.(connect.PartitionOpenCloser)
	if !ok || len(partitions) == 0 {
		return nil
	}
	if err := oc.Close(ctx, slices.Clone(partitions)); err != nil {
		return fmt.Errorf("task %s: closing partitions %v: %w", r.id, partitions, err)
	}
	return nil
}

// applyRewinds moves the consumer where the task asked (Offset) for
// partitions kgo tracks: those with a committed offset or records polled.
// Others keep their rewind until their first records come. Records in
// hand or in the batch for a rewound partition are dropped.
func (r *sinkTaskRunner) applyRewinds() {
	if !r.tctx.hasRewinds() {
		return
	}
	// Read before takeRewinds: no kgo lock is taken under the context's.
	known := r.client.CommittedOffsets()
	rewinds := r.tctx.takeRewinds(func(tp connect.TopicPartition) bool {
		_, ok := known[tp.Topic][tp.Partition]
		return ok
	})
	if len(rewinds) == 0 {
		return
	}
	set := map[string]map[int32]kgo.EpochOffset{}
	for tp, offset := range rewinds {
		if set[tp.Topic] == nil {
			set[tp.Topic] = map[int32]kgo.EpochOffset{}
		}
		set[tp.Topic][tp.Partition] = kgo.EpochOffset{Epoch: -1, Offset: offset}
		r.positions[tp] = offset
		r.logger.Debug("sink task: rewinding", "task", r.id.String(), "partition", tp.String(), "offset", offset)
	}
	r.dropRecords(slices.Collect(maps.Keys(rewinds)))
	r.client.SetOffsets(set)
}

// commit asks the task to flush the records put in partitions (Flush, or
// PreCommit) with their positions and commits the offsets it confirms,
// once the dead letter queue holds the records skipped in them. A
// retriable flush error leaves the offsets for the next commit; any other
// fails the task. A failed offset commit is logged and made again at the
// next one, as Kafka does.
func (r *sinkTaskRunner) commit(ctx context.Context, partitions []connect.TopicPartition) error {
	if r.dlq != nil {
		if err := r.dlq.await(ctx, partitions); err != nil {
			return err
		}
	}
	offsets := map[connect.TopicPartition]int64{}
	for _, tp := range partitions {
		if p, ok := r.positions[tp]; ok {
			offsets[tp] = p
		}
	}
	if len(offsets) == 0 {
		return nil
	}
	confirmed, err := r.flush(ctx, offsets)
	if err != nil {
		if isRetriable(err) || ctx.Err() != nil {
			r.logger.Warn("sink task: flush failed; committing at the next commit", "task", r.id.String(), "err", err)
			return nil
		}
		return fmt.Errorf("task %s: flush: %w", r.id, err)
	}
	toCommit := r.committable(offsets, confirmed)
	if len(toCommit) == 0 {
		return nil
	}
	if err := r.commitOffsets(ctx, toCommit); err != nil {
		if ctx.Err() != nil {
			return nil // stopping: finish commits again
		}
		r.logger.Warn("sink task: offset commit failed; trying at the next commit", "task", r.id.String(), "err", err)
		return nil
	}
	for tp, offset := range toCommit {
		r.committed[tp] = offset
		if r.reporter != nil {
			r.reporter.consumed.prune(tp, offset)
		}
	}
	return nil
}

// flush calls PreCommit if the task has it, else Flush, which confirms
// every offset asked.
func (r *sinkTaskRunner) flush(ctx context.Context, offsets map[connect.TopicPartition]int64) (map[connect.TopicPartition]int64, error) {
	if pc, ok := r.task.(connect.PreCommitter); ok {
		return pc.PreCommit(ctx, maps.Clone(offsets))
	}
	if err := r.task.Flush(ctx, maps.Clone(offsets)); err != nil {
		return nil, err
	}
	return offsets, nil
}

// committable keeps the confirmed offsets that may be committed: of
// partitions asked about, not past their position (Kafka ignores those
// "not yet consumed"), and new.
func (r *sinkTaskRunner) committable(asked, confirmed map[connect.TopicPartition]int64) map[connect.TopicPartition]int64 {
	out := map[connect.TopicPartition]int64{}
	for tp, offset := range confirmed {
		position, ok := asked[tp]
		switch {
		case !ok:
			r.logger.Debug("sink task: ignoring an offset of a partition not asked about", "task", r.id.String(), "partition", tp.String())
		case offset > position:
			r.logger.Warn("sink task: ignoring an offset not yet consumed", "task", r.id.String(),
				"partition", tp.String(), "offset", offset, "position", position)
		default:
			if last, ok := r.committed[tp]; !ok || last != offset {
				out[tp] = offset
			}
		}
	}
	return out
}

// commitOffsets commits offsets to the group synchronously.
func (r *sinkTaskRunner) commitOffsets(ctx context.Context, offsets map[connect.TopicPartition]int64) error {
	req := map[string]map[int32]kgo.EpochOffset{}
	for tp, offset := range offsets {
		if req[tp.Topic] == nil {
			req[tp.Topic] = map[int32]kgo.EpochOffset{}
		}
		req[tp.Topic][tp.Partition] = kgo.EpochOffset{Epoch: -1, Offset: offset}
	}
	var commitErr error
	r.client.CommitOffsetsSync(ctx, req, func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
		if err != nil {
			commitErr = err
			return
		}
		for _, t := range resp.Topics {
			for _, p := range t.Partitions {
				if err := kerr.ErrorForCode(p.ErrorCode); err != nil && commitErr == nil {
					commitErr = fmt.Errorf("%s-%d: %w", t.Topic, p.Partition, err)
				}
			}
		}
	})
	return commitErr
}

// finish ends a run: a last commit of what was put, Close of every
// partition and Stop, outliving ctx. After a failure (loopErr) it still
// commits what the task flushes, as Kafka does, and reports loopErr.
func (r *sinkTaskRunner) finish(ctx context.Context, loopErr error) error {
	stopCtx := context.WithoutCancel(ctx)
	partitions := r.tctx.assigned()
	keep := func(err error) {
		if err == nil {
			return
		}
		if loopErr == nil {
			loopErr = err
			return
		}
		r.logger.Warn("sink task: stopping after a failure", "task", r.id.String(), "err", err)
	}
	keep(r.commit(stopCtx, partitions))
	keep(r.closePartitions(stopCtx, partitions))
	if err := r.task.Stop(); err != nil {
		keep(fmt.Errorf("stopping task %s: %w", r.id, err))
	}
	return loopErr
}

// close releases the hooks, then leaves the group and closes the clients.
// The hooks are released first: kgo calls them while leaving, and the
// partitions are already committed and closed.
func (r *sinkTaskRunner) close(ctx context.Context) {
	r.hooks.Lock()
	r.hooks.stopped = true
	r.hooks.events = nil
	r.hooks.Unlock()
	close(r.released)
	r.client.Close()
	if r.dlq != nil {
		r.dlq.close(ctx)
	}
}
