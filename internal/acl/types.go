package acl

import (
	"encoding/hex"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// The enums are aliases of kmsg's so CreateAcls, DescribeAcls and DeleteAcls
// fields are used as they are; values outside Kafka's range are treated as
// UNKNOWN, as Kafka's fromCode does.
type (
	// ResourceType is the kind of resource a binding protects.
	ResourceType = kmsg.ACLResourceType
	// PatternType says how a binding's resource name is matched.
	PatternType = kmsg.ACLResourcePatternType
	// Operation is what a principal does to a resource.
	Operation = kmsg.ACLOperation
	// Permission is ALLOW or DENY.
	Permission = kmsg.ACLPermissionType
)

// Resource types, with Kafka's wire values.
const (
	ResourceUnknown         ResourceType = kmsg.ACLResourceTypeUnknown
	ResourceAny             ResourceType = kmsg.ACLResourceTypeAny
	ResourceTopic           ResourceType = kmsg.ACLResourceTypeTopic
	ResourceGroup           ResourceType = kmsg.ACLResourceTypeGroup
	ResourceCluster         ResourceType = kmsg.ACLResourceTypeCluster
	ResourceTransactionalID ResourceType = kmsg.ACLResourceTypeTransactionalId
	ResourceDelegationToken ResourceType = kmsg.ACLResourceTypeDelegationToken
	ResourceUser            ResourceType = kmsg.ACLResourceTypeUser
)

// Pattern types, with Kafka's wire values. ANY and MATCH only appear in
// filters.
const (
	PatternUnknown  PatternType = kmsg.ACLResourcePatternTypeUnknown
	PatternAny      PatternType = kmsg.ACLResourcePatternTypeAny
	PatternMatch    PatternType = kmsg.ACLResourcePatternTypeMatch
	PatternLiteral  PatternType = kmsg.ACLResourcePatternTypeLiteral
	PatternPrefixed PatternType = kmsg.ACLResourcePatternTypePrefixed
)

// Operations, with Kafka's wire values. ANY only appears in filters.
const (
	OpUnknown         Operation = kmsg.ACLOperationUnknown
	OpAny             Operation = kmsg.ACLOperationAny
	OpAll             Operation = kmsg.ACLOperationAll
	OpRead            Operation = kmsg.ACLOperationRead
	OpWrite           Operation = kmsg.ACLOperationWrite
	OpCreate          Operation = kmsg.ACLOperationCreate
	OpDelete          Operation = kmsg.ACLOperationDelete
	OpAlter           Operation = kmsg.ACLOperationAlter
	OpDescribe        Operation = kmsg.ACLOperationDescribe
	OpClusterAction   Operation = kmsg.ACLOperationClusterAction
	OpDescribeConfigs Operation = kmsg.ACLOperationDescribeConfigs
	OpAlterConfigs    Operation = kmsg.ACLOperationAlterConfigs
	OpIdempotentWrite Operation = kmsg.ACLOperationIdempotentWrite
	OpCreateTokens    Operation = kmsg.ACLOperationCreateTokens
	OpDescribeTokens  Operation = kmsg.ACLOperationDescribeTokens
)

// Permissions, with Kafka's wire values. ANY only appears in filters.
const (
	PermissionUnknown Permission = kmsg.ACLPermissionTypeUnknown
	PermissionAny     Permission = kmsg.ACLPermissionTypeAny
	PermissionDeny    Permission = kmsg.ACLPermissionTypeDeny
	PermissionAllow   Permission = kmsg.ACLPermissionTypeAllow
)

const (
	// Wildcard is the resource name of a literal binding that applies to
	// every resource of its type, and the host of a binding that applies to
	// every client host.
	Wildcard = "*"
	// WildcardPrincipal is the principal of a binding that applies to every
	// principal. Kafka treats only User:* as the wildcard, whatever the
	// principal type of the request.
	WildcardPrincipal = "User:*"
	// ClusterName is the only valid name of a CLUSTER resource.
	ClusterName = "kafka-cluster"
)

// numResourceTypes bounds arrays indexed by ResourceType.
const numResourceTypes = int(ResourceUser) + 1

// ID identifies a stored binding, as the UUID of Kafka's
// AccessControlEntryRecord does.
type ID [16]byte

// String renders the id in hex, for logs.
func (id ID) String() string { return hex.EncodeToString(id[:]) }

// specificResourceType reports whether rt names a real resource type, the
// only kind a binding or an authorization request may carry.
func specificResourceType(rt ResourceType) bool {
	return rt >= ResourceTopic && rt <= ResourceUser
}

// knownResourceType reports whether rt may appear in a filter.
func knownResourceType(rt ResourceType) bool {
	return rt >= ResourceAny && rt <= ResourceUser
}

// specificOperation reports whether op may appear in a binding: ALL or a
// concrete operation.
func specificOperation(op Operation) bool {
	return op >= OpAll && op <= OpDescribeTokens
}

// knownOperation reports whether op may appear in a filter.
func knownOperation(op Operation) bool {
	return op >= OpAny && op <= OpDescribeTokens
}

func specificPatternType(pt PatternType) bool {
	return pt == PatternLiteral || pt == PatternPrefixed
}

func knownPatternType(pt PatternType) bool {
	return pt >= PatternAny && pt <= PatternPrefixed
}

func specificPermission(p Permission) bool {
	return p == PermissionDeny || p == PermissionAllow
}

func knownPermission(p Permission) bool {
	return p >= PermissionAny && p <= PermissionAllow
}

// bit places an operation in a set of operations kept as a bit mask. Values
// outside 0..31 yield the empty set rather than panicking.
func bit(op Operation) uint32 {
	if op < 0 || op > 31 {
		return 0
	}
	return 1 << uint(op)
}

// operationMasks returns the sets of binding operations (as bit masks) that
// decide a request for op: an ALLOW binding with an operation in allow grants
// it, a DENY binding with an operation in deny refuses it. Implication only
// widens ALLOW: Kafka reasons that an explicit DENY READ should not also hide
// a resource from DESCRIBE. The masks keep the per-binding check to one AND.
func operationMasks(op Operation) (allow, deny uint32) {
	deny = bit(op) | bit(OpAll)
	allow = deny
	switch op {
	case OpDescribe:
		allow |= bit(OpRead) | bit(OpWrite) | bit(OpDelete) | bit(OpAlter)
	case OpDescribeConfigs:
		allow |= bit(OpAlterConfigs)
	}
	return allow, deny
}
