package cli

import (
	"context"
	"fmt"
	"io"
	"slices"
)

// subcommand is one verb of a command family (`fjord topic create`).
type subcommand struct {
	name, summary string
	run           func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

// dispatch runs the subcommand named by args, which may follow flags meant
// for it (`fjord topic --brokers b:9092 list`), or prints the family's
// usage and returns ErrUsage.
func dispatch(ctx context.Context, family string, cmds []subcommand, args []string, stdout, stderr io.Writer) error {
	isNamed := func(s string) bool {
		return isHelp(s) || slices.ContainsFunc(cmds, func(c subcommand) bool { return c.name == s })
	}
	name, rest, bad := splitCommand(args, isNamed)
	if name == "" || isHelp(name) {
		switch {
		case bad >= 0:
			fmt.Fprintf(stderr, "fjord %s: unknown subcommand %q\n", family, args[bad])
		case name == "" && len(args) > 0 && !slices.ContainsFunc(args, isHelp):
			fmt.Fprintf(stderr, "fjord %s: no subcommand given\n", family)
		}
		subcommandUsage(stderr, family, cmds)
		return ErrUsage
	}
	i := slices.IndexFunc(cmds, func(c subcommand) bool { return c.name == name })
	return cmds[i].run(ctx, rest, stdout, stderr)
}

func subcommandUsage(w io.Writer, family string, cmds []subcommand) {
	width := 0
	for _, c := range cmds {
		width = max(width, len(c.name))
	}
	fmt.Fprintf(w, "usage: fjord %s SUBCOMMAND [flags]\n", family)
	fmt.Fprintln(w, "subcommands:")
	for _, c := range cmds {
		fmt.Fprintf(w, "  %-*s  %s\n", width, c.name, c.summary)
	}
}
