package cli

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"
)

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestMainExitCodes(t *testing.T) {
	down := closedPort(t)
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStderr string
	}{
		{"no command", nil, ExitUsage, "usage: fjord COMMAND"},
		{"help", []string{"help"}, ExitUsage, "usage: fjord COMMAND"},
		{"dash h", []string{"-h"}, ExitUsage, "usage: fjord COMMAND"},
		{"unknown command", []string{"frobnicate"}, ExitUsage, `unknown command "frobnicate"`},
		{"topic without subcommand", []string{"topic"}, ExitUsage, "usage: fjord topic SUBCOMMAND"},
		{"unknown topic subcommand", []string{"topic", "rename"}, ExitUsage, `unknown subcommand "rename"`},
		{"topic create without name", []string{"topic", "create"}, ExitUsage, "exactly one topic NAME"},
		{"zero partitions", []string{"topic", "create", "t", "--partitions", "0"}, ExitUsage, "--partitions must be"},
		{"non-numeric partitions", []string{"topic", "create", "t", "--partitions", "x"}, ExitUsage, "invalid value"},
		{"bad config", []string{"topic", "create", "t", "--config", "novalue"}, ExitUsage, "not key=value"},
		{"alter nothing", []string{"topic", "alter-config", "t"}, ExitUsage, "nothing to do"},
		{"describe nothing", []string{"topic", "describe"}, ExitUsage, "topic names required"},
		{"bad acks", []string{"produce", "t", "--acks", "2"}, ExitUsage, "--acks must be"},
		{"bad compression", []string{"produce", "t", "--compression", "brotli"}, ExitUsage, "--compression must be"},
		{"bad from", []string{"consume", "t", "--from", "yesterday"}, ExitUsage, "--from"},
		{"bad format", []string{"consume", "t", "--format", "%x"}, ExitUsage, "unknown verb"},
		{"bad brokers", []string{"topic", "list", "--brokers", "nohost"}, ExitUsage, "not host:port"},
		{"bad isolation", []string{"consume", "t", "--isolation", "dirty"}, ExitUsage, "--isolation must be"},
		{"group and partition", []string{"consume", "--group", "g", "t", "--partition", "0"}, ExitUsage, "--partition cannot be used with --group"},
		{"bad produce format", []string{"produce", "t", "--format", "xml"}, ExitUsage, "--format must be text or json"},
		{"json and key separator", []string{"produce", "t", "--format", "json", "--key-separator", ":"}, ExitUsage, "--key-separator is for --format text"},
		{"text without topic", []string{"produce"}, ExitUsage, "exactly one TOPIC"},
		{"flags before the command", []string{"--brokers", "nohost", "topic", "list"}, ExitUsage, "not host:port"},
		{"flags before the subcommand", []string{"topic", "--brokers", "nohost", "list"}, ExitUsage, "not host:port"},
		{"unknown command after flags", []string{"--brokers", "a:1", "frobnicate"}, ExitUsage, `unknown command "frobnicate"`},
		{"flags without a command", []string{"--brokers", "a:1"}, ExitUsage, "no command given"},
		{"missing profile", []string{"topic", "list", "--profile", "nope"}, ExitUsage, `no such profile "nope"`},
		{"cluster unknown", []string{"cluster", "frobnicate"}, ExitUsage, `unknown subcommand "frobnicate"`},
		{"broker down", []string{"topic", "list", "--brokers", down, "--timeout", "5s"}, ExitFailure, "fjord: listing topics: cannot reach brokers"},
		{"broker down produce", []string{"produce", "t", "--brokers", down, "--timeout", "5s"}, ExitFailure, "fjord: looking up topic"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			var stdout, stderr strings.Builder
			code := Main(ctx, tt.args, strings.NewReader(""), &stdout, &stderr, ClientCommands())
			if code != tt.wantCode {
				t.Errorf("exit code = %d, want %d; stderr:\n%s", code, tt.wantCode, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.wantStderr) {
				t.Errorf("stderr does not contain %q:\n%s", tt.wantStderr, stderr.String())
			}
		})
	}
}
