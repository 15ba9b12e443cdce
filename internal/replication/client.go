package replication

import (
	"context"
	"time"

	"github.com/fjordhq/fjord/internal/partition"
)

// TopicPartition names a partition.
type TopicPartition struct {
	Topic     string
	TopicID   [16]byte
	Partition int32
}

// FetchRequest is a follower's Fetch to its leader.
type FetchRequest struct {
	// ReplicaID is the follower's broker id (ReplicaState.ReplicaID from
	// Fetch v15, ReplicaID before); ReplicaEpoch its broker epoch, or -1.
	ReplicaID    BrokerID
	ReplicaEpoch int64
	MaxWait      time.Duration
	MinBytes     int32
	MaxBytes     int32
	Partitions   []FetchPartition
}

// FetchPartition is one partition of a FetchRequest.
type FetchPartition struct {
	TopicPartition
	FetchOffset Offset
	// CurrentLeaderEpoch fences a leader or follower with stale metadata
	// (KIP-320); LastFetchedEpoch lets the leader detect divergence
	// (KIP-595's DivergingEpoch).
	CurrentLeaderEpoch LeaderEpoch
	LastFetchedEpoch   LeaderEpoch
	LogStartOffset     Offset
	PartitionMaxBytes  int32
}

// FetchResponse is the leader's answer. Records of each partition alias the
// response buffer; the fetcher appends them before the next request.
type FetchResponse struct {
	Partitions []FetchedPartition
}

// FetchedPartition is one partition of a FetchResponse.
type FetchedPartition struct {
	TopicPartition
	// Err is nil or a kerr error.
	Err            error
	HighWatermark  Offset
	LogStartOffset Offset
	// DivergingEpoch is set when the leader found that the follower's last
	// fetched epoch ends earlier on the leader: the follower must truncate.
	DivergingEpoch *EpochEndOffset
	Records        []byte
}

// EpochRequest asks for the end of LeaderEpoch on the leader.
type EpochRequest struct {
	TopicPartition
	CurrentLeaderEpoch LeaderEpoch
	LeaderEpoch        LeaderEpoch
}

// EpochResult is one partition of an OffsetForLeaderEpoch answer.
type EpochResult struct {
	TopicPartition
	Err error
	EpochEndOffset
}

// LeaderClient talks to one source broker. Calls come from the one fetcher
// goroutine of that broker, never concurrently; ctx cancels them.
type LeaderClient interface {
	Fetch(ctx context.Context, req *FetchRequest) (*FetchResponse, error)
	OffsetForLeaderEpoch(ctx context.Context, replicaID BrokerID, partitions []EpochRequest) ([]EpochResult, error)
	Close() error
}

// FollowerReplica is the local replica a fetcher writes into: its log
// (partition.Partition), and the high watermark the leader's responses
// move. The replica manager implements it.
type FollowerReplica interface {
	LocalEpochs
	LatestEpoch() int32
	LogStartOffset() Offset
	LogEndOffset() Offset
	HighWatermark() Offset
	AppendAsFollower(records []byte, nowMs int64) (partition.FollowerAppendResult, error)
	TruncateTo(offset Offset) error
	TruncateFullyAndStartAt(offset Offset) error
	DeleteRecordsBefore(offset Offset) (Offset, error)
	UpdateFollowerHighWatermark(leaderHighWatermark Offset)
}
