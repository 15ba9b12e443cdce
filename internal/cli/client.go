package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// newClient connects a franz-go client to the seed brokers. Retries of
// retriable errors stop after timeout so that an unreachable cluster fails
// the command instead of hanging it.
func newClient(seeds []string, timeout time.Duration, opts ...kgo.Opt) (*kgo.Client, error) {
	base := []kgo.Opt{
		kgo.SeedBrokers(seeds...),
		kgo.DialTimeout(min(timeout, 10*time.Second)),
		kgo.RetryTimeout(timeout),
		kgo.ClientID("fjord-cli"),
	}
	cl, err := kgo.NewClient(append(base, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("creating client for %s: %w", strings.Join(seeds, ","), err)
	}
	return cl, nil
}

// newAdmin returns an admin client and the client under it; closing the
// admin client closes both.
func newAdmin(seeds []string, timeout time.Duration) (*kadm.Client, error) {
	cl, err := newClient(seeds, timeout)
	if err != nil {
		return nil, err
	}
	adm := kadm.NewClient(cl)
	adm.SetTimeoutMillis(int32(min(timeout, time.Hour).Milliseconds()))
	return adm, nil
}

// describeRequestError turns a failed request into a message a person can
// act on: the usual cause of a deadline on the first request is a broker
// that is not running.
func describeRequestError(ctx context.Context, what string, seeds []string, timeout time.Duration, err error) error {
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Op == "dial" {
		return fmt.Errorf("%s: cannot reach brokers %s (is a broker running there?): %w",
			what, strings.Join(seeds, ","), err)
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("%s: no answer from brokers %s within %v (is a broker running there?): %w",
			what, strings.Join(seeds, ","), timeout, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// kafkaErrorName returns the Kafka name of a protocol error
// (UNKNOWN_TOPIC_OR_PARTITION), or the error text for any other error.
func kafkaErrorName(err error) string {
	var ke *kerr.Error
	if errors.As(err, &ke) {
		return ke.Message
	}
	return err.Error()
}

// withDetail appends a broker-supplied error message when there is one that
// adds something to the code's name.
func withDetail(err error, detail string) string {
	name := kafkaErrorName(err)
	if detail == "" || detail == name {
		return name
	}
	return name + ": " + detail
}

// openAdmin is what admin commands start with: the --brokers check (a
// usage error), an admin client, and a context bounded by --timeout. The
// returned close releases both.
func openAdmin(ctx context.Context, fs *flag.FlagSet, conn connFlags) (*kadm.Client, context.Context, []string, func(), error) {
	seeds, err := conn.validate()
	if err != nil {
		return nil, nil, nil, nil, usagef(fs, "%v", err)
	}
	adm, err := newAdmin(seeds, conn.timeout)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, conn.timeout)
	return adm, ctx, seeds, func() { cancel(); adm.Close() }, nil
}
