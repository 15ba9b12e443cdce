package broker

// DescribeConfigs: versions 0-4 for topics and brokers, with synonyms (v1+)
// and documentation (v3+). Sensitive values are returned as null. v0, which
// Kafka 4 removed (KIP-896), tells is_default (the value is the default)
// where later versions tell the source.

import (
	"context"
	"strconv"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/fjordhq/fjord/internal/acl"
	"github.com/fjordhq/fjord/internal/config"
	"github.com/fjordhq/fjord/internal/metadata"
	"github.com/fjordhq/fjord/internal/server"
)

func init() { registerAPI(32, 0, 4, (*Broker).handleDescribeConfigs) }

func (b *Broker) handleDescribeConfigs(_ context.Context, rc *server.RequestContext, kreq kmsg.Request) server.Result {
	req := kreq.(*kmsg.DescribeConfigsRequest)
	resp := req.ResponseKind().(*kmsg.DescribeConfigsResponse)
	img := b.meta.Image()
	for _, rr := range req.Resources {
		out := kmsg.NewDescribeConfigsResponseResource()
		out.ResourceType, out.ResourceName = rr.ResourceType, rr.ResourceName
		var entries []config.Entry
		if err := b.authorizeConfigs(rc, acl.OpDescribeConfigs, rr.ResourceType, rr.ResourceName); err != nil {
			out.ErrorCode, out.ErrorMessage = errorCode(err), errorMessage(err)
			resp.Resources = append(resp.Resources, out)
			continue
		}
		switch rr.ResourceType {
		case kmsg.ConfigResourceTypeTopic:
			t, ok := img.Topic(rr.ResourceName)
			if !ok {
				out.ErrorCode = kerr.UnknownTopicOrPartition.Code
				break
			}
			entries = config.DescribeTopicLayers(b.brokerLayers(img), t.Configs)
		case kmsg.ConfigResourceTypeBroker:
			if err := b.checkBrokerResource(rr.ResourceName, false); err != nil {
				out.ErrorCode, out.ErrorMessage = errorCode(err), errorMessage(err)
				break
			}
			layers := b.brokerLayers(img)
			if rr.ResourceName == "" {
				layers.DynamicBroker = nil
			}
			entries = config.DescribeBrokerLayers(layers)
		default:
			out.ErrorCode = kerr.InvalidRequest.Code
			msg := "unsupported resource type " + rr.ResourceType.String()
			out.ErrorMessage = &msg
		}
		out.Configs = describedConfigs(entries, rr.ConfigNames, req.IncludeSynonyms, req.IncludeDocumentation)
		resp.Resources = append(resp.Resources, out)
	}
	return server.Result{Response: resp}
}

// brokerLayers are this broker's config layers in the image.
func (b *Broker) brokerLayers(img *metadata.Image) config.BrokerLayers {
	return config.BrokerLayers{
		DynamicBroker:  img.BrokerConfigs(strconv.Itoa(int(b.opts.NodeID))),
		DynamicDefault: img.BrokerConfigs(""),
		Static:         b.opts.StaticProps,
	}
}

// checkBrokerResource accepts this broker's id, or the empty name for the
// cluster-wide default when allowDefault.
func (b *Broker) checkBrokerResource(name string, allowDefault bool) error {
	if name == "" {
		return nil
	}
	id, err := strconv.Atoi(name)
	if err != nil || int32(id) != b.opts.NodeID {
		return kerr.InvalidRequest
	}
	return nil
}

func describedConfigs(entries []config.Entry, names []string, synonyms, docs bool) []kmsg.DescribeConfigsResponseResourceConfig {
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	var out []kmsg.DescribeConfigsResponseResourceConfig
	for _, e := range entries {
		if names != nil && !want[e.Name] {
			continue
		}
		c := kmsg.NewDescribeConfigsResponseResourceConfig()
		c.Name, c.ReadOnly, c.IsSensitive = e.Name, e.ReadOnly, e.Sensitive
		c.Source = kmsg.ConfigSource(e.Source)
		c.IsDefault = e.Source == config.SourceDefault
		c.ConfigType = kmsg.ConfigType(e.Type)
		if !e.Null && !e.Sensitive {
			v := e.Value
			c.Value = &v
		}
		if docs && e.Doc != "" {
			doc := e.Doc
			c.Documentation = &doc
		}
		if synonyms {
			for _, s := range e.Synonyms {
				syn := kmsg.NewDescribeConfigsResponseResourceConfigConfigSynonym()
				syn.Name, syn.Source = s.Name, kmsg.ConfigSource(s.Source)
				if !e.Sensitive {
					v := s.Value
					syn.Value = &v
				}
				c.ConfigSynonyms = append(c.ConfigSynonyms, syn)
			}
		}
		out = append(out, c)
	}
	return out
}
