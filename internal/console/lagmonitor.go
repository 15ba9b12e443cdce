package console

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/fjordhq/fjord/internal/lag"
)

// MonitorLag adapts a lag.Monitor, whose lag in time and Burrow-style
// status the group page then shows. The monitor's snapshot is as old as
// its last poll.
func MonitorLag(m *lag.Monitor) LagSource { return monitorLag{m} }

type monitorLag struct{ m *lag.Monitor }

func (a monitorLag) GroupLag(group string) (GroupLag, bool) {
	g, ok := a.m.Group(group)
	if !ok {
		return GroupLag{}, false
	}
	return fromLag(g), true
}

func fromLag(g lag.GroupLag) GroupLag {
	out := GroupLag{Status: string(g.Status), Partitions: make([]PartitionLag, 0, len(g.Partitions))}
	for _, p := range g.Partitions {
		out.Partitions = append(out.Partitions, PartitionLag{Topic: p.Topic, Partition: p.Partition, Committed: p.Committed,
			End: p.End, Lag: p.Lag, LagSeconds: p.LagSeconds, Status: string(p.Status)})
	}
	return out
}

// coordinatorLag asks the group's coordinator for the lag its monitor
// computed (a fjord broker with an HTTP listener), within a short time:
// the page polls, and a cluster without the API answers the next poll
// with the console's own figures anyway.
func (c *Console) coordinatorLag(ctx context.Context, group string, coordinator kadm.BrokerDetail) (GroupLag, bool) {
	ctx, cancel := context.WithTimeout(ctx, coordinatorLagTimeout)
	defer cancel()
	g, err := lag.CoordinatorLag(ctx, c.adm, group, coordinator)
	if err != nil {
		return GroupLag{}, false
	}
	return fromLag(g), true
}

// coordinatorLagTimeout bounds asking a coordinator for a group's lag.
const coordinatorLagTimeout = 2 * time.Second
