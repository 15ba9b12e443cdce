package cli

import (
	"slices"
	"strings"
	"testing"
)

func TestSplitCommand(t *testing.T) {
	names := []string{"topic", "consume", "list", "create"}
	tests := []struct {
		name     string
		args     string
		wantName string
		wantRest string
		wantBad  int
	}{
		{"name first", "topic list", "topic", "list", -1},
		{"connection flag before", "--profile prod topic list", "topic", "--profile prod list", -1},
		{"flag value equal to a name", "--profile topic consume t", "consume", "--profile topic t", -1},
		{"flag=value before", "--brokers=b:1 consume t --group g", "consume", "--brokers=b:1 t --group g", -1},
		{"other flag with a value", "--partitions 3 create t", "create", "--partitions 3 t", -1},
		{"other bool flag", "--if-not-exists create t", "create", "--if-not-exists t", -1},
		{"single dash", "-timeout 5s list", "list", "-timeout 5s", -1},
		{"unknown word", "frobnicate", "", "", 0},
		{"unknown word after a connection flag", "--brokers b:1 frobnicate", "", "", 2},
		{"only flags", "--brokers b:1", "", "", -1},
		{"double dash stops", "-- topic", "", "", -1},
		{"nothing", "", "", "", -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name, rest, bad := SplitCommand(strings.Fields(tt.args), names)
			if name != tt.wantName || bad != tt.wantBad {
				t.Fatalf("SplitCommand(%q) = %q, bad %d; want %q, bad %d", tt.args, name, bad, tt.wantName, tt.wantBad)
			}
			if want := strings.Fields(tt.wantRest); name != "" && !slices.Equal(rest, want) {
				t.Errorf("rest = %q, want %q", rest, want)
			}
		})
	}
}
