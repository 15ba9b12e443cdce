package console_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/fjordhq/fjord/internal/fjordtest"
)

// TestConsoleSecurityInBrowser: against a broker with an authorizer the
// ACL page lists SCRAM users, creates an ACL (checked with kadm) and
// deletes it again.
func TestConsoleSecurityInBrowser(t *testing.T) {
	findChromium(t)
	ctx := t.Context()
	srv := fjordtest.Start(t, fjordtest.Options{
		Config: map[string]string{
			"listeners":                "SASL_PLAINTEXT://127.0.0.1:0",
			"sasl.enabled.mechanisms":  "SCRAM-SHA-512",
			"sasl.without.tls.allowed": "true",
			"authorizer.class.name":    "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
			"super.users":              "User:admin",
		},
		Args: []string{"--add-scram", "SCRAM-SHA-512=[name=admin,password=admin-secret]"},
	})
	props := filepath.Join(t.TempDir(), "admin.properties")
	if err := os.WriteFile(props, []byte("security.protocol=SASL_PLAINTEXT\nsasl.mechanism=SCRAM-SHA-512\n"+
		`sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="admin-secret";`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	base := startConsole(t, srv.Addr, "--command-config", props)
	cl, err := kgo.NewClient(kgo.SeedBrokers(srv.Addr),
		kgo.SASL(scram.Auth{User: "admin", Pass: "admin-secret"}.AsSha512Mechanism()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	dir := screenshotDir(t)
	browser := newBrowser(t, 1366, 768)

	open(t, browser, base, "/security", "[data-testid=users] tbody tr")
	waitText(t, browser, "[data-testid=users]", "admin")
	waitText(t, browser, "[data-testid=users]", "SCRAM-SHA-512")
	do(t, browser, "creating an ACL",
		chromedp.SendKeys(chromedp.CSS("#acl-principal"), "User:alice"),
		chromedp.SetValue(chromedp.CSS("#acl-operation"), "READ"),
		chromedp.SendKeys(chromedp.CSS("#acl-resource-name"), "orders\r"))
	waitText(t, browser, "[data-testid=acls]", "User:alice")
	described, err := adm.DescribeACLs(ctx, kadm.NewACLs().Topics("orders").ResourcePatternType(kadm.ACLPatternLiteral).
		Allow().AllowHosts().Operations(kadm.OpAny))
	if err != nil {
		t.Fatal(err)
	}
	if n := countACLs(described); n != 1 {
		t.Fatalf("kadm sees %d ACLs on topic orders, want 1: %+v", n, described)
	}
	screenshot(t, browser, dir, "08-security-on")
	do(t, browser, "deleting the ACL", chromedp.Click(chromedp.CSS("[data-testid=delete-acl]")),
		chromedp.Click(chromedp.CSS("[data-testid=delete-acl-confirm]")))
	waitText(t, browser, ".notice.ok", "ACL deleted")
	waitText(t, browser, "main", "No ACLs.")
}

func countACLs(results kadm.DescribeACLsResults) int {
	n := 0
	for _, r := range results {
		n += len(r.Described)
	}
	return n
}
