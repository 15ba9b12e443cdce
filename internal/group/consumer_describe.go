package group

import (
	"math"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// consumerMemberType is ConsumerGroupDescribe v1's member type of a member
// speaking the consumer protocol (0 is classic, -1 unknown).
const consumerMemberType = 1

// consumerGroupDescribe handles ConsumerGroupDescribe.
func (c *core) consumerGroupDescribe(id uint64, msg *kmsg.ConsumerGroupDescribeRequest) {
	resp := kmsg.NewPtrConsumerGroupDescribeResponse()
	resp.Version = msg.Version
	topics := c.topics()
	for _, groupID := range msg.Groups {
		dg := kmsg.NewConsumerGroupDescribeResponseGroup()
		dg.Group = groupID
		dg.AuthorizedOperations = math.MinInt32
		if msg.IncludeAuthorizedOperations {
			dg.AuthorizedOperations = 1<<3 | 1<<6 | 1<<8
		}
		if code := c.coordinatorError(groupID); code != 0 {
			dg.ErrorCode = code
			resp.Groups = append(resp.Groups, dg)
			continue
		}
		g := c.lookup(groupID)
		switch {
		case g == nil:
			dg.ErrorCode, dg.ErrorMessage = kerr.GroupIDNotFound.Code, strPtr("Group "+groupID+" not found.")
		case g.consumer == nil:
			dg.ErrorCode, dg.ErrorMessage = kerr.GroupIDNotFound.Code, strPtr("Group "+groupID+" is not a consumer group.")
		default:
			c.describeConsumerGroup(&dg, g, topics)
		}
		resp.Groups = append(resp.Groups, dg)
	}
	c.respond(id, -1, resp)
}

func (c *core) describeConsumerGroup(dg *kmsg.ConsumerGroupDescribeResponseGroup, g *group, topics Topics) {
	cg := g.consumer
	dg.State, dg.Epoch, dg.AssignmentEpoch = cg.state().String(), cg.epoch, cg.assignmentEpoch
	dg.AssignorName = cg.preferredAssignor(c.cfg.ConsumerAssignor)
	for _, m := range sortedConsumerMembers(cg) {
		dm := kmsg.NewConsumerGroupDescribeResponseGroupMember()
		dm.MemberID, dm.InstanceID, dm.RackID = m.id, optional(m.instanceID), optional(m.rackID)
		dm.MemberEpoch, dm.ClientID, dm.ClientHost = m.memberEpoch, m.clientID, m.clientHost
		dm.SubscribedTopics = slices.Clone(m.subscribedNames)
		if dm.SubscribedTopics == nil {
			dm.SubscribedTopics = []string{}
		}
		dm.SubscribedTopicRegex = optional(m.regex)
		dm.Assignment = describedAssignment(m.assigned, topics)
		dm.TargetAssignment = describedAssignment(cg.target[m.id], topics)
		dm.MemberType = consumerMemberType
		dg.Members = append(dg.Members, dm)
	}
}

func describedAssignment(a assignment, topics Topics) kmsg.Assignment {
	out := kmsg.Assignment{TopicPartitions: []kmsg.AssignmentTopicPartition{}}
	for _, t := range a.sortedTopics() {
		name := ""
		if info, ok := topics.TopicByID(t); ok {
			name = info.Name
		}
		out.TopicPartitions = append(out.TopicPartitions, kmsg.AssignmentTopicPartition{TopicID: t, Topic: name, Partitions: slices.Clone(a[t])})
	}
	return out
}

// consumerAssignmentBytes encodes a member's current assignment as the
// classic consumer protocol's assignment, so DescribeGroups shows consumer
// groups to tools that only speak it.
func consumerAssignmentBytes(a assignment, topics Topics) []byte {
	var ca kmsg.ConsumerMemberAssignment
	ca.Default()
	for _, t := range a.sortedTopics() {
		info, ok := topics.TopicByID(t)
		if !ok {
			continue
		}
		ca.Topics = append(ca.Topics, kmsg.ConsumerMemberAssignmentTopic{Topic: info.Name, Partitions: slices.Clone(a[t])})
	}
	return ca.AppendTo(nil)
}

// describeConsumerAsClassic fills a DescribeGroups entry for a consumer
// group: its type shows as protocol type "consumer", its protocol as the
// server assignor.
func (c *core) describeConsumerAsClassic(dg *kmsg.DescribeGroupsResponseGroup, g *group) {
	cg := g.consumer
	topics := c.topics()
	dg.State, dg.ProtocolType = cg.state().String(), "consumer"
	dg.Protocol = cg.preferredAssignor(c.cfg.ConsumerAssignor)
	for _, m := range sortedConsumerMembers(cg) {
		dm := kmsg.NewDescribeGroupsResponseGroupMember()
		dm.MemberID, dm.InstanceID, dm.ClientID, dm.ClientHost = m.id, optional(m.instanceID), m.clientID, m.clientHost
		var meta kmsg.ConsumerMemberMetadata
		meta.Default()
		meta.Topics = slices.Clone(m.subscribedNames)
		dm.ProtocolMetadata = meta.AppendTo(nil)
		dm.MemberAssignment = consumerAssignmentBytes(m.assigned, topics)
		dg.Members = append(dg.Members, dm)
	}
}

// consumerSubscribedTopics are the topics some member of a consumer group
// subscribes to, by name or regular expression; OffsetDelete refuses them.
func (c *core) consumerSubscribedTopics(g *group) map[string]bool {
	topics := c.topics()
	out := map[string]bool{}
	for _, m := range g.consumer.members {
		for _, n := range m.subscribedNames {
			out[n] = true
		}
		for _, t := range g.consumer.subscribedTopics(m, topics) {
			out[t.Name] = true
		}
	}
	return out
}
