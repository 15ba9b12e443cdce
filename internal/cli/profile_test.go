package cli

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// useConfigDir points the profile store at a new directory for one test.
func useConfigDir(t *testing.T) profileStore {
	t.Helper()
	dir := t.TempDir()
	t.Setenv(ConfigDirEnv, dir)
	t.Setenv(ProfileEnv, "")
	t.Setenv(BrokersEnv, "")
	return profileStore{dir: dir}
}

func runProfile(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut strings.Builder
	err = Profile(context.Background(), args, nil, &out, &errOut)
	return out.String(), errOut.String(), err
}

func TestProfileCommands(t *testing.T) {
	store := useConfigDir(t)
	if _, stderr, err := runProfile(t, "create", "prod", "--brokers", "a:9092, b:9092", "--security-protocol", "SASL_PLAINTEXT",
		"--sasl-mechanism", "SCRAM-SHA-512", "--sasl-username", "alice", "--sasl-password", "s3cret", "--set", "client.id=cli"); err != nil {
		t.Fatalf("create: %v\n%s", err, stderr)
	}
	if _, _, err := runProfile(t, "create", "local", "--brokers", "127.0.0.1:9092", "--use"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := runProfile(t, "create", "local"); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("second create of local: %v, want already exists", err)
	}
	props, err := store.load("prod")
	if err != nil {
		t.Fatal(err)
	}
	if props[PropBootstrapServers] != "a:9092,b:9092" || props["sasl.password"] != "s3cret" || props["client.id"] != "cli" {
		t.Errorf("prod holds %q", props)
	}
	if info, err := os.Stat(store.path("prod")); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("prod file: %v, mode %v; want 0600: it holds a password", err, info.Mode())
	}

	out, _, err := runProfile(t, "list")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "*        local  127.0.0.1:9092") || !strings.Contains(out, "prod   a:9092,b:9092   SASL_PLAINTEXT SCRAM-SHA-512") {
		t.Errorf("list:\n%s", out)
	}
	if out, _, _ := runProfile(t, "list", "--names"); out != "local\nprod\n" {
		t.Errorf("list --names = %q", out)
	}
	out, _, err = runProfile(t, "show", "prod")
	if err != nil || strings.Contains(out, "s3cret") || !strings.Contains(out, "sasl.password=[hidden]") || !strings.Contains(out, "sasl.username=alice") {
		t.Errorf("show prod (%v):\n%s", err, out)
	}

	if _, _, err := runProfile(t, "delete", "local"); err != nil {
		t.Fatal(err)
	}
	if current, err := store.current(); err != nil || current != "" {
		t.Errorf("current after deleting it = %q, %v; want none", current, err)
	}
	if _, _, err := runProfile(t, "use", "local"); !errors.Is(err, ErrNoProfile) {
		t.Errorf("use of a deleted profile: %v, want ErrNoProfile", err)
	}
	if _, _, err := runProfile(t, "delete", "local"); !errors.Is(err, ErrNoProfile) {
		t.Errorf("second delete: %v, want ErrNoProfile", err)
	}
}

func TestProfileCreateRefuses(t *testing.T) {
	useConfigDir(t)
	for _, args := range [][]string{
		{"create"},
		{"create", "../escape", "--brokers", "a:1"},
		{"create", "p", "--brokers", "nohost"},
		{"create", "p", "--sasl-username", "u"}, // PLAINTEXT has no SASL
		{"create", "p", "--security-protocol", "SSL", "--tls-ca", "/does/not/exist.pem"},
		{"create", "p", "--security-protocol", "SASL_SSL", "--sasl-mechanism", "OAUTHBEARER", "--sasl-token-file", "t"},
		{"create", "p", "--set", "novalue"},
		{"use"},
	} {
		if _, _, err := runProfile(t, args...); !errors.Is(err, ErrUsage) {
			t.Errorf("%q: err = %v, want ErrUsage", args, err)
		}
	}
}

// TestProfileFilePathsAbsolute: a profile is used from any directory, so
// the files it names are stored absolute.
func TestProfileFilePathsAbsolute(t *testing.T) {
	store := useConfigDir(t)
	dir := t.TempDir()
	t.Chdir(dir)
	if err := os.WriteFile("client.properties", []byte("ssl.ca.location=ca.pem\nsecurity.protocol=PLAINTEXT\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, stderr, err := runProfile(t, "create", "p", "--command-config", "client.properties"); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	props, err := store.load("p")
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "ca.pem"); props["ssl.ca.location"] != want {
		t.Errorf("ssl.ca.location = %q, want %q", props["ssl.ca.location"], want)
	}
}

// TestBrokerPrecedence: the command line wins over the environment, which
// wins over the files.
func TestBrokerPrecedence(t *testing.T) {
	store := useConfigDir(t)
	for name, brokers := range map[string]string{"named": "named:1", "env": "env:1", "current": "current:1"} {
		if err := store.save(name, map[string]string{PropBootstrapServers: brokers}, false); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name                string
		args                []string
		brokersEnv, profEnv string
		current             string
		want                string
	}{
		{"default", nil, "", "", "", DefaultBrokers},
		{"current profile", nil, "", "", "current", "current:1"},
		{"env brokers over the current profile", nil, "e:1", "", "current", "e:1"},
		{"FJORD_PROFILE over the current one", nil, "", "env", "current", "env:1"},
		{"env brokers over FJORD_PROFILE", nil, "e:1", "env", "", "e:1"},
		{"--profile over env brokers", []string{"--profile", "named"}, "e:1", "env", "current", "named:1"},
		{"--brokers over everything", []string{"--profile", "named", "--brokers", "f:1"}, "e:1", "env", "current", "f:1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(BrokersEnv, tt.brokersEnv)
			t.Setenv(ProfileEnv, tt.profEnv)
			if err := store.setCurrent(tt.current); err != nil {
				t.Fatal(err)
			}
			fs := newFlagSet("test", "test", io.Discard)
			var conn connFlags
			conn.register(fs)
			if _, err := parseArgs(fs, tt.args); err != nil {
				t.Fatal(err)
			}
			seeds, err := conn.validate()
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(seeds, []string{tt.want}) {
				t.Errorf("seeds = %q, want %s", seeds, tt.want)
			}
		})
	}
}

func TestMissingProfile(t *testing.T) {
	store := useConfigDir(t)
	for _, setup := range []func(){
		func() { t.Setenv(ProfileEnv, "nope") },
		func() { t.Setenv(ProfileEnv, ""); _ = store.setCurrent("gone") },
	} {
		setup()
		conn := connFlags{timeout: DefaultTimeout}
		if _, err := conn.validate(); !errors.Is(err, ErrNoProfile) {
			t.Errorf("validate: %v, want ErrNoProfile", err)
		}
	}
	conn := connFlags{profile: "../x", timeout: DefaultTimeout}
	if _, err := conn.validate(); err == nil || !strings.Contains(err.Error(), "profile name") {
		t.Errorf("validate with a bad name: %v", err)
	}
}
