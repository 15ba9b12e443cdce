package cli

import (
	"fmt"
	"os"
	"testing"
)

// TestMain keeps the profiles of whoever runs the tests out of them: every
// test, and every fjord binary the end-to-end tests start, sees an empty
// configuration directory unless it sets its own.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "fjord-cli-config-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Setenv(ConfigDirEnv, dir)
	os.Unsetenv(ProfileEnv)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
