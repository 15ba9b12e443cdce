package lag

import (
	"context"
	"time"
)

// Status is a partition's or a group's rating, in Burrow's vocabulary.
type Status string

// The statuses, from best to worst (see rank).
const (
	// StatusOK: the group consumes, or has nothing to consume.
	StatusOK Status = "OK"
	// StatusUnknown: too few samples to tell OK from the other states.
	StatusUnknown Status = "UNKNOWN"
	// StatusWarning: commits move but lag grew in every sample of the window.
	StatusWarning Status = "WARNING"
	// StatusStalled: members are there but the committed offset has not
	// moved over the whole window while lag stayed.
	StatusStalled Status = "STALLED"
	// StatusStopped: lag stays and nobody consumes: no members, or no commit
	// for far longer than the window.
	StatusStopped Status = "STOPPED"
	// StatusError: the committed offset is beyond the end of the log, or the
	// partition cannot be read.
	StatusError Status = "ERROR"
)

// Statuses lists every status from best to worst.
var Statuses = []Status{StatusOK, StatusUnknown, StatusWarning, StatusStalled, StatusStopped, StatusError}

// rank orders statuses from best (0) to worst; a group takes its worst
// partition's.
func (s Status) rank() int {
	for i, v := range Statuses {
		if v == s {
			return i
		}
	}
	return len(Statuses)
}

// Worse returns the worse of s and other.
func (s Status) Worse(other Status) Status {
	if other.rank() > s.rank() {
		return other
	}
	return s
}

// PartitionLag is one partition's lag in a group.
type PartitionLag struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	// Committed is the group's committed offset. A Monitor reports only
	// partitions with one; a partition without would have -1, and Lag -1
	// (kafka-consumer-groups.sh prints "-").
	Committed int64 `json:"committed"`
	// End is the high watermark (read_uncommitted log end), -1 when the
	// partition could not be read.
	End int64 `json:"end"`
	// Lag is End - Committed, -1 when nothing is committed or the
	// partition could not be read.
	Lag int64 `json:"lag"`
	// LagSeconds is the age of the first record not yet consumed: 0 when
	// Lag is 0 (or only transaction markers are left), -1 when unknown
	// (the record's timestamp could not be read).
	LagSeconds float64 `json:"lag_seconds"`
	Status     Status  `json:"status"`
	// LastCommit is when the committed offset last changed, as observed by
	// the monitor (its first sample when it never saw a change).
	LastCommit time.Time `json:"last_commit"`
	// Error says why the partition is ERROR when it could not be read.
	Error string `json:"error,omitempty"`
}

// GroupLag is one group's lag: its partitions with a committed offset.
type GroupLag struct {
	Group string `json:"group"`
	// State is the coordinator's group state (Stable, Empty, ...).
	State string `json:"state"`
	// Members is the number of members, -1 when unknown (KafkaSource).
	Members int `json:"members"`
	// Status is the worst of the partitions' (OK for none).
	Status Status `json:"status"`
	// TotalLag sums the partitions' Lag where known.
	TotalLag int64 `json:"total_lag"`
	// MaxLagSeconds is the largest LagSeconds.
	MaxLagSeconds float64 `json:"max_lag_seconds"`
	// Partitions are those with a committed offset, by topic and number.
	Partitions []PartitionLag `json:"partitions"`
	// Evaluated is when the sample behind this rating was taken.
	Evaluated time.Time `json:"evaluated"`
}

// TopicPartition names a partition.
type TopicPartition struct {
	Topic     string
	Partition int32
}

// GroupInfo is a group as its coordinator describes it.
type GroupInfo struct {
	Group   string
	State   string
	Members int
}

// EndOffset is a partition's high watermark, or why it could not be read.
type EndOffset struct {
	Offset int64
	Err    error
}

// Source is what a Monitor reads. Methods are called from one goroutine at a
// time (the Monitor's Run, or the caller of Sample).
type Source interface {
	// Groups lists the groups to report: for a broker, those it
	// coordinates, so that a cluster's nodes do not count a group twice.
	Groups(ctx context.Context) ([]GroupInfo, error)
	// Committed returns the group's committed offsets, those >= 0.
	Committed(ctx context.Context, group string) (map[TopicPartition]int64, error)
	// EndOffsets returns the high watermark of each partition asked for;
	// a partition missing from the answer is reported unreadable.
	EndOffsets(ctx context.Context, partitions []TopicPartition) (map[TopicPartition]EndOffset, error)
	// RecordTimestamp returns the timestamp of the first data record at or
	// after offset and below end (control batches and compacted gaps
	// skipped); found is false when there is none.
	RecordTimestamp(ctx context.Context, tp TopicPartition, offset, end int64) (ts time.Time, found bool, err error)
}
