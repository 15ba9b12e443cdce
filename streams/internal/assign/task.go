package assign

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// TaskID names a task: the partition Partition of sub-topology Subtopology.
// The task consumes partition Partition of each source topic of its
// sub-topology. Its text form is Kafka's, "<subtopology>_<partition>".
type TaskID struct {
	Subtopology int
	Partition   int32
}

// ErrBadTaskID is returned by ParseTaskID for text that names no task.
var ErrBadTaskID = errors.New("assign: malformed task id")

// String returns the task id as Kafka writes it, e.g. "0_3".
func (t TaskID) String() string {
	return strconv.Itoa(t.Subtopology) + "_" + strconv.FormatInt(int64(t.Partition), 10)
}

// Compare orders task ids by sub-topology, then partition, as Kafka's
// TaskId does. It suits slices.SortFunc(ids, TaskID.Compare).
func (t TaskID) Compare(u TaskID) int {
	if c := cmp.Compare(t.Subtopology, u.Subtopology); c != 0 {
		return c
	}
	return cmp.Compare(t.Partition, u.Partition)
}

// valid reports whether the id can be carried on the wire: both parts are
// non-negative and the sub-topology fits the wire's int32.
func (t TaskID) valid() bool {
	return t.Subtopology >= 0 && t.Subtopology <= math.MaxInt32 && t.Partition >= 0
}

// ParseTaskID parses the text form written by TaskID.String. Both numbers
// must be non-negative decimal integers without signs or spaces.
func ParseTaskID(s string) (TaskID, error) {
	sub, part, ok := strings.Cut(s, "_")
	if !ok || !plainDigits(sub) || !plainDigits(part) {
		return TaskID{}, fmt.Errorf("%w: %q", ErrBadTaskID, s)
	}
	subtopology, err := strconv.ParseInt(sub, 10, 32)
	if err != nil {
		return TaskID{}, fmt.Errorf("%w: %q: %v", ErrBadTaskID, s, err)
	}
	partition, err := strconv.ParseInt(part, 10, 32)
	if err != nil {
		return TaskID{}, fmt.Errorf("%w: %q: %v", ErrBadTaskID, s, err)
	}
	return TaskID{Subtopology: int(subtopology), Partition: int32(partition)}, nil
}

// plainDigits reports whether s is a non-empty run of ASCII digits, so that
// "+1", "-0" and " 1" are refused although strconv would take some of them.
func plainDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// TopicPartition is one partition of one topic.
type TopicPartition struct {
	Topic     string
	Partition int32
}

// compareTopicPartitions orders by topic, then partition.
func compareTopicPartitions(a, b TopicPartition) int {
	if c := strings.Compare(a.Topic, b.Topic); c != 0 {
		return c
	}
	return cmp.Compare(a.Partition, b.Partition)
}

// TaskInfo describes one task of the topology to the assignor.
type TaskInfo struct {
	ID TaskID
	// Stateful tasks have state stores backed by changelog topics: they are
	// placed where their state is caught up and get standby replicas.
	Stateful bool
}
