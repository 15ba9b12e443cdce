package clustertest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"
)

// pollInterval is how often Eventually checks its condition.
const pollInterval = 20 * time.Millisecond

// Eventually polls cond until it reports true or ctx ends; the last
// description cond gave is in the failure message.
func Eventually(t testing.TB, ctx context.Context, what string, cond func() (bool, string)) {
	t.Helper()
	ticker := time.NewTicker(pollInterval)
	defer ticker.Stop()
	last := ""
	for {
		ok, desc := cond()
		if ok {
			return
		}
		last = desc
		select {
		case <-ctx.Done():
			t.Fatalf("%s: not reached before deadline (%v); last: %s", what, ctx.Err(), last)
		case <-ticker.C:
		}
	}
}

// RequireKcatEnv makes a missing kcat binary a failure instead of a
// skipped check; .ci/run sets it after installing kcat.
const RequireKcatEnv = "FJORD_E2E_REQUIRE_KCAT"

// LookKcat returns the path of kcat (librdkafka's command-line client).
// When it is not installed the test fails if RequireKcatEnv is set;
// otherwise LookKcat returns the reason, for the caller to skip.
func LookKcat(t testing.TB) (string, error) {
	t.Helper()
	path, err := exec.LookPath("kcat")
	if err == nil {
		return path, nil
	}
	if os.Getenv(RequireKcatEnv) != "" {
		t.Fatalf("kcat not installed: %v", err)
	}
	return "", fmt.Errorf("kcat not installed (apt-get install kcat; %s=1 makes this a failure): %w", RequireKcatEnv, err)
}
