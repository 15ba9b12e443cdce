package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
)

// Run is `fjord bench MODE [flags]`: it parses args, runs the benchmark and
// prints the summary line on stdout. Usage errors wrap cli.ErrUsage.
func Run(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	o, err := ParseOptions(args, stderr)
	if err != nil {
		return err
	}
	_, err = Execute(ctx, o, Env{Stdout: stdout, Stderr: stderr})
	return err
}

// Env is what a run talks to besides the brokers.
type Env struct {
	Stdout io.Writer // the JSON summary line
	Stderr io.Writer // progress lines and notes
	// BrokerBinary is the fjord binary started for --in-process; empty
	// means the running executable, which is right for the fjord binary
	// and wrong for a test binary.
	BrokerBinary string
}

// Execute runs one benchmark described by o, writes its summary line to
// env.Stdout and returns it.
func Execute(ctx context.Context, o Options, env Env) (summary Summary, err error) {
	if o.InProcess {
		binary := env.BrokerBinary
		if binary == "" {
			if binary, err = os.Executable(); err != nil {
				return Summary{}, fmt.Errorf("finding the fjord binary for --in-process: %w", err)
			}
		}
		broker, err := startChildBroker(ctx, binary)
		if err != nil {
			return Summary{}, fmt.Errorf("--in-process: %w", err)
		}
		defer func() {
			if stopErr := broker.stop(); stopErr != nil {
				err = errors.Join(err, fmt.Errorf("--in-process: %w", stopErr))
			}
		}()
		o.Brokers = []string{broker.Addr}
		if !o.Quiet {
			fmt.Fprintf(env.Stderr, "bench: started a broker on %s\n", broker.Addr)
		}
	}
	switch o.Mode {
	case ModeProduce:
		summary, err = runProduce(ctx, o, env.Stderr)
	case ModeConsume:
		summary, err = runConsume(ctx, o, env.Stderr)
	case ModeE2E:
		summary, err = runE2E(ctx, o, env.Stderr)
	default:
		return Summary{}, fmt.Errorf("unknown bench mode %q", o.Mode)
	}
	if err != nil {
		return Summary{}, err
	}
	if err := writeSummary(env.Stdout, summary); err != nil {
		return summary, err
	}
	if o.HistogramSVG != "" && summary.Latency != nil {
		if err := writeHistogramSVGFile(o.HistogramSVG, o.Mode, summary.latencyHistogram); err != nil {
			return summary, err
		}
	}
	return summary, nil
}
