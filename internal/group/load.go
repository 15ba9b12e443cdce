package group

import (
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// loadRecord replays one entry of a partition being loaded: the latest
// record per key wins and a tombstone deletes; a transactional batch's
// offsets are pending until their producer's marker. Records the
// coordinator does not know are skipped.
func (c *core) loadRecord(partition int32, rec LogRecord, now time.Time) error {
	if pos := c.position(partition); rec.Offset >= pos.appendEnd {
		pos.appendEnd = rec.Offset + 1
	}
	if rec.Marker {
		c.endTxn(partition, rec.ProducerID, rec.Commit, rec.Offset)
		return nil
	}
	d, err := decodeRecord(rec.Key, rec.Value)
	if err != nil {
		return err
	}
	if d.skip {
		return nil
	}
	if d.consumer != nil {
		c.loadConsumerRecord(partition, d.group, d.consumer, now)
		return nil
	}
	g := c.groups[d.group]
	if g == nil && (d.offset != nil || d.metadata != nil) {
		g = newGroup(d.group, partition, now)
		c.groups[d.group] = g
	}
	switch {
	case d.offsetKey != nil && d.offset == nil:
		if g != nil {
			delete(g.offsets, *d.offsetKey)
			g.dropPending(*d.offsetKey)
		}
	case d.offsetKey != nil:
		d.offset.recordOffset = rec.Offset
		if rec.Transactional {
			// Replay applies every marker in log order, so the
			// producer's earlier pending offset for this partition, if
			// any, is of the same transaction: replaced.
			c.addPendingOffset(g, rec.ProducerID, *d.offsetKey, d.offset, 0)
		} else {
			g.offsets[*d.offsetKey] = d.offset
		}
	case d.metadata == nil:
		if g != nil {
			// The group was deleted; offsets written after it belong to
			// a new incarnation and come later in the log.
			c.forgetTxns(g)
			delete(c.groups, d.group)
		}
	default:
		if g.consumer != nil && len(d.metadata.Members) == 0 {
			// An empty classic generation written before the group
			// became a consumer group.
			return nil
		}
		g.consumer = nil
		restoreGroup(g, d.metadata)
	}
	return nil
}

// restoreGroup replaces a loaded group's membership with a stored
// generation. Members are restored as Stable; each must heartbeat within
// its session timeout of the load or is removed, as in Kafka.
func restoreGroup(g *group, v *kmsg.GroupMetadataValue) {
	g.members, g.order, g.instances = map[string]*member{}, nil, map[string]string{}
	g.leader = ""
	g.protocolType, g.generation = v.ProtocolType, v.Generation
	g.protocol = deref(v.Protocol)
	for _, vm := range v.Members {
		m := &member{
			id: vm.MemberID, instanceID: deref(vm.InstanceID), clientID: vm.ClientID, clientHost: vm.ClientHost,
			sessionTimeout:   time.Duration(vm.SessionTimeoutMillis) * time.Millisecond,
			rebalanceTimeout: time.Duration(vm.RebalanceTimeoutMillis) * time.Millisecond,
			protocols:        []protocol{{Name: g.protocol, Metadata: vm.Subscription}},
			assignment:       vm.Assignment, synced: true,
		}
		if m.rebalanceTimeout <= 0 {
			m.rebalanceTimeout = m.sessionTimeout
		}
		g.addMember(m)
	}
	g.leader = deref(v.Leader)
	if _, ok := g.members[g.leader]; !ok && len(g.order) > 0 {
		g.leader = g.order[0]
	}
	g.state = StateEmpty
	if len(g.members) > 0 {
		g.state = StateStable
	}
}

// finishLoad makes a loaded partition's groups servable and starts their
// members' session timers from now.
func (c *core) finishLoad(partition int32, now time.Time) {
	c.owned[partition] = true
	for _, g := range c.groups {
		if g.partition != partition {
			continue
		}
		if g.consumer != nil {
			finishConsumerLoad(g, now, c.cfg.ConsumerSessionTimeout)
			c.schedule(g)
			continue
		}
		g.stateTimestamp = now
		for _, m := range g.members {
			m.heartbeatDeadline = now.Add(m.sessionTimeout)
		}
		c.schedule(g)
	}
}

// unload forgets a partition's groups, answering their parked requests with
// NOT_COORDINATOR so that clients look the coordinator up again.
func (c *core) unload(partition int32) {
	delete(c.owned, partition)
	c.unloadTxns(partition)
	for id, g := range c.groups {
		if g.partition != partition {
			continue
		}
		for _, m := range g.members {
			if m.join != nil {
				c.replyJoinError(g, m, kerr.NotCoordinator.Code)
			}
			if m.sync != nil {
				c.replySyncError(g, m, kerr.NotCoordinator.Code)
			}
		}
		delete(c.groups, id)
		delete(c.scheduled, id)
	}
}
