package console

import "github.com/fjordhq/fjord/internal/lag"

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
	out := GroupLag{Status: string(g.Status), Partitions: make([]PartitionLag, 0, len(g.Partitions))}
	for _, p := range g.Partitions {
		out.Partitions = append(out.Partitions, PartitionLag{Topic: p.Topic, Partition: p.Partition, Committed: p.Committed,
			End: p.End, Lag: p.Lag, LagSeconds: p.LagSeconds, Status: string(p.Status)})
	}
	return out, true
}
