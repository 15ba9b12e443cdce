package cli

import (
	"context"
	"crypto/tls"
	"crypto/x509"
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

// newClient connects a franz-go client to the seed brokers with the
// security settings of conn; every command's clients are made here. Retries
// of retriable errors stop after --timeout so that an unreachable cluster
// fails the command instead of hanging it.
func newClient(conn connFlags, seeds []string, opts ...kgo.Opt) (*kgo.Client, error) {
	security, err := conn.clientSecurity()
	if err != nil {
		return nil, err
	}
	dialTimeout := min(conn.timeout, 10*time.Second)
	base := []kgo.Opt{
		kgo.SeedBrokers(seeds...),
		kgo.DialTimeout(dialTimeout),
		kgo.RetryTimeout(conn.timeout),
		kgo.ClientID("fjord-cli"),
	}
	base = append(base, security.Opts(dialTimeout)...)
	cl, err := kgo.NewClient(append(base, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("creating client for %s: %w", strings.Join(seeds, ","), err)
	}
	return cl, nil
}

// newAdmin returns an admin client and the client under it; closing the
// admin client closes both.
func newAdmin(conn connFlags, seeds []string) (*kadm.Client, error) {
	cl, err := newClient(conn, seeds)
	if err != nil {
		return nil, err
	}
	adm := kadm.NewClient(cl)
	adm.SetTimeoutMillis(int32(min(conn.timeout, time.Hour).Milliseconds()))
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
	if hint := securityHint(err); hint != "" {
		return fmt.Errorf("%s: %s at brokers %s: %w", what, hint, strings.Join(seeds, ","), err)
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
	adm, err := newAdmin(conn, seeds)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, conn.timeout)
	return adm, ctx, seeds, func() { cancel(); adm.Close() }, nil
}

// securityHint names the likely cause of an error that comes from how the
// client connects rather than from what it asked, or returns "".
func securityHint(err error) string {
	var recordErr tls.RecordHeaderError
	var authorityErr x509.UnknownAuthorityError
	var hostnameErr x509.HostnameError
	switch {
	case errors.Is(err, kerr.SaslAuthenticationFailed):
		return "authentication failed (check the user name and password or token, and sasl.mechanism)"
	case errors.Is(err, kerr.UnsupportedSaslMechanism):
		return "the listener does not enable this sasl.mechanism"
	case errors.Is(err, kerr.IllegalSaslState):
		return "the listener does not expect SASL here (check security.protocol)"
	case errors.As(err, &recordErr):
		return "the listener does not speak TLS (check security.protocol)"
	case errors.As(err, &authorityErr):
		return "the broker's certificate is not signed by a trusted CA (check --tls-ca or ssl.truststore.location)"
	case errors.As(err, &hostnameErr):
		return "the broker's certificate does not name the host dialed (see ssl.endpoint.identification.algorithm)"
	}
	return ""
}
