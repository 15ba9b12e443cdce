package group

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Group types, as ListGroups v5 names them and metrics label them.
const (
	TypeClassic  = "classic"
	TypeConsumer = "consumer"
)

// ClassicStates and ConsumerStates are the states a group of each type
// can be in, as Kafka names them (its classic-group-count and
// consumer-group-count metrics), so that a metric has a series for each,
// zero included.
func ClassicStates() []string {
	return []string{StateEmpty.String(), StatePreparingRebalance.String(), StateCompletingRebalance.String(),
		StateStable.String(), StateDead.String()}
}

// ConsumerStates: see ClassicStates. Dead is listed as Kafka lists it; a
// deleted group is forgotten here, so it always counts 0.
func ConsumerStates() []string {
	return []string{ConsumerEmpty.String(), ConsumerAssigning.String(), ConsumerReconciling.String(),
		ConsumerStable.String(), StateDead.String()}
}

// rebalanceCounters count rebalances since the coordinator started. The
// coordinator goroutine adds; metrics read from any goroutine.
type rebalanceCounters struct {
	// classic counts generations completed by classic groups (the end of
	// a join phase, Kafka's classic-group-completed-rebalance-count).
	classic atomic.Uint64
	// consumer counts group epoch bumps of consumer groups (Kafka's
	// consumer-group-rebalance-count).
	consumer atomic.Uint64
}

// Rebalances returns how many rebalances the coordinator ran since it
// started, by group type. It never waits on the coordinator goroutine.
func (c *Coordinator) Rebalances() (classic, consumer uint64) {
	return c.core.rebalances.classic.Load(), c.core.rebalances.consumer.Load()
}

// GroupTypeState is a group type and state, a key of MetricsView.Groups.
type GroupTypeState struct {
	Type  string // TypeClassic or TypeConsumer
	State string
}

// MetricsView is what metrics show of the groups this coordinator serves
// (those of the __consumer_offsets partitions it leads), so that the sum
// over a cluster's brokers counts every group once.
type MetricsView struct {
	// Groups counts groups by type and state.
	Groups map[GroupTypeState]int
	// ProtocolTypes counts groups by the protocol type their members
	// joined with ("consumer", "connect", ...; empty for a group that only
	// commits offsets).
	ProtocolTypes map[string]int
	// Members counts members by group type.
	Members map[string]int
}

// MetricsView asks the coordinator goroutine for the groups it serves,
// through the same queue as clients' ListGroups and DescribeGroups, so
// that it costs nothing between scrapes and reads the state machine only
// from its owner. It returns ctx's error if the coordinator does not
// answer in time.
func (c *Coordinator) MetricsView(ctx context.Context) (MetricsView, error) {
	v := MetricsView{Groups: map[GroupTypeState]int{}, ProtocolTypes: map[string]int{}, Members: map[string]int{}}
	list := kmsg.NewPtrListGroupsRequest()
	list.Version = 5 // group types (KIP-848)
	resp, err := c.Do(ctx, Request{Msg: list})
	if err != nil {
		return MetricsView{}, fmt.Errorf("listing groups for metrics: %w", err)
	}
	listed := resp.(*kmsg.ListGroupsResponse)
	if err := kerr.ErrorForCode(listed.ErrorCode); err != nil {
		return MetricsView{}, fmt.Errorf("listing groups for metrics: %w", err)
	}
	typeOf := map[string]string{}
	describe := kmsg.NewPtrDescribeGroupsRequest()
	describe.Version = 5
	for _, g := range listed.Groups {
		v.Groups[GroupTypeState{Type: g.GroupType, State: g.GroupState}]++
		v.ProtocolTypes[g.ProtocolType]++
		typeOf[g.Group] = g.GroupType
		if g.GroupState != StateEmpty.String() {
			describe.Groups = append(describe.Groups, g.Group)
		}
	}
	if len(describe.Groups) == 0 {
		return v, nil
	}
	resp, err = c.Do(ctx, Request{Msg: describe})
	if err != nil {
		return MetricsView{}, fmt.Errorf("describing groups for metrics: %w", err)
	}
	for _, g := range resp.(*kmsg.DescribeGroupsResponse).Groups {
		// A group that moved or went between the two requests is left
		// out of the members; the next scrape counts it.
		if g.ErrorCode == 0 {
			v.Members[typeOf[g.Group]] += len(g.Members)
		}
	}
	return v, nil
}
