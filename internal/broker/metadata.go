package broker

// Metadata: versions 0-12. Topics are listed by name or (v10+) by id; a
// null list (v1+) means every topic. Unknown topics named by a client that
// allows auto-creation are created when auto.create.topics.enable is true,
// with num.partitions and default.replication.factor.

import (
	"context"
	"errors"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/fjordhq/fjord/internal/acl"
	"github.com/fjordhq/fjord/internal/metadata"
	"github.com/fjordhq/fjord/internal/server"
)

func init() { registerAPI(3, 0, 12, (*Broker).handleMetadata) }

func (b *Broker) handleMetadata(ctx context.Context, rc *server.RequestContext, kreq kmsg.Request) server.Result {
	req := kreq.(*kmsg.MetadataRequest)
	resp := req.ResponseKind().(*kmsg.MetadataResponse)
	img := b.meta.Image()
	resp.Brokers = b.metadataBrokers(img, rc.Listener)
	clusterID := img.ClusterID()
	resp.ClusterID = &clusterID
	resp.ControllerID = b.controllerID()

	if req.Topics == nil || (req.Version == 0 && len(req.Topics) == 0) {
		for _, t := range img.Topics() {
			// Topics the principal may not describe are left out: their
			// existence is not revealed.
			if b.allowedTopic(rc, acl.OpDescribe, t.Name) {
				resp.Topics = append(resp.Topics, metadataTopic(t))
			}
		}
		return server.Result{Response: resp}
	}
	autoCreate := req.AllowAutoTopicCreation || req.Version < 4
	for _, rt := range req.Topics {
		if rt.Topic == nil {
			t, ok := img.TopicByID(rt.TopicID)
			if !ok {
				resp.Topics = append(resp.Topics, errorTopic(kerr.UnknownTopicID.Code, nil, rt.TopicID))
				continue
			}
			if !b.allowedTopic(rc, acl.OpDescribe, t.Name) {
				resp.Topics = append(resp.Topics, errorTopic(kerr.TopicAuthorizationFailed.Code, nil, rt.TopicID))
				continue
			}
			resp.Topics = append(resp.Topics, metadataTopic(t))
			continue
		}
		name := *rt.Topic
		if !b.allowedTopic(rc, acl.OpDescribe, name) {
			resp.Topics = append(resp.Topics, errorTopic(kerr.TopicAuthorizationFailed.Code, &name, [16]byte{}))
			continue
		}
		t, ok := img.Topic(name)
		if !ok && autoCreate && b.opts.Config.AutoCreateTopics &&
			!b.allowedCluster(rc, acl.OpCreate) && !b.allowedTopic(rc, acl.OpCreate, name) {
			resp.Topics = append(resp.Topics, errorTopic(kerr.TopicAuthorizationFailed.Code, &name, [16]byte{}))
			continue
		}
		if !ok && autoCreate && b.opts.Config.AutoCreateTopics {
			created, err := b.meta.CreateTopic(ctx, metadata.CreateTopicSpec{Name: name, NumPartitions: -1, ReplicationFactor: -1})
			switch {
			case err == nil:
				t, ok = created, true
				b.awaitLocalApply(ctx)
			case errors.Is(err, kerr.TopicAlreadyExists):
				t, ok = b.meta.Image().Topic(name)
			default:
				resp.Topics = append(resp.Topics, errorTopic(errorCode(err), &name, [16]byte{}))
				continue
			}
		}
		if !ok {
			code := kerr.UnknownTopicOrPartition.Code
			if metadata.ValidateTopicName(name) != nil {
				code = kerr.InvalidTopicException.Code
			}
			resp.Topics = append(resp.Topics, errorTopic(code, &name, [16]byte{}))
			continue
		}
		resp.Topics = append(resp.Topics, metadataTopic(t))
	}
	return server.Result{Response: resp}
}

// metadataBrokers lists the live brokers at their addresses on listener,
// the one the client came in on; brokers without it are left out, as
// Kafka does.
func (b *Broker) metadataBrokers(img *metadata.Image, listener string) []kmsg.MetadataResponseBroker {
	var out []kmsg.MetadataResponseBroker
	for _, br := range img.Brokers() {
		if br.Fenced {
			continue // fenced brokers are not offered to clients, as Kafka
		}
		host, port, ok := br.Endpoint(listener)
		if !ok {
			continue
		}
		mb := kmsg.MetadataResponseBroker{NodeID: br.NodeID, Host: host, Port: port}
		if br.Rack != "" {
			rack := br.Rack
			mb.Rack = &rack
		}
		out = append(out, mb)
	}
	if len(out) == 0 {
		// Before this node's registration is applied, describe it anyway so
		// clients can connect.
		out = append(out, kmsg.MetadataResponseBroker{NodeID: b.opts.NodeID, Host: b.opts.AdvertiseHost, Port: b.opts.AdvertisePort})
	}
	return out
}

// controllerID is the node clients see as controller: in combined mode the
// metadata leader, a broker; this node while no leader is known.
func (b *Broker) controllerID() int32 {
	if id := b.meta.ControllerID(); id >= 0 {
		return id
	}
	return b.opts.NodeID
}

func metadataTopic(t metadata.TopicImage) kmsg.MetadataResponseTopic {
	name := t.Name
	mt := kmsg.NewMetadataResponseTopic()
	mt.Topic, mt.TopicID, mt.IsInternal = &name, t.ID, isInternalTopic(name)
	for _, p := range t.Partitions {
		mp := kmsg.NewMetadataResponseTopicPartition()
		mp.Partition, mp.Leader, mp.LeaderEpoch = p.Partition, p.Leader, p.LeaderEpoch
		mp.Replicas, mp.ISR = p.Replicas, p.ISR
		mt.Partitions = append(mt.Partitions, mp)
	}
	return mt
}

func isInternalTopic(name string) bool {
	return name == "__consumer_offsets" || name == "__transaction_state"
}

func errorTopic(code int16, name *string, id [16]byte) kmsg.MetadataResponseTopic {
	mt := kmsg.NewMetadataResponseTopic()
	mt.ErrorCode, mt.Topic, mt.TopicID = code, name, id
	return mt
}
