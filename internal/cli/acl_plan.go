package cli

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// aclOptions is the parsed command line of `fjord acl create|list|delete`,
// in kafka-acls.sh's terms.
type aclOptions struct {
	allowPrincipals, denyPrincipals []string
	allowHosts, denyHosts           []string
	principals                      []string // list only: --principal
	operations                      []kadm.ACLOperation
	topics, groups, txnIDs          []string
	cluster                         bool
	// pattern is --resource-pattern-type; Unknown means the default, which
	// depends on the verb (literal, or any for a list of everything).
	pattern            kadm.ACLPattern
	producer, consumer bool
	idempotent         bool
	force              bool
	// What was given at all, for kafka-acls.sh's rules about combinations.
	resourcesWereGiven  bool
	operationsWereGiven bool
	denyFlagsWereGiven  bool
	allowHostsWereGiven bool
	denyHostsWereGiven  bool
}

// aclGrant is one set of resources and the operations that apply to all of
// them; --producer and --consumer expand into several.
type aclGrant struct {
	topics, groups, txnIDs []string
	cluster                bool
	operations             []kadm.ACLOperation
}

// validOperations are the operations each resource type takes, as Kafka's
// AclCommand checks them before creating an ACL that could never match a
// request.
var validOperations = map[kmsg.ACLResourceType][]kadm.ACLOperation{
	kmsg.ACLResourceTypeTopic: {kadm.OpRead, kadm.OpWrite, kadm.OpCreate, kadm.OpDescribe, kadm.OpDelete,
		kadm.OpAlter, kadm.OpDescribeConfigs, kadm.OpAlterConfigs, kadm.OpAll},
	kmsg.ACLResourceTypeGroup: {kadm.OpRead, kadm.OpDescribe, kadm.OpDelete, kadm.OpAll},
	kmsg.ACLResourceTypeCluster: {kadm.OpCreate, kadm.OpClusterAction, kadm.OpDescribeConfigs, kadm.OpAlterConfigs,
		kadm.OpIdempotentWrite, kadm.OpAlter, kadm.OpDescribe, kadm.OpAll},
	kmsg.ACLResourceTypeTransactionalId: {kadm.OpDescribe, kadm.OpWrite, kadm.OpAll},
}

// parseOperation accepts Kafka's spellings: Read, READ, DescribeConfigs,
// describe-configs, DESCRIBE_CONFIGS.
func parseOperation(s string) (kadm.ACLOperation, error) {
	op, err := kmsg.ParseACLOperation(s)
	if err != nil || op == kadm.OpAny || op == kadm.OpUnknown {
		return 0, fmt.Errorf("unknown --operation %q (one of All, Read, Write, Create, Delete, Alter, Describe, "+
			"ClusterAction, DescribeConfigs, AlterConfigs, IdempotentWrite)", s)
	}
	return op, nil
}

// parsePattern reads --resource-pattern-type; match and any only filter.
func parsePattern(s string, filter bool) (kadm.ACLPattern, error) {
	if s == "" {
		return kadm.ACLPatternUnknown, nil
	}
	p, err := kmsg.ParseACLResourcePatternType(s)
	switch {
	case err != nil || p == kadm.ACLPatternUnknown:
		return 0, fmt.Errorf("--resource-pattern-type must be literal, prefixed, match or any, got %q", s)
	case !filter && p != kadm.ACLPatternLiteral && p != kadm.ACLPatternPrefixed:
		return 0, fmt.Errorf("--resource-pattern-type %s only filters; an ACL is literal or prefixed", strings.ToLower(p.String()))
	}
	return p, nil
}

// checkCreate applies kafka-acls.sh's rules for --add.
func (o *aclOptions) checkCreate() error {
	if err := o.checkRoles(); err != nil {
		return err
	}
	if len(o.allowPrincipals) == 0 && len(o.denyPrincipals) == 0 {
		return errors.New("give --allow-principal or --deny-principal")
	}
	if !o.resourcesWereGiven {
		return errors.New("give a resource: --topic, --group, --cluster or --transactional-id")
	}
	return o.checkPrincipals()
}

// checkDelete applies the rules for --remove. Without a principal every
// ACL of the resources goes, so that takes --force.
func (o *aclOptions) checkDelete() error {
	if err := o.checkRoles(); err != nil {
		return err
	}
	if !o.resourcesWereGiven {
		return errors.New("give a resource: --topic, --group, --cluster or --transactional-id")
	}
	if len(o.allowPrincipals) == 0 && len(o.denyPrincipals) == 0 && !o.force {
		return errors.New("without --allow-principal or --deny-principal this deletes every ACL of the resources; add --force")
	}
	return o.checkPrincipals()
}

// checkRoles applies the rules of --producer and --consumer.
func (o *aclOptions) checkRoles() error {
	if (o.producer || o.consumer) && (o.operationsWereGiven || o.denyFlagsWereGiven) {
		return errors.New("--producer and --consumer choose the operations and allow only; drop --operation, --deny-principal and --deny-host")
	}
	if o.producer && len(o.topics) == 0 {
		return errors.New("--producer needs --topic")
	}
	if o.consumer && (len(o.topics) == 0 || len(o.groups) == 0) {
		return errors.New("--consumer needs --topic and --group")
	}
	if o.idempotent && !o.producer {
		return errors.New("--idempotent goes with --producer")
	}
	if o.allowHostsWereGiven && len(o.allowPrincipals) == 0 {
		return errors.New("--allow-host needs --allow-principal")
	}
	if o.denyHostsWereGiven && len(o.denyPrincipals) == 0 {
		return errors.New("--deny-host needs --deny-principal")
	}
	return nil
}

// checkPrincipals refuses a principal without its type, which Kafka's
// KafkaPrincipal.fromString refuses too.
func (o *aclOptions) checkPrincipals() error {
	for _, p := range slices.Concat(o.allowPrincipals, o.denyPrincipals, o.principals) {
		kind, name, ok := strings.Cut(p, ":")
		if !ok || kind == "" || name == "" {
			return fmt.Errorf("principal %q is not TYPE:NAME (User:alice, User:*)", p)
		}
	}
	return nil
}

// grants expands the options into resource sets and their operations:
// kafka-acls.sh's --producer is WRITE, DESCRIBE and CREATE on the topics,
// WRITE and DESCRIBE on the transactional ids and, with --idempotent,
// IDEMPOTENT_WRITE on the cluster; --consumer is READ and DESCRIBE on the
// topics and READ on the groups.
func (o *aclOptions) grants(defaultOp kadm.ACLOperation) []aclGrant {
	if !o.producer && !o.consumer {
		ops := o.operations
		if len(ops) == 0 {
			ops = []kadm.ACLOperation{defaultOp}
		}
		return []aclGrant{{topics: o.topics, groups: o.groups, txnIDs: o.txnIDs, cluster: o.cluster, operations: ops}}
	}
	var grants []aclGrant
	if o.producer {
		grants = append(grants, aclGrant{topics: o.topics, operations: []kadm.ACLOperation{kadm.OpWrite, kadm.OpDescribe, kadm.OpCreate}})
		if len(o.txnIDs) > 0 {
			grants = append(grants, aclGrant{txnIDs: o.txnIDs, operations: []kadm.ACLOperation{kadm.OpWrite, kadm.OpDescribe}})
		}
		if o.idempotent {
			grants = append(grants, aclGrant{cluster: true, operations: []kadm.ACLOperation{kadm.OpIdempotentWrite}})
		}
	}
	if o.consumer {
		grants = append(grants,
			aclGrant{topics: o.topics, operations: []kadm.ACLOperation{kadm.OpRead, kadm.OpDescribe}},
			aclGrant{groups: o.groups, operations: []kadm.ACLOperation{kadm.OpRead}})
	}
	return grants
}

// checkOperations refuses an operation a resource type does not take.
func (g aclGrant) checkOperations() error {
	check := func(t kmsg.ACLResourceType, present bool) error {
		if !present {
			return nil
		}
		for _, op := range g.operations {
			if !slices.Contains(validOperations[t], op) {
				return fmt.Errorf("resource type %s does not take operation %s (valid: %s)", t, op, opNames(validOperations[t]))
			}
		}
		return nil
	}
	return errors.Join(
		check(kmsg.ACLResourceTypeTopic, len(g.topics) > 0),
		check(kmsg.ACLResourceTypeGroup, len(g.groups) > 0),
		check(kmsg.ACLResourceTypeCluster, g.cluster),
		check(kmsg.ACLResourceTypeTransactionalId, len(g.txnIDs) > 0))
}

func opNames(ops []kadm.ACLOperation) string {
	names := make([]string, len(ops))
	for i, op := range ops {
		names[i] = op.String()
	}
	return strings.Join(names, ", ")
}

// createBuilder is the ACLBuilder that creates grant g: every principal on
// every host (* unless given) for every resource and operation.
func (o *aclOptions) createBuilder(g aclGrant) *kadm.ACLBuilder {
	b := o.resourceBuilder(g, kadm.ACLPatternLiteral).Operations(g.operations...)
	return b.MaybeAllow(o.allowPrincipals...).MaybeAllowHosts(hostsOf(o.allowPrincipals, o.allowHosts)...).
		MaybeDeny(o.denyPrincipals...).MaybeDenyHosts(hostsOf(o.denyPrincipals, o.denyHosts)...)
}

// deleteBuilder is the filter that deletes grant g. With principals it
// matches them exactly (on host * unless hosts are given, as kafka-acls.sh
// does); without, it matches any principal and host.
func (o *aclOptions) deleteBuilder(g aclGrant) *kadm.ACLBuilder {
	b := o.resourceBuilder(g, kadm.ACLPatternLiteral).Operations(g.operations...)
	if len(o.allowPrincipals) == 0 && len(o.denyPrincipals) == 0 {
		return b.Allow().AllowHosts().Deny().DenyHosts()
	}
	return b.MaybeAllow(o.allowPrincipals...).MaybeAllowHosts(hostsOf(o.allowPrincipals, o.allowHosts)...).
		MaybeDeny(o.denyPrincipals...).MaybeDenyHosts(hostsOf(o.denyPrincipals, o.denyHosts)...)
}

// listBuilder is the filter of `acl list`: the resources given (all of
// them if none, of any pattern type), any operation, and --principal if
// given, allowed or denied, on any host.
func (o *aclOptions) listBuilder() *kadm.ACLBuilder {
	var b *kadm.ACLBuilder
	if o.resourcesWereGiven {
		b = o.resourceBuilder(aclGrant{topics: o.topics, groups: o.groups, txnIDs: o.txnIDs, cluster: o.cluster}, kadm.ACLPatternLiteral)
	} else {
		pattern := o.pattern
		if pattern == kadm.ACLPatternUnknown {
			pattern = kadm.ACLPatternAny
		}
		b = kadm.NewACLs().AnyResource().ResourcePatternType(pattern)
	}
	b.Operations()
	if len(o.principals) == 0 {
		return b.Allow().AllowHosts().Deny().DenyHosts()
	}
	return b.MaybeAllow(o.principals...).AllowHosts().MaybeDeny(o.principals...).DenyHosts()
}

// resourceBuilder starts a builder on g's resources with --resource-pattern-type
// or def.
func (o *aclOptions) resourceBuilder(g aclGrant, def kadm.ACLPattern) *kadm.ACLBuilder {
	pattern := o.pattern
	if pattern == kadm.ACLPatternUnknown {
		pattern = def
	}
	// The Maybe forms: an empty list is no resource of that type, never
	// every resource of it.
	return kadm.NewACLs().ResourcePatternType(pattern).
		MaybeTopics(g.topics...).MaybeGroups(g.groups...).
		MaybeTransactionalIDs(g.txnIDs...).MaybeClusters(g.cluster)
}

// hostsOf is the hosts of principals: those given, or * (every host) when
// there are principals and no host, as kafka-acls.sh defaults them.
func hostsOf(principals, hosts []string) []string {
	if len(principals) > 0 && len(hosts) == 0 {
		return []string{"*"}
	}
	return hosts
}
