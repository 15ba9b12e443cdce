package broker

// DeleteAcls v0-3: removes the ACL bindings matching each filter and
// answers which they were. The principal needs Alter on the cluster.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/fjordhq/fjord/internal/acl"
	"github.com/fjordhq/fjord/internal/metadata"
	"github.com/fjordhq/fjord/internal/server"
)

func init() { registerAPI(31, 0, 3, (*Broker).handleDeleteAcls) }

func (b *Broker) handleDeleteAcls(ctx context.Context, rc *server.RequestContext, kreq kmsg.Request) server.Result {
	req := kreq.(*kmsg.DeleteACLsRequest)
	resp := req.ResponseKind().(*kmsg.DeleteACLsResponse)
	results := make([]kmsg.DeleteACLsResponseResult, len(req.Filters))
	fail := func(err *kerr.Error) server.Result {
		for i := range results {
			results[i] = kmsg.NewDeleteACLsResponseResult()
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
	authorizer := b.authz.authorizer()
	var change metadata.SecurityChange
	seen := map[acl.ID]bool{}
	for i, kf := range req.Filters {
		results[i] = kmsg.NewDeleteACLsResponseResult()
		f := acl.Filter{ResourceType: kf.ResourceType, ResourceName: kf.ResourceName, PatternType: kf.ResourcePatternType,
			Principal: kf.Principal, Host: kf.Host, Operation: kf.Operation, Permission: kf.PermissionType}
		if err := f.Validate(); err != nil {
			results[i].ErrorCode, results[i].ErrorMessage = errorCode(err), errorMessage(err)
			continue
		}
		for _, m := range authorizer.Matching(f) {
			out := kmsg.NewDeleteACLsResponseResultMatchingACL()
			out.ResourceType, out.ResourceName, out.ResourcePatternType = m.Binding.ResourceType, m.Binding.ResourceName, m.Binding.PatternType
			out.Principal, out.Host, out.Operation, out.PermissionType = m.Binding.Principal, m.Binding.Host, m.Binding.Operation, m.Binding.Permission
			results[i].MatchingACLs = append(results[i].MatchingACLs, out)
			if !seen[m.ID] {
				seen[m.ID] = true
				change.ACLDeletes = append(change.ACLDeletes, [16]byte(m.ID))
			}
		}
	}
	if len(change.ACLDeletes) > 0 {
		if _, err := b.meta.AlterSecurity(ctx, change); err != nil {
			return fail(kerr.ErrorForCode(errorCode(err)).(*kerr.Error))
		}
	}
	resp.Results = results
	return server.Result{Response: resp}
}
