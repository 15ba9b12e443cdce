package main

import (
	"context"
	"errors"
	"io"
)

// runServer is a placeholder until the broker is wired in; the lead
// engineer owns this file and replaces it.
func runServer(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return errors.New("not yet wired")
}
