package acl

import (
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
)

// Filter is Kafka's AclBindingFilter, the selector DescribeAcls and
// DeleteAcls carry. Its fields convert 1:1 from the request's; a nil pointer
// matches any value of that field.
type Filter struct {
	// ResourceType is ANY or a specific type.
	ResourceType ResourceType
	// ResourceName nil matches every name. With PatternType MATCH it is the
	// literal resource whose applicable bindings are selected.
	ResourceName *string
	// PatternType is ANY (every pattern type, name compared exactly), MATCH
	// (bindings that would apply to ResourceName: the equal literal, the
	// literal wildcard, and prefixes of it), LITERAL or PREFIXED.
	PatternType PatternType
	Principal   *string
	Host        *string
	Operation   Operation
	Permission  Permission
}

// AnyFilter returns the filter that matches every binding.
func AnyFilter() Filter {
	return Filter{
		ResourceType: ResourceAny,
		PatternType:  PatternAny,
		Operation:    OpAny,
		Permission:   PermissionAny,
	}
}

// Validate refuses a filter with UNKNOWN (or out-of-range) components, as
// DescribeAcls and DeleteAcls do. Errors wrap kerr.InvalidRequest.
func (f Filter) Validate() error {
	switch {
	case !knownResourceType(f.ResourceType):
		return fmt.Errorf("acl: invalid filter: resource type %v: %w", f.ResourceType, kerr.InvalidRequest)
	case !knownPatternType(f.PatternType):
		return fmt.Errorf("acl: invalid filter: pattern type %v: %w", f.PatternType, kerr.InvalidRequest)
	case !knownOperation(f.Operation):
		return fmt.Errorf("acl: invalid filter: operation %v: %w", f.Operation, kerr.InvalidRequest)
	case !knownPermission(f.Permission):
		return fmt.Errorf("acl: invalid filter: permission type %v: %w", f.Permission, kerr.InvalidRequest)
	}
	return nil
}

// Matches reports whether the filter selects the binding, with the rules of
// Kafka's ResourcePatternFilter and AccessControlEntryFilter. It does not
// validate: a filter with UNKNOWN values only matches bindings with the same
// UNKNOWN values, as in Kafka.
func (f Filter) Matches(b Binding) bool {
	return f.matchesPattern(b) && f.matchesEntry(b)
}

func (f Filter) matchesPattern(b Binding) bool {
	if f.ResourceType != ResourceAny && f.ResourceType != b.ResourceType {
		return false
	}
	if f.PatternType != PatternAny && f.PatternType != PatternMatch && f.PatternType != b.PatternType {
		return false
	}
	if f.ResourceName == nil {
		return true
	}
	if f.PatternType != PatternMatch {
		return *f.ResourceName == b.ResourceName
	}
	return b.appliesTo(*f.ResourceName)
}

func (f Filter) matchesEntry(b Binding) bool {
	switch {
	case f.Principal != nil && *f.Principal != b.Principal:
		return false
	case f.Host != nil && *f.Host != b.Host:
		return false
	case f.Operation != OpAny && f.Operation != b.Operation:
		return false
	}
	return f.Permission == PermissionAny || f.Permission == b.Permission
}
