package broker

// DescribeAcls v0-3: the ACL bindings matching a filter, grouped by
// resource pattern. The principal needs Describe on the cluster.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/fjordhq/fjord/internal/acl"
	"github.com/fjordhq/fjord/internal/server"
)

func init() { registerAPI(29, 0, 3, (*Broker).handleDescribeAcls) }

func (b *Broker) handleDescribeAcls(_ context.Context, rc *server.RequestContext, kreq kmsg.Request) server.Result {
	req := kreq.(*kmsg.DescribeACLsRequest)
	resp := req.ResponseKind().(*kmsg.DescribeACLsResponse)
	fail := func(err *kerr.Error, msg string) server.Result {
		resp.ErrorCode, resp.ErrorMessage = err.Code, &msg
		return server.Result{Response: resp}
	}
	switch {
	case !b.authz.enabled:
		return fail(kerr.SecurityDisabled, kerr.SecurityDisabled.Message)
	case !b.allowedCluster(rc, acl.OpDescribe):
		return fail(kerr.ClusterAuthorizationFailed, kerr.ClusterAuthorizationFailed.Message)
	}
	f := acl.Filter{ResourceType: req.ResourceType, ResourceName: req.ResourceName, PatternType: req.ResourcePatternType,
		Principal: req.Principal, Host: req.Host, Operation: req.Operation, Permission: req.PermissionType}
	if err := f.Validate(); err != nil {
		return fail(kerr.InvalidRequest, err.Error())
	}
	type pattern struct {
		rt   acl.ResourceType
		name string
		pt   acl.PatternType
	}
	index := map[pattern]int{}
	for _, bd := range b.authz.authorizer().Describe(f) {
		key := pattern{bd.ResourceType, bd.ResourceName, bd.PatternType}
		i, ok := index[key]
		if !ok {
			r := kmsg.NewDescribeACLsResponseResource()
			r.ResourceType, r.ResourceName, r.ResourcePatternType = bd.ResourceType, bd.ResourceName, bd.PatternType
			resp.Resources = append(resp.Resources, r)
			i = len(resp.Resources) - 1
			index[key] = i
		}
		a := kmsg.NewDescribeACLsResponseResourceACL()
		a.Principal, a.Host, a.Operation, a.PermissionType = bd.Principal, bd.Host, bd.Operation, bd.Permission
		resp.Resources[i].ACLs = append(resp.Resources[i].ACLs, a)
	}
	return server.Result{Response: resp}
}
