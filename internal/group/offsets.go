package group

import (
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// commitOffsets handles OffsetCommit. A commit with generation -1 to an
// empty (or new) group comes from a client managing partitions itself or an
// admin tool; any other commit must come from a member of the current
// generation, as Kafka's validateOffsetCommit requires.
func (c *core) commitOffsets(now time.Time, id uint64, msg *kmsg.OffsetCommitRequest) {
	resp := kmsg.NewPtrOffsetCommitResponse()
	resp.Version = msg.Version
	code, g := c.validateCommit(now, msg)
	var batch commitBatch
	for _, rt := range msg.Topics {
		ot := kmsg.NewOffsetCommitResponseTopic()
		ot.Topic = rt.Topic
		for _, rp := range rt.Partitions {
			op := kmsg.NewOffsetCommitResponseTopicPartition()
			op.Partition = rp.Partition
			op.ErrorCode = code
			if code == 0 {
				tp := topicPartition{Topic: rt.Topic, Partition: rp.Partition}
				op.ErrorCode = c.addCommit(&batch, g.id, tp, rp.Offset, rp.LeaderEpoch, rp.Metadata, commitTime(msg.Version, rp.Timestamp, now))
			}
			ot.Partitions = append(ot.Partitions, op)
		}
		resp.Topics = append(resp.Topics, ot)
	}
	partition := int32(-1)
	if g != nil {
		partition = g.partition
		for i, tp := range batch.tps {
			g.offsets[tp] = batch.commits[i]
		}
		c.persistCommits(g.partition, batch.records, batch.commits)
	}
	c.respond(id, partition, resp)
}

// commitTime is the commit timestamp stored with an offset: the time of
// the commit, or in OffsetCommit v1 the one the client gave, unless -1, as
// Kafka stores it. v0, which old Kafka kept in ZooKeeper, commits to the
// group like v1 with generation -1 (validateCommit).
func commitTime(version int16, timestampMs int64, now time.Time) time.Time {
	if version == 1 && timestampMs != -1 {
		return time.UnixMilli(timestampMs)
	}
	return now
}

// validateCommit returns the error for every partition of a commit, or the
// group to commit to.
func (c *core) validateCommit(now time.Time, msg *kmsg.OffsetCommitRequest) (int16, *group) {
	generation := msg.Generation
	if msg.Version == 0 {
		generation = -1
	}
	code, g, created := c.commitGroup(now, msg.Group, generation)
	if code != 0 || created {
		return code, g
	}
	if g.consumer != nil {
		return validateConsumerCommit(g.consumer, msg, generation), g
	}
	if msg.InstanceID != nil && *msg.InstanceID != "" {
		if holder, ok := g.instances[*msg.InstanceID]; ok && holder != msg.MemberID {
			return kerr.FencedInstanceID.Code, nil
		}
	}
	if generation < 0 && g.state == StateEmpty {
		return 0, g
	}
	m := g.members[msg.MemberID]
	if m == nil {
		return kerr.UnknownMemberID.Code, nil
	}
	if generation != g.generation {
		return kerr.IllegalGeneration.Code, nil
	}
	if g.state == StateCompletingRebalance {
		return kerr.RebalanceInProgress.Code, nil
	}
	// A commit is a sign of life, as in Kafka.
	m.heartbeatDeadline = now.Add(m.sessionTimeout)
	return 0, g
}

// commitGroup is the group an offset commit (plain or transactional) goes
// to, or the error for every partition: the group id must be valid and
// this coordinator's, and a group it does not know is created for a commit
// from outside any generation (created reports that, and nothing more
// needs checking).
func (c *core) commitGroup(now time.Time, groupID string, generation int32) (code int16, g *group, created bool) {
	if groupID == "" || len(groupID) > maxGroupIDBytes {
		return kerr.InvalidGroupID.Code, nil, false
	}
	if code := c.coordinatorError(groupID); code != 0 {
		return code, nil, false
	}
	if g = c.lookup(groupID); g != nil {
		return 0, g, false
	}
	if generation >= 0 {
		// A member of a generation the coordinator no longer knows.
		return kerr.IllegalGeneration.Code, nil, false
	}
	if g = c.create(groupID, now); g == nil {
		return kerr.CoordinatorNotAvailable.Code, nil, false
	}
	return 0, g, true
}

// validateConsumerCommit is Kafka's ConsumerGroup.validateOffsetCommit: a
// commit outside the group is allowed only while it has no member, and a
// member commits with exactly its current epoch (the generation field).
func validateConsumerCommit(cg *consumerGroup, msg *kmsg.OffsetCommitRequest, epoch int32) int16 {
	if epoch < 0 && len(cg.members) == 0 {
		return 0
	}
	m := cg.members[msg.MemberID]
	switch {
	case m == nil:
		return kerr.UnknownMemberID.Code
	case msg.Version < 9:
		// Only OffsetCommit v9+ carries a member epoch.
		return kerr.UnsupportedVersion.Code
	case epoch != m.memberEpoch:
		return kerr.StaleMemberEpoch.Code
	}
	return 0
}

// commitBatch collects the records of one commit request and the offsets
// they write, index for index.
type commitBatch struct {
	records []Record
	commits []*offsetCommit
	tps     []topicPartition
}

// addCommit checks one partition's commit (OffsetCommit or TxnOffsetCommit)
// and adds it to b, stamped committedAt, or returns its error code.
func (c *core) addCommit(b *commitBatch, groupID string, tp topicPartition, offset int64, leaderEpoch int32, metadata *string, committedAt time.Time) int16 {
	if c.cfg.PartitionExists != nil && !c.cfg.PartitionExists(tp.Topic, tp.Partition) {
		return kerr.UnknownTopicOrPartition.Code
	}
	md := deref(metadata)
	if c.cfg.OffsetMetadataMaxBytes >= 0 && len(md) > int(c.cfg.OffsetMetadataMaxBytes) {
		return kerr.OffsetMetadataTooLarge.Code
	}
	commit := &offsetCommit{Offset: offset, LeaderEpoch: -1, Metadata: md, CommitTimestamp: committedAt.UnixMilli(), recordOffset: -1}
	if leaderEpoch >= 0 {
		commit.LeaderEpoch = leaderEpoch
	}
	b.records = append(b.records, offsetCommitRecord(groupID, tp, *commit))
	b.commits = append(b.commits, commit)
	b.tps = append(b.tps, tp)
	return 0
}

// fetchOffsets handles OffsetFetch, single group (v0-7) or many (v8+).
// Partitions without a commit answer offset -1, as Kafka does.
func (c *core) fetchOffsets(id uint64, msg *kmsg.OffsetFetchRequest) {
	resp := kmsg.NewPtrOffsetFetchResponse()
	resp.Version = msg.Version
	partition := int32(-1)
	// RequireStable (v7+) refuses partitions with pending transactional
	// offsets, which the client retries until the transaction ends.
	stable := msg.Version >= 7 && msg.RequireStable
	if msg.Version < 8 {
		// Null topics (v2+) asks for every committed offset.
		var topics []kmsg.OffsetFetchRequestGroupTopic
		if msg.Topics != nil || msg.Version < 2 {
			topics = make([]kmsg.OffsetFetchRequestGroupTopic, 0, len(msg.Topics))
		}
		for _, t := range msg.Topics {
			topics = append(topics, kmsg.OffsetFetchRequestGroupTopic{Topic: t.Topic, Partitions: t.Partitions})
		}
		out, code := c.fetchGroup(msg.Group, nil, -1, topics, stable)
		resp.ErrorCode = code
		for _, t := range out {
			rt := kmsg.NewOffsetFetchResponseTopic()
			rt.Topic = t.Topic
			for _, p := range t.Partitions {
				rp := kmsg.NewOffsetFetchResponseTopicPartition()
				rp.Partition, rp.Offset, rp.LeaderEpoch, rp.Metadata, rp.ErrorCode = p.Partition, p.Offset, p.LeaderEpoch, p.Metadata, p.ErrorCode
				rt.Partitions = append(rt.Partitions, rp)
			}
			resp.Topics = append(resp.Topics, rt)
		}
		if code == 0 {
			partition = PartitionFor(msg.Group, c.cfg.NumPartitions)
		}
		c.respond(id, partition, resp)
		return
	}
	for _, rg := range msg.Groups {
		epoch := rg.MemberEpoch
		if msg.Version < 9 {
			epoch = -1
		}
		out, code := c.fetchGroup(rg.Group, rg.MemberID, epoch, rg.Topics, stable)
		og := kmsg.NewOffsetFetchResponseGroup()
		og.Group, og.Topics, og.ErrorCode = rg.Group, out, code
		resp.Groups = append(resp.Groups, og)
		if code == 0 && partition < 0 {
			// Durability is awaited on one partition per response; a
			// multi-group fetch spanning partitions waits on the first,
			// and the others' commits were answered only once durable.
			partition = PartitionFor(rg.Group, c.cfg.NumPartitions)
		}
	}
	c.respond(id, partition, resp)
}

// fetchGroup answers one group's offsets; topics nil means every committed
// offset of the group.
func (c *core) fetchGroup(groupID string, memberID *string, memberEpoch int32, topics []kmsg.OffsetFetchRequestGroupTopic,
	requireStable bool,
) ([]kmsg.OffsetFetchResponseGroupTopic, int16) {
	if code := c.coordinatorError(groupID); code != 0 {
		return nil, code
	}
	g := c.lookup(groupID)
	if g != nil && g.consumer != nil && (memberID != nil || memberEpoch >= 0) {
		// Kafka's ConsumerGroup.validateOffsetFetch: a member reads
		// offsets only at its current epoch.
		m := g.consumer.members[deref(memberID)]
		if m == nil {
			return nil, kerr.UnknownMemberID.Code
		}
		if memberEpoch != m.memberEpoch {
			return nil, kerr.StaleMemberEpoch.Code
		}
	}
	if topics == nil {
		if g == nil {
			return []kmsg.OffsetFetchResponseGroupTopic{}, 0
		}
		byTopic := map[string][]int32{}
		var order []string
		for tp := range g.offsets {
			if _, ok := byTopic[tp.Topic]; !ok {
				order = append(order, tp.Topic)
			}
			byTopic[tp.Topic] = append(byTopic[tp.Topic], tp.Partition)
		}
		for _, t := range order {
			topics = append(topics, kmsg.OffsetFetchRequestGroupTopic{Topic: t, Partitions: byTopic[t]})
		}
	}
	out := make([]kmsg.OffsetFetchResponseGroupTopic, 0, len(topics))
	for _, t := range topics {
		rt := kmsg.NewOffsetFetchResponseGroupTopic()
		rt.Topic = t.Topic
		for _, p := range t.Partitions {
			rt.Partitions = append(rt.Partitions, fetchPartition(g, topicPartition{Topic: t.Topic, Partition: p}, requireStable))
		}
		out = append(out, rt)
	}
	return out, 0
}

// fetchPartition answers one partition of an OffsetFetch: the committed
// offset, or -1; with requireStable, UNSTABLE_OFFSET_COMMIT while a
// transaction holds a pending offset for it, as Kafka answers.
func fetchPartition(g *group, tp topicPartition, requireStable bool) kmsg.OffsetFetchResponseGroupTopicPartition {
	rp := kmsg.NewOffsetFetchResponseGroupTopicPartition()
	rp.Partition, rp.Offset, rp.LeaderEpoch, rp.Metadata = tp.Partition, -1, -1, strPtr("")
	if g == nil {
		return rp
	}
	if requireStable && g.hasPending(tp) {
		rp.ErrorCode = kerr.UnstableOffsetCommit.Code
		return rp
	}
	if commit, ok := g.offsets[tp]; ok {
		rp.Offset, rp.LeaderEpoch, rp.Metadata = commit.Offset, commit.LeaderEpoch, strPtr(commit.Metadata)
	}
	return rp
}

// deleteOffsets handles OffsetDelete: only offsets of partitions the group
// is not consuming may go.
func (c *core) deleteOffsets(now time.Time, id uint64, msg *kmsg.OffsetDeleteRequest) {
	resp := kmsg.NewPtrOffsetDeleteResponse()
	resp.Version = msg.Version
	fail := func(code int16) {
		resp.ErrorCode = code
		c.respond(id, -1, resp)
	}
	if msg.Group == "" || len(msg.Group) > maxGroupIDBytes {
		fail(kerr.InvalidGroupID.Code)
		return
	}
	if code := c.coordinatorError(msg.Group); code != 0 {
		fail(code)
		return
	}
	g := c.lookup(msg.Group)
	if g == nil {
		fail(kerr.GroupIDNotFound.Code)
		return
	}
	var subscribed map[string]bool
	if g.consumer != nil {
		subscribed = c.consumerSubscribedTopics(g)
	} else if len(g.members) > 0 {
		if g.protocolType != "consumer" {
			fail(kerr.NonEmptyGroup.Code)
			return
		}
		subscribed = g.subscribedTopics()
	}
	var records []Record
	for _, rt := range msg.Topics {
		ot := kmsg.NewOffsetDeleteResponseTopic()
		ot.Topic = rt.Topic
		for _, rp := range rt.Partitions {
			op := kmsg.NewOffsetDeleteResponseTopicPartition()
			op.Partition = rp.Partition
			tp := topicPartition{Topic: rt.Topic, Partition: rp.Partition}
			switch {
			case subscribed[rt.Topic]:
				op.ErrorCode = kerr.GroupSubscribedToTopic.Code
			default:
				// A pending transactional offset is deleted too, as
				// Kafka does: the tombstone drops it when replayed.
				if _, ok := g.offsets[tp]; ok || g.hasPending(tp) {
					delete(g.offsets, tp)
					g.dropPending(tp)
					records = append(records, offsetTombstone(g.id, tp))
				}
			}
			ot.Partitions = append(ot.Partitions, op)
		}
		resp.Topics = append(resp.Topics, ot)
	}
	c.persist(g.partition, records...)
	c.respond(id, g.partition, resp)
}

// subscribedTopics decodes the consumer protocol subscriptions of the
// members; a subscription that does not decode counts as every topic.
func (g *group) subscribedTopics() map[string]bool {
	topics := map[string]bool{}
	for _, m := range g.members {
		var meta kmsg.ConsumerMemberMetadata
		if err := meta.ReadFrom(m.metadataFor(g.protocol)); err != nil {
			for tp := range g.offsets {
				topics[tp.Topic] = true
			}
			continue
		}
		for _, t := range meta.Topics {
			topics[t] = true
		}
	}
	return topics
}
