package txn

import (
	"container/heap"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

const (
	// maxMarkerWrites bounds the marker jobs running at once; the others
	// wait their turn in the queue. Kafka sends one WriteTxnMarkers at a
	// time per broker; a MarkerWriter call covers one transaction.
	maxMarkerWrites = 64
	// markerRetryBackoff and markerRetryBackoffMax are Kafka's
	// retry.backoff.ms and retry.backoff.max.ms defaults: a failed marker
	// (or completion write) is retried after backoff doubling up to max.
	markerRetryBackoff    = 100 * time.Millisecond
	markerRetryBackoffMax = time.Second
)

// markerJob sends the markers of one prepared transaction until every
// partition has its marker, then writes CompleteCommit or CompleteAbort. Its
// fields are guarded by Coordinator.mu.
type markerJob struct {
	p        *partition
	m        *txnMetadata
	due      time.Time
	attempts int
	running  bool
	index    int // in the queue, -1 when not queued
}

// enqueueMarkersLocked starts sending m's markers (m is PrepareCommit or
// PrepareAbort).
func (c *Coordinator) enqueueMarkersLocked(p *partition, m *txnMetadata) {
	m.job = &markerJob{p: p, m: m, due: c.clock.Now(), index: -1}
	heap.Push(&c.mu.jobs, m.job)
	c.signal()
}

// dispatchMarkersLocked starts the jobs that are due, as many as the limit
// allows, and returns when the next one is due (zero: none waiting).
func (c *Coordinator) dispatchMarkersLocked(wg *sync.WaitGroup, now time.Time) time.Time {
	for c.mu.jobs.Len() > 0 {
		job := c.mu.jobs[0]
		if !c.currentLocked(job.p) || job.m.job != job {
			heap.Pop(&c.mu.jobs) // its partition was resigned
			continue
		}
		if job.due.After(now) {
			return job.due
		}
		if c.mu.markerWrites >= maxMarkerWrites {
			return time.Time{} // a job ending wakes Run
		}
		heap.Pop(&c.mu.jobs)
		job.running = true
		c.mu.markerWrites++
		markers := markersOf(job)
		wg.Go(func() { c.runMarkerJob(job, markers) })
	}
	return time.Time{}
}

func markersOf(job *markerJob) Markers {
	s := &job.m.cur
	return Markers{
		ProducerID: s.producerID, ProducerEpoch: s.producerEpoch, CoordinatorEpoch: job.p.epoch,
		Commit:             s.state == kmsg.TransactionStatePrepareCommit,
		TransactionVersion: int8(s.clientTransactionVersion),
		Partitions:         sortedPartitions(s.partitions),
	}
}

// runMarkerJob is one attempt of a job: write the markers still missing,
// then, once none is, the completion.
func (c *Coordinator) runMarkerJob(job *markerJob, markers Markers) {
	defer c.stepped()
	var results map[TopicPartition]error
	if len(markers.Partitions) > 0 && c.markers != nil {
		results = c.markers.WriteMarkers(job.p.ctx, markers)
	}
	c.mu.Lock()
	w := c.afterMarkersLocked(job, markers, results)
	c.mu.Unlock()
	if w != nil {
		c.persist(job.p.ctx, []*write{w})
	}
	c.mu.Lock()
	c.endMarkerJobLocked(job, w)
	c.mu.Unlock()
	c.signal()
}

// afterMarkersLocked records the markers written and, when none is missing,
// begins the completion write.
func (c *Coordinator) afterMarkersLocked(job *markerJob, markers Markers, results map[TopicPartition]error) *write {
	m := job.m
	if !c.currentLocked(job.p) || m.job != job {
		return nil
	}
	for _, tp := range markers.Partitions {
		err, ok := results[tp]
		switch {
		case !ok:
			continue // not answered: retried
		case markerDone(err):
			// Kafka drops a partition once its marker is written (or
			// its topic is gone) from the transaction in memory.
			delete(m.cur.partitions, tp)
		case markerFenced(err):
			c.logger.Warn("transaction markers fenced: a newer producer or coordinator took over",
				"transactional_id", m.id, "topic", tp.Topic, "partition", tp.Partition, "err", err)
			m.job = nil
			return nil
		default:
			c.logger.Info("retrying transaction marker", "transactional_id", m.id,
				"topic", tp.Topic, "partition", tp.Partition, "err", err)
		}
	}
	if len(m.cur.partitions) > 0 || m.pending != nil {
		return nil
	}
	next := complete(&m.cur, c.clock.Now())
	w, code := c.beginLocked(job.p, m, &next)
	if code != 0 {
		c.logger.Error("cannot write transaction completion", "transactional_id", m.id, "code", code)
	}
	return w
}

// markerDone reports whether a partition needs its marker no more: written,
// or its topic deleted, or its leader cannot hold markers (Kafka drops those
// partitions too: the producer could not have written to them).
func markerDone(err error) bool {
	switch codeOf(err) {
	case 0, kerr.UnknownTopicOrPartition.Code, kerr.UnsupportedForMessageFormat.Code, kerr.UnsupportedVersion.Code:
		return true
	}
	return false
}

// markerFenced reports an error after which Kafka stops sending the markers
// of the transaction: the producer's or the coordinator's epoch moved on.
func markerFenced(err error) bool {
	switch codeOf(err) {
	case kerr.InvalidProducerEpoch.Code, kerr.TransactionCoordinatorFenced.Code:
		return true
	}
	return false
}

// endMarkerJobLocked ends an attempt: the job is done once the completion is
// durable; otherwise it is queued again after a backoff.
func (c *Coordinator) endMarkerJobLocked(job *markerJob, w *write) {
	job.running = false
	c.mu.markerWrites--
	m := job.m
	if !c.currentLocked(job.p) || m.job != job {
		return
	}
	if w != nil && w.code == 0 {
		m.job = nil
		return
	}
	if !m.cur.preparing() {
		m.job = nil // completed by an earlier attempt
		return
	}
	backoff := markerRetryBackoff << min(job.attempts, 10)
	job.attempts++
	job.due = c.clock.Now().Add(min(backoff, markerRetryBackoffMax))
	heap.Push(&c.mu.jobs, job)
}

// jobQueue is a min-heap of marker jobs by due time.
type jobQueue []*markerJob

func (q jobQueue) Len() int           { return len(q) }
func (q jobQueue) Less(i, j int) bool { return q[i].due.Before(q[j].due) }
func (q jobQueue) Swap(i, j int) {
	q[i], q[j] = q[j], q[i]
	q[i].index, q[j].index = i, j
}

func (q *jobQueue) Push(x any) {
	job := x.(*markerJob)
	job.index = len(*q)
	*q = append(*q, job)
}

func (q *jobQueue) Pop() any {
	old := *q
	job := old[len(old)-1]
	old[len(old)-1] = nil
	job.index = -1
	*q = old[:len(old)-1]
	return job
}
