package console

import (
	"errors"
	"net/http"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// aclView is one ACL binding, in Kafka's words (kafka-acls.sh --list).
type aclView struct {
	ResourceType string `json:"resourceType"`
	ResourceName string `json:"resourceName"`
	PatternType  string `json:"patternType"`
	Principal    string `json:"principal"`
	Host         string `json:"host"`
	Operation    string `json:"operation"`
	Permission   string `json:"permission"`
}

type userView struct {
	User       string   `json:"user"`
	Mechanisms []string `json:"mechanisms"`
}

type securityView struct {
	// SecurityOff is true when the cluster has no authorizer
	// (DescribeAcls answers SECURITY_DISABLED).
	SecurityOff bool       `json:"securityOff"`
	ACLs        []aclView  `json:"acls"`
	Users       []userView `json:"users"`
	UsersError  string     `json:"usersError,omitempty"`
}

// maxACLField bounds a principal, host or resource name.
const maxACLField = 1024

func (c *Console) security(r *http.Request) (any, error) {
	ctx := r.Context()
	req := kmsg.NewPtrDescribeACLsRequest()
	req.ResourceType = kmsg.ACLResourceTypeAny
	req.ResourcePatternType = kmsg.ACLResourcePatternTypeAny
	req.Operation = kmsg.ACLOperationAny
	req.PermissionType = kmsg.ACLPermissionTypeAny
	resp, err := req.RequestWith(ctx, c.client)
	if err != nil {
		return nil, err
	}
	out := securityView{ACLs: []aclView{}, Users: []userView{}}
	if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
		if errors.Is(err, kerr.SecurityDisabled) {
			out.SecurityOff = true
			return out, nil
		}
		return nil, kafkaError(err, deref(resp.ErrorMessage))
	}
	for _, res := range resp.Resources {
		for _, a := range res.ACLs {
			out.ACLs = append(out.ACLs, aclView{ResourceType: res.ResourceType.String(), ResourceName: res.ResourceName,
				PatternType: res.ResourcePatternType.String(), Principal: a.Principal, Host: a.Host,
				Operation: a.Operation.String(), Permission: a.PermissionType.String()})
		}
	}
	users, err := c.adm.DescribeUserSCRAMs(ctx)
	if err != nil {
		out.UsersError = err.Error()
		return out, nil
	}
	for _, u := range users.Sorted() {
		uv := userView{User: u.User, Mechanisms: []string{}}
		for _, ci := range u.CredInfos {
			uv.Mechanisms = append(uv.Mechanisms, ci.Mechanism.String())
		}
		out.Users = append(out.Users, uv)
	}
	return out, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// parsedACL is an aclView checked and turned into Kafka's enums.
type parsedACL struct {
	v          aclView
	resource   kmsg.ACLResourceType
	pattern    kmsg.ACLResourcePatternType
	operation  kmsg.ACLOperation
	permission kmsg.ACLPermissionType
}

func parseACL(r *http.Request) (parsedACL, error) {
	var p parsedACL
	if err := decodeBody(r, &p.v); err != nil {
		return p, err
	}
	v := p.v
	for _, f := range []string{v.ResourceName, v.Principal, v.Host} {
		if f == "" || len(f) > maxACLField {
			return p, badRequest("resourceName, principal and host are required, up to %d bytes", maxACLField)
		}
	}
	var errs [4]error
	p.resource, errs[0] = kmsg.ParseACLResourceType(v.ResourceType)
	if v.PatternType == "" {
		v.PatternType = "LITERAL"
	}
	p.pattern, errs[1] = kmsg.ParseACLResourcePatternType(v.PatternType)
	p.operation, errs[2] = kmsg.ParseACLOperation(v.Operation)
	p.permission, errs[3] = kmsg.ParseACLPermissionType(v.Permission)
	if err := errors.Join(errs[:]...); err != nil {
		return p, badRequest("%v", err)
	}
	return p, nil
}

func (c *Console) createACL(r *http.Request) (any, error) {
	p, err := parseACL(r)
	if err != nil {
		return nil, err
	}
	req := kmsg.NewPtrCreateACLsRequest()
	cr := kmsg.NewCreateACLsRequestCreation()
	cr.ResourceType, cr.ResourceName, cr.ResourcePatternType = p.resource, p.v.ResourceName, p.pattern
	cr.Principal, cr.Host, cr.Operation, cr.PermissionType = p.v.Principal, p.v.Host, p.operation, p.permission
	req.Creations = append(req.Creations, cr)
	resp, err := req.RequestWith(r.Context(), c.client)
	if err != nil {
		return nil, err
	}
	for _, res := range resp.Results {
		if err := kerr.ErrorForCode(res.ErrorCode); err != nil {
			return nil, kafkaError(err, deref(res.ErrorMessage))
		}
	}
	return map[string]any{"created": p.v}, nil
}

// deleteACL deletes the one binding described (no wildcards: the page
// deletes what it lists).
func (c *Console) deleteACL(r *http.Request) (any, error) {
	p, err := parseACL(r)
	if err != nil {
		return nil, err
	}
	req := kmsg.NewPtrDeleteACLsRequest()
	f := kmsg.NewDeleteACLsRequestFilter()
	f.ResourceType, f.ResourceName, f.ResourcePatternType = p.resource, &p.v.ResourceName, p.pattern
	f.Principal, f.Host, f.Operation, f.PermissionType = &p.v.Principal, &p.v.Host, p.operation, p.permission
	req.Filters = append(req.Filters, f)
	resp, err := req.RequestWith(r.Context(), c.client)
	if err != nil {
		return nil, err
	}
	deleted := 0
	for _, res := range resp.Results {
		if err := kerr.ErrorForCode(res.ErrorCode); err != nil {
			return nil, kafkaError(err, deref(res.ErrorMessage))
		}
		deleted += len(res.MatchingACLs)
	}
	return map[string]any{"deleted": deleted}, nil
}
