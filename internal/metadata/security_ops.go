package metadata

import (
	"context"
	"crypto/rand"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
)

// SecurityChange is one controller operation on the security state: what
// AlterUserScramCredentials, CreateAcls, DeleteAcls or AlterClientQuotas
// asks, checked by the handler for what needs no image (names, values).
// The controller checks the rest against its image and writes it all as
// one log entry.
type SecurityChange struct {
	ScramUpserts []ScramCredentialRecord       `json:"scramUpserts,omitempty"`
	ScramDeletes []RemoveScramCredentialRecord `json:"scramDeletes,omitempty"`
	// ACLCreates get their ids from the controller.
	ACLCreates []ACLRecord `json:"aclCreates,omitempty"`
	// ACLDeletes are ids of bindings to remove; those gone already are
	// skipped (another DeleteAcls removed them).
	ACLDeletes [][16]byte          `json:"aclDeletes,omitempty"`
	Quotas     []ClientQuotaRecord `json:"quotas,omitempty"`
}

// SecurityResult is the outcome of a SecurityChange: an error per SCRAM
// upsertion and deletion, in order (nil where it was written), and the ids
// given to the created ACLs.
type SecurityResult struct {
	ScramUpserts []error
	ScramDeletes []error
	ACLIDs       [][16]byte
}

// maxSecurityChanges bounds the items of one operation.
const maxSecurityChanges = 10_000

// AlterSecurity applies change on the controller.
func (n *Node) AlterSecurity(ctx context.Context, change SecurityChange) (SecurityResult, error) {
	resp, err := n.run(ctx, forwardRequest{Op: opAlterSecurity, Security: &change})
	if err != nil {
		return SecurityResult{}, err
	}
	var out SecurityResult
	results := resp.Results
	if len(results) != len(change.ScramUpserts)+len(change.ScramDeletes) {
		return SecurityResult{}, newError(kerr.UnknownServerError, "controller answered a different number of results")
	}
	for i := range change.ScramUpserts {
		out.ScramUpserts = append(out.ScramUpserts, results[i].err())
	}
	for i := range change.ScramDeletes {
		out.ScramDeletes = append(out.ScramDeletes, results[len(change.ScramUpserts)+i].err())
	}
	out.ACLIDs = resp.ACLIDs
	return out, nil
}

func (n *Node) alterSecurityLocal(ctx context.Context, change *SecurityChange) (forwardResponse, error) {
	var resp forwardResponse
	if change == nil {
		return resp, newError(kerr.InvalidRequest, "no security change")
	}
	total := len(change.ScramUpserts) + len(change.ScramDeletes) + len(change.ACLCreates) + len(change.ACLDeletes) + len(change.Quotas)
	if total > maxSecurityChanges {
		return resp, newError(kerr.InvalidRequest, fmt.Sprintf("%d changes exceed the limit of %d", total, maxSecurityChanges))
	}
	unlock, err := n.lockController(ctx)
	if err != nil {
		return resp, err
	}
	defer unlock()
	img := n.Image()
	var records []Record
	for _, r := range change.ScramUpserts {
		if err := checkScram(r); err != nil {
			resp.Results = append(resp.Results, errorResponse(newError(kerr.UnacceptableCredential, err.Error())))
			continue
		}
		resp.Results = append(resp.Results, forwardResponse{})
		records = append(records, r)
	}
	for _, r := range change.ScramDeletes {
		if _, ok := img.ScramCredential(r.User, r.Mechanism); !ok {
			resp.Results = append(resp.Results, errorResponse(newError(kerr.ResourceNotFound,
				"attempt to delete a user credential that does not exist")))
			continue
		}
		resp.Results = append(resp.Results, forwardResponse{})
		records = append(records, r)
	}
	for _, r := range change.ACLCreates {
		if _, err := rand.Read(r.ID[:]); err != nil {
			return resp, fmt.Errorf("choosing an acl id: %w", err)
		}
		if err := checkACL(r); err != nil {
			return resp, newError(kerr.InvalidRequest, err.Error())
		}
		resp.ACLIDs = append(resp.ACLIDs, r.ID)
		records = append(records, r)
	}
	for _, id := range change.ACLDeletes {
		if _, ok := img.security.acls[id]; ok {
			records = append(records, RemoveACLRecord{ID: id})
		}
	}
	for _, r := range change.Quotas {
		if err := checkQuota(r); err != nil {
			return resp, newError(kerr.InvalidRequest, err.Error())
		}
		records = append(records, r)
	}
	if len(records) == 0 {
		return resp, nil
	}
	if len(records) > MaxBatchRecords {
		return resp, newError(kerr.InvalidRequest, fmt.Sprintf("%d records exceed the limit of %d", len(records), MaxBatchRecords))
	}
	return resp, n.write(ctx, records)
}
