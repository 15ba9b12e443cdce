package acl

import (
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
)

// Binding is Kafka's AclBinding: a resource pattern and the access control
// entry that applies to it. Its fields convert 1:1 from a CreateAcls creation
// and to a DescribeAcls resource/acl pair.
type Binding struct {
	ResourceType ResourceType
	ResourceName string
	PatternType  PatternType
	// Principal is "Type:name", e.g. "User:alice", or WildcardPrincipal.
	Principal string
	// Host is Wildcard or a client IP address.
	Host       string
	Operation  Operation
	Permission Permission
}

// IDAndBinding is a stored binding with the id its metadata record gave it.
type IDAndBinding struct {
	ID      ID
	Binding Binding
}

// Validate checks a binding the way CreateAcls does before it is stored. Every
// error wraps kerr.InvalidRequest, the code Kafka returns for each of these
// cases, so the handler maps it with errors.As into the creation result.
//
// Beyond Kafka, which stores such bindings and then never matches them (or
// fails at authorization time), Validate also refuses a principal that is not
// "Type:name", a host that is neither "*" nor an IP address, and a PREFIXED
// "*" (it would only match names that start with '*', never what was meant).
func (b Binding) Validate() error {
	if err := b.validate(); err != nil {
		return fmt.Errorf("acl: invalid binding %v: %w", b, err)
	}
	return nil
}

func (b Binding) validate() error {
	switch {
	case !specificResourceType(b.ResourceType):
		return fmt.Errorf("resource type %v: %w", b.ResourceType, kerr.InvalidRequest)
	case !specificPatternType(b.PatternType):
		return fmt.Errorf("pattern type %v: %w", b.PatternType, kerr.InvalidRequest)
	case !specificOperation(b.Operation):
		return fmt.Errorf("operation %v: %w", b.Operation, kerr.InvalidRequest)
	case !specificPermission(b.Permission):
		return fmt.Errorf("permission type %v: %w", b.Permission, kerr.InvalidRequest)
	case b.ResourceName == "":
		return fmt.Errorf("empty resource name: %w", kerr.InvalidRequest)
	case b.ResourceType == ResourceCluster && b.ResourceName != ClusterName:
		return fmt.Errorf("the only valid name for the CLUSTER resource is %s: %w", ClusterName, kerr.InvalidRequest)
	case b.PatternType == PatternPrefixed && b.ResourceName == Wildcard:
		return fmt.Errorf("wildcard resource name must be LITERAL: %w", kerr.InvalidRequest)
	}
	if _, err := ParsePrincipal(b.Principal); err != nil {
		return err
	}
	if _, ok := canonicalHost(b.Host); !ok {
		return fmt.Errorf("host %q is neither %q nor an IP address: %w", b.Host, Wildcard, kerr.InvalidRequest)
	}
	return nil
}

// String renders the binding as Kafka's AclBinding does, for logs and errors.
func (b Binding) String() string {
	return fmt.Sprintf("(pattern=ResourcePattern(resourceType=%v, name=%s, patternType=%v), entry=(principal=%s, host=%s, operation=%v, permissionType=%v))",
		b.ResourceType, b.ResourceName, b.PatternType, b.Principal, b.Host, b.Operation, b.Permission)
}

// appliesTo reports whether the binding's resource pattern covers the literal
// resource name: equal literal, the literal wildcard, or a prefix. It is the
// rule both the index and Filter's MATCH implement.
func (b Binding) appliesTo(name string) bool {
	switch b.PatternType {
	case PatternLiteral:
		return b.ResourceName == name || b.ResourceName == Wildcard
	case PatternPrefixed:
		return len(name) >= len(b.ResourceName) && name[:len(b.ResourceName)] == b.ResourceName
	}
	return false
}
