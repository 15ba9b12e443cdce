package assign

import (
	"fmt"
	"maps"
	"slices"
)

// SubscriptionVersion is the version of the Subscription encoding written
// by this code, and the only one it reads.
const SubscriptionVersion = 1

// LatestOffset, as a task's offset sum, says the instance runs the task as
// an active task and its state is caught up: Kafka's Task.LATEST_OFFSET.
// The leader reads it as a lag below every real lag.
const LatestOffset int64 = -2

// Subscription is what each member (stream thread) tells the leader in the
// userdata of its JoinGroup metadata. All members of one instance report
// the same ProcessID, Endpoint and TaskOffsetSums; PrevActive and
// PrevStandby are the member's own.
//
// Encoding, version 1, big-endian, every list opening with a uint32 count
// and every string with a uint16 length:
//
//	version         uint8 (1)
//	processID       string, non-empty
//	endpoint        string, "host:port" or empty
//	errorCode       int32
//	taskOffsetSums  [subtopology int32, partition int32, offsetSum int64]
//	prevActive      [subtopology int32, partition int32]
//	prevStandby     [subtopology int32, partition int32]
type Subscription struct {
	// Version is the encoding version read by DecodeSubscription. Encode
	// always writes SubscriptionVersion.
	Version uint8
	// ProcessID identifies the instance, stable across its restarts.
	ProcessID string
	// Endpoint is the instance's "host:port" for interactive queries, or
	// empty if it serves none.
	Endpoint string
	// TaskOffsetSums holds, for each task with local state on the
	// instance, the sum of the changelog offsets its state has restored
	// to, or LatestOffset if the task runs active there and is caught up.
	TaskOffsetSums map[TaskID]int64
	// PrevActive and PrevStandby are the tasks this member ran in the last
	// generation, for stickiness of tasks to threads.
	PrevActive  []TaskID
	PrevStandby []TaskID
	// ErrorCode is ErrorShutdownRequested to ask every instance to stop.
	ErrorCode ErrorCode
}

// Validate reports whether the subscription can be encoded and would be
// accepted by a leader.
func (s *Subscription) Validate() error {
	_, err := s.Encode()
	return err
}

// Encode returns the subscription's userdata. Offset sums and task lists
// are written sorted, so equal subscriptions encode to equal bytes: the
// coordinator compares a rejoining member's metadata to decide whether a
// rebalance is needed.
func (s *Subscription) Encode() ([]byte, error) {
	w := &writer{}
	if s.ProcessID == "" {
		w.fail("subscription has no process id")
	}
	w.uint8(SubscriptionVersion)
	w.name("process id", s.ProcessID)
	w.name("endpoint", s.Endpoint)
	w.int32(int32(s.ErrorCode))
	if w.count("task offset sums", len(s.TaskOffsetSums), maxTasks) {
		for _, t := range slices.SortedFunc(maps.Keys(s.TaskOffsetSums), TaskID.Compare) {
			sum := s.TaskOffsetSums[t]
			if !t.valid() || (sum < 0 && sum != LatestOffset) {
				w.fail("offset sum %d of task %s is out of range", sum, t)
			}
			w.task(t)
			w.int64(sum)
		}
	}
	w.tasks("previous active tasks", sortedTasks(s.PrevActive))
	w.tasks("previous standby tasks", sortedTasks(s.PrevStandby))
	if t, ok := firstShared(s.PrevActive, s.PrevStandby); ok {
		w.fail("task %s is both previous active and previous standby", t)
	}
	if w.err != nil {
		return nil, w.err
	}
	return w.b, nil
}

// DecodeSubscription decodes userdata written by Subscription.Encode. It
// never panics; malformed input yields an error wrapping ErrMalformed, an
// unknown version one wrapping ErrUnsupportedVersion.
func DecodeSubscription(b []byte) (Subscription, error) {
	r := newReader(b)
	var s Subscription
	s.Version = r.Uint8("subscription version")
	if r.Err == nil && s.Version != SubscriptionVersion {
		return Subscription{}, fmt.Errorf("%w: subscription version %d, want %d",
			ErrUnsupportedVersion, s.Version, SubscriptionVersion)
	}
	s.ProcessID = r.name("process id")
	if r.Err == nil && s.ProcessID == "" {
		r.Fail("empty process id")
	}
	s.Endpoint = r.name("endpoint")
	s.ErrorCode = ErrorCode(r.Int32("error code"))
	s.TaskOffsetSums = readOffsetSums(r)
	s.PrevActive = r.tasks("previous active tasks")
	s.PrevStandby = r.tasks("previous standby tasks")
	if t, ok := firstShared(s.PrevActive, s.PrevStandby); ok && r.Err == nil {
		r.Fail("task %s is both previous active and previous standby", t)
	}
	if err := r.done("subscription"); err != nil {
		return Subscription{}, err
	}
	return s, nil
}

func readOffsetSums(r *reader) map[TaskID]int64 {
	n := r.count("task offset sums", offsetSumBytes, maxTasks)
	if n == 0 {
		return nil
	}
	sums := make(map[TaskID]int64, n)
	for range n {
		t := r.task("task offset sums")
		sum := r.Int64("task offset sums")
		if r.Err != nil {
			return nil
		}
		if _, dup := sums[t]; dup {
			r.Fail("offset sum of task %s listed twice", t)
			return nil
		}
		if sum < 0 && sum != LatestOffset {
			r.Fail("offset sum %d of task %s is negative", sum, t)
			return nil
		}
		sums[t] = sum
	}
	return sums
}

// sortedTasks returns a sorted copy.
func sortedTasks(ts []TaskID) []TaskID {
	out := slices.Clone(ts)
	slices.SortFunc(out, TaskID.Compare)
	return out
}

// firstShared returns a task in both lists, if any.
func firstShared(a, b []TaskID) (TaskID, bool) {
	if len(a) == 0 || len(b) == 0 {
		return TaskID{}, false
	}
	in := make(map[TaskID]struct{}, len(a))
	for _, t := range a {
		in[t] = struct{}{}
	}
	for _, t := range b {
		if _, ok := in[t]; ok {
			return t, true
		}
	}
	return TaskID{}, false
}
