package cli

import (
	"strings"
	"testing"

	"github.com/fjordhq/fjord/internal/lag"
)

func TestFormatLagTime(t *testing.T) {
	tests := []struct {
		p    lag.PartitionLag
		ok   bool
		want string
	}{
		{lag.PartitionLag{Lag: 5, LagSeconds: 1.23}, true, "1.2s"},
		{lag.PartitionLag{Lag: 0, LagSeconds: 0}, true, "0.0s"},
		{lag.PartitionLag{Lag: 5, LagSeconds: 184.4}, true, "3m4s"},
		{lag.PartitionLag{Lag: 5, LagSeconds: 7384}, true, "2h3m4s"},
		{lag.PartitionLag{Lag: 5, LagSeconds: -1}, true, "-"},
		{lag.PartitionLag{Lag: -1}, true, "-"},
		{lag.PartitionLag{Lag: 5, LagSeconds: 3}, false, "-"},
	}
	for _, tt := range tests {
		if got := formatLagTime(tt.p, tt.ok); got != tt.want {
			t.Errorf("formatLagTime(%+v, %v) = %q, want %q", tt.p, tt.ok, got, tt.want)
		}
	}
}

func TestWriteGroupDescriptionWithLagTime(t *testing.T) {
	v := testGroupView()
	v.lag = &lagReport{from: "broker 1's lag monitor", group: lag.GroupLag{Group: "app", Status: lag.StatusStalled,
		Partitions: []lag.PartitionLag{
			{Topic: "orders", Partition: 0, Committed: 40, End: 100, Lag: 60, LagSeconds: 12.34},
			{Topic: "orders", Partition: 2, Committed: 5, End: 5, Lag: 0},
		}}}
	var b strings.Builder
	writeGroupDescription(&b, v)
	for _, want := range []string{
		"  TOPIC   PARTITION  CURRENT-OFFSET  LOG-END-OFFSET  LAG  CONSUMER-ID  HOST  CLIENT-ID  LAG-TIME\n",
		"  gone    0          3               -               -    -            -     -          -\n",
		"  orders  0          40              100             60   -            -     -          12.3s\n",
		"  orders  1          -               9               -    -            -     -          -\n",
		"  orders  2          5               5               0    -            -     -          0.0s\n",
		"Total lag: 60\nStatus: STALLED (broker 1's lag monitor)\n",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("describe lacks %q:\n%s", want, b.String())
		}
	}
}
