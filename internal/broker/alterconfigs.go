package broker

// AlterConfigs: versions 0-2. The legacy API replaces a resource's whole
// dynamic config with the given set.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/fjordhq/fjord/internal/acl"
	"github.com/fjordhq/fjord/internal/metadata"
	"github.com/fjordhq/fjord/internal/server"
)

func init() { registerAPI(33, 0, 2, (*Broker).handleAlterConfigs) }

func (b *Broker) handleAlterConfigs(ctx context.Context, rc *server.RequestContext, kreq kmsg.Request) server.Result {
	req := kreq.(*kmsg.AlterConfigsRequest)
	resp := req.ResponseKind().(*kmsg.AlterConfigsResponse)
	for _, rr := range req.Resources {
		out := kmsg.NewAlterConfigsResponseResource()
		out.ResourceType, out.ResourceName = rr.ResourceType, rr.ResourceName
		configs := map[string]string{}
		for _, c := range rr.Configs {
			if c.Value != nil {
				configs[c.Name] = *c.Value
			}
		}
		resType, err := b.configResource(rr.ResourceType, rr.ResourceName)
		if err == nil {
			err = b.authorizeConfigs(rc, acl.OpAlterConfigs, rr.ResourceType, rr.ResourceName)
		}
		if err == nil {
			err = b.meta.ReplaceConfigs(ctx, resType, rr.ResourceName, configs, req.ValidateOnly)
		}
		out.ErrorCode, out.ErrorMessage = errorCode(err), errorMessage(err)
		resp.Resources = append(resp.Resources, out)
	}
	return server.Result{Response: resp}
}

// authorizeConfigs checks op (DescribeConfigs, AlterConfigs) on a topic,
// or on the cluster for a broker's configs, as Kafka.
func (b *Broker) authorizeConfigs(rc *server.RequestContext, op acl.Operation, t kmsg.ConfigResourceType, name string) error {
	switch t {
	case kmsg.ConfigResourceTypeTopic:
		if !b.allowedTopic(rc, op, name) {
			return kerr.TopicAuthorizationFailed
		}
	case kmsg.ConfigResourceTypeBroker, kmsg.ConfigResourceTypeBrokerLogger:
		if !b.allowedCluster(rc, op) {
			return kerr.ClusterAuthorizationFailed
		}
	}
	return nil
}

// configResource maps a wire resource type to the metadata one, refusing
// what cannot be altered here.
func (b *Broker) configResource(t kmsg.ConfigResourceType, name string) (metadata.ResourceType, error) {
	switch t {
	case kmsg.ConfigResourceTypeTopic:
		return metadata.ResourceTopic, nil
	case kmsg.ConfigResourceTypeBroker:
		if err := b.checkBrokerResource(name, true); err != nil {
			return "", err
		}
		return metadata.ResourceBroker, nil
	}
	return "", kerr.InvalidRequest
}
