package streams

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// taskLockTimeout bounds how long a thread waits for another thread of the
// instance to let go of a task's directory. The holder lets go when it
// applies its own side of the rebalance, within one poll of its loop; a
// wait this long means that thread is stuck.
const taskLockTimeout = 30 * time.Second

// taskLocks keeps two stream threads of one instance from opening the
// stores of one task at once. After a rebalance each thread applies its new
// assignment in its own loop, so a thread may be given a task as active
// while another still holds it as a standby or an active task it has not
// yet closed; the first waits for the second. Threads give up every task on
// revocation, and one instance's threads are never assigned the same task
// twice, so waiting cannot deadlock.
type taskLocks struct {
	mu      sync.Mutex
	holders map[TaskID]*taskLock
}

type taskLock struct {
	thread   int
	released chan struct{}
}

func newTaskLocks() *taskLocks { return &taskLocks{holders: make(map[TaskID]*taskLock)} }

// acquire takes the task for thread, waiting while another thread holds
// it. Taking a task the thread already holds succeeds.
func (l *taskLocks) acquire(ctx context.Context, id TaskID, thread int) error {
	timer := time.NewTimer(taskLockTimeout)
	defer timer.Stop()
	for {
		l.mu.Lock()
		h, held := l.holders[id]
		if !held || h.thread == thread {
			if !held {
				l.holders[id] = &taskLock{thread: thread, released: make(chan struct{})}
			}
			l.mu.Unlock()
			return nil
		}
		l.mu.Unlock()
		select {
		case <-h.released:
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
			return fmt.Errorf("streams: task %s is still held by stream thread %d after %v", id, h.thread+1, taskLockTimeout)
		}
	}
}

// release lets go of a task thread holds.
func (l *taskLocks) release(id TaskID, thread int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if h, held := l.holders[id]; held && h.thread == thread {
		delete(l.holders, id)
		close(h.released)
	}
}
