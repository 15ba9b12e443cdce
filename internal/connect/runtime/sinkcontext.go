package runtime

import (
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/fjordhq/fjord/connect"
)

// pauseReason is why the runner pauses every assigned partition.
type pauseReason uint8

const (
	// pausedByTarget: the herder paused the task (targetState).
	pausedByTarget pauseReason = 1 << iota
	// pausedForRedelivery: Put failed with a retriable error and the same
	// batch waits to be put again; nothing new is fetched meanwhile.
	pausedForRedelivery
)

// sinkTaskContext is what a sink task sees of the worker, and the state of
// the consumer that the task and the runner share: the assignment, the
// paused partitions, rewinds and commit requests. Its methods are safe for
// use from any goroutine; mu also orders the consumer's pause and resume
// calls, so that a partition is fetched only when neither the task nor
// the runner holds it paused.
type sinkTaskContext struct {
	config   map[string]string
	client   *kgo.Client
	reporter connect.ErrantRecordReporter // nil without one
	// wakeup makes the runner's loop look at the context's requests.
	wakeup func()

	mu struct {
		sync.Mutex
		assignment map[connect.TopicPartition]bool
		// taskPaused are the partitions the task paused (Pause).
		taskPaused map[connect.TopicPartition]bool
		// runnerPaused are the reasons the runner pauses every partition.
		runnerPaused pauseReason
		// rewinds are the offsets the task asked for (Offset), not yet
		// applied to the consumer.
		rewinds         map[connect.TopicPartition]int64
		retryBackoff    time.Duration
		commitRequested bool
	}
}

func newSinkTaskContext(config map[string]string, wakeup func()) *sinkTaskContext {
	c := &sinkTaskContext{config: config, wakeup: wakeup}
	c.mu.assignment = map[connect.TopicPartition]bool{}
	c.mu.taskPaused = map[connect.TopicPartition]bool{}
	c.mu.rewinds = map[connect.TopicPartition]int64{}
	return c
}

func (c *sinkTaskContext) Config() map[string]string { return c.config }

func (c *sinkTaskContext) Assignment() []connect.TopicPartition {
	c.mu.Lock()
	defer c.mu.Unlock()
	return sortedPartitions(slices.Collect(maps.Keys(c.mu.assignment)))
}

func (c *sinkTaskContext) Offset(tp connect.TopicPartition, offset int64) {
	c.mu.Lock()
	c.mu.rewinds[tp] = offset
	c.mu.Unlock()
	c.wakeup()
}

func (c *sinkTaskContext) Timeout(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.mu.retryBackoff = d
}

func (c *sinkTaskContext) Pause(partitions ...connect.TopicPartition) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, tp := range partitions {
		c.mu.taskPaused[tp] = true
	}
	c.client.PauseFetchPartitions(partitionMap(partitions))
}

func (c *sinkTaskContext) Resume(partitions ...connect.TopicPartition) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, tp := range partitions {
		delete(c.mu.taskPaused, tp)
	}
	if c.mu.runnerPaused == 0 {
		c.client.ResumeFetchPartitions(partitionMap(partitions))
	}
}

func (c *sinkTaskContext) RequestCommit() {
	c.mu.Lock()
	c.mu.commitRequested = true
	c.mu.Unlock()
	c.wakeup()
}

func (c *sinkTaskContext) ErrantRecordReporter() connect.ErrantRecordReporter { return c.reporter }

// assigned returns the assigned partitions, sorted.
func (c *sinkTaskContext) assigned() []connect.TopicPartition { return c.Assignment() }

// assign adds partitions to the assignment, paused if the runner pauses
// everything.
func (c *sinkTaskContext) assign(partitions []connect.TopicPartition) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, tp := range partitions {
		c.mu.assignment[tp] = true
	}
	if c.mu.runnerPaused != 0 {
		c.client.PauseFetchPartitions(partitionMap(partitions))
	}
}

// unassign removes partitions revoked or lost, with their pauses and
// rewinds. The consumer forgets their pauses too: paused partitions stay
// paused in kgo until resumed, even when assigned again later.
func (c *sinkTaskContext) unassign(partitions []connect.TopicPartition) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, tp := range partitions {
		delete(c.mu.assignment, tp)
		delete(c.mu.taskPaused, tp)
		delete(c.mu.rewinds, tp)
	}
	c.client.ResumeFetchPartitions(partitionMap(partitions))
}

// pauseAll sets or clears a reason to pause every assigned partition and
// pauses or resumes the consumer to match; partitions the task paused stay
// paused.
func (c *sinkTaskContext) pauseAll(reason pauseReason, on bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	before := c.mu.runnerPaused
	if on {
		c.mu.runnerPaused |= reason
	} else {
		c.mu.runnerPaused &^= reason
	}
	all := slices.Collect(maps.Keys(c.mu.assignment))
	switch {
	case before == 0 && c.mu.runnerPaused != 0:
		c.client.PauseFetchPartitions(partitionMap(all))
	case before != 0 && c.mu.runnerPaused == 0:
		resume := slices.DeleteFunc(all, func(tp connect.TopicPartition) bool { return c.mu.taskPaused[tp] })
		c.client.ResumeFetchPartitions(partitionMap(resume))
	}
}

// hasRewinds reports whether the task asked for rewinds not yet applied.
func (c *sinkTaskContext) hasRewinds() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.mu.rewinds) > 0
}

// takeRewinds returns the rewinds of partitions for which ready is true
// and forgets them; those of partitions no longer assigned are dropped.
func (c *sinkTaskContext) takeRewinds(ready func(connect.TopicPartition) bool) map[connect.TopicPartition]int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[connect.TopicPartition]int64{}
	for tp, offset := range c.mu.rewinds {
		if !c.mu.assignment[tp] {
			delete(c.mu.rewinds, tp)
			continue
		}
		if ready(tp) {
			out[tp] = offset
			delete(c.mu.rewinds, tp)
		}
	}
	return out
}

// takeRetryBackoff returns the backoff the task set with Timeout, once,
// as Kafka uses it for one retry; zero when unset.
func (c *sinkTaskContext) takeRetryBackoff() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	d := c.mu.retryBackoff
	c.mu.retryBackoff = 0
	return d
}

// takeCommitRequest reports and clears a RequestCommit.
func (c *sinkTaskContext) takeCommitRequest() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.mu.commitRequested
	c.mu.commitRequested = false
	return r
}

// partitionMap groups partitions by topic, as kgo takes them.
func partitionMap(partitions []connect.TopicPartition) map[string][]int32 {
	m := map[string][]int32{}
	for _, tp := range partitions {
		m[tp.Topic] = append(m[tp.Topic], tp.Partition)
	}
	return m
}

// topicPartitions flattens kgo's map, sorted.
func topicPartitions(m map[string][]int32) []connect.TopicPartition {
	var out []connect.TopicPartition
	for topic, partitions := range m {
		for _, p := range partitions {
			out = append(out, connect.TopicPartition{Topic: topic, Partition: p})
		}
	}
	return sortedPartitions(out)
}

func sortedPartitions(tps []connect.TopicPartition) []connect.TopicPartition {
	slices.SortFunc(tps, func(a, b connect.TopicPartition) int {
		if c := strings.Compare(a.Topic, b.Topic); c != 0 {
			return c
		}
		return int(a.Partition) - int(b.Partition)
	})
	return tps
}
