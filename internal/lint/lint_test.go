package lint

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// Limits (STYLE.md: "Files mostly 100 to 600 lines; split at about 1,000";
// "Functions that fit on a screen").
const (
	maxFileLines     = 1000
	maxFuncLines     = 100
	maxTestFuncLines = 200
	maxTestFileLines = 1200
)

// longFuncs are functions allowed past maxFuncLines: tables of
// definitions, one entry a line, which split would only scatter.
var longFuncs = []string{
	"internal/config/brokerdefs.go:brokerOwnDefs",
}

// wallClockFiles may call time.Now: they measure real time (benchmarks,
// the test harness, the checker's recorder), set I/O deadlines on sockets,
// or are the clock an injected one defaults to. Everywhere else time comes
// from an injected clock, so that tests can stop and move it.
var wallClockFiles = []string{
	"internal/node/node.go",            // start-up time in the log
	"internal/node/console.go",         // the web console's chart clock
	"internal/bench/",                  // throughput and latency measurements
	"internal/checker/history.go",      // the recorder's default clock
	"internal/controllerwire/",         // socket deadlines
	"internal/fjordtest/",              // test harness
	"internal/serverproc/",             // process harness
	"internal/group/coordinator.go",    // realClock, the coordinator's default
	"internal/txn/clock.go",            // realClock, the coordinator's default
	"internal/metadata/forward.go",     // socket deadlines
	"internal/metadata/network.go",     // socket deadlines
	"internal/server/conn.go",          // socket deadlines, request receipt
	"internal/server/server.go",        // connection admission, as the accept loop sees it
	"internal/server/sasl.go",          // the default clock of SASL session lifetimes
	"internal/interbroker/security.go", // SASL session lifetimes told by another broker
	"internal/cli/",                    // command-line timers
	"streams/clock.go",                 // a running Streams application's clock
}

// dataPathDirs must reach files through vfs.FS, so that tests can crash
// them and inject errors (STYLE.md convention 10).
var dataPathDirs = []string{
	"internal/storage/", "internal/partition/", "internal/replicas/", "internal/broker/",
	"internal/group/", "internal/replication/", "internal/producerstate/", "internal/recordbatch/",
}

// osFileFuncs are the os functions that touch files.
var osFileFuncs = []string{"Open", "OpenFile", "Create", "Remove", "RemoveAll", "Rename", "Mkdir", "MkdirAll",
	"ReadFile", "WriteFile", "ReadDir", "Stat", "Lstat", "Truncate", "MkdirTemp", "CreateTemp"}

// source is one parsed Go file of the module.
type source struct {
	rel   string // path from the module root, slash-separated
	test  bool
	fset  *token.FileSet
	file  *ast.File
	lines int
}

func moduleSources(t *testing.T) []source {
	t.Helper()
	_, here, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(here), "..", "..")
	var out []source
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); name == "testdata" || strings.HasPrefix(name, ".") && path != root {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if strings.HasPrefix(rel, "bench/peers/") {
			return nil // programs of other projects' clients, built apart
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, path, src, 0)
		if err != nil {
			return err
		}
		out = append(out, source{rel: rel, test: strings.HasSuffix(rel, "_test.go"), fset: fset, file: f,
			lines: strings.Count(string(src), "\n")})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) < 100 {
		t.Fatalf("found only %d Go files under %s", len(out), root)
	}
	return out
}

func hasPrefix(path string, prefixes []string) bool {
	return slices.ContainsFunc(prefixes, func(p string) bool { return strings.HasPrefix(path, p) })
}

func TestFileAndFunctionSizes(t *testing.T) {
	for _, s := range moduleSources(t) {
		fileLimit, funcLimit := maxFileLines, maxFuncLines
		if s.test {
			fileLimit, funcLimit = maxTestFileLines, maxTestFuncLines
		}
		if s.lines > fileLimit {
			t.Errorf("%s: %d lines, over %d: split it", s.rel, s.lines, fileLimit)
		}
		for _, d := range s.file.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Body == nil {
				continue
			}
			n := s.fset.Position(fd.End()).Line - s.fset.Position(fd.Pos()).Line + 1
			if n > funcLimit && !slices.Contains(longFuncs, s.rel+":"+fd.Name.Name) {
				t.Errorf("%s: %s is %d lines, over %d", s.rel, fd.Name.Name, n, funcLimit)
			}
		}
	}
}

// selectorCalls reports every call pkg.Name(...) in f where pkg is the
// file's name for the import path imp.
func selectorCalls(s source, imp string, names []string, report func(pos token.Position, name string)) {
	local := ""
	for _, is := range s.file.Imports {
		if strings.Trim(is.Path.Value, `"`) != imp {
			continue
		}
		local = filepath.Base(imp)
		if is.Name != nil {
			local = is.Name.Name
		}
	}
	if local == "" {
		return
	}
	ast.Inspect(s.file, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok {
			return true
		}
		sel, ok := call.Fun.(*ast.SelectorExpr)
		if !ok {
			return true
		}
		if id, ok := sel.X.(*ast.Ident); ok && id.Name == local && slices.Contains(names, sel.Sel.Name) {
			report(s.fset.Position(call.Pos()), sel.Sel.Name)
		}
		return true
	})
}

func TestTimeComesFromClocks(t *testing.T) {
	for _, s := range moduleSources(t) {
		if s.test || hasPrefix(s.rel, wallClockFiles) {
			continue
		}
		// time.Until is not listed: it turns a context's deadline into the
		// duration an API takes, which is wall-clock time by nature.
		selectorCalls(s, "time", []string{"Now", "Since"}, func(pos token.Position, name string) {
			t.Errorf("%s:%d: time.%s: take the time from the injected clock (or list the file in wallClockFiles, with the reason)",
				s.rel, pos.Line, name)
		})
	}
}

func TestDataPathFilesGoThroughVFS(t *testing.T) {
	for _, s := range moduleSources(t) {
		if s.test || !hasPrefix(s.rel, dataPathDirs) {
			continue
		}
		selectorCalls(s, "os", osFileFuncs, func(pos token.Position, name string) {
			t.Errorf("%s:%d: os.%s: reach files through vfs.FS on the data path", s.rel, pos.Line, name)
		})
	}
}

// TestLintCatches checks the checks on a file that breaks each rule.
func TestLintCatches(t *testing.T) {
	src := "package p\n\nimport (\n\t\"os\"\n\t\"time\"\n)\n\nfunc f() {\n\t_ = time.Now()\n\t_, _ = os.Open(\"x\")\n}\n"
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "p.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	s := source{rel: "internal/storage/p.go", fset: fset, file: f}
	var found []string
	report := func(pos token.Position, name string) { found = append(found, fmt.Sprintf("%d:%s", pos.Line, name)) }
	selectorCalls(s, "time", []string{"Now"}, report)
	selectorCalls(s, "os", osFileFuncs, report)
	if !slices.Equal(found, []string{"9:Now", "10:Open"}) {
		t.Fatalf("found %v, want [9:Now 10:Open]", found)
	}
}
