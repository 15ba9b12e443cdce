// Package acl implements Kafka's ACL authorizer semantics: the bindings that
// CreateAcls, DescribeAcls and DeleteAcls carry, the filters that select them,
// and the decision Kafka's StandardAuthorizer makes for every request.
//
// # Model
//
// A Binding joins a resource pattern (resource type, name, LITERAL or
// PREFIXED) to an access control entry (principal, host, operation,
// permission). Authorize decides one Request (principal, client host,
// operation, literal resource) the way Kafka does:
//
//   - a principal listed in super.users is always allowed;
//   - the bindings that apply to the resource are the literal binding with the
//     same name, the literal wildcard "*" binding and every prefixed binding
//     whose name prefixes the resource name;
//   - of those, a binding matches the request when its principal is the
//     request principal or "User:*", its host is the client host or "*", and
//     its operation is the requested one or ALL; an ALLOW binding also
//     matches through implication (READ, WRITE, DELETE and ALTER imply
//     DESCRIBE; ALTER_CONFIGS implies DESCRIBE_CONFIGS), a DENY binding never;
//   - any matching DENY denies, else any matching ALLOW allows, else the
//     request is denied when the resource has bindings for anybody and falls
//     back to allow.everyone.if.no.acl.found when it has none.
//
// Kafka's enums are kmsg's wire types under Kafka's names (ResourceType is
// kmsg.ACLResourceType and so on), so request fields convert without casts.
// Validation errors wrap kerr codes (kerr.InvalidRequest) so a handler maps
// them to the response with errors.As.
//
// # Concurrency
//
// An Authorizer publishes an immutable snapshot of its index through an
// atomic pointer. Authorize, AuthorizeByResourceType, Describe and Matching
// load the pointer and never lock or wait for a writer; Authorize allocates
// nothing. Writers (Add, Remove, Apply, Replace: the metadata layer applying
// ACL records) serialize on a mutex, build the next snapshot by copying only
// the index shards and per-resource entry lists that change, and publish it
// before returning, so a binding removed by Remove is no longer honoured by any
// Authorize that starts after Remove returns. Apply builds one snapshot for a
// whole batch, which keeps loading many bindings at startup O(n log n).
package acl
