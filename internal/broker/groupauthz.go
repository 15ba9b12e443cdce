package broker

// Authorization of the group APIs, as KafkaApis checks them, before the
// coordinator sees a request: the group (Read to take part and commit,
// Describe to look, Delete to remove), the topics of offsets (Read to
// commit or delete, Describe to fetch) and, for TxnOffsetCommit, the
// transactional id (Write). A request wholly refused never reaches the
// coordinator; one refused in part goes on without the refused items,
// which are answered with their error in the response.

import (
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/fjordhq/fjord/internal/acl"
	"github.com/fjordhq/fjord/internal/server"
)

// groupAuthz is what authorization made of a group request: refused says
// the whole request is answered with code; otherwise merge, when set,
// adds the refused items to the coordinator's response.
type groupAuthz struct {
	refused bool
	code    int16
	merge   func(kmsg.Response)
}

func (b *Broker) authorizeGroupRequest(rc *server.RequestContext, req kmsg.Request) groupAuthz {
	if !b.authz.enabled {
		return groupAuthz{}
	}
	refuse := func(code *kerr.Error) groupAuthz { return groupAuthz{refused: true, code: code.Code} }
	switch r := req.(type) {
	case *kmsg.JoinGroupRequest:
		if !b.allowedGroup(rc, acl.OpRead, r.Group) {
			return refuse(kerr.GroupAuthorizationFailed)
		}
	case *kmsg.SyncGroupRequest:
		if !b.allowedGroup(rc, acl.OpRead, r.Group) {
			return refuse(kerr.GroupAuthorizationFailed)
		}
	case *kmsg.HeartbeatRequest:
		if !b.allowedGroup(rc, acl.OpRead, r.Group) {
			return refuse(kerr.GroupAuthorizationFailed)
		}
	case *kmsg.LeaveGroupRequest:
		if !b.allowedGroup(rc, acl.OpRead, r.Group) {
			return refuse(kerr.GroupAuthorizationFailed)
		}
	case *kmsg.ConsumerGroupHeartbeatRequest:
		if !b.allowedGroup(rc, acl.OpRead, r.Group) {
			return refuse(kerr.GroupAuthorizationFailed)
		}
		for _, topic := range r.SubscribedTopicNames {
			if !b.allowedTopic(rc, acl.OpDescribe, topic) {
				return refuse(kerr.TopicAuthorizationFailed)
			}
		}
	case *kmsg.OffsetCommitRequest:
		if !b.allowedGroup(rc, acl.OpRead, r.Group) {
			return refuse(kerr.GroupAuthorizationFailed)
		}
		return b.filterOffsetCommit(rc, r)
	case *kmsg.TxnOffsetCommitRequest:
		switch {
		case !b.allowedTxnID(rc, acl.OpWrite, r.TransactionalID):
			return refuse(kerr.TransactionalIDAuthorizationFailed)
		case !b.allowedGroup(rc, acl.OpRead, r.Group):
			return refuse(kerr.GroupAuthorizationFailed)
		}
		return b.filterTxnOffsetCommit(rc, r)
	case *kmsg.OffsetDeleteRequest:
		if !b.allowedGroup(rc, acl.OpDelete, r.Group) {
			return refuse(kerr.GroupAuthorizationFailed)
		}
		return b.filterOffsetDelete(rc, r)
	case *kmsg.OffsetFetchRequest:
		return b.filterOffsetFetch(rc, r)
	case *kmsg.DescribeGroupsRequest:
		return b.filterGroups(rc, acl.OpDescribe, &r.Groups, func(resp kmsg.Response, refused []string) {
			out := resp.(*kmsg.DescribeGroupsResponse)
			for _, g := range refused {
				rg := kmsg.NewDescribeGroupsResponseGroup()
				rg.Group, rg.ErrorCode = g, kerr.GroupAuthorizationFailed.Code
				out.Groups = append(out.Groups, rg)
			}
		})
	case *kmsg.ConsumerGroupDescribeRequest:
		return b.filterGroups(rc, acl.OpDescribe, &r.Groups, func(resp kmsg.Response, refused []string) {
			out := resp.(*kmsg.ConsumerGroupDescribeResponse)
			for _, g := range refused {
				rg := kmsg.NewConsumerGroupDescribeResponseGroup()
				rg.Group, rg.ErrorCode = g, kerr.GroupAuthorizationFailed.Code
				out.Groups = append(out.Groups, rg)
			}
		})
	case *kmsg.DeleteGroupsRequest:
		return b.filterGroups(rc, acl.OpDelete, &r.Groups, func(resp kmsg.Response, refused []string) {
			out := resp.(*kmsg.DeleteGroupsResponse)
			for _, g := range refused {
				out.Groups = append(out.Groups, kmsg.DeleteGroupsResponseGroup{Group: g, ErrorCode: kerr.GroupAuthorizationFailed.Code})
			}
		})
	case *kmsg.ListGroupsRequest:
		if b.allowedCluster(rc, acl.OpDescribe) {
			return groupAuthz{}
		}
		// Without Describe on the cluster, only the groups the
		// principal may describe are listed.
		return groupAuthz{merge: func(resp kmsg.Response) {
			out := resp.(*kmsg.ListGroupsResponse)
			out.Groups = slices.DeleteFunc(out.Groups, func(g kmsg.ListGroupsResponseGroup) bool {
				return !b.allowedGroup(rc, acl.OpDescribe, g.Group)
			})
		}}
	}
	return groupAuthz{}
}

// splitRefused takes out of *items those refused says, in order, and
// returns them.
func splitRefused[T any](items *[]T, refused func(T) bool) []T {
	var out []T
	*items = slices.DeleteFunc(*items, func(x T) bool {
		if refused(x) {
			out = append(out, x)
			return true
		}
		return false
	})
	return out
}

// filterGroups takes out of *groups those op is refused on; merge answers
// them GROUP_AUTHORIZATION_FAILED.
func (b *Broker) filterGroups(rc *server.RequestContext, op acl.Operation, groups *[]string, add func(kmsg.Response, []string)) groupAuthz {
	refused := splitRefused(groups, func(g string) bool { return !b.allowedGroup(rc, op, g) })
	if len(refused) == 0 {
		return groupAuthz{}
	}
	return groupAuthz{merge: func(resp kmsg.Response) { add(resp, refused) }}
}

func (b *Broker) filterOffsetCommit(rc *server.RequestContext, r *kmsg.OffsetCommitRequest) groupAuthz {
	refused := splitRefused(&r.Topics, func(t kmsg.OffsetCommitRequestTopic) bool { return !b.allowedTopic(rc, acl.OpRead, t.Topic) })
	if len(refused) == 0 {
		return groupAuthz{}
	}
	return groupAuthz{merge: func(resp kmsg.Response) {
		out := resp.(*kmsg.OffsetCommitResponse)
		for _, t := range refused {
			rt := kmsg.NewOffsetCommitResponseTopic()
			rt.Topic, rt.TopicID = t.Topic, t.TopicID
			for _, p := range t.Partitions {
				rt.Partitions = append(rt.Partitions, kmsg.OffsetCommitResponseTopicPartition{Partition: p.Partition,
					ErrorCode: kerr.TopicAuthorizationFailed.Code})
			}
			out.Topics = append(out.Topics, rt)
		}
	}}
}

func (b *Broker) filterTxnOffsetCommit(rc *server.RequestContext, r *kmsg.TxnOffsetCommitRequest) groupAuthz {
	refused := splitRefused(&r.Topics, func(t kmsg.TxnOffsetCommitRequestTopic) bool { return !b.allowedTopic(rc, acl.OpRead, t.Topic) })
	if len(refused) == 0 {
		return groupAuthz{}
	}
	return groupAuthz{merge: func(resp kmsg.Response) {
		out := resp.(*kmsg.TxnOffsetCommitResponse)
		for _, t := range refused {
			rt := kmsg.NewTxnOffsetCommitResponseTopic()
			rt.Topic = t.Topic
			for _, p := range t.Partitions {
				rt.Partitions = append(rt.Partitions, kmsg.TxnOffsetCommitResponseTopicPartition{Partition: p.Partition,
					ErrorCode: kerr.TopicAuthorizationFailed.Code})
			}
			out.Topics = append(out.Topics, rt)
		}
	}}
}

func (b *Broker) filterOffsetDelete(rc *server.RequestContext, r *kmsg.OffsetDeleteRequest) groupAuthz {
	refused := splitRefused(&r.Topics, func(t kmsg.OffsetDeleteRequestTopic) bool { return !b.allowedTopic(rc, acl.OpRead, t.Topic) })
	if len(refused) == 0 {
		return groupAuthz{}
	}
	return groupAuthz{merge: func(resp kmsg.Response) {
		out := resp.(*kmsg.OffsetDeleteResponse)
		for _, t := range refused {
			rt := kmsg.NewOffsetDeleteResponseTopic()
			rt.Topic = t.Topic
			for _, p := range t.Partitions {
				rt.Partitions = append(rt.Partitions, kmsg.OffsetDeleteResponseTopicPartition{Partition: p.Partition,
					ErrorCode: kerr.TopicAuthorizationFailed.Code})
			}
			out.Topics = append(out.Topics, rt)
		}
	}}
}

// filterOffsetFetch checks Describe on each group and on each topic asked
// for; when all topics are asked for (nil), those the principal may not
// describe are dropped from the answer.
func (b *Broker) filterOffsetFetch(rc *server.RequestContext, r *kmsg.OffsetFetchRequest) groupAuthz {
	if r.Version < 8 {
		if !b.allowedGroup(rc, acl.OpDescribe, r.Group) {
			return groupAuthz{refused: true, code: kerr.GroupAuthorizationFailed.Code}
		}
		var refused []kmsg.OffsetFetchRequestTopic
		if r.Topics != nil {
			refused = splitRefused(&r.Topics, func(t kmsg.OffsetFetchRequestTopic) bool { return !b.allowedTopic(rc, acl.OpDescribe, t.Topic) })
		}
		return groupAuthz{merge: func(resp kmsg.Response) {
			out := resp.(*kmsg.OffsetFetchResponse)
			out.Topics = slices.DeleteFunc(out.Topics, func(t kmsg.OffsetFetchResponseTopic) bool {
				return !b.allowedTopic(rc, acl.OpDescribe, t.Topic)
			})
			for _, t := range refused {
				rt := kmsg.NewOffsetFetchResponseTopic()
				rt.Topic = t.Topic
				for _, p := range t.Partitions {
					rp := kmsg.NewOffsetFetchResponseTopicPartition()
					rp.Partition, rp.Offset, rp.ErrorCode = p, -1, kerr.TopicAuthorizationFailed.Code
					rt.Partitions = append(rt.Partitions, rp)
				}
				out.Topics = append(out.Topics, rt)
			}
		}}
	}
	var refusedGroups []string
	for _, g := range splitRefused(&r.Groups, func(g kmsg.OffsetFetchRequestGroup) bool { return !b.allowedGroup(rc, acl.OpDescribe, g.Group) }) {
		refusedGroups = append(refusedGroups, g.Group)
	}
	refusedTopics := map[string][]kmsg.OffsetFetchRequestGroupTopic{}
	for i := range r.Groups {
		g := &r.Groups[i]
		if g.Topics == nil {
			continue
		}
		refusedTopics[g.Group] = splitRefused(&g.Topics, func(t kmsg.OffsetFetchRequestGroupTopic) bool {
			return !b.allowedTopic(rc, acl.OpDescribe, t.Topic)
		})
	}
	return groupAuthz{merge: func(resp kmsg.Response) {
		out := resp.(*kmsg.OffsetFetchResponse)
		for i := range out.Groups {
			g := &out.Groups[i]
			g.Topics = slices.DeleteFunc(g.Topics, func(t kmsg.OffsetFetchResponseGroupTopic) bool {
				return !b.allowedTopic(rc, acl.OpDescribe, t.Topic)
			})
			for _, t := range refusedTopics[g.Group] {
				rt := kmsg.NewOffsetFetchResponseGroupTopic()
				rt.Topic = t.Topic
				for _, p := range t.Partitions {
					rp := kmsg.NewOffsetFetchResponseGroupTopicPartition()
					rp.Partition, rp.Offset, rp.ErrorCode = p, -1, kerr.TopicAuthorizationFailed.Code
					rt.Partitions = append(rt.Partitions, rp)
				}
				g.Topics = append(g.Topics, rt)
			}
		}
		for _, name := range refusedGroups {
			rg := kmsg.NewOffsetFetchResponseGroup()
			rg.Group, rg.ErrorCode = name, kerr.GroupAuthorizationFailed.Code
			out.Groups = append(out.Groups, rg)
		}
	}}
}
