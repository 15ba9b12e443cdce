package e2etest

import (
	"errors"
	"os/exec"
	"strings"
	"testing"

	"github.com/fjordhq/fjord/internal/fjordtest"
)

// CLIResult is one finished run of the fjord binary.
type CLIResult struct {
	Stdout, Stderr string
	Code           int
}

// RunCLI runs the fjord binary with stdin and args; a run that could not
// start fails the test, a non-zero exit is returned in Code.
func RunCLI(t *testing.T, stdin string, args ...string) CLIResult {
	t.Helper()
	stdout, stderr, err := fjordtest.Run(t, strings.NewReader(stdin), args...)
	r := CLIResult{Stdout: stdout, Stderr: stderr}
	var exitErr *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr):
		r.Code = exitErr.ExitCode()
	default:
		t.Fatalf("fjord %q: %v", args, err)
	}
	return r
}

// MustCLI runs the fjord binary and fails the test unless it exits with 0.
func MustCLI(t *testing.T, stdin string, args ...string) CLIResult {
	t.Helper()
	r := RunCLI(t, stdin, args...)
	if r.Code != 0 {
		t.Fatalf("fjord %q exited %d\nstdout:\n%s\nstderr:\n%s", args, r.Code, r.Stdout, r.Stderr)
	}
	return r
}
