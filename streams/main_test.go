package streams_test

import (
	"os"
	"testing"
)

// TestMain runs the test binary as a Streams application instance when
// instanceEnv is set, so that fault tests can SIGKILL instances as
// processes; otherwise it runs the tests.
func TestMain(m *testing.M) {
	if os.Getenv(instanceEnv) != "" {
		os.Exit(runInstance())
	}
	os.Exit(m.Run())
}
