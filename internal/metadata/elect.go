package metadata

import (
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
)

// ElectionType is the election_type of Kafka's ElectLeaders request, with
// its wire values.
type ElectionType int8

// The election types of ElectLeaders (KIP-460).
const (
	ElectPreferred ElectionType = 0
	ElectUnclean   ElectionType = 1
)

// TopicPartitions names partitions of one topic in an ElectLeaders request.
type TopicPartitions struct {
	Topic      string  `json:"topic"`
	Partitions []int32 `json:"partitions"`
}

// ElectionResult is one partition of an ElectLeaders response. ErrorCode is
// a Kafka code (0 for an election written); ErrorMessage goes to the
// response's error_message.
type ElectionResult struct {
	Topic        string `json:"topic"`
	Partition    int32  `json:"partition"`
	ErrorCode    int16  `json:"errorCode,omitempty"`
	ErrorMessage string `json:"errorMessage,omitempty"`
}

// Err returns the result's error as a *Error, or nil.
func (r ElectionResult) Err() error {
	if r.ErrorCode == 0 {
		return nil
	}
	return forwardResponse{ErrorCode: r.ErrorCode, ErrorMessage: r.ErrorMessage}.err()
}

// DecideElectLeaders is the pure part of ElectLeaders, with Kafka's
// semantics per partition:
//
//   - unknown topic or partition: UNKNOWN_TOPIC_OR_PARTITION;
//   - PREFERRED: ELECTION_NOT_NEEDED when the preferred replica leads;
//     PREFERRED_LEADER_NOT_AVAILABLE when it is not live or not in the ISR;
//     else it becomes leader;
//   - UNCLEAN: ELECTION_NOT_NEEDED when the partition has a leader; else a
//     live ISR member if any, otherwise any live replica (the request itself
//     allows the unclean choice, whatever the topic config says), else
//     ELIGIBLE_LEADERS_NOT_AVAILABLE.
//
// partitions nil means every partition, and then, as Kafka, results with
// ELECTION_NOT_NEEDED are left out. At most maxPartitionChanges partitions
// are elected; for an explicit list a larger request is INVALID_REQUEST, for
// "every partition" the rest are left out of the results and the next call
// (or the periodic rebalance) elects them.
func DecideElectLeaders(img *Image, typ ElectionType, partitions []TopicPartitions) ([]PartitionRecord, []ElectionResult, error) {
	if typ != ElectPreferred && typ != ElectUnclean {
		return nil, nil, newError(kerr.InvalidRequest, fmt.Sprintf("unknown election type %d", typ))
	}
	all := partitions == nil
	if all {
		for _, t := range img.Topics() {
			tp := TopicPartitions{Topic: t.Name, Partitions: make([]int32, len(t.Partitions))}
			for i := range tp.Partitions {
				tp.Partitions[i] = int32(i)
			}
			partitions = append(partitions, tp)
		}
	} else {
		count := 0
		for _, tp := range partitions {
			count += len(tp.Partitions)
		}
		if count > maxPartitionChanges {
			return nil, nil, newError(kerr.InvalidRequest, fmt.Sprintf("%d partitions exceed the limit of %d per election", count, maxPartitionChanges))
		}
	}
	live := liveBrokers(img)
	var records []PartitionRecord
	var results []ElectionResult
	for _, tp := range partitions {
		t, known := img.Topic(tp.Topic)
		for _, id := range tp.Partitions {
			if len(records) == maxPartitionChanges {
				return records, results, nil
			}
			res := ElectionResult{Topic: tp.Topic, Partition: id}
			if !known || id < 0 || int(id) >= len(t.Partitions) {
				res.ErrorCode, res.ErrorMessage = kerr.UnknownTopicOrPartition.Code, fmt.Sprintf("no partition %s-%d", tp.Topic, id)
				results = append(results, res)
				continue
			}
			next, err := electOne(t.Partitions[id], typ, live)
			if err != nil {
				var ce *Error
				errors.As(err, &ce)
				if all && ce.Code == kerr.ElectionNotNeeded {
					continue
				}
				res.ErrorCode, res.ErrorMessage = ce.Code.Code, fmt.Sprintf("%s-%d: %s", tp.Topic, id, ce.Message)
			} else {
				records = append(records, partitionRecord(t.ID, next))
			}
			results = append(results, res)
		}
	}
	return records, results, nil
}

func electOne(p PartitionImage, typ ElectionType, live func(int32) bool) (PartitionImage, error) {
	if typ == ElectPreferred {
		switch {
		case p.Leader == PreferredLeader(p.Replicas):
			return p, newError(kerr.ElectionNotNeeded, "the preferred replica leads")
		case !ShouldElectPreferred(p.Replicas, p.ISR, p.Leader, live):
			return p, newError(kerr.PreferredLeaderNotAvailable, "the preferred replica is not live or not in sync")
		}
		return preferred(p), nil
	}
	if p.Leader != NoLeader {
		return p, newError(kerr.ElectionNotNeeded, "the partition has a leader")
	}
	next, changed := leadershipFor(p, live, func() bool { return true })
	if !changed || next.Leader == NoLeader {
		return p, newError(kerr.EligibleLeadersNotAvailable, "no replica is live")
	}
	return next, nil
}
