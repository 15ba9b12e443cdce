package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/fjordhq/fjord/connect"
	"github.com/fjordhq/fjord/connect/file"
	"github.com/fjordhq/fjord/connect/httpsink"
	"github.com/fjordhq/fjord/connect/postgres"
	"github.com/fjordhq/fjord/connect/transforms"
	"github.com/fjordhq/fjord/connect/worker"
	"github.com/fjordhq/fjord/internal/cli"
)

// connectCommand is `fjord connect`: a Kafka Connect worker with fjord's
// built-in connectors and transforms.
func connectCommand() cli.Command {
	return cli.Command{
		Name:    "connect",
		Summary: "run a Kafka Connect worker with fjord's connectors (standalone)",
		Run: func(ctx context.Context, args []string, _ io.Reader, _, stderr io.Writer) error {
			reg, err := builtinRegistry()
			if err != nil {
				return err
			}
			err = worker.Run(ctx, args, stderr, reg)
			if errors.Is(err, worker.ErrUsage) {
				fmt.Fprintf(stderr, "fjord connect: %v\n%s\n", err, worker.Usage)
				return cli.ErrUsage
			}
			return err
		},
	}
}

// builtinRegistry holds the connectors and transforms fjord ships.
func builtinRegistry() (*connect.Registry, error) {
	reg := connect.NewRegistry()
	if err := errors.Join(file.Register(reg), postgres.Register(reg), httpsink.Register(reg), transforms.Register(reg)); err != nil {
		return nil, fmt.Errorf("registering the built-in connectors: %w", err)
	}
	return reg, nil
}
