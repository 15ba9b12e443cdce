package broker

// AlterClientQuotas: versions 0-1 (v1 is the flexible encoding). Each entry
// is validated as Kafka's controller validates it (quota.Store.PlanAlter:
// entity types and combinations, keys allowed for the entity, values) and
// answered on its own; validate_only stops there. The accepted changes are
// written to the metadata log in one controller operation, whose failure
// is every accepted entry's answer. Without ALTER_CONFIGS on the cluster
// every entry is refused, as in Kafka.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/fjordhq/fjord/internal/acl"
	"github.com/fjordhq/fjord/internal/metadata"
	"github.com/fjordhq/fjord/internal/quota"
	"github.com/fjordhq/fjord/internal/server"
)

func init() { registerAPI(49, 0, 1, (*Broker).handleAlterClientQuotas) }

func (b *Broker) handleAlterClientQuotas(ctx context.Context, rc *server.RequestContext, kreq kmsg.Request) server.Result {
	req := kreq.(*kmsg.AlterClientQuotasRequest)
	resp := req.ResponseKind().(*kmsg.AlterClientQuotasResponse)
	alterations := make([]quota.Alteration, len(req.Entries))
	for i, e := range req.Entries {
		for _, c := range e.Entity {
			alterations[i].Entity = append(alterations[i].Entity, quota.WireComponent{Type: c.Type, Name: c.Name})
		}
		for _, op := range e.Ops {
			alterations[i].Ops = append(alterations[i].Ops, quota.Op{Key: quota.Key(op.Key), Value: op.Value, Remove: op.Remove})
		}
	}
	results, records := b.quotas.store.PlanAlter(alterations)
	var writeErr error
	if !b.allowedCluster(rc, acl.OpAlterConfigs) {
		for i := range results {
			results[i] = kerr.ClusterAuthorizationFailed
		}
	} else if !req.ValidateOnly && len(records) > 0 {
		_, writeErr = b.meta.AlterSecurity(ctx, metadata.SecurityChange{Quotas: quotaRecords(records)})
	}
	for i, e := range req.Entries {
		out := kmsg.NewAlterClientQuotasResponseEntry()
		for _, c := range e.Entity {
			out.Entity = append(out.Entity, kmsg.AlterClientQuotasResponseEntryEntity{Type: c.Type, Name: c.Name})
		}
		err := results[i]
		if err == nil {
			err = writeErr
		}
		if err != nil {
			out.ErrorCode, out.ErrorMessage = errorCode(err), quotaMessage(err)
		}
		resp.Entries = append(resp.Entries, out)
	}
	return server.Result{Response: resp}
}

// quotaRecords are planned changes as the metadata log records them.
func quotaRecords(records []quota.Record) []metadata.ClientQuotaRecord {
	out := make([]metadata.ClientQuotaRecord, 0, len(records))
	for _, r := range records {
		rec := metadata.ClientQuotaRecord{Key: string(r.Key)}
		rec.Entity = entityParts(r.Entity, func(typ string, name *string) metadata.QuotaEntityPart {
			return metadata.QuotaEntityPart{Type: typ, Name: name}
		})
		if !r.Remove {
			v := r.Value
			rec.Value = &v
		}
		out = append(out, rec)
	}
	return out
}
