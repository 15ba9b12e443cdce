package broker

// The group coordinator's wiring: __consumer_offsets is created at start if
// missing, the partitions this node leads are handed to the coordinator
// (internal/group), and the group APIs forward to it. Each group API has its
// own file (joingroup.go, offsetcommit.go, ...) opening with its versions.

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/fjordhq/fjord/internal/group"
	"github.com/fjordhq/fjord/internal/metadata"
	"github.com/fjordhq/fjord/internal/partition"
	"github.com/fjordhq/fjord/internal/recordbatch"
	"github.com/fjordhq/fjord/internal/replicas"
	"github.com/fjordhq/fjord/internal/server"
	"github.com/fjordhq/fjord/internal/storage"
)

const (
	offsetsTopic = "__consumer_offsets"
	// offsetsSegmentBytes is Kafka's offsets.topic.segment.bytes default:
	// small segments let compaction reclaim the topic sooner.
	offsetsSegmentBytes = 100 << 20
	// offsetsLoadReadBytes bounds one read while loading a partition.
	offsetsLoadReadBytes = 1 << 20
	// offsetsMaxDecompressedBytes bounds one decompressed batch of the
	// offsets topic when loading.
	offsetsMaxDecompressedBytes = 64 << 20
)

// startGroups creates __consumer_offsets when missing, starts the group
// coordinator and follows leadership of the offsets partitions.
func (b *Broker) startGroups(ctx context.Context) error {
	// __consumer_offsets is created on the first FindCoordinator, as in
	// Kafka, not here: at start the other brokers of a cluster may not have
	// registered yet, and the topic would get too few replicas.
	img := b.meta.Image()
	numPartitions := b.opts.Config.OffsetsTopicNumPartitions
	if t, ok := img.Topic(offsetsTopic); ok {
		numPartitions = int32(len(t.Partitions))
	}
	cfg := b.opts.Config
	b.groups = group.New(group.Options{
		Config: group.Config{
			NumPartitions:          numPartitions,
			InitialRebalanceDelay:  cfg.GroupInitialRebalanceDelay,
			MinSessionTimeout:      cfg.GroupMinSessionTimeout,
			MaxSessionTimeout:      cfg.GroupMaxSessionTimeout,
			MaxSize:                cfg.GroupMaxSize,
			OffsetMetadataMaxBytes: cfg.OffsetMetadataMaxBytes,
			PartitionExists:        b.partitionExists,
			// The group.consumer.* settings are read from the raw
			// properties: the typed config does not carry them yet.
			ConsumerSessionTimeout:    propMillis(cfg.Props, "group.consumer.session.timeout.ms"),
			ConsumerHeartbeatInterval: propMillis(cfg.Props, "group.consumer.heartbeat.interval.ms"),
			ConsumerAssignor:          firstAssignor(cfg.Props["group.consumer.assignors"]),
			Topics:                    func() group.Topics { return imageTopics{b.meta.Image()} },
		},
		Logger: b.logger.With("component", "group"),
	})
	// After each image the replica manager has applied: the offsets
	// partitions it names are opened here.
	b.replicas.Subscribe(b.electGroupPartitions)
	return nil
}

func (b *Broker) createOffsetsTopic(ctx context.Context, img *metadata.Image) (metadata.TopicImage, error) {
	return b.createInternalTopic(ctx, img, internalTopic{
		name:              offsetsTopic,
		partitions:        b.opts.Config.OffsetsTopicNumPartitions,
		replicationFactor: b.opts.Config.OffsetsTopicReplicationFactor,
		segmentBytes:      offsetsSegmentBytes,
	})
}

// electGroupPartitions hands the coordinator the offsets partitions this
// node leads and has opened, and takes back the others.
func (b *Broker) electGroupPartitions(img *metadata.Image) {
	t, ok := img.Topic(offsetsTopic)
	if !ok {
		return
	}
	for i, pi := range t.Partitions {
		p := b.replicas.Partition(offsetsTopic, int32(i))
		if p != nil && pi.Leader == b.opts.NodeID {
			// The same partition yields an equal coordinatorLog, so the
			// coordinator keeps what it loaded across metadata changes.
			b.groups.Elect(int32(i), coordinatorLog{p: p, b: b})
		} else {
			b.groups.Resign(int32(i))
		}
	}
}

func (b *Broker) partitionExists(topic string, index int32) bool {
	t, ok := b.meta.Image().Topic(topic)
	return ok && index >= 0 && int(index) < len(t.Partitions)
}

// groupCoordinatorFor is the node leading groupID's offsets partition, or
// an error code.
func (b *Broker) groupCoordinatorFor(groupID string) (metadata.BrokerImage, int16) {
	img := b.meta.Image()
	t, ok := img.Topic(offsetsTopic)
	if !ok || b.groups == nil {
		return metadata.BrokerImage{}, kerr.CoordinatorNotAvailable.Code
	}
	p := group.PartitionFor(groupID, int32(len(t.Partitions)))
	leader := t.Partitions[p].Leader
	br, ok := img.Broker(leader)
	if !ok || leader < 0 {
		return metadata.BrokerImage{}, kerr.CoordinatorNotAvailable.Code
	}
	return br, 0
}

// groupRequest queues a request for the coordinator on the connection's
// reader, so that a connection's group requests take effect in the order
// they were sent (two pipelined OffsetCommits must not swap), and waits for
// the answer on a Pending goroutine, since a JoinGroup waits for the whole
// join phase.
func (b *Broker) groupRequest(ctx context.Context, rc *server.RequestContext, req kmsg.Request) server.Result {
	r, az := b.authorizeGroupForward(rc, req)
	if az.refused {
		return server.Result{Response: groupErrorResponse(req, az.code)}
	}
	var call *group.Call
	err := errors.New("no group coordinator")
	if b.groups != nil {
		call, err = b.groups.Submit(ctx, r)
	}
	return server.Result{Pending: func(ctx context.Context) kmsg.Response {
		var out kmsg.Response
		if err == nil {
			out, err = call.Wait(ctx)
		}
		return az.answer(req, out, err)
	}}
}

// authorizeGroupForward checks req against the ACLs and makes the
// coordinator's request of it.
func (b *Broker) authorizeGroupForward(rc *server.RequestContext, req kmsg.Request) (group.Request, groupAuthz) {
	host := ""
	if rc.ClientAddr != nil {
		host = rc.ClientAddr.String()
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
	}
	return group.Request{Msg: req, ClientID: rc.ClientID, ClientHost: "/" + host}, b.authorizeGroupRequest(rc, req)
}

// answer is the response to req: the coordinator's, or
// COORDINATOR_NOT_AVAILABLE when it could not answer (err), with what
// authorization refused merged in.
func (az groupAuthz) answer(req kmsg.Request, resp kmsg.Response, err error) kmsg.Response {
	if err != nil || resp == nil {
		resp = groupErrorResponse(req, kerr.CoordinatorNotAvailable.Code)
	}
	if az.merge != nil {
		az.merge(resp)
	}
	return resp
}

// groupErrorResponse answers a group request the coordinator could not
// take, with code everywhere the response has one.
func groupErrorResponse(req kmsg.Request, code int16) kmsg.Response {
	resp := req.ResponseKind()
	resp.SetVersion(req.GetVersion())
	switch r := resp.(type) {
	case *kmsg.JoinGroupResponse:
		r.ErrorCode, r.Generation = code, -1
	case *kmsg.SyncGroupResponse:
		r.ErrorCode = code
	case *kmsg.HeartbeatResponse:
		r.ErrorCode = code
	case *kmsg.LeaveGroupResponse:
		r.ErrorCode = code
	case *kmsg.OffsetCommitResponse:
		for _, t := range req.(*kmsg.OffsetCommitRequest).Topics {
			rt := kmsg.NewOffsetCommitResponseTopic()
			rt.Topic = t.Topic
			for _, p := range t.Partitions {
				rt.Partitions = append(rt.Partitions, kmsg.OffsetCommitResponseTopicPartition{Partition: p.Partition, ErrorCode: code})
			}
			r.Topics = append(r.Topics, rt)
		}
	case *kmsg.TxnOffsetCommitResponse:
		for _, t := range req.(*kmsg.TxnOffsetCommitRequest).Topics {
			rt := kmsg.NewTxnOffsetCommitResponseTopic()
			rt.Topic = t.Topic
			for _, p := range t.Partitions {
				rt.Partitions = append(rt.Partitions, kmsg.TxnOffsetCommitResponseTopicPartition{Partition: p.Partition, ErrorCode: code})
			}
			r.Topics = append(r.Topics, rt)
		}
	case *kmsg.OffsetFetchResponse:
		r.ErrorCode = code
		for _, g := range req.(*kmsg.OffsetFetchRequest).Groups {
			rg := kmsg.NewOffsetFetchResponseGroup()
			rg.Group, rg.ErrorCode = g.Group, code
			r.Groups = append(r.Groups, rg)
		}
	case *kmsg.OffsetDeleteResponse:
		r.ErrorCode = code
	case *kmsg.ListGroupsResponse:
		r.ErrorCode = code
	case *kmsg.DescribeGroupsResponse:
		for _, g := range req.(*kmsg.DescribeGroupsRequest).Groups {
			rg := kmsg.NewDescribeGroupsResponseGroup()
			rg.Group, rg.ErrorCode, rg.AuthorizedOperations = g, code, math.MinInt32
			r.Groups = append(r.Groups, rg)
		}
	case *kmsg.DeleteGroupsResponse:
		for _, g := range req.(*kmsg.DeleteGroupsRequest).Groups {
			r.Groups = append(r.Groups, kmsg.DeleteGroupsResponseGroup{Group: g, ErrorCode: code})
		}
	case *kmsg.ConsumerGroupHeartbeatResponse:
		r.ErrorCode = code
	case *kmsg.ConsumerGroupDescribeResponse:
		for _, g := range req.(*kmsg.ConsumerGroupDescribeRequest).Groups {
			rg := kmsg.NewConsumerGroupDescribeResponseGroup()
			rg.Group, rg.ErrorCode, rg.AuthorizedOperations = g, code, math.MinInt32
			r.Groups = append(r.Groups, rg)
		}
	}
	return resp
}

// propMillis reads a duration in milliseconds from the raw properties; zero
// (the coordinator's default) when unset or not a positive number.
func propMillis(props map[string]string, name string) time.Duration {
	ms, err := strconv.ParseInt(strings.TrimSpace(props[name]), 10, 64)
	if err != nil || ms <= 0 {
		return 0
	}
	return time.Duration(ms) * time.Millisecond
}

// firstAssignor is the default server assignor: the first entry of
// group.consumer.assignors, given by name ("uniform", "range") or by
// Kafka's class name.
func firstAssignor(list string) string {
	first, _, _ := strings.Cut(list, ",")
	first = strings.ToLower(strings.TrimSpace(first))
	switch {
	case strings.HasSuffix(first, "uniformassignor"):
		return "uniform"
	case strings.HasSuffix(first, "rangeassignor"):
		return "range"
	}
	return first
}

// imageTopics adapts a metadata image to group.Topics.
type imageTopics struct{ img *metadata.Image }

func (t imageTopics) Version() uint64 { return t.img.Offset() }

func (t imageTopics) Topic(name string) (group.TopicInfo, bool) {
	ti, ok := t.img.Topic(name)
	return topicInfo(ti), ok
}

func (t imageTopics) TopicByID(id [16]byte) (group.TopicInfo, bool) {
	ti, ok := t.img.TopicByID(id)
	return topicInfo(ti), ok
}

func (t imageTopics) Names() []string {
	all := t.img.Topics()
	names := make([]string, 0, len(all))
	for _, ti := range all {
		names = append(names, ti.Name)
	}
	return names
}

func topicInfo(ti metadata.TopicImage) group.TopicInfo {
	return group.TopicInfo{Name: ti.Name, ID: ti.ID, Partitions: int32(len(ti.Partitions))}
}

// coordinatorLog adapts a replica of a coordinator's internal topic
// (__consumer_offsets, __transaction_state) to the coordinator's log: it
// is group.Log, and txnStateLog wraps it. It is a comparable value: the
// coordinator reloads a partition only when handed a different one.
type coordinatorLog struct {
	p *replicas.Replica
	b *Broker
}

func (l coordinatorLog) Append(records []group.Record, txn *group.Producer) (int64, error) {
	// Only the partition's leader writes (replicas.NewWrite).
	if _, err := l.b.replicas.NewWrite(l.p); err != nil {
		return 0, fmt.Errorf("appending to %s-%d: %w", l.p.Topic, l.p.Index, err)
	}
	nowMs := l.b.now().UnixMilli()
	recs := make([]recordbatch.Record, len(records))
	for i, r := range records {
		recs[i] = recordbatch.Record{Key: r.Key, Value: r.Value}
	}
	spec := recordbatch.BuildSpec{BaseTimestamp: nowMs, Records: recs}
	if txn != nil {
		// A TxnOffsetCommit's batch, as Kafka's coordinator writes it:
		// transactional, of the producer, base sequence 0; the
		// partition checks only the producer's epoch.
		spec.Transactional, spec.Idempotent = true, true
		spec.ProducerID, spec.ProducerEpoch, spec.BaseSequence = txn.ID, txn.Epoch, 0
	}
	batch := recordbatch.Build(spec)
	h, err := recordbatch.ParseHeader(batch)
	if err != nil {
		return 0, fmt.Errorf("building offsets batch: %w", err)
	}
	var res partition.AppendResult
	if txn != nil {
		res, err = l.p.AppendCoordinator(batch, h, nowMs)
	} else {
		res, err = l.p.Append(batch, h, nowMs)
	}
	if err != nil {
		return 0, err
	}
	return int64(res.LastOffset) + 1, nil
}

// offsetsCommitTimeout is Kafka's offsets.commit.timeout.ms: how long a
// group write waits for the offsets partition's ISR.
const offsetsCommitTimeout = 5 * time.Second

// WaitDurable returns once the records below end are fsynced here and, on
// a replicated offsets partition, committed by its ISR (acks=all, as Kafka
// writes __consumer_offsets), so group state survives a coordinator
// failover.
func (l coordinatorLog) WaitDurable(end int64) error {
	return l.wait(context.Background(), end)
}

func (l coordinatorLog) wait(ctx context.Context, end int64) error {
	if end <= 0 {
		return nil
	}
	write, err := l.b.replicas.NewWrite(l.p)
	if err != nil {
		return fmt.Errorf("waiting for %s-%d's ISR: %w", l.p.Topic, l.p.Index, err)
	}
	return write.Wait(ctx, storage.Offset(end-1), -1, offsetsCommitTimeout)
}

func (l coordinatorLog) Load(ctx context.Context, fn func(group.LogRecord) error) error {
	// Everything in the log is read, up to its end, not the high
	// watermark: a new coordinator leads the partition, so its log is what
	// the followers will hold, and a high watermark that trails after a
	// leader change must not hide the latest group state.
	log := l.p.Log()
	from, hw := log.LogStartOffset(), log.LogEndOffset()
	var buf []byte
	for from < hw {
		if err := ctx.Err(); err != nil {
			return err
		}
		slice, err := log.Read(from, offsetsLoadReadBytes, hw)
		if err != nil {
			return err
		}
		if slice.Size == 0 {
			return nil
		}
		buf, err = slice.ReadAll(buf[:0])
		slice.Release()
		if err != nil {
			return err
		}
		batches, err := recordbatch.Split(buf)
		if err != nil {
			return err
		}
		for _, batch := range batches {
			if err := loadBatch(batch, from, fn); err != nil {
				return err
			}
		}
		from = slice.NextOffset
	}
	return nil
}

// loadBatch reports a batch's records, or its transaction marker, with
// what the coordinator needs to replay transactions: offsets, producer id,
// and whether the batch was transactional.
func loadBatch(batch []byte, from storage.Offset, fn func(group.LogRecord) error) error {
	h, err := recordbatch.ParseHeader(batch)
	if err != nil {
		return err
	}
	if h.Control() {
		m, ok, err := recordbatch.ParseMarker(batch)
		if err != nil {
			return err
		}
		if !ok || h.BaseOffset < int64(from) {
			// A control record of another type is ignored, as Kafka does.
			return nil
		}
		return fn(group.LogRecord{Offset: h.BaseOffset, ProducerID: m.ProducerID, Transactional: true, Marker: true, Commit: m.Commit})
	}
	recs, err := recordbatch.Records(batch, offsetsMaxDecompressedBytes)
	if err != nil {
		return err
	}
	for _, r := range recs {
		offset := h.BaseOffset + int64(r.OffsetDelta)
		if offset < int64(from) {
			continue
		}
		rec := group.LogRecord{Offset: offset, ProducerID: h.ProducerID, Transactional: h.Transactional(), Key: r.Key, Value: r.Value}
		if err := fn(rec); err != nil {
			return err
		}
	}
	return nil
}
