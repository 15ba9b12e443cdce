package cli

// Lag in time and status for `fjord group describe`. A fjord broker computes
// both (internal/lag, over a window of samples); describe asks the group's
// coordinator over its HTTP listener (the http.listener broker config, read
// with DescribeConfigs). Against a cluster without one (HTTP off, or not
// fjord) describe computes the lag in time itself from one sample, which
// can tell OK, STOPPED and ERROR but not a trend: STALLED and WARNING need
// the broker's window, so a group behind is UNKNOWN there.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/fjordhq/fjord/internal/lag"
)

// lagHelp is what `fjord group describe --help` says about LAG-TIME.
const lagHelp = `LAG-TIME is the age of the first record the group has not consumed, and
Status is the group's lag status in Burrow's terms (OK, WARNING, STALLED,
STOPPED, ERROR). Both come from the group's coordinator when it is a fjord
broker with an HTTP listener (http.listener), which watches every group over
a window of samples. Otherwise describe computes LAG-TIME from one sample
(reading the record at each committed offset), and Status says only what one
sample can tell: OK, STOPPED (lag and no members), ERROR, or else UNKNOWN.
`

const (
	// lagHTTPBodyMaxBytes bounds the answer read from a broker's lag API:
	// a group's lag is a few hundred bytes per partition.
	lagHTTPBodyMaxBytes = 16 << 20
	// httpListenerConfig is the broker config naming the HTTP listener.
	httpListenerConfig = "http.listener"
)

// lagReport is a group's lag in time and status, and where they came from.
type lagReport struct {
	group lag.GroupLag
	// from says who computed it, for the Status line.
	from string
}

// partition returns the report's lag of topic-partition.
func (r *lagReport) partition(topic string, partition int32) (lag.PartitionLag, bool) {
	if r == nil {
		return lag.PartitionLag{}, false
	}
	for _, p := range r.group.Partitions {
		if p.Topic == topic && p.Partition == partition {
			return p, true
		}
	}
	return lag.PartitionLag{}, false
}

// loadLagReport asks the coordinator's lag API, else samples once with
// the client. It returns nil when neither could tell.
func loadLagReport(ctx context.Context, cl *kgo.Client, adm *kadm.Client, d kadm.DescribedGroup) *lagReport {
	if g, from, err := brokerGroupLag(ctx, adm, d); err == nil {
		return &lagReport{group: g, from: from}
	}
	info := lag.GroupInfo{Group: d.Group, State: d.State, Members: len(d.Members)}
	g, err := lag.SampleGroup(ctx, lag.KafkaSource(cl), info, time.Now())
	if err != nil {
		return nil
	}
	return &lagReport{group: g, from: "one sample by this command"}
}

// errNoLagAPI is a coordinator without an HTTP listener.
var errNoLagAPI = errors.New("the coordinator has no HTTP listener")

// brokerGroupLag reads the group's lag from its coordinator's HTTP API.
func brokerGroupLag(ctx context.Context, adm *kadm.Client, d kadm.DescribedGroup) (lag.GroupLag, string, error) {
	addr, err := lagAPIAddr(ctx, adm, d.Coordinator)
	if err != nil {
		return lag.GroupLag{}, "", err
	}
	u := "http://" + addr + "/api/v1/groups/" + url.PathEscape(d.Group) + "/lag"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return lag.GroupLag{}, "", fmt.Errorf("lag API request: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return lag.GroupLag{}, "", fmt.Errorf("GET %s: %w", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		// 404: the monitor has not sampled the group yet.
		return lag.GroupLag{}, "", fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	var g lag.GroupLag
	if err := json.NewDecoder(io.LimitReader(resp.Body, lagHTTPBodyMaxBytes)).Decode(&g); err != nil {
		return lag.GroupLag{}, "", fmt.Errorf("GET %s: %w", u, err)
	}
	return g, fmt.Sprintf("broker %d's lag monitor", d.Coordinator.NodeID), nil
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
		return "", errNoLagAPI
	}
	host, port, err := net.SplitHostPort(listener)
	if err != nil {
		return "", fmt.Errorf("%s %q: %w", httpListenerConfig, listener, err)
	}
	if port == "0" {
		// Bound to a port the system chose, which the config does not say.
		return "", fmt.Errorf("%s %q: %w", httpListenerConfig, listener, errNoLagAPI)
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = advertisedHost
	}
	return net.JoinHostPort(host, port), nil
}

// formatLagTime shows an age as "0.9s" or "12.3s" under a minute and
// "3m4s" above; "-" when unknown.
func formatLagTime(p lag.PartitionLag, ok bool) string {
	switch {
	case !ok || p.LagSeconds < 0 || p.Lag < 0:
		return "-"
	case p.LagSeconds < 60:
		return strconv.FormatFloat(p.LagSeconds, 'f', 1, 64) + "s"
	}
	return (time.Duration(p.LagSeconds * float64(time.Second))).Round(time.Second).String()
}

// writeLagStatus prints the Status line under the offsets table.
func writeLagStatus(w io.Writer, r *lagReport) {
	if r == nil {
		fmt.Fprintln(w, "Status: UNKNOWN (lag in time could not be read)")
		return
	}
	fmt.Fprintf(w, "Status: %s (%s)\n", r.group.Status, r.from)
}
