package broker

// CreateAcls v0-3: adds ACL bindings to the metadata quorum. The principal
// needs Alter on the cluster; every binding is checked as Kafka checks it
// (concrete resource, pattern, operation and permission, a principal of
// the form Type:name, a host of * or an IP). Without an authorizer each
// creation answers SECURITY_DISABLED.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/fjordhq/fjord/internal/acl"
	"github.com/fjordhq/fjord/internal/metadata"
	"github.com/fjordhq/fjord/internal/server"
)

func init() { registerAPI(30, 0, 3, (*Broker).handleCreateAcls) }

func (b *Broker) handleCreateAcls(ctx context.Context, rc *server.RequestContext, kreq kmsg.Request) server.Result {
	req := kreq.(*kmsg.CreateACLsRequest)
	resp := req.ResponseKind().(*kmsg.CreateACLsResponse)
	results := make([]kmsg.CreateACLsResponseResult, len(req.Creations))
	fail := func(err *kerr.Error) server.Result {
		for i := range results {
			results[i] = kmsg.NewCreateACLsResponseResult()
			results[i].ErrorCode, results[i].ErrorMessage = err.Code, &err.Message
		}
		resp.Results = results
		return server.Result{Response: resp}
	}
	switch {
	case !b.authz.enabled:
		return fail(kerr.SecurityDisabled)
	case !b.allowedCluster(rc, acl.OpAlter):
		return fail(kerr.ClusterAuthorizationFailed)
	}
	var change metadata.SecurityChange
	var created []int
	for i, c := range req.Creations {
		results[i] = kmsg.NewCreateACLsResponseResult()
		bd := acl.Binding{ResourceType: c.ResourceType, ResourceName: c.ResourceName, PatternType: c.ResourcePatternType,
			Principal: c.Principal, Host: c.Host, Operation: c.Operation, Permission: c.PermissionType}
		if err := bd.Validate(); err != nil {
			results[i].ErrorCode, results[i].ErrorMessage = errorCode(err), errorMessage(err)
			continue
		}
		change.ACLCreates = append(change.ACLCreates, metadata.ACLRecord{ResourceType: int8(c.ResourceType),
			ResourceName: c.ResourceName, PatternType: int8(c.ResourcePatternType), Principal: c.Principal, Host: c.Host,
			Operation: int8(c.Operation), Permission: int8(c.PermissionType)})
		created = append(created, i)
	}
	if len(created) > 0 {
		if _, err := b.meta.AlterSecurity(ctx, change); err != nil {
			for _, i := range created {
				results[i].ErrorCode, results[i].ErrorMessage = errorCode(err), errorMessage(err)
			}
		}
	}
	resp.Results = results
	return server.Result{Response: resp}
}
