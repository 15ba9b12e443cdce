// Command fjord is the fjord binary: `fjord server` runs a broker, the other
// commands are clients of a running cluster. This file holds wiring only:
// the signal context, the command table and the exit code; the commands
// live in internal/cli and in server.go.
package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/fjordhq/fjord/internal/bench"
	"github.com/fjordhq/fjord/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, commands())
	stop()
	os.Exit(code)
}

func commands() []cli.Command {
	server := cli.Command{
		Name:    "server",
		Summary: "run a broker",
		Run: func(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
			return runServer(ctx, args, stdout, stderr)
		},
	}
	commands := append([]cli.Command{server}, cli.ClientCommands()...)
	commands = append(commands, connectCommand())
	commands = append(commands, cli.Command{Name: "bench", Summary: "measure produce, consume and end-to-end throughput and latency", Run: bench.Run})
	return append(commands, cli.CompletionCommand(commands))
}
