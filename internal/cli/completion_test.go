package cli

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func completionScript(t *testing.T, shell string) string {
	t.Helper()
	var out, errOut strings.Builder
	if err := CompletionCommand(ClientCommands()).Run(context.Background(), []string{shell}, nil, &out, &errOut); err != nil {
		t.Fatalf("completion %s: %v\n%s", shell, err, errOut.String())
	}
	return out.String()
}

func TestCompletionLists(t *testing.T) {
	script := completionScript(t, "bash")
	for _, want := range []string{
		shellList + " 'topic produce consume cluster group partition txn user acl quota console connector profile completion'",
		"topic) " + shellList + " 'create list describe delete alter-config' ;;",
		"profile) " + shellList + " 'create list show use delete' ;;",
		"completion) " + shellList + " 'bash zsh' ;;",
		"*' --isolation') " + shellList + " 'read_uncommitted read_committed' ;;",
	} {
		if !strings.Contains(script, want) {
			t.Errorf("bash script lacks %q", want)
		}
	}
	for command, flags := range map[string][]string{
		"'consume'":      {"--group", "--isolation", "--format", "--profile", "--brokers", "--tls-ca"},
		"'produce'":      {"--format", "--key-separator"},
		"'topic create'": {"--partitions", "--if-not-exists"},
		"'profile list'": {"--names"},
	} {
		line := lineContaining(script, "    "+command+") "+shellList)
		_, listed, _ := strings.Cut(strings.TrimSuffix(line, "' ;;"), shellList+" '")
		for _, flag := range flags {
			if !slices.Contains(strings.Fields(listed), flag) {
				t.Errorf("flags of %s lack %s: %q", command, flag, line)
			}
		}
	}
	if zsh := completionScript(t, "zsh"); !strings.HasPrefix(zsh, "#compdef fjord\n") || !strings.Contains(zsh, `'consume:print records of a topic`) {
		t.Errorf("zsh script lacks its header or descriptions:\n%s", zsh[:min(len(zsh), 500)])
	}
	err := CompletionCommand(nil).Run(context.Background(), []string{"fish"}, nil, io.Discard, io.Discard)
	if !errors.Is(err, ErrUsage) {
		t.Errorf("completion fish: %v, want ErrUsage", err)
	}
}

func lineContaining(text, fragment string) string {
	for line := range strings.SplitSeq(text, "\n") {
		if strings.Contains(line, fragment) {
			return line
		}
	}
	return ""
}

// TestBashCompletion loads the script into bash and asks it what a Tab
// would offer.
func TestBashCompletion(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	path := filepath.Join(t.TempDir(), "fjord.bash")
	if err := os.WriteFile(path, []byte(completionScript(t, "bash")), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bash, "-n", path).CombinedOutput(); err != nil {
		t.Fatalf("bash -n: %v\n%s", err, out)
	}
	tests := []struct{ line, want string }{
		{"fjord ", "topic produce consume cluster group partition txn user acl quota console connector profile completion"},
		{"fjord con", "consume console connector"},
		{"fjord topic ", "create list describe delete alter-config"},
		{"fjord --profile prod topic cr", "create"},
		{"fjord consume t --gr", "--group"},
		{"fjord consume t --isolation ", "read_uncommitted read_committed"},
		{"fjord produce --format ", "text json"},
		{"fjord --brokers list topic l", "list"},
		{"fjord completion ", "bash zsh"},
	}
	for _, tt := range tests {
		words := strings.Split(tt.line, " ")
		script := `source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); _fjord; echo "${COMPREPLY[*]}"`
		out, err := exec.Command(bash, append([]string{"-c", script, "bash", path}, words...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("%q: %v\n%s", tt.line, err, out)
		}
		if got := strings.TrimSpace(string(out)); got != tt.want {
			t.Errorf("%q completes to %q, want %q", tt.line, got, tt.want)
		}
	}
}
