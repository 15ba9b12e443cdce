package lint

import (
	"path"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const modulePath = "github.com/fjordhq/fjord/"

// forbiddenDeps says which packages each package must not reach, directly
// or through others (non-test files): imports run one way, from the
// binary down to storage, and the quorum knows nothing of logs.
var forbiddenDeps = map[string][]string{
	// The metadata quorum holds the cluster's state; logs, replication and
	// partitions sit above it.
	"internal/metadata": {"internal/storage", "internal/partition", "internal/replication", "internal/replicas",
		"internal/broker", "internal/node"},
	// The CLI is a client: it talks to the controllers through
	// controllerwire, never runs the quorum's server side.
	"internal/cli":         {"internal/metadata", "internal/broker", "internal/replicas", "internal/storage", "internal/node"},
	"internal/storage":     {"internal/partition", "internal/replication", "internal/replicas", "internal/broker", "internal/metadata"},
	"internal/partition":   {"internal/replication", "internal/replicas", "internal/broker", "internal/metadata"},
	"internal/replication": {"internal/replicas", "internal/broker", "internal/metadata"},
	"internal/replicas":    {"internal/broker", "internal/node"},
	"internal/broker":      {"internal/node"},
	// The transaction coordinator keeps its state in a log the broker
	// adapts for it: it reaches no partition, replica or other coordinator.
	"internal/txn": {"internal/storage", "internal/partition", "internal/replication", "internal/replicas",
		"internal/metadata", "internal/group", "internal/broker", "internal/node"},
	// The inter-broker client carries requests; what they mean belongs to
	// its callers (the fetcher, the transaction coordinator).
	"internal/interbroker": {"internal/storage", "internal/partition", "internal/replication", "internal/replicas",
		"internal/metadata", "internal/group", "internal/broker", "internal/server", "internal/node"},
}

// packageImports maps each package of the module (path from the module
// root) to the module packages its non-test files import.
func packageImports(sources []source) map[string][]string {
	deps := map[string][]string{}
	for _, s := range sources {
		if s.test {
			continue
		}
		pkg := path.Dir(s.rel)
		for _, imp := range s.file.Imports {
			p, err := strconv.Unquote(imp.Path.Value)
			if err != nil || !strings.HasPrefix(p, modulePath) {
				continue
			}
			if p = strings.TrimPrefix(p, modulePath); !slices.Contains(deps[pkg], p) {
				deps[pkg] = append(deps[pkg], p)
			}
		}
	}
	return deps
}

// reaches returns the path of imports from pkg to target, or nil.
func reaches(deps map[string][]string, pkg, target string) []string {
	seen := map[string]bool{}
	var walk func(p string, trail []string) []string
	walk = func(p string, trail []string) []string {
		if p == target {
			return append(trail, p)
		}
		if seen[p] {
			return nil
		}
		seen[p] = true
		for _, d := range deps[p] {
			if found := walk(d, append(trail, p)); found != nil {
				return found
			}
		}
		return nil
	}
	return walk(pkg, nil)
}

func TestImportsRunOneWay(t *testing.T) {
	deps := packageImports(moduleSources(t))
	for pkg, forbidden := range forbiddenDeps {
		if _, ok := deps[pkg]; !ok {
			t.Errorf("%s: no such package with imports (the rule is stale)", pkg)
		}
		for _, target := range forbidden {
			if trail := reaches(deps, pkg, target); trail != nil {
				t.Errorf("%s reaches %s: %s", pkg, target, strings.Join(trail, " -> "))
			}
		}
	}
}

// TestLayeringCatches checks reaches on a made-up graph.
func TestLayeringCatches(t *testing.T) {
	deps := map[string][]string{"a": {"b"}, "b": {"c"}, "c": {"a"}}
	if got := reaches(deps, "a", "c"); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Fatalf("a to c: %v", got)
	}
	if got := reaches(deps, "a", "d"); got != nil {
		t.Fatalf("a to d: %v", got)
	}
}
