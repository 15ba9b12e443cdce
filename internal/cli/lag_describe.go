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
	"fmt"
	"io"
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

// brokerGroupLag reads the group's lag from its coordinator's HTTP API.
func brokerGroupLag(ctx context.Context, adm *kadm.Client, d kadm.DescribedGroup) (lag.GroupLag, string, error) {
	g, err := lag.CoordinatorLag(ctx, adm, d.Group, d.Coordinator)
	if err != nil {
		return lag.GroupLag{}, "", err
	}
	return g, fmt.Sprintf("broker %d's lag monitor", d.Coordinator.NodeID), nil
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
