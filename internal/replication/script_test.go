package replication

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
)

var rewrite = flag.Bool("rewrite", false, "rewrite the expected output of testdata scripts")

// scriptCase is one command of a script and the output it should produce,
// with the comment lines before it, which -rewrite keeps.
type scriptCase struct {
	comments []string
	command  string
	want     []string
}

// parseScript reads blocks of "command\n----\noutput...\n" separated by blank
// lines; lines starting with # outside a block are comments.
func parseScript(t *testing.T, path string) []scriptCase {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cases []scriptCase
	var cur *scriptCase
	var comments []string
	inOutput := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case cur == nil && strings.HasPrefix(line, "#"):
			comments = append(comments, line)
		case cur == nil && strings.TrimSpace(line) == "":
		case cur == nil:
			cases = append(cases, scriptCase{comments: comments, command: line})
			cur, comments = &cases[len(cases)-1], nil
		case !inOutput && line == "----":
			inOutput = true
		case !inOutput:
			t.Fatalf("%s: expected ---- after %q, got %q", path, cur.command, line)
		case strings.TrimSpace(line) == "":
			cur, inOutput = nil, false
		default:
			cur.want = append(cur.want, line)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return cases
}

func writeScript(t *testing.T, path string, cases []scriptCase) {
	t.Helper()
	var b strings.Builder
	for i, c := range cases {
		if i > 0 {
			b.WriteString("\n")
		}
		for _, l := range c.comments {
			fmt.Fprintf(&b, "%s\n", l)
		}
		fmt.Fprintf(&b, "%s\n----\n", c.command)
		for _, l := range c.want {
			fmt.Fprintf(&b, "%s\n", l)
		}
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// runScripts runs every testdata file matching glob through exec, which
// returns the output lines of one command.
func runScripts(t *testing.T, glob string, newExec func() func(cmd string, args map[string]string) []string) {
	paths, err := filepath.Glob(filepath.Join("testdata", glob))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no scripts match %s: %v", glob, err)
	}
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) {
			cases := parseScript(t, path)
			exec := newExec()
			for i, c := range cases {
				name, args := parseCommand(t, c.command)
				got := exec(name, args)
				if *rewrite {
					cases[i].want = got
					continue
				}
				if strings.Join(got, "\n") != strings.Join(c.want, "\n") {
					t.Errorf("%s: %s\ngot:\n%s\nwant:\n%s", path, c.command, strings.Join(got, "\n"), strings.Join(c.want, "\n"))
				}
			}
			if *rewrite {
				writeScript(t, path, cases)
			}
		})
	}
}

func parseCommand(t *testing.T, line string) (string, map[string]string) {
	t.Helper()
	fields := strings.Fields(line)
	args := map[string]string{}
	for _, f := range fields[1:] {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			t.Fatalf("argument %q of %q is not key=value", f, line)
		}
		args[k] = v
	}
	return fields[0], args
}

func argInt(args map[string]string, key string) int64 {
	v, err := strconv.ParseInt(args[key], 10, 64)
	if err != nil {
		panic(fmt.Sprintf("argument %s=%q: %v", key, args[key], err))
	}
	return v
}

func argIDs(args map[string]string, key string) []BrokerID {
	var ids []BrokerID
	if args[key] == "" {
		return ids
	}
	for _, s := range strings.Split(args[key], ",") {
		v, err := strconv.ParseInt(s, 10, 32)
		if err != nil {
			panic(fmt.Sprintf("argument %s=%q: %v", key, args[key], err))
		}
		ids = append(ids, BrokerID(v))
	}
	return ids
}

func argDuration(args map[string]string, key string) time.Duration {
	d, err := time.ParseDuration(args[key])
	if err != nil {
		panic(fmt.Sprintf("argument %s=%q: %v", key, args[key], err))
	}
	return d
}

// errName is the Kafka error name inside err, or its text.
func errName(err error) string {
	var ke *kerr.Error
	if errors.As(err, &ke) {
		return ke.Message
	}
	return err.Error()
}
