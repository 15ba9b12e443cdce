package cli

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kmsg"
)

var aclCommands = []subcommand{
	{"create", "add ACLs (kafka-acls.sh --add)", aclCreate},
	{"list", "list ACLs, of some resources or all (kafka-acls.sh --list)", aclList},
	{"delete", "remove ACLs (kafka-acls.sh --remove)", aclDelete},
}

// ACL runs `fjord acl SUBCOMMAND ...`.
func ACL(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	return dispatch(ctx, "acl", aclCommands, args, stdout, stderr)
}

// aclFlags registers the flags of a verb; list takes only the resource,
// pattern and --principal flags.
func aclFlags(fs *flag.FlagSet, verb string) (*aclOptions, func() error) {
	o := &aclOptions{}
	var topics, groups, txnIDs, operations, allow, deny, allowHosts, denyHosts, principals stringList
	var pattern string
	fs.Var(&topics, "topic", "topic `NAME` the ACLs are for (repeatable; * is every topic)")
	fs.Var(&groups, "group", "consumer group `ID` the ACLs are for (repeatable; * is every group)")
	fs.Var(&txnIDs, "transactional-id", "transactional `ID` the ACLs are for (repeatable)")
	fs.BoolVar(&o.cluster, "cluster", false, "the ACLs are for the cluster (kafka-cluster)")
	patternHelp := "resource name pattern: literal or prefixed (default literal)"
	if verb != "create" {
		patternHelp = "resource name pattern filter: literal, prefixed, match (what applies to the name) or any " +
			"(default literal, or any when listing without a resource)"
	}
	fs.StringVar(&pattern, "resource-pattern-type", "", patternHelp)
	if verb == "list" {
		fs.Var(&principals, "principal", "only ACLs of `TYPE:NAME` (repeatable)")
	} else {
		fs.Var(&allow, "allow-principal", "principal `TYPE:NAME` to allow, as User:alice or User:* (repeatable)")
		fs.Var(&deny, "deny-principal", "principal `TYPE:NAME` to deny; deny wins over allow (repeatable)")
		fs.Var(&allowHosts, "allow-host", "`HOST` the allowed principals may connect from (repeatable; default *)")
		fs.Var(&denyHosts, "deny-host", "`HOST` the denied principals are refused from (repeatable; default *)")
		opHelp := "operation `OP` to allow or deny: All, Read, Write, Create, Delete, Alter, Describe, ClusterAction, " +
			"DescribeConfigs, AlterConfigs, IdempotentWrite (repeatable; default All)"
		if verb == "delete" {
			opHelp = "operation `OP` whose ACLs to remove (repeatable; default: every operation)"
		}
		fs.Var(&operations, "operation", opHelp)
		fs.BoolVar(&o.producer, "producer", false, "producer role: WRITE, DESCRIBE, CREATE on --topic and WRITE, DESCRIBE on --transactional-id")
		fs.BoolVar(&o.idempotent, "idempotent", false, "with --producer: IDEMPOTENT_WRITE on the cluster")
		fs.BoolVar(&o.consumer, "consumer", false, "consumer role: READ, DESCRIBE on --topic and READ on --group")
	}
	if verb == "delete" {
		fs.BoolVar(&o.force, "force", false, "allow deleting every ACL of the resources when no principal is given")
	}
	finish := func() error {
		o.topics, o.groups, o.txnIDs = topics, groups, txnIDs
		o.allowPrincipals, o.denyPrincipals, o.principals = allow, deny, principals
		o.allowHosts, o.denyHosts = allowHosts, denyHosts
		o.resourcesWereGiven = len(topics)+len(groups)+len(txnIDs) > 0 || o.cluster
		o.operationsWereGiven = len(operations) > 0
		o.denyFlagsWereGiven = len(deny)+len(denyHosts) > 0
		o.allowHostsWereGiven, o.denyHostsWereGiven = len(allowHosts) > 0, len(denyHosts) > 0
		for _, s := range operations {
			op, err := parseOperation(s)
			if err != nil {
				return err
			}
			o.operations = append(o.operations, op)
		}
		var err error
		o.pattern, err = parsePattern(pattern, verb != "create")
		if err != nil {
			return err
		}
		if verb == "list" {
			return o.checkPrincipals()
		}
		return nil
	}
	return o, finish
}

// parseACLArgs parses a verb's command line; it takes no positional
// arguments.
func parseACLArgs(verb, synopsis string, args []string, stderr io.Writer) (*aclOptions, connFlags, *flag.FlagSet, error) {
	fs := newFlagSet("fjord acl "+verb, synopsis, stderr)
	var conn connFlags
	conn.register(fs)
	o, finish := aclFlags(fs, verb)
	rest, err := parseArgs(fs, args)
	if err != nil {
		return nil, conn, fs, err
	}
	if len(rest) != 0 {
		return nil, conn, fs, usagef(fs, "unexpected arguments %q", rest)
	}
	if err := finish(); err != nil {
		return nil, conn, fs, usagef(fs, "%v", err)
	}
	return o, conn, fs, nil
}

func aclCreate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, conn, fs, err := parseACLArgs("create", "fjord acl create (--allow-principal P | --deny-principal P) [--allow-host H] [--deny-host H] "+
		"(--operation OP ... | --producer [--idempotent] | --consumer) (--topic T | --group G | --cluster | --transactional-id X) ... "+
		"[--resource-pattern-type literal|prefixed]", args, stderr)
	if err != nil {
		return err
	}
	if err := o.checkCreate(); err != nil {
		return usagef(fs, "%v", err)
	}
	grants := o.grants(kadm.OpAll)
	for _, g := range grants {
		if err := g.checkOperations(); err != nil {
			return usagef(fs, "%v", err)
		}
	}
	adm, ctx, seeds, closeAdmin, err := openAdmin(ctx, fs, conn)
	if err != nil {
		return err
	}
	defer closeAdmin()

	var created []aclBinding
	var failures []string
	for _, g := range grants {
		results, err := adm.CreateACLs(ctx, o.createBuilder(g))
		if err != nil {
			return describeRequestError(ctx, "creating ACLs", seeds, conn.timeout, err)
		}
		for _, r := range results {
			b := aclBinding{r.Type, r.Name, r.Pattern, r.Principal, r.Host, r.Operation, r.Permission}
			if r.Err != nil {
				failures = append(failures, fmt.Sprintf("%s on %s: %s", b.entry(), b.resource(), withDetail(r.Err, r.ErrMessage)))
				continue
			}
			created = append(created, b)
		}
	}
	writeACLs(stdout, "Adding ACLs for resource", created)
	if len(failures) > 0 {
		return fmt.Errorf("creating ACLs: %s", strings.Join(failures, "; "))
	}
	return nil
}

func aclList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, conn, fs, err := parseACLArgs("list", "fjord acl list [--topic T | --group G | --cluster | --transactional-id X] ... "+
		"[--resource-pattern-type literal|prefixed|match|any] [--principal P ...]", args, stderr)
	if err != nil {
		return err
	}
	adm, ctx, seeds, closeAdmin, err := openAdmin(ctx, fs, conn)
	if err != nil {
		return err
	}
	defer closeAdmin()

	results, err := adm.DescribeACLs(ctx, o.listBuilder())
	if err != nil {
		return describeRequestError(ctx, "listing ACLs", seeds, conn.timeout, err)
	}
	var found []aclBinding
	for _, r := range results {
		if r.Err != nil {
			return fmt.Errorf("listing ACLs: %s", withDetail(r.Err, r.ErrMessage))
		}
		for _, d := range r.Described {
			found = append(found, aclBinding{d.Type, d.Name, d.Pattern, d.Principal, d.Host, d.Operation, d.Permission})
		}
	}
	writeACLs(stdout, "Current ACLs for resource", found)
	return nil
}

func aclDelete(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, conn, fs, err := parseACLArgs("delete", "fjord acl delete [--allow-principal P | --deny-principal P] [--allow-host H] [--deny-host H] "+
		"[--operation OP ... | --producer [--idempotent] | --consumer] (--topic T | --group G | --cluster | --transactional-id X) ... "+
		"[--resource-pattern-type literal|prefixed|match|any] [--force]", args, stderr)
	if err != nil {
		return err
	}
	if err := o.checkDelete(); err != nil {
		return usagef(fs, "%v", err)
	}
	adm, ctx, seeds, closeAdmin, err := openAdmin(ctx, fs, conn)
	if err != nil {
		return err
	}
	defer closeAdmin()

	var deleted []aclBinding
	var failures []string
	for _, g := range o.grants(kadm.OpAny) {
		results, err := adm.DeleteACLs(ctx, o.deleteBuilder(g))
		if err != nil {
			return describeRequestError(ctx, "deleting ACLs", seeds, conn.timeout, err)
		}
		for _, r := range results {
			if r.Err != nil {
				failures = append(failures, withDetail(r.Err, r.ErrMessage))
				continue
			}
			for _, d := range r.Deleted {
				b := aclBinding{d.Type, d.Name, d.Pattern, d.Principal, d.Host, d.Operation, d.Permission}
				if d.Err != nil {
					failures = append(failures, fmt.Sprintf("%s on %s: %s", b.entry(), b.resource(), withDetail(d.Err, d.ErrMessage)))
					continue
				}
				deleted = append(deleted, b)
			}
		}
	}
	if len(deleted) == 0 && len(failures) == 0 {
		fmt.Fprintln(stderr, "no ACLs matched")
	}
	writeACLs(stdout, "Removed ACLs for resource", deleted)
	if len(failures) > 0 {
		return fmt.Errorf("deleting ACLs: %s", strings.Join(failures, "; "))
	}
	return nil
}

// aclBinding is one ACL: a resource pattern and an entry, as Kafka's
// AclBinding.
type aclBinding struct {
	resourceType kmsg.ACLResourceType
	name         string
	pattern      kadm.ACLPattern
	principal    string
	host         string
	operation    kadm.ACLOperation
	permission   kmsg.ACLPermissionType
}

// resource formats the pattern as Kafka's ResourcePattern.toString.
func (b aclBinding) resource() string {
	return fmt.Sprintf("ResourcePattern(resourceType=%s, name=%s, patternType=%s)", b.resourceType, b.name, b.pattern)
}

// entry formats the entry as Kafka's AccessControlEntry.toString.
func (b aclBinding) entry() string {
	return fmt.Sprintf("(principal=%s, host=%s, operation=%s, permissionType=%s)", b.principal, b.host, b.operation, b.permission)
}

// writeACLs prints bindings grouped by resource, as kafka-acls.sh does:
//
//	Current ACLs for resource `ResourcePattern(resourceType=TOPIC, name=orders, patternType=LITERAL)`:
//		(principal=User:alice, host=*, operation=READ, permissionType=ALLOW)
//
// Filters that overlap (match, several principals) may return one binding
// more than once; it is printed once. Order is by resource, then entry.
func writeACLs(w io.Writer, heading string, bindings []aclBinding) {
	slices.SortFunc(bindings, func(a, b aclBinding) int {
		return cmp.Or(cmp.Compare(a.resourceType, b.resourceType), cmp.Compare(a.name, b.name),
			cmp.Compare(a.pattern, b.pattern), cmp.Compare(a.principal, b.principal), cmp.Compare(a.host, b.host),
			cmp.Compare(a.operation, b.operation), cmp.Compare(a.permission, b.permission))
	})
	bindings = slices.Compact(bindings)
	for i, b := range bindings {
		if i == 0 || b.resource() != bindings[i-1].resource() {
			if i > 0 {
				fmt.Fprintln(w)
			}
			fmt.Fprintf(w, "%s `%s`:\n", heading, b.resource())
		}
		fmt.Fprintf(w, "\t%s\n", b.entry())
	}
}
