package cli

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kmsg"
)

var quotaCommands = []subcommand{
	{"set", "add, change or delete quotas of a user, client id or IP (kafka-configs.sh --alter)", quotaSet},
	{"list", "show quotas, of some entities or all (kafka-configs.sh --describe)", quotaList},
}

// Quota runs `fjord quota SUBCOMMAND ...`.
func Quota(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	return dispatch(ctx, "quota", quotaCommands, args, stdout, stderr)
}

// Kafka's quota entity types (ClientQuotaEntity).
const (
	quotaEntityUser     = "user"
	quotaEntityClientID = "client-id"
	quotaEntityIP       = "ip"
)

// quotaKeys are the quotas each entity type takes (QuotaConfig in Kafka):
// byte rates in bytes per second, request_percentage in percent of one
// I/O thread, controller_mutation_rate in partitions per second, and
// connection_creation_rate in connections per second.
var quotaKeys = map[string][]string{
	quotaEntityUser:     {"producer_byte_rate", "consumer_byte_rate", "request_percentage", "controller_mutation_rate"},
	quotaEntityClientID: {"producer_byte_rate", "consumer_byte_rate", "request_percentage", "controller_mutation_rate"},
	quotaEntityIP:       {"connection_creation_rate"},
}

// quotaEntityFlags are --user, --client-id, --ip and their -defaults.
type quotaEntityFlags struct {
	user, clientID, ip                       string
	userDefaults, clientDefaults, ipDefaults bool
}

func (q *quotaEntityFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&q.user, "user", "", "the user principal `NAME` (as SASL or the certificate names it)")
	fs.BoolVar(&q.userDefaults, "user-defaults", false, "the default for users without their own quota")
	fs.StringVar(&q.clientID, "client-id", "", "the client `ID` (client.id); with --user, that user's clients with this id")
	fs.BoolVar(&q.clientDefaults, "client-defaults", false, "the default for client ids without their own quota")
	fs.StringVar(&q.ip, "ip", "", "the client `IP` address, for connection_creation_rate")
	fs.BoolVar(&q.ipDefaults, "ip-defaults", false, "the default for IP addresses without their own quota")
}

// entity builds the entity the flags name: user, client id or both, or an
// IP, each by name or default (a nil name).
func (q *quotaEntityFlags) entity() (kadm.ClientQuotaEntity, error) {
	var e kadm.ClientQuotaEntity
	add := func(kind, name string, isDefault bool) error {
		switch {
		case name != "" && isDefault:
			return fmt.Errorf("--%s and its --*-defaults flag exclude each other", kind)
		case name != "":
			e = append(e, kadm.ClientQuotaEntityComponent{Type: kind, Name: &name})
		case isDefault:
			e = append(e, kadm.ClientQuotaEntityComponent{Type: kind})
		}
		return nil
	}
	if err := errors.Join(add(quotaEntityUser, q.user, q.userDefaults),
		add(quotaEntityClientID, q.clientID, q.clientDefaults),
		add(quotaEntityIP, q.ip, q.ipDefaults)); err != nil {
		return nil, err
	}
	if len(e) > 1 && slices.ContainsFunc(e, func(c kadm.ClientQuotaEntityComponent) bool { return c.Type == quotaEntityIP }) {
		return nil, errors.New("an IP quota stands alone; --ip does not combine with --user or --client-id")
	}
	return e, nil
}

// parseQuotaOps turns --add k=v and --delete k into operations, checking
// each key against the entity's types. Both flags also take comma
// separated lists, as kafka-configs.sh's --add-config does.
func parseQuotaOps(entity kadm.ClientQuotaEntity, adds, deletes []string) ([]kadm.AlterClientQuotaOp, error) {
	valid := quotaKeys[entity[0].Type]
	checkKey := func(k string) error {
		if !slices.Contains(valid, k) {
			return fmt.Errorf("quota %q does not apply to a %s (valid: %s)", k, entity[0].Type, strings.Join(valid, ", "))
		}
		return nil
	}
	var ops []kadm.AlterClientQuotaOp
	seen := map[string]bool{}
	for _, item := range splitCommaList(adds) {
		k, v, err := parseKeyValue(item)
		if err != nil {
			return nil, fmt.Errorf("--add %w", err)
		}
		if err := checkKey(k); err != nil {
			return nil, err
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f <= 0 || math.IsInf(f, 0) {
			return nil, fmt.Errorf("--add %s: %q is not a positive number", k, v)
		}
		if seen[k] {
			return nil, fmt.Errorf("quota %q given twice", k)
		}
		seen[k] = true
		ops = append(ops, kadm.AlterClientQuotaOp{Key: k, Value: f})
	}
	for _, k := range splitCommaList(deletes) {
		if err := checkKey(k); err != nil {
			return nil, err
		}
		if seen[k] {
			return nil, fmt.Errorf("quota %q given twice", k)
		}
		seen[k] = true
		ops = append(ops, kadm.AlterClientQuotaOp{Key: k, Remove: true})
	}
	if len(ops) == 0 {
		return nil, errors.New("nothing to change: give --add NAME=VALUE or --delete NAME")
	}
	return ops, nil
}

func splitCommaList(list []string) []string {
	var items []string
	for _, s := range list {
		for item := range strings.SplitSeq(s, ",") {
			if item = strings.TrimSpace(item); item != "" {
				items = append(items, item)
			}
		}
	}
	return items
}

func quotaSet(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("fjord quota set", "fjord quota set [--user NAME | --user-defaults] [--client-id ID | --client-defaults] [--ip IP | --ip-defaults] "+
		"[--add NAME=VALUE ...] [--delete NAME ...]\n"+
		"quotas: producer_byte_rate, consumer_byte_rate (bytes/s), request_percentage, controller_mutation_rate; ip: connection_creation_rate", stderr)
	var conn connFlags
	conn.register(fs)
	var entityFlags quotaEntityFlags
	entityFlags.register(fs)
	var adds, deletes stringList
	fs.Var(&adds, "add", "set quota `NAME=VALUE` (repeatable, or comma separated)")
	fs.Var(&deletes, "delete", "remove quota `NAME`, falling back to the default (repeatable, or comma separated)")
	rest, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 0 {
		return usagef(fs, "unexpected arguments %q", rest)
	}
	entity, err := entityFlags.entity()
	if err != nil {
		return usagef(fs, "%v", err)
	}
	if len(entity) == 0 {
		return usagef(fs, "give the entity: --user, --client-id, --ip or a --*-defaults flag")
	}
	ops, err := parseQuotaOps(entity, adds, deletes)
	if err != nil {
		return usagef(fs, "%v", err)
	}
	adm, ctx, seeds, closeAdmin, err := openAdmin(ctx, fs, conn)
	if err != nil {
		return err
	}
	defer closeAdmin()

	results, err := adm.AlterClientQuotas(ctx, []kadm.AlterClientQuotaEntry{{Entity: entity, Ops: ops}})
	if err != nil {
		return describeRequestError(ctx, "altering quotas of "+entityName(entity), seeds, conn.timeout, err)
	}
	if len(results) != 1 {
		return fmt.Errorf("altering quotas of %s: the broker answered for %d entities", entityName(entity), len(results))
	}
	if r := results[0]; r.Err != nil {
		return fmt.Errorf("altering quotas of %s: %s", entityName(entity), withDetail(r.Err, r.ErrMessage))
	}
	fmt.Fprintf(stdout, "updated quota configs for %s\n", entityName(entity))
	return nil
}

func quotaList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("fjord quota list", "fjord quota list [--user NAME | --user-defaults] [--client-id ID | --client-defaults] [--ip IP | --ip-defaults]\n"+
		"Without an entity flag every quota is listed; with --user alone, alice's own quotas and those of her client ids.", stderr)
	var conn connFlags
	conn.register(fs)
	var entityFlags quotaEntityFlags
	entityFlags.register(fs)
	rest, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 0 {
		return usagef(fs, "unexpected arguments %q", rest)
	}
	entity, err := entityFlags.entity()
	if err != nil {
		return usagef(fs, "%v", err)
	}
	adm, ctx, seeds, closeAdmin, err := openAdmin(ctx, fs, conn)
	if err != nil {
		return err
	}
	defer closeAdmin()

	var components []kadm.DescribeClientQuotaComponent
	for _, c := range entity {
		d := kadm.DescribeClientQuotaComponent{Type: c.Type, MatchName: c.Name, MatchType: kmsg.QuotasMatchTypeExact}
		if c.Name == nil {
			d.MatchType = kmsg.QuotasMatchTypeDefault
		}
		components = append(components, d)
	}
	described, err := adm.DescribeClientQuotas(ctx, false, components)
	if err != nil {
		return describeRequestError(ctx, "listing quotas", seeds, conn.timeout, err)
	}
	writeQuotas(stdout, described)
	return nil
}

// writeQuotas prints one line per entity, as kafka-configs.sh --describe:
//
//	Quota configs for user-principal 'alice', client-id 'app' are consumer_byte_rate=2048.0, producer_byte_rate=1024.0
func writeQuotas(w io.Writer, described kadm.DescribedClientQuotas) {
	lines := make([]string, 0, len(described))
	for _, d := range described {
		values := slices.Clone(d.Values)
		slices.SortFunc(values, func(a, b kadm.ClientQuotaValue) int { return cmp.Compare(a.Key, b.Key) })
		parts := make([]string, len(values))
		for i, v := range values {
			parts[i] = v.Key + "=" + javaDouble(v.Value)
		}
		lines = append(lines, fmt.Sprintf("Quota configs for %s are %s", entityName(d.Entity), strings.Join(parts, ", ")))
	}
	slices.Sort(lines)
	for _, l := range lines {
		fmt.Fprintln(w, l)
	}
}

// entityName names an entity as kafka-configs.sh does: "user-principal
// 'alice', client-id 'app'", "the default user-principal".
func entityName(e kadm.ClientQuotaEntity) string {
	order := map[string]int{quotaEntityUser: 0, quotaEntityClientID: 1, quotaEntityIP: 2}
	sorted := slices.Clone(e)
	slices.SortFunc(sorted, func(a, b kadm.ClientQuotaEntityComponent) int { return cmp.Compare(order[a.Type], order[b.Type]) })
	parts := make([]string, len(sorted))
	for i, c := range sorted {
		kind := c.Type
		if kind == quotaEntityUser {
			kind = "user-principal"
		}
		if c.Name == nil {
			parts[i] = "the default " + kind
		} else {
			parts[i] = fmt.Sprintf("%s '%s'", kind, *c.Name)
		}
	}
	return strings.Join(parts, ", ")
}

// javaDouble formats a quota as Java's Double.toString does for the values
// quotas take: 1024.0, 0.5.
func javaDouble(f float64) string {
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.ContainsAny(s, ".eE") && !math.IsInf(f, 0) && !math.IsNaN(f) {
		s += ".0"
	}
	return s
}
