package cli

import (
	"context"
	"fmt"
	"io"
)

// subcommand is one verb of a command family (`fjord topic create`).
type subcommand struct {
	name, summary string
	run           func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

// dispatch runs the subcommand named by args[0], or prints the family's
// usage and returns ErrUsage.
func dispatch(ctx context.Context, family string, cmds []subcommand, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || isHelp(args[0]) {
		subcommandUsage(stderr, family, cmds)
		return ErrUsage
	}
	for _, c := range cmds {
		if c.name == args[0] {
			return c.run(ctx, args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "fjord %s: unknown subcommand %q\n", family, args[0])
	subcommandUsage(stderr, family, cmds)
	return ErrUsage
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
