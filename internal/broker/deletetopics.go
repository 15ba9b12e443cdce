package broker

// DeleteTopics: versions 0-6 (v6 names topics by name or by id). v0, which
// Kafka 4 removed (KIP-896), is v1 without the throttle time.

import (
	"context"
	"encoding/hex"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/fjordhq/fjord/internal/acl"
	"github.com/fjordhq/fjord/internal/server"
)

func init() { registerAPI(20, 0, 6, (*Broker).handleDeleteTopics) }

func (b *Broker) handleDeleteTopics(ctx context.Context, rc *server.RequestContext, kreq kmsg.Request) server.Result {
	req := kreq.(*kmsg.DeleteTopicsRequest)
	resp := req.ResponseKind().(*kmsg.DeleteTopicsResponse)
	mutations := b.newMutationQuota(rc, req.Version >= 5)
	topics := req.Topics
	if req.Version < 6 {
		topics = nil
		for _, name := range req.TopicNames {
			topics = append(topics, kmsg.DeleteTopicsRequestTopic{Topic: &name})
		}
	}
	for _, rt := range topics {
		out := kmsg.NewDeleteTopicsResponseTopic()
		out.Topic, out.TopicID = rt.Topic, rt.TopicID
		img := b.meta.Image()
		name := ""
		switch {
		case rt.Topic != nil:
			name = *rt.Topic
			if t, ok := img.Topic(name); ok {
				out.TopicID = t.ID
			} else {
				out.ErrorCode = kerr.UnknownTopicOrPartition.Code
			}
		default:
			if t, ok := img.TopicByID(rt.TopicID); ok {
				name = t.Name
				out.Topic = &t.Name
			} else {
				out.ErrorCode = kerr.UnknownTopicID.Code
				msg := "no topic with id " + hex.EncodeToString(rt.TopicID[:])
				out.ErrorMessage = &msg
			}
		}
		if out.ErrorCode == 0 && isInternalTopic(name) {
			out.ErrorCode = kerr.TopicAuthorizationFailed.Code
		}
		// Checked before existence is told: without Delete (and so
		// without Describe) an unknown topic looks like any other.
		if name != "" && !b.allowedTopic(rc, acl.OpDelete, name) {
			out.ErrorCode, out.ErrorMessage = kerr.TopicAuthorizationFailed.Code, nil
			if rt.Topic == nil {
				out.Topic = nil
			}
		}
		if out.ErrorCode == 0 {
			if err := mutations.deleteTopic(name); err != nil {
				out.ErrorCode, out.ErrorMessage = errorCode(err), quotaMessage(err)
			}
		}
		if out.ErrorCode == 0 {
			if err := b.meta.DeleteTopic(ctx, name, out.TopicID); err != nil {
				out.ErrorCode, out.ErrorMessage = errorCode(err), errorMessage(err)
			}
		}
		resp.Topics = append(resp.Topics, out)
	}
	b.awaitLocalApply(ctx)
	return mutations.result(resp)
}
