package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
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
		{"produce", "write lines of stdin (text or JSON) to a topic, one record per line", Produce},
		{"consume", "print records of a topic, alone or as a member of a consumer group", Consume},
		{"cluster", "show the cluster id, controller and brokers", Cluster},
		{"group", "list, describe, reset offsets of and delete consumer groups", Group},
		{"partition", "reassign partition replicas and list reassignments", Partition},
		{"txn", "list, describe, abort and find hanging transactions", Txn},
		{"user", "create, list and delete SCRAM users", User},
		{"acl", "create, list and delete ACLs", ACL},
		{"quota", "set and list client quotas of users, client ids and IPs", Quota},
		{"console", "serve the web console for a cluster on an HTTP listener", Console},
		{"connector", "list, create, pause, restart connectors of a Connect worker and their offsets", Connector},
		{"profile", "save and choose named sets of brokers and security settings", Profile},
	}
}

// Exit codes of the fjord binary.
const (
	ExitOK          = 0
	ExitFailure     = 1   // the command ran and failed
	ExitUsage       = 2   // the command line was wrong, or help was asked for
	ExitInterrupted = 130 // ended by SIGINT or SIGTERM, as a shell reports it
)

// Main runs the command named by args, which may follow flags meant for
// it (`fjord --profile prod topic list`), and returns the process exit
// code. Failures are printed on stderr as "fjord: <message>".
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, commands []Command) int {
	isNamed := func(s string) bool {
		return isHelp(s) || slices.ContainsFunc(commands, func(c Command) bool { return c.Name == s })
	}
	name, rest, bad := splitCommand(args, isNamed)
	if name == "" || isHelp(name) {
		switch {
		case bad >= 0:
			fmt.Fprintf(stderr, "fjord: unknown command %q\n", args[bad])
		case name == "" && len(args) > 0 && !slices.ContainsFunc(args, isHelp):
			fmt.Fprintln(stderr, "fjord: no command given")
		}
		Usage(stderr, commands)
		return ExitUsage
	}
	i := slices.IndexFunc(commands, func(c Command) bool { return c.Name == name })
	err := commands[i].Run(ctx, rest, stdin, stdout, stderr)
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

// Usage lists the commands.
func Usage(w io.Writer, commands []Command) {
	fmt.Fprintln(w, "usage: fjord COMMAND [arguments]  (flags may come before or after a command's arguments)")
	fmt.Fprintln(w, "commands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-10s %s\n", c.Name, c.Summary)
	}
	fmt.Fprintln(w, `Run "fjord COMMAND -h" for a command's flags.`)
}
