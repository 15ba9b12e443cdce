package cli

import (
	"io"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
)

// parseACL parses a verb's flags as the command does, without a broker.
func parseACL(t *testing.T, verb string, args ...string) (*aclOptions, error) {
	t.Helper()
	fs := newFlagSet("test", "test", io.Discard)
	o, finish := aclFlags(fs, verb)
	if _, err := parseArgs(fs, args); err != nil {
		t.Fatalf("%q: %v", args, err)
	}
	return o, finish()
}

// TestACLRoles: --producer and --consumer expand as kafka-acls.sh's do.
func TestACLRoles(t *testing.T) {
	o, err := parseACL(t, "create", "--allow-principal", "User:a", "--producer", "--idempotent", "--consumer",
		"--topic", "t", "--group", "g", "--transactional-id", "x")
	if err != nil {
		t.Fatal(err)
	}
	if err := o.checkCreate(); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, g := range o.grants(kadm.OpAll) {
		if err := g.checkOperations(); err != nil {
			t.Errorf("role grant refused: %v", err)
		}
		got = append(got, strings.Join(slices.Concat(g.topics, g.groups, g.txnIDs), ",")+
			map[bool]string{true: "cluster"}[g.cluster]+":"+opNames(g.operations))
	}
	want := []string{"t:WRITE, DESCRIBE, CREATE", "x:WRITE, DESCRIBE", "cluster:IDEMPOTENT_WRITE", "t:READ, DESCRIBE", "g:READ"}
	if !slices.Equal(got, want) {
		t.Errorf("grants = %q, want %q", got, want)
	}
}

func TestACLCommandLineRules(t *testing.T) {
	tests := []struct {
		verb string
		args []string
		want string // "" for accepted
	}{
		{"create", []string{"--allow-principal", "User:a", "--operation", "read", "--topic", "t"}, ""},
		{"create", []string{"--allow-principal", "User:a", "--operation", "DESCRIBE_CONFIGS", "--cluster"}, ""},
		{"create", []string{"--operation", "read", "--topic", "t"}, "give --allow-principal or --deny-principal"},
		{"create", []string{"--allow-principal", "User:a"}, "give a resource"},
		{"create", []string{"--allow-principal", "alice", "--topic", "t"}, "not TYPE:NAME"},
		{"create", []string{"--allow-principal", "User:a", "--operation", "fly", "--topic", "t"}, `unknown --operation "fly"`},
		{"create", []string{"--allow-principal", "User:a", "--operation", "write", "--group", "g"}, "GROUP does not take operation WRITE"},
		{"create", []string{"--allow-principal", "User:a", "--topic", "t", "--resource-pattern-type", "match"}, "only filters"},
		{"create", []string{"--allow-principal", "User:a", "--producer", "--operation", "read", "--topic", "t"}, "choose the operations"},
		{"create", []string{"--allow-principal", "User:a", "--producer", "--group", "g"}, "--producer needs --topic"},
		{"create", []string{"--allow-principal", "User:a", "--consumer", "--topic", "t"}, "--consumer needs --topic and --group"},
		{"create", []string{"--allow-principal", "User:a", "--idempotent", "--topic", "t"}, "--idempotent goes with --producer"},
		{"create", []string{"--deny-host", "10.0.0.1", "--allow-principal", "User:a", "--topic", "t"}, "--deny-host needs --deny-principal"},
		{"delete", []string{"--topic", "t"}, "add --force"},
		{"delete", []string{"--topic", "t", "--force"}, ""},
		{"delete", []string{"--allow-principal", "User:a", "--topic", "t", "--resource-pattern-type", "any"}, ""},
		{"delete", []string{"--allow-principal", "User:a"}, "give a resource"},
	}
	for _, tt := range tests {
		o, err := parseACL(t, tt.verb, tt.args...)
		if err == nil {
			if tt.verb == "create" {
				err = o.checkCreate()
				for _, g := range o.grants(kadm.OpAll) {
					if err == nil {
						err = g.checkOperations()
					}
				}
			} else {
				err = o.checkDelete()
			}
		}
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s %q: %v", tt.verb, tt.args, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s %q: err = %v, want %q", tt.verb, tt.args, err, tt.want)
		}
	}
}

func TestWriteACLsGroupsAndDeduplicates(t *testing.T) {
	read := aclBinding{2, "t", kadm.ACLPatternLiteral, "User:a", "*", kadm.OpRead, 3}
	group := aclBinding{3, "g", kadm.ACLPatternPrefixed, "User:a", "*", kadm.OpRead, 3}
	var b strings.Builder
	writeACLs(&b, "Current ACLs for resource", []aclBinding{group, read, read})
	want := "Current ACLs for resource `ResourcePattern(resourceType=TOPIC, name=t, patternType=LITERAL)`:\n" +
		"\t(principal=User:a, host=*, operation=READ, permissionType=ALLOW)\n\n" +
		"Current ACLs for resource `ResourcePattern(resourceType=GROUP, name=g, patternType=PREFIXED)`:\n" +
		"\t(principal=User:a, host=*, operation=READ, permissionType=ALLOW)\n"
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestQuotaCommandLine(t *testing.T) {
	name := "alice"
	user := kadm.ClientQuotaEntity{{Type: quotaEntityUser, Name: &name}}
	ip := kadm.ClientQuotaEntity{{Type: quotaEntityIP}}
	ops, err := parseQuotaOps(user, []string{"producer_byte_rate=1024,consumer_byte_rate=2.5e3"}, []string{"request_percentage"})
	if err != nil {
		t.Fatal(err)
	}
	want := []kadm.AlterClientQuotaOp{{Key: "producer_byte_rate", Value: 1024}, {Key: "consumer_byte_rate", Value: 2500},
		{Key: "request_percentage", Remove: true}}
	if !slices.Equal(ops, want) {
		t.Errorf("ops = %+v, want %+v", ops, want)
	}
	for _, tt := range []struct {
		entity        kadm.ClientQuotaEntity
		adds, deletes []string
		want          string
	}{
		{user, []string{"connection_creation_rate=5"}, nil, `"connection_creation_rate" does not apply to a user`},
		{ip, []string{"producer_byte_rate=5"}, nil, `does not apply to a ip`},
		{user, []string{"producer_byte_rate=fast"}, nil, "not a positive number"},
		{user, []string{"producer_byte_rate=-1"}, nil, "not a positive number"},
		{user, []string{"producer_byte_rate=1"}, []string{"producer_byte_rate"}, "given twice"},
		{user, nil, nil, "nothing to change"},
	} {
		if _, err := parseQuotaOps(tt.entity, tt.adds, tt.deletes); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v %q %q: err = %v, want %q", tt.entity, tt.adds, tt.deletes, err, tt.want)
		}
	}
	for _, tt := range []struct {
		flags quotaEntityFlags
		want  string
	}{
		{quotaEntityFlags{user: "alice", clientID: "app"}, "user-principal 'alice', client-id 'app'"},
		{quotaEntityFlags{userDefaults: true, clientID: "app"}, "the default user-principal, client-id 'app'"},
		{quotaEntityFlags{ipDefaults: true}, "the default ip"},
		{quotaEntityFlags{user: "alice", userDefaults: true}, "exclude each other"},
		{quotaEntityFlags{user: "alice", ip: "10.0.0.1"}, "an IP quota stands alone"},
	} {
		e, err := tt.flags.entity()
		got := ""
		if err != nil {
			got = err.Error()
		} else {
			got = entityName(e)
		}
		if !strings.Contains(got, tt.want) {
			t.Errorf("%+v: %q, want %q", tt.flags, got, tt.want)
		}
	}
	for f, want := range map[float64]string{1024: "1024.0", 0.5: "0.5", 2.5e3: "2500.0", math.MaxInt32: "2147483647.0"} {
		if got := javaDouble(f); got != want {
			t.Errorf("javaDouble(%v) = %q, want %q", f, got, want)
		}
	}
}

func TestReadPassword(t *testing.T) {
	for in, want := range map[string]string{"pw\n": "pw", "pw\r\nrest\n": "pw", "no newline": "no newline", " spaced ": " spaced "} {
		got, err := readPassword(strings.NewReader(in))
		if err != nil || got != want {
			t.Errorf("readPassword(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "\n", strings.Repeat("x", maxPasswordBytes+1)} {
		if _, err := readPassword(strings.NewReader(in)); err == nil {
			t.Errorf("readPassword of %d bytes accepted", len(in))
		}
	}
}
