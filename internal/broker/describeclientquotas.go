package broker

// DescribeClientQuotas: versions 0-1 (v1 is the flexible encoding). The
// quotas of the entities matching the filter, from this broker's copy of
// the metadata image; a refused filter fails the whole request, and so does
// a principal without DESCRIBE_CONFIGS on the cluster, as in Kafka.

import (
	"context"
	"maps"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/fjordhq/fjord/internal/acl"
	"github.com/fjordhq/fjord/internal/quota"
	"github.com/fjordhq/fjord/internal/server"
)

func init() { registerAPI(48, 0, 1, (*Broker).handleDescribeClientQuotas) }

func (b *Broker) handleDescribeClientQuotas(_ context.Context, rc *server.RequestContext, kreq kmsg.Request) server.Result {
	req := kreq.(*kmsg.DescribeClientQuotasRequest)
	resp := req.ResponseKind().(*kmsg.DescribeClientQuotasResponse)
	if !b.allowedCluster(rc, acl.OpDescribeConfigs) {
		resp.ErrorCode = kerr.ClusterAuthorizationFailed.Code
		return server.Result{Response: resp}
	}
	filter := quota.Filter{Strict: req.Strict}
	for _, c := range req.Components {
		filter.Components = append(filter.Components, quota.FilterComponent{
			EntityType: c.EntityType, MatchType: quota.MatchType(c.MatchType), Match: c.Match})
	}
	found, err := b.quotas.store.Describe(filter)
	if err != nil {
		// Kafka answers a refused filter with a null entry list.
		resp.ErrorCode, resp.ErrorMessage = errorCode(err), quotaMessage(err)
		return server.Result{Response: resp}
	}
	resp.Entries = make([]kmsg.DescribeClientQuotasResponseEntry, 0, len(found))
	for _, eq := range found {
		entry := kmsg.NewDescribeClientQuotasResponseEntry()
		entry.Entity = entityParts(eq.Entity, func(typ string, name *string) kmsg.DescribeClientQuotasResponseEntryEntity {
			return kmsg.DescribeClientQuotasResponseEntryEntity{Type: typ, Name: name}
		})
		for _, k := range slices.Sorted(maps.Keys(eq.Quotas)) {
			entry.Values = append(entry.Values, kmsg.DescribeClientQuotasResponseEntryValue{Key: string(k), Value: eq.Quotas[k]})
		}
		resp.Entries = append(resp.Entries, entry)
	}
	return server.Result{Response: resp}
}
