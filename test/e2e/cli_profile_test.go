package e2e

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fjordhq/fjord/internal/cli"
)

// TestCLIProfileAndFlagOrder points the CLI at a broker only through a
// profile, checks that --brokers and --profile override it in that order,
// and that flags work before the command, before the subcommand, and
// before or after the positional arguments.
func TestCLIProfileAndFlagOrder(t *testing.T) {
	s := startServer(t, nil)
	useCLI(t, "") // no FJORD_BROKERS: without a profile the default 127.0.0.1:9092 is dialed
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()

	mustCLI(t, "", "profile", "create", "local", "--brokers", s.Addr, "--use")
	mustCLI(t, "", "profile", "create", "--brokers", dead, "dead")
	mustCLI(t, "", "topic", "create", "by-profile", "--partitions", "2")
	if r := mustCLI(t, "", "profile", "list"); !strings.Contains(r.Stdout, "*        local  "+s.Addr) {
		t.Errorf("profile list does not mark local as current:\n%s", r.Stdout)
	}

	r := runCLI(t, "", "--profile", "dead", "--timeout", "3s", "topic", "list")
	if r.Code != 1 || !strings.Contains(r.Stderr, "cannot reach brokers "+dead) {
		t.Errorf("--profile dead: exit %d, stderr %s", r.Code, r.Stderr)
	}
	if r := mustCLI(t, "", "topic", "--profile", "dead", "list", "--brokers", s.Addr); !strings.Contains(r.Stdout, "by-profile") {
		t.Errorf("--brokers over --profile listed:\n%s", r.Stdout)
	}
	t.Setenv(cli.ProfileEnv, "dead")
	if r := runCLI(t, "", "topic", "list", "--timeout", "3s"); r.Code != 1 {
		t.Errorf("%s=dead: exit %d, want 1", cli.ProfileEnv, r.Code)
	}
	mustCLI(t, "", "topic", "list", "--profile", "local")
	t.Setenv(cli.ProfileEnv, "")

	mustCLI(t, "a\nb\n", "produce", "by-profile", "--partition", "1")
	mustCLI(t, "c\n", "--partition", "1", "produce", "by-profile")
	mustCLI(t, "", "topic", "--partitions", "1", "create", "second")
	for _, args := range [][]string{
		{"consume", "by-profile", "--from", "beginning", "--partition", "1"},
		{"consume", "--from", "beginning", "--partition", "1", "by-profile"},
		{"--from", "beginning", "consume", "--partition=1", "by-profile"},
	} {
		if r := mustCLI(t, "", args...); r.Stdout != "a\nb\nc\n" {
			t.Errorf("fjord %q printed %q, want a b c", args, r.Stdout)
		}
	}
	if r := mustCLI(t, "", "topic", "describe", "second", "--profile", "local"); !strings.Contains(r.Stdout, "PartitionCount: 1") {
		t.Errorf("topic --partitions 1 create second made:\n%s", r.Stdout)
	}
}

// TestCLICompletionScripts checks that the scripts `fjord completion`
// prints for the whole binary parse: with bash -n, and with zsh -n where
// zsh is installed (CI installs it and sets FJORD_E2E_REQUIRE_SHELLS, which
// makes a missing shell a failure).
func TestCLICompletionScripts(t *testing.T) {
	dir := t.TempDir()
	for _, shell := range []string{"bash", "zsh"} {
		script := mustCLI(t, "", "completion", shell).Stdout
		for _, want := range []string{"bench) printf '%s\\n' 'produce consume e2e' ;;", "'server') printf '%s\\n' '--add-scram", "'consume') printf '%s\\n' '--brokers"} {
			if !strings.Contains(script, want) {
				t.Errorf("%s script lacks %q", shell, want)
			}
		}
		path := filepath.Join(dir, "fjord."+shell)
		if err := os.WriteFile(path, []byte(script), 0o600); err != nil {
			t.Fatal(err)
		}
		binary, err := exec.LookPath(shell)
		if err != nil && os.Getenv("FJORD_E2E_REQUIRE_SHELLS") == "1" {
			t.Fatalf("no %s installed, and FJORD_E2E_REQUIRE_SHELLS=1", shell)
		}
		if err != nil {
			t.Logf("no %s installed: its script is not parsed", shell)
			continue
		}
		if out, err := exec.Command(binary, "-n", path).CombinedOutput(); err != nil {
			t.Errorf("%s -n: %v\n%s", shell, err, out)
		}
	}
}
