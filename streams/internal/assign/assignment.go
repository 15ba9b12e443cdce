package assign

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"time"
)

// AssignmentVersion is the version of the Assignment encoding written by
// this code, and the only one it reads.
const AssignmentVersion = 1

// maxRebalanceMs bounds NextRebalanceIn so that it converts to a
// time.Duration without overflow.
const maxRebalanceMs = math.MaxInt64 / int64(time.Millisecond)

// Assignment is what the leader sends each member in the userdata of its
// SyncGroup assignment, beside the partitions of its active tasks.
//
// Encoding, version 1, big-endian, every list opening with a uint32 count
// and every string with a uint16 length:
//
//	version                  uint8 (1)
//	errorCode                int32
//	nextRebalanceMs          int64, 0 for none
//	active                   [subtopology int32, partition int32]
//	standby                  [subtopology int32, partition int32]
//	partitionsByHost         [endpoint string, [topic string, [partition int32]]]
//	standbyPartitionsByHost  same layout
//
// Partitions are grouped by topic under each endpoint, which keeps the
// maps (sent whole to every member) near a quarter of a flat list's size.
type Assignment struct {
	// Version is the encoding version read by DecodeAssignment. Encode
	// always writes AssignmentVersion.
	Version uint8
	// ErrorCode is an error for the whole group, ErrorNone normally.
	ErrorCode ErrorCode
	// Active are the tasks this member runs; Standby the tasks whose state
	// it keeps up to date, warm-up replicas included.
	Active  []TaskID
	Standby []TaskID
	// PartitionsByHost maps each instance's endpoint to the source
	// partitions of its active tasks, StandbyPartitionsByHost to those of
	// its standby tasks, so that any instance knows where a key lives.
	PartitionsByHost        map[string][]TopicPartition
	StandbyPartitionsByHost map[string][]TopicPartition
	// NextRebalanceIn, if positive, asks the member to rejoin after this
	// long: a probing rebalance, to move tasks to warmed-up replicas.
	NextRebalanceIn time.Duration
}

// Encode returns the assignment's userdata. Maps are written sorted, so
// equal assignments encode to equal bytes.
func (a *Assignment) Encode() ([]byte, error) {
	w := &writer{}
	w.uint8(AssignmentVersion)
	w.int32(int32(a.ErrorCode))
	if a.NextRebalanceIn < 0 {
		w.fail("negative next rebalance delay %v", a.NextRebalanceIn)
	}
	w.int64(a.NextRebalanceIn.Milliseconds())
	w.tasks("active tasks", sortedTasks(a.Active))
	w.tasks("standby tasks", sortedTasks(a.Standby))
	if t, ok := firstShared(a.Active, a.Standby); ok {
		w.fail("task %s is both active and standby", t)
	}
	writeHostMap(w, "partitions by host", a.PartitionsByHost)
	writeHostMap(w, "standby partitions by host", a.StandbyPartitionsByHost)
	if w.err != nil {
		return nil, w.err
	}
	return w.b, nil
}

func writeHostMap(w *writer, what string, m map[string][]TopicPartition) {
	if !w.count(what, len(m), maxHosts) {
		return
	}
	for _, host := range slices.Sorted(maps.Keys(m)) {
		if host == "" {
			w.fail("%s: empty endpoint", what)
		}
		w.name(what+" endpoint", host)
		writeHostTopics(w, what, host, m[host])
	}
}

// writeHostTopics writes one host's partitions grouped by topic.
func writeHostTopics(w *writer, what, host string, list []TopicPartition) {
	tps := slices.Clone(list)
	slices.SortFunc(tps, compareTopicPartitions)
	var runs [][]TopicPartition // one run of partitions per topic
	for i, tp := range tps {
		if tp.Topic == "" || tp.Partition < 0 {
			w.fail("%s: bad partition %q %d under %s", what, tp.Topic, tp.Partition, host)
		}
		if i > 0 && tps[i-1] == tp {
			w.fail("%s: %s partition %d listed twice under %s", what, tp.Topic, tp.Partition, host)
		}
		if i == 0 || tps[i-1].Topic != tp.Topic {
			runs = append(runs, nil)
		}
		runs[len(runs)-1] = append(runs[len(runs)-1], tp)
	}
	if !w.count(what+" topics", len(runs), maxHostTopics) {
		return
	}
	for _, run := range runs {
		w.name(what+" topic", run[0].Topic)
		if !w.count(what+" partitions", len(run), maxHostPartitions) {
			return
		}
		for _, tp := range run {
			w.int32(tp.Partition)
		}
	}
}

// DecodeAssignment decodes userdata written by Assignment.Encode. It never
// panics; malformed input yields an error wrapping ErrMalformed, an
// unknown version one wrapping ErrUnsupportedVersion.
func DecodeAssignment(b []byte) (Assignment, error) {
	r := newReader(b)
	var a Assignment
	a.Version = r.Uint8("assignment version")
	if r.Err == nil && a.Version != AssignmentVersion {
		return Assignment{}, fmt.Errorf("%w: assignment version %d, want %d",
			ErrUnsupportedVersion, a.Version, AssignmentVersion)
	}
	a.ErrorCode = ErrorCode(r.Int32("error code"))
	ms := r.Int64("next rebalance")
	if r.Err == nil && (ms < 0 || ms > maxRebalanceMs) {
		r.Fail("next rebalance in %d ms is out of range", ms)
	}
	a.NextRebalanceIn = time.Duration(ms) * time.Millisecond
	a.Active = r.tasks("active tasks")
	a.Standby = r.tasks("standby tasks")
	if t, ok := firstShared(a.Active, a.Standby); ok && r.Err == nil {
		r.Fail("task %s is both active and standby", t)
	}
	a.PartitionsByHost = readHostMap(r, "partitions by host")
	a.StandbyPartitionsByHost = readHostMap(r, "standby partitions by host")
	if err := r.done("assignment"); err != nil {
		return Assignment{}, err
	}
	return a, nil
}

func readHostMap(r *reader, what string) map[string][]TopicPartition {
	m := readHosts(r)
	if r.Err != nil {
		r.Err = fmt.Errorf("%s: %w", what, r.Err)
		return nil
	}
	return m
}

func readHosts(r *reader) map[string][]TopicPartition {
	hosts := r.count("endpoints", minHostBytes, maxHosts)
	if hosts == 0 {
		return nil
	}
	m := make(map[string][]TopicPartition, hosts)
	for range hosts {
		host := r.name("endpoint")
		if r.Err != nil {
			return nil
		}
		if _, dup := m[host]; dup || host == "" {
			r.Fail("endpoint %q empty or listed twice", host)
			return nil
		}
		m[host] = readHostTopics(r, host)
	}
	return m
}

// readHostTopics reads the topics and partitions listed under one host.
func readHostTopics(r *reader, host string) []TopicPartition {
	topics := r.count("topics", minTopicBytes, maxHostTopics)
	var tps []TopicPartition
	seen := make(map[string]struct{}, topics)
	for range topics {
		topic := r.name("topic")
		n := r.count("partitions", partitionBytes, maxHostPartitions)
		if r.Err != nil {
			return nil
		}
		if _, dup := seen[topic]; dup || topic == "" {
			r.Fail("topic %q under %s empty or listed twice", topic, host)
			return nil
		}
		seen[topic] = struct{}{}
		start := len(tps)
		tps = slices.Grow(tps, n)
		for range n {
			p := r.Int32("partition")
			if r.Err == nil && p < 0 {
				r.Fail("negative partition %d of %s", p, topic)
			}
			tps = append(tps, TopicPartition{Topic: topic, Partition: p})
		}
		if r.Err != nil {
			return nil
		}
		part := tps[start:]
		slices.SortFunc(part, compareTopicPartitions)
		for i := 1; i < len(part); i++ {
			if part[i] == part[i-1] {
				r.Fail("%s partition %d listed twice under %s", topic, part[i].Partition, host)
				return nil
			}
		}
	}
	slices.SortFunc(tps, compareTopicPartitions)
	return tps
}
