package group

import (
	"math"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// listGroups handles ListGroups over the groups this coordinator hosts,
// filtered by state (v4+) and type (v5+: "classic" or "consumer").
func (c *core) listGroups(id uint64, msg *kmsg.ListGroupsRequest) {
	resp := kmsg.NewPtrListGroupsResponse()
	resp.Version = msg.Version
	states := map[string]bool{}
	for _, s := range msg.StatesFilter {
		states[lower(s)] = true
	}
	types := map[string]bool{}
	for _, t := range msg.TypesFilter {
		types[lower(t)] = true
	}
	for _, g := range c.groups {
		if g.state == StateDead || !c.owned[g.partition] {
			continue
		}
		groupType, state := "classic", g.state.String()
		if g.consumer != nil {
			groupType, state = "consumer", g.consumer.state().String()
		}
		if len(types) > 0 && !types[groupType] || len(states) > 0 && !states[lower(state)] {
			continue
		}
		lg := kmsg.NewListGroupsResponseGroup()
		lg.Group, lg.ProtocolType, lg.GroupState, lg.GroupType = g.id, g.protocolType, state, groupType
		resp.Groups = append(resp.Groups, lg)
	}
	c.respond(id, -1, resp)
}

// lower is an ASCII lower-casing: Kafka matches state and type filters
// case-insensitively.
func lower(s string) string {
	b := []byte(s)
	for i, ch := range b {
		if 'A' <= ch && ch <= 'Z' {
			b[i] = ch + 'a' - 'A'
		}
	}
	return string(b)
}

// describeGroups handles DescribeGroups. An unknown group is described as
// Dead with no error, as Kafka does before v6.
func (c *core) describeGroups(id uint64, msg *kmsg.DescribeGroupsRequest) {
	resp := kmsg.NewPtrDescribeGroupsResponse()
	resp.Version = msg.Version
	for _, groupID := range msg.Groups {
		dg := kmsg.NewDescribeGroupsResponseGroup()
		dg.Group = groupID
		dg.AuthorizedOperations = math.MinInt32
		if msg.IncludeAuthorizedOperations {
			// Without ACLs every group operation is allowed: READ(3),
			// DESCRIBE(8) and DELETE(6) as a bit field.
			dg.AuthorizedOperations = 1<<3 | 1<<6 | 1<<8
		}
		if code := c.coordinatorError(groupID); code != 0 {
			dg.ErrorCode = code
			resp.Groups = append(resp.Groups, dg)
			continue
		}
		g := c.lookup(groupID)
		if g == nil {
			dg.State = StateDead.String()
			resp.Groups = append(resp.Groups, dg)
			continue
		}
		if g.consumer != nil {
			c.describeConsumerAsClassic(&dg, g)
			resp.Groups = append(resp.Groups, dg)
			continue
		}
		dg.State, dg.ProtocolType = g.state.String(), g.protocolType
		stable := g.state == StateStable
		if stable {
			dg.Protocol = g.protocol
		}
		for _, mid := range g.order {
			m := g.members[mid]
			dm := kmsg.NewDescribeGroupsResponseGroupMember()
			dm.MemberID, dm.InstanceID, dm.ClientID, dm.ClientHost = m.id, optional(m.instanceID), m.clientID, m.clientHost
			if stable {
				// Metadata and assignment are only meaningful once the
				// generation is settled.
				dm.ProtocolMetadata, dm.MemberAssignment = m.metadataFor(g.protocol), m.assignment
			}
			dg.Members = append(dg.Members, dm)
		}
		resp.Groups = append(resp.Groups, dg)
	}
	c.respond(id, -1, resp)
}

// deleteGroups handles DeleteGroups: an empty group's metadata and offsets
// are removed with tombstones.
func (c *core) deleteGroups(id uint64, msg *kmsg.DeleteGroupsRequest) {
	resp := kmsg.NewPtrDeleteGroupsResponse()
	resp.Version = msg.Version
	partition := int32(-1)
	for _, groupID := range msg.Groups {
		dg := kmsg.NewDeleteGroupsResponseGroup()
		dg.Group = groupID
		dg.ErrorCode = c.deleteGroup(groupID)
		if dg.ErrorCode == 0 && partition < 0 {
			partition = PartitionFor(groupID, c.cfg.NumPartitions)
		}
		resp.Groups = append(resp.Groups, dg)
	}
	c.respond(id, partition, resp)
}

func (c *core) deleteGroup(groupID string) int16 {
	if groupID == "" || len(groupID) > maxGroupIDBytes {
		return kerr.InvalidGroupID.Code
	}
	if code := c.coordinatorError(groupID); code != 0 {
		return code
	}
	g := c.lookup(groupID)
	if g == nil {
		return kerr.GroupIDNotFound.Code
	}
	if g.state != StateEmpty || len(g.pending) > 0 || g.consumer != nil && len(g.consumer.members) > 0 {
		return kerr.NonEmptyGroup.Code
	}
	records := make([]Record, 0, len(g.offsets)+3)
	for tp := range g.offsets {
		records = append(records, offsetTombstone(g.id, tp))
	}
	// Pending transactional offsets go too, as in Kafka's
	// deleteAllOffsets: one tombstone per partition not tombstoned above.
	pendingOnly := map[topicPartition]bool{}
	for _, pending := range g.txnOffsets {
		for tp := range pending {
			if _, ok := g.offsets[tp]; !ok && !pendingOnly[tp] {
				pendingOnly[tp] = true
				records = append(records, offsetTombstone(g.id, tp))
			}
		}
	}
	c.forgetTxns(g)
	if g.consumer != nil {
		records = append(records, consumerGroupTombstones(g.id)...)
	}
	records = append(records, groupTombstone(g.id))
	c.persist(g.partition, records...)
	g.state = StateDead
	delete(c.groups, groupID)
	delete(c.scheduled, groupID)
	return 0
}
