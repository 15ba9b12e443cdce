package lag

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"

	"github.com/twmb/franz-go/pkg/kadm"
)

// ErrNoLagAPI is a coordinator without an HTTP listener to ask: HTTP off,
// or a broker that is not fjord.
var ErrNoLagAPI = errors.New("the coordinator has no HTTP listener")

const (
	// httpListenerConfig is the broker config naming the HTTP listener.
	httpListenerConfig = "http.listener"
	// maxLagAnswerBytes bounds the answer read from a broker's lag API:
	// a group of 100,000 partitions is about 15 MB of JSON.
	maxLagAnswerBytes = 16 << 20
)

// CoordinatorLag reads a group's lag from the monitor of its coordinator,
// the broker that computes it: the coordinator's http.listener comes from
// DescribeConfigs, then GET /api/v1/groups/{group}/lag. It fails with
// ErrNoLagAPI when the coordinator has no HTTP listener, and with the HTTP
// status when its monitor has not sampled the group yet.
func CoordinatorLag(ctx context.Context, adm *kadm.Client, group string, coordinator kadm.BrokerDetail) (GroupLag, error) {
	addr, err := lagAPIAddr(ctx, adm, coordinator)
	if err != nil {
		return GroupLag{}, err
	}
	u := "http://" + addr + "/api/v1/groups/" + url.PathEscape(group) + "/lag"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return GroupLag{}, fmt.Errorf("lag API request: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return GroupLag{}, fmt.Errorf("GET %s: %w", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return GroupLag{}, fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	var g GroupLag
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxLagAnswerBytes)).Decode(&g); err != nil {
		return GroupLag{}, fmt.Errorf("GET %s: %w", u, err)
	}
	return g, nil
}

// lagAPIAddr is the HOST:PORT of the coordinator's HTTP listener, from its
// http.listener config; an unspecified host (listening on every address)
// is replaced with the host the cluster advertises for the broker.
func lagAPIAddr(ctx context.Context, adm *kadm.Client, coordinator kadm.BrokerDetail) (string, error) {
	configs, err := adm.DescribeBrokerConfigs(ctx, coordinator.NodeID)
	if err != nil {
		return "", fmt.Errorf("describe configs of broker %d: %w", coordinator.NodeID, err)
	}
	var listener string
	for _, rc := range configs {
		for _, c := range rc.Configs {
			if c.Key == httpListenerConfig && c.Value != nil {
				listener = *c.Value
			}
		}
	}
	return lagAPIHostPort(listener, coordinator.Host)
}

// lagAPIHostPort is where to reach an http.listener of listener: its host,
// or advertisedHost when it listens on every address.
func lagAPIHostPort(listener, advertisedHost string) (string, error) {
	if listener == "" {
		return "", ErrNoLagAPI
	}
	host, port, err := net.SplitHostPort(listener)
	if err != nil {
		return "", fmt.Errorf("%s %q: %w", httpListenerConfig, listener, err)
	}
	if port == "0" {
		// A node reports the port it bound; port 0 is an older one's.
		return "", fmt.Errorf("%s %q: %w", httpListenerConfig, listener, ErrNoLagAPI)
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = advertisedHost
	}
	return net.JoinHostPort(host, port), nil
}
