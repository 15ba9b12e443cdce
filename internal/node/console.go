package node

import (
	"context"
	"crypto/tls"
	"net"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/fjordhq/fjord/internal/console"
	"github.com/fjordhq/fjord/internal/interbroker"
)

// newConsole makes the web console that http.listener serves at /, or nil
// when it is off. It talks Kafka to this node's inter-broker listener as
// the broker's own principal, so on a listener that authenticates it is
// served only behind http.console.basic.auth: otherwise whoever reaches
// the HTTP port would act as the broker.
func (s *serving) newConsole() *console.Console {
	cfg, logger := s.cfg, s.opts.Logger.With("component", "console")
	if !cfg.HTTPConsole || s.httpLn == nil {
		return nil
	}
	l := s.listeners[0]
	for _, bl := range s.listeners {
		if bl.cfg.Name == cfg.InterBrokerListener {
			l = bl
		}
	}
	secured := l.cfg.Protocol.SASL() || l.cfg.Protocol.TLS()
	switch {
	case l.cfg.Protocol.SASL() && s.interSec.SASL == nil:
		logger.Warn("web console off: the inter-broker listener needs SASL and this node has no inter-broker credentials",
			"listener", l.cfg.Name)
		return nil
	case secured && cfg.HTTPConsoleBasicAuth == "":
		logger.Warn("web console off: the inter-broker listener is secured and http.console.basic.auth is not set; "+
			"the console would act as this broker's principal for anyone reaching the HTTP port", "listener", l.cfg.Name)
		return nil
	}
	c, err := console.New(console.Options{
		Brokers:    []string{net.JoinHostPort(l.host, strconv.Itoa(int(l.port)))},
		ClientOpts: interBrokerClientOpts(s.interSec),
		Lag:        console.MonitorLag(s.lag),
		// The node's monitor knows the groups it coordinates; the
		// others' coordinators are asked.
		AskCoordinators: true,
		Quorum:          console.QuorumFunc(s.meta.DescribeQuorum),
		Logger:          logger,
		Now:             time.Now,
		BasicAuth:       cfg.HTTPConsoleBasicAuth,
	})
	if err != nil {
		logger.Warn("web console off", "err", err)
		return nil
	}
	return c
}

// interBrokerClientOpts are franz-go options connecting as this broker
// does to the others: its inter-broker TLS and SASL.
func interBrokerClientOpts(sec interbroker.Security) []kgo.Opt {
	var opts []kgo.Opt
	if sec.TLS != nil {
		opts = append(opts, kgo.Dialer(func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, _, err := net.SplitHostPort(addr)
			if err != nil {
				host = addr
			}
			d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: interbroker.DialTimeout}, Config: sec.TLS(host)}
			return d.DialContext(ctx, network, addr)
		}))
	}
	if sec.SASL != nil {
		opts = append(opts, kgo.SASL(sec.SASL))
	}
	return opts
}
