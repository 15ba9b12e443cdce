package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fjordhq/fjord/internal/cli"
	"github.com/fjordhq/fjord/internal/fjordtest"
)

// saslBroker starts a broker whose one listener takes SASL (SCRAM from the
// quorum, PLAIN from the JAAS config) with ACLs on and admin as the super
// user, bootstrapped by --add-scram.
func saslBroker(t *testing.T) *fjordtest.Server {
	t.Helper()
	return fjordtest.Start(t, fjordtest.Options{
		Config: map[string]string{
			"listeners":                "SASL_PLAINTEXT://127.0.0.1:0",
			"sasl.enabled.mechanisms":  "SCRAM-SHA-512,SCRAM-SHA-256,PLAIN",
			"sasl.without.tls.allowed": "true",
			"listener.name.sasl_plaintext.plain.sasl.jaas.config": `org.apache.kafka.common.security.plain.PlainLoginModule required ` +
				`user_admin="admin-plain" user_alice="alice-secret";`,
			"authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
			"super.users":           "User:admin",
		},
		Args: []string{"--add-scram", "SCRAM-SHA-512=[name=admin,password=admin-secret]"},
	})
}

// clientProperties writes a Kafka client properties file for a SASL login.
func clientProperties(t *testing.T, mechanism, module, user, password string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), user+".properties")
	body := "# written by " + t.Name() + "\n" +
		"security.protocol=SASL_PLAINTEXT\n" +
		"sasl.mechanism=" + mechanism + "\n" +
		"sasl.jaas.config=" + module + ` required \` + "\n" +
		`    username="` + user + `" password="` + password + `";` + "\n"
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

const (
	scramModule = "org.apache.kafka.common.security.scram.ScramLoginModule"
	plainModule = "org.apache.kafka.common.security.plain.PlainLoginModule"
)

// TestE2ESASL: an admin creates a SCRAM user with `fjord user create`,
// grants it the producer and consumer roles with `fjord acl create`, and the
// user produces and consumes over SASL_PLAINTEXT with --command-config
// (SCRAM-SHA-512) and with flags (PLAIN); a wrong password fails at once
// with a message that says so and does not repeat the password.
func TestE2ESASL(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test starts a broker")
	}
	s := saslBroker(t)
	t.Setenv(cli.BrokersEnv, s.Addr)
	admin := []string{"--command-config", clientProperties(t, "SCRAM-SHA-512", scramModule, "admin", "admin-secret")}
	carol := []string{"--command-config", clientProperties(t, "SCRAM-SHA-512", scramModule, "carol", "carol pass;x")}
	alice := []string{"--security-protocol", "SASL_PLAINTEXT", "--sasl-mechanism", "PLAIN",
		"--sasl-username", "alice", "--sasl-password", "alice-secret"}

	mustFjord(t, "", append([]string{"topic", "create", "orders", "--partitions", "2"}, admin...)...)

	t.Run("user create reads the password from stdin", func(t *testing.T) {
		r := mustFjord(t, "carol pass;x\n", append([]string{"user", "create", "carol"}, admin...)...)
		if !strings.Contains(r.Stdout, `created SCRAM-SHA-512 credential for user "carol" with 8192 iterations`) {
			t.Errorf("user create said:\n%s", r.Stdout)
		}
		mustFjord(t, "", append([]string{"user", "create", "carol", "--mechanism", "SCRAM-SHA-256",
			"--iterations", "4096", "--password", "other"}, admin...)...)
		r = mustFjord(t, "", append([]string{"user", "list"}, admin...)...)
		for _, want := range []string{"admin  SCRAM-SHA-512  4096", "carol  SCRAM-SHA-256  4096", "carol  SCRAM-SHA-512  8192"} {
			if !strings.Contains(r.Stdout, want) {
				t.Errorf("user list lacks %q:\n%s", want, r.Stdout)
			}
		}
		mustFjord(t, "", append([]string{"user", "delete", "carol", "--mechanism", "SCRAM-SHA-256"}, admin...)...)
		r = mustFjord(t, "", append([]string{"user", "list", "carol"}, admin...)...)
		if strings.Contains(r.Stdout, "SCRAM-SHA-256") || !strings.Contains(r.Stdout, "SCRAM-SHA-512") {
			t.Errorf("after deleting carol's SCRAM-SHA-256 credential, user list says:\n%s", r.Stdout)
		}
	})

	t.Run("without ACLs carol is refused", func(t *testing.T) {
		r := fjord(t, "x\n", append([]string{"produce", "orders", "--timeout", "10s"}, carol...)...)
		wantFailure(t, r, cli.ExitFailure, "TOPIC_AUTHORIZATION_FAILED")
	})

	t.Run("acl create producer and consumer roles", func(t *testing.T) {
		mustFjord(t, "", append([]string{"acl", "create", "--allow-principal", "User:carol", "--producer", "--topic", "orders"}, admin...)...)
		r := mustFjord(t, "", append([]string{"acl", "create", "--allow-principal", "User:alice", "--allow-principal", "User:carol",
			"--consumer", "--topic", "orders", "--group", "*"}, admin...)...)
		if !strings.Contains(r.Stdout, "Adding ACLs for resource `ResourcePattern(resourceType=GROUP, name=*, patternType=LITERAL)`:\n"+
			"\t(principal=User:alice, host=*, operation=READ, permissionType=ALLOW)\n") {
			t.Errorf("acl create said:\n%s", r.Stdout)
		}
		r = mustFjord(t, "", append([]string{"acl", "list", "--topic", "orders"}, admin...)...)
		want := "Current ACLs for resource `ResourcePattern(resourceType=TOPIC, name=orders, patternType=LITERAL)`:\n" +
			"\t(principal=User:alice, host=*, operation=READ, permissionType=ALLOW)\n" +
			"\t(principal=User:alice, host=*, operation=DESCRIBE, permissionType=ALLOW)\n" +
			"\t(principal=User:carol, host=*, operation=READ, permissionType=ALLOW)\n" +
			"\t(principal=User:carol, host=*, operation=WRITE, permissionType=ALLOW)\n" +
			"\t(principal=User:carol, host=*, operation=CREATE, permissionType=ALLOW)\n" +
			"\t(principal=User:carol, host=*, operation=DESCRIBE, permissionType=ALLOW)\n"
		if r.Stdout != want {
			t.Errorf("acl list --topic orders:\n%s\nwant:\n%s", r.Stdout, want)
		}
	})

	t.Run("produce with SCRAM, consume with SCRAM and PLAIN", func(t *testing.T) {
		mustFjord(t, "one\ntwo\nthree\n", append([]string{"produce", "orders"}, carol...)...)
		for _, who := range [][]string{carol, alice} {
			r := mustFjord(t, "", append([]string{"consume", "orders", "--from", "beginning"}, who...)...)
			got := lines(r.Stdout)
			if len(got) != 3 || !strings.Contains(r.Stdout, "one") || !strings.Contains(r.Stdout, "three") {
				t.Errorf("consumed %q", got)
			}
		}
	})

	t.Run("wrong password fails fast and clearly", func(t *testing.T) {
		start := time.Now()
		r := fjord(t, "", "topic", "list", "--timeout", "20s", "--security-protocol", "SASL_PLAINTEXT",
			"--sasl-mechanism", "SCRAM-SHA-512", "--sasl-username", "carol", "--sasl-password", "hunter2-wrong")
		wantFailure(t, r, cli.ExitFailure, "authentication failed")
		if strings.Contains(r.Stderr, "hunter2-wrong") {
			t.Errorf("the password is in the error:\n%s", r.Stderr)
		}
		if elapsed := time.Since(start); elapsed > 15*time.Second {
			t.Errorf("a wrong password took %v to report, close to --timeout", elapsed)
		}
	})

	t.Run("acl delete removes them", func(t *testing.T) {
		r := mustFjord(t, "", append([]string{"acl", "delete", "--allow-principal", "User:alice", "--consumer",
			"--topic", "orders", "--group", "*"}, admin...)...)
		if !strings.Contains(r.Stdout, "Removed ACLs for resource") || strings.Contains(r.Stdout, "User:carol") {
			t.Errorf("acl delete said:\n%s", r.Stdout)
		}
		r = mustFjord(t, "", append([]string{"acl", "list", "--topic", "orders", "--principal", "User:alice"}, admin...)...)
		if r.Stdout != "" {
			t.Errorf("alice's topic ACLs survived:\n%s", r.Stdout)
		}
		mustFjord(t, "", append([]string{"acl", "delete", "--topic", "orders", "--force"}, admin...)...)
		r = mustFjord(t, "", append([]string{"acl", "list"}, admin...)...)
		if strings.Contains(r.Stdout, "name=orders") {
			t.Errorf("ACLs of orders survived acl delete --force:\n%s", r.Stdout)
		}
	})

	t.Run("quota set and list", func(t *testing.T) {
		mustFjord(t, "", append([]string{"quota", "set", "--user", "carol", "--add", "producer_byte_rate=1024,consumer_byte_rate=2048"}, admin...)...)
		mustFjord(t, "", append([]string{"quota", "set", "--user-defaults", "--add", "request_percentage=50"}, admin...)...)
		r := mustFjord(t, "", append([]string{"quota", "list"}, admin...)...)
		for _, want := range []string{
			"Quota configs for user-principal 'carol' are consumer_byte_rate=2048.0, producer_byte_rate=1024.0\n",
			"Quota configs for the default user-principal are request_percentage=50.0\n",
		} {
			if !strings.Contains(r.Stdout, want) {
				t.Errorf("quota list lacks %q:\n%s", want, r.Stdout)
			}
		}
		mustFjord(t, "", append([]string{"quota", "set", "--user", "carol", "--delete", "producer_byte_rate"}, admin...)...)
		r = mustFjord(t, "", append([]string{"quota", "list", "--user", "carol"}, admin...)...)
		if r.Stdout != "Quota configs for user-principal 'carol' are consumer_byte_rate=2048.0\n" {
			t.Errorf("quota list --user carol after delete:\n%s", r.Stdout)
		}
	})
}
