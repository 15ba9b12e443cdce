package broker

// AlterUserScramCredentials v0: creates, replaces and deletes SCRAM
// credentials in the metadata quorum. The client sends the salt and the
// salted password (never the password); the broker keeps only the keys
// derived from them. Results are per user: a user whose alterations are
// not all acceptable gets none of them.

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/fjordhq/fjord/internal/acl"
	"github.com/fjordhq/fjord/internal/metadata"
	"github.com/fjordhq/fjord/internal/sasl"
	"github.com/fjordhq/fjord/internal/server"
)

func init() { registerAPI(51, 0, 0, (*Broker).handleAlterUserScramCredentials) }

// userAlteration is what one user of the request gets.
type userAlteration struct {
	err     error
	upserts []metadata.ScramCredentialRecord
	deletes []metadata.RemoveScramCredentialRecord
}

func (b *Broker) handleAlterUserScramCredentials(ctx context.Context, rc *server.RequestContext, kreq kmsg.Request) server.Result {
	req := kreq.(*kmsg.AlterUserSCRAMCredentialsRequest)
	resp := req.ResponseKind().(*kmsg.AlterUserSCRAMCredentialsResponse)
	if !b.allowedCluster(rc, acl.OpAlter) {
		refuseScramAlterations(req, resp)
		return server.Result{Response: resp}
	}
	var order []string
	users := map[string]*userAlteration{}
	seen := map[string]map[int8]bool{}
	user := func(name string, mech int8) *userAlteration {
		u, ok := users[name]
		if !ok {
			u = &userAlteration{}
			users[name], seen[name] = u, map[int8]bool{}
			order = append(order, name)
		}
		if seen[name][mech] && u.err == nil {
			u.err = newScramError(kerr.DuplicateResource, "a user credential cannot be altered twice in the same request")
		}
		seen[name][mech] = true
		return u
	}
	for _, d := range req.Deletions {
		u := user(d.Name, d.Mechanism)
		if err := checkScramTarget(d.Name, d.Mechanism); err != nil && u.err == nil {
			u.err = err
		}
		u.deletes = append(u.deletes, metadata.RemoveScramCredentialRecord{User: d.Name, Mechanism: d.Mechanism})
	}
	for _, up := range req.Upsertions {
		u := user(up.Name, up.Mechanism)
		if err := checkScramTarget(up.Name, up.Mechanism); err != nil {
			if u.err == nil {
				u.err = err
			}
			continue
		}
		cred, err := sasl.ScramCredentialFromSaltedPassword(sasl.ScramMechanism(up.Mechanism), up.Salt, up.SaltedPassword, int(up.Iterations))
		if err != nil {
			if u.err == nil {
				u.err = newScramError(kerr.UnacceptableCredential, err.Error())
			}
			continue
		}
		u.upserts = append(u.upserts, metadata.ScramCredentialRecord{User: up.Name, Mechanism: up.Mechanism, Salt: cred.Salt,
			StoredKey: cred.StoredKey, ServerKey: cred.ServerKey, Iterations: int32(cred.Iterations)})
	}
	var change metadata.SecurityChange
	var upsertOwners, deleteOwners []string
	for _, name := range order {
		u := users[name]
		if u.err != nil {
			continue
		}
		for _, r := range u.upserts {
			change.ScramUpserts = append(change.ScramUpserts, r)
			upsertOwners = append(upsertOwners, name)
		}
		for _, r := range u.deletes {
			change.ScramDeletes = append(change.ScramDeletes, r)
			deleteOwners = append(deleteOwners, name)
		}
	}
	if len(change.ScramUpserts)+len(change.ScramDeletes) > 0 {
		res, err := b.meta.AlterSecurity(ctx, change)
		for i, owner := range upsertOwners {
			if e := pick(err, res.ScramUpserts, i); e != nil && users[owner].err == nil {
				users[owner].err = e
			}
		}
		for i, owner := range deleteOwners {
			if e := pick(err, res.ScramDeletes, i); e != nil && users[owner].err == nil {
				users[owner].err = e
			}
		}
	}
	for _, name := range order {
		out := kmsg.NewAlterUserSCRAMCredentialsResponseResult()
		out.User = name
		if err := users[name].err; err != nil {
			out.ErrorCode, out.ErrorMessage = errorCode(err), errorMessage(err)
		}
		resp.Results = append(resp.Results, out)
	}
	return server.Result{Response: resp}
}

// pick is the error of item i: the operation's, else the item's own.
func pick(opErr error, items []error, i int) error {
	if opErr != nil {
		return opErr
	}
	if i < len(items) {
		return items[i]
	}
	return nil
}

func checkScramTarget(name string, mech int8) error {
	if name == "" {
		return newScramError(kerr.UnacceptableCredential, "username must not be empty")
	}
	if !sasl.ScramMechanism(mech).Valid() {
		return newScramError(kerr.UnsupportedSaslMechanism, fmt.Sprintf("unknown SCRAM mechanism %d", mech))
	}
	return nil
}

// scramError is a per-user refusal with its Kafka code.
type scramError struct {
	code *kerr.Error
	msg  string
}

func newScramError(code *kerr.Error, msg string) error { return &scramError{code: code, msg: msg} }

func (e *scramError) Error() string { return e.msg }
func (e *scramError) Unwrap() error { return e.code }

// refuseScramAlterations answers every user of req
// CLUSTER_AUTHORIZATION_FAILED.
func refuseScramAlterations(req *kmsg.AlterUserSCRAMCredentialsRequest, resp *kmsg.AlterUserSCRAMCredentialsResponse) {
	names := map[string]bool{}
	add := func(name string) {
		if !names[name] {
			names[name] = true
			out := kmsg.NewAlterUserSCRAMCredentialsResponseResult()
			out.User, out.ErrorCode = name, kerr.ClusterAuthorizationFailed.Code
			resp.Results = append(resp.Results, out)
		}
	}
	for _, d := range req.Deletions {
		add(d.Name)
	}
	for _, u := range req.Upsertions {
		add(u.Name)
	}
}
