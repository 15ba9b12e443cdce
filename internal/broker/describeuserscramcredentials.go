package broker

// DescribeUserScramCredentials v0: the mechanisms and iteration counts of
// users' SCRAM credentials (never the keys), for all users when none is
// named.

import (
	"context"
	"maps"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/fjordhq/fjord/internal/acl"
	"github.com/fjordhq/fjord/internal/metadata"
	"github.com/fjordhq/fjord/internal/server"
)

func init() { registerAPI(50, 0, 0, (*Broker).handleDescribeUserScramCredentials) }

func (b *Broker) handleDescribeUserScramCredentials(_ context.Context, rc *server.RequestContext, kreq kmsg.Request) server.Result {
	req := kreq.(*kmsg.DescribeUserSCRAMCredentialsRequest)
	resp := req.ResponseKind().(*kmsg.DescribeUserSCRAMCredentialsResponse)
	if !b.allowedCluster(rc, acl.OpDescribe) {
		resp.ErrorCode = kerr.ClusterAuthorizationFailed.Code
		return server.Result{Response: resp}
	}
	img := b.meta.Image()
	if req.Users == nil {
		for _, u := range img.ScramUsers() {
			resp.Results = append(resp.Results, describedScramUser(u))
		}
		return server.Result{Response: resp}
	}
	counts := map[string]int{}
	for _, u := range req.Users {
		counts[u.Name]++
	}
	users := map[string]metadata.ScramUser{}
	for _, u := range img.ScramUsers() {
		users[u.Name] = u
	}
	done := map[string]bool{}
	for _, ru := range req.Users {
		if done[ru.Name] {
			continue
		}
		done[ru.Name] = true
		out := kmsg.NewDescribeUserSCRAMCredentialsResponseResult()
		out.User = ru.Name
		u, ok := users[ru.Name]
		switch {
		case counts[ru.Name] > 1:
			out.ErrorCode = kerr.DuplicateResource.Code
			msg := "cannot describe the same user more than once"
			out.ErrorMessage = &msg
		case !ok:
			out.ErrorCode = kerr.ResourceNotFound.Code
			msg := "attempt to describe a user credential that does not exist"
			out.ErrorMessage = &msg
		default:
			out = describedScramUser(u)
		}
		resp.Results = append(resp.Results, out)
	}
	return server.Result{Response: resp}
}

func describedScramUser(u metadata.ScramUser) kmsg.DescribeUserSCRAMCredentialsResponseResult {
	out := kmsg.NewDescribeUserSCRAMCredentialsResponseResult()
	out.User = u.Name
	for _, mech := range slices.Sorted(maps.Keys(u.Credentials)) {
		info := kmsg.NewDescribeUserSCRAMCredentialsResponseResultCredentialInfo()
		info.Mechanism, info.Iterations = mech, u.Credentials[mech].Iterations
		out.CredentialInfos = append(out.CredentialInfos, info)
	}
	return out
}
