package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// Command is one top-level subcommand of the fjord binary. Run gets the
// arguments after the command's name.
type Command struct {
	Name    string
	Summary string
	Run     func(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error
}

// ClientCommands are the commands this package implements, in the order
// usage lists them.
func ClientCommands() []Command {
	return []Command{
		{"topic", "create, list, describe, delete topics and alter their configs", Topic},
		{"produce", "write lines of stdin to a topic, one record per line", Produce},
		{"consume", "print records of a topic", Consume},
		{"cluster", "show the cluster id, controller and brokers", Cluster},
		{"group", "list, describe, reset offsets of and delete consumer groups", Group},
		{"partition", "reassign partition replicas and list reassignments", Partition},
		{"txn", "list, describe, abort and find hanging transactions", Txn},
		{"user", "create, list and delete SCRAM users", User},
		{"acl", "create, list and delete ACLs", ACL},
		{"quota", "set and list client quotas of users, client ids and IPs", Quota},
		{"connector", "list, create, pause, restart connectors of a Connect worker and their offsets", Connector},
	}
}

// Exit codes of the fjord binary.
const (
	ExitOK          = 0
	ExitFailure     = 1   // the command ran and failed
	ExitUsage       = 2   // the command line was wrong, or help was asked for
	ExitInterrupted = 130 // ended by SIGINT or SIGTERM, as a shell reports it
)

// Main runs the command named by args[0] and returns the process exit code.
// Failures are printed on stderr as "fjord: <message>".
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, commands []Command) int {
	if len(args) == 0 || isHelp(args[0]) {
		Usage(stderr, commands)
		return ExitUsage
	}
	for _, c := range commands {
		if c.Name != args[0] {
			continue
		}
		err := c.Run(ctx, args[1:], stdin, stdout, stderr)
		switch {
		case err == nil:
			return ExitOK
		case errors.Is(err, ErrUsage):
			return ExitUsage
		case ctx.Err() != nil && errors.Is(err, context.Canceled):
			fmt.Fprintln(stderr, "fjord: interrupted")
			return ExitInterrupted
		default:
			fmt.Fprintf(stderr, "fjord: %v\n", err)
			return ExitFailure
		}
	}
	fmt.Fprintf(stderr, "fjord: unknown command %q\n", args[0])
	Usage(stderr, commands)
	return ExitUsage
}

// Usage lists the commands.
func Usage(w io.Writer, commands []Command) {
	fmt.Fprintln(w, "usage: fjord COMMAND [arguments]")
	fmt.Fprintln(w, "commands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-10s %s\n", c.Name, c.Summary)
	}
	fmt.Fprintln(w, `Run "fjord COMMAND -h" for a command's flags.`)
}
