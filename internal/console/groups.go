package console

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Bounds of the lag charts and of lag-in-time look-ups.
const (
	maxLagPoints = 120 // per group: six minutes of the page's 3 s polls
	maxLagGroups = 256 // groups with a chart; the least recent is dropped
	// maxLagTimePartitions bounds the records read to date lag: one per
	// lagging partition.
	maxLagTimePartitions = 256
)

type lagPoint struct {
	TimeMs     int64   `json:"t"`
	Lag        int64   `json:"lag"`
	LagSeconds float64 `json:"lagSeconds"`
}

type groupRow struct {
	Group        string `json:"group"`
	State        string `json:"state"`
	ProtocolType string `json:"protocolType"`
	Members      int    `json:"members"`
	TotalLag     int64  `json:"totalLag"`
	Error        string `json:"error,omitempty"`
}

func (c *Console) listGroups(r *http.Request) (any, error) {
	ctx := r.Context()
	listed, err := c.adm.ListGroups(ctx)
	if err != nil {
		return nil, err
	}
	rows := []groupRow{}
	if len(listed) == 0 {
		return rows, nil
	}
	lags, err := c.adm.Lag(ctx, listed.Groups()...)
	if err != nil {
		return nil, err
	}
	for _, g := range lags {
		row := groupRow{Group: g.Group, State: g.State, ProtocolType: g.ProtocolType, Members: len(g.Members)}
		if e := g.Error(); e != nil {
			row.Error = e.Error()
		}
		for _, l := range g.Lag.Sorted() {
			if l.Commit.At >= 0 { // as describeGroup: only partitions the group committed
				row.TotalLag += max(0, l.Lag)
			}
		}
		rows = append(rows, row)
	}
	slices.SortFunc(rows, func(a, b groupRow) int { return strings.Compare(a.Group, b.Group) })
	return rows, nil
}

type assignmentView struct {
	Topic      string  `json:"topic"`
	Partitions []int32 `json:"partitions"`
}

type memberView struct {
	MemberID    string           `json:"memberId"`
	InstanceID  string           `json:"instanceId,omitempty"`
	ClientID    string           `json:"clientId"`
	Host        string           `json:"host"`
	Assignments []assignmentView `json:"assignments"`
}

type groupLagRow struct {
	PartitionLag
	ClientID string `json:"clientId"`
}

type groupView struct {
	Group         string        `json:"group"`
	State         string        `json:"state"`
	ProtocolType  string        `json:"protocolType"`
	Protocol      string        `json:"protocol"`
	Coordinator   int32         `json:"coordinator"`
	Members       []memberView  `json:"members"`
	Partitions    []groupLagRow `json:"partitions"`
	TotalLag      int64         `json:"totalLag"`
	MaxLagSeconds float64       `json:"maxLagSeconds"`
	LagSource     string        `json:"lagSource"`
	Status        string        `json:"status,omitempty"`
	History       []lagPoint    `json:"history"`
}

func (c *Console) describeGroup(r *http.Request) (any, error) {
	name := r.PathValue("group")
	if err := validGroup(name); err != nil {
		return nil, err
	}
	ctx := r.Context()
	lags, err := c.adm.Lag(ctx, name)
	if err != nil {
		return nil, err
	}
	g, ok := lags[name]
	if !ok {
		return nil, kafkaError(kerr.GroupIDNotFound, name)
	}
	if e := g.Error(); e != nil {
		return nil, e
	}
	if g.State == "Dead" && len(g.Lag) == 0 {
		return nil, kafkaError(kerr.GroupIDNotFound, name)
	}
	v := groupView{Group: name, State: g.State, ProtocolType: g.ProtocolType, Protocol: g.Protocol,
		Coordinator: g.Coordinator.NodeID, Members: []memberView{}, Partitions: []groupLagRow{}, LagSource: "console"}
	clientOf := map[string]map[int32]string{}
	for _, m := range g.Members {
		mv := memberView{MemberID: m.MemberID, ClientID: m.ClientID, Host: m.ClientHost, Assignments: []assignmentView{}}
		if m.InstanceID != nil {
			mv.InstanceID = *m.InstanceID
		}
		if a, ok := m.Assigned.AsConsumer(); ok {
			for _, t := range a.Topics {
				mv.Assignments = append(mv.Assignments, assignmentView{Topic: t.Topic, Partitions: nonNil(t.Partitions)})
				for _, p := range t.Partitions {
					if clientOf[t.Topic] == nil {
						clientOf[t.Topic] = map[int32]string{}
					}
					clientOf[t.Topic][p] = m.ClientID
				}
			}
		}
		v.Members = append(v.Members, mv)
	}
	partitions := c.partitionLags(ctx, name, g.Lag)
	if c.opts.Lag != nil {
		if known, ok := c.opts.Lag.GroupLag(name); ok {
			partitions, v.LagSource, v.Status = known.Partitions, "monitor", known.Status
		}
	}
	if v.LagSource == "console" && c.opts.AskCoordinators {
		if known, ok := c.coordinatorLag(ctx, name, g.Coordinator); ok {
			partitions, v.LagSource, v.Status = known.Partitions, "coordinator", known.Status
		}
	}
	for _, p := range partitions {
		v.Partitions = append(v.Partitions, groupLagRow{PartitionLag: p, ClientID: clientOf[p.Topic][p.Partition]})
		v.TotalLag += max(0, p.Lag)
		v.MaxLagSeconds = max(v.MaxLagSeconds, p.LagSeconds)
	}
	v.History = c.recordLag(name, lagPoint{TimeMs: c.opts.Now().UnixMilli(), Lag: v.TotalLag, LagSeconds: v.MaxLagSeconds})
	return v, nil
}

// partitionLags computes lag in offsets from kadm's view and lag in time
// as the age of the record at the committed offset: the first one the
// group has not consumed.
func (c *Console) partitionLags(ctx context.Context, group string, lag kadm.GroupLag) []PartitionLag {
	out := []PartitionLag{}
	behind := map[string]map[int32]kgo.Offset{}
	n := 0
	for _, l := range lag.Sorted() {
		if l.Commit.At < 0 {
			continue // no commit: not a partition of the group yet
		}
		p := PartitionLag{Topic: l.Topic, Partition: l.Partition, Committed: l.Commit.At, End: l.End.Offset, Lag: l.Lag}
		switch {
		case l.Err != nil || l.Lag < 0:
			p.LagSeconds = -1
		case l.Lag > 0 && n < maxLagTimePartitions:
			if behind[l.Topic] == nil {
				behind[l.Topic] = map[int32]kgo.Offset{}
			}
			behind[l.Topic][l.Partition] = kgo.NewOffset().At(max(l.Commit.At, l.Start.Offset))
			n++
			p.LagSeconds = -1
		case l.Lag > 0:
			p.LagSeconds = -1
		}
		out = append(out, p)
	}
	if n == 0 {
		return out
	}
	stamps, err := c.firstTimestamps(ctx, behind, n)
	if err != nil {
		c.opts.Logger.Warn("console: reading lag in time", "group", group, "err", err)
		return out
	}
	now := c.opts.Now()
	for i, p := range out {
		if ts, ok := stamps[p.Topic][p.Partition]; ok {
			out[i].LagSeconds = max(0, now.Sub(ts).Seconds())
		}
	}
	return out
}

// firstTimestamps reads the first record at each offset and returns its
// timestamp.
func (c *Console) firstTimestamps(ctx context.Context, at map[string]map[int32]kgo.Offset, n int) (map[string]map[int32]time.Time, error) {
	select {
	case c.browses <- struct{}{}:
		defer func() { <-c.browses }()
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	opts := append([]kgo.Opt{kgo.SeedBrokers(c.opts.Brokers...), kgo.ClientID("fjord-console")}, c.opts.ClientOpts...)
	opts = append(opts, kgo.ConsumePartitions(at), kgo.FetchMaxPartitionBytes(64<<10), kgo.FetchMaxBytes(maxBrowseBytes),
		kgo.FetchMaxWait(500*time.Millisecond))
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	out := map[string]map[int32]time.Time{}
	found := 0
	for found < n {
		pollCtx, cancel := context.WithTimeout(ctx, browseIdle)
		fetches := cl.PollFetches(pollCtx)
		cancel()
		if ctx.Err() != nil || fetches.Empty() {
			break
		}
		fetches.EachRecord(func(rec *kgo.Record) {
			if out[rec.Topic] == nil {
				out[rec.Topic] = map[int32]time.Time{}
			}
			if _, seen := out[rec.Topic][rec.Partition]; !seen {
				out[rec.Topic][rec.Partition] = rec.Timestamp
				found++
			}
		})
	}
	return out, nil
}

// recordLag appends a point to the group's chart and returns the chart.
func (c *Console) recordLag(group string, p lagPoint) []lagPoint {
	c.mu.Lock()
	defer c.mu.Unlock()
	points, ok := c.mu.lagCharts[group]
	if !ok && len(c.mu.lagCharts) >= maxLagGroups {
		c.dropOldestChartLocked()
	}
	points = append(points, p)
	if len(points) > maxLagPoints {
		points = slices.Delete(points, 0, len(points)-maxLagPoints)
	}
	c.mu.lagCharts[group] = points
	return slices.Clone(points)
}

func (c *Console) dropOldestChartLocked() {
	oldest, at := "", int64(1<<63-1)
	for g, points := range c.mu.lagCharts {
		if last := points[len(points)-1].TimeMs; last < at {
			oldest, at = g, last
		}
	}
	delete(c.mu.lagCharts, oldest)
}

type resetRequest struct {
	Topic     string `json:"topic"`
	To        string `json:"to"`
	Offset    int64  `json:"offset"`
	Timestamp int64  `json:"timestamp"`
}

// resetGroup commits new offsets for a group, which Kafka allows only
// while the group has no members (kafka-consumer-groups.sh
// --reset-offsets refuses otherwise, and so does the coordinator).
func (c *Console) resetGroup(r *http.Request) (any, error) {
	name := r.PathValue("group")
	if err := validGroup(name); err != nil {
		return nil, err
	}
	var req resetRequest
	if err := decodeBody(r, &req); err != nil {
		return nil, err
	}
	if req.Topic != "" {
		if err := validTopic(req.Topic); err != nil {
			return nil, err
		}
	}
	if !slices.Contains([]string{"earliest", "latest", "offset", "timestamp"}, req.To) {
		return nil, badRequest("to must be earliest, latest, offset or timestamp, got %q", req.To)
	}
	if req.Offset < 0 || req.Timestamp < 0 {
		return nil, badRequest("offset and timestamp must not be negative")
	}
	ctx := r.Context()
	described, err := c.adm.DescribeGroups(ctx, name)
	if err != nil {
		return nil, err
	}
	if d, ok := described[name]; ok && d.State != "Empty" && d.State != "Dead" {
		return nil, kafkaError(kerr.NonEmptyGroup, "offsets can be reset only while the group has no members; it is "+d.State)
	}
	target, err := c.resetTargets(ctx, name, req)
	if err != nil {
		return nil, err
	}
	resps, err := c.adm.CommitOffsets(ctx, name, target)
	if err != nil {
		return nil, err
	}
	if err := resps.Error(); err != nil {
		return nil, err
	}
	committed := []PartitionLag{}
	target.Each(func(o kadm.Offset) {
		committed = append(committed, PartitionLag{Topic: o.Topic, Partition: o.Partition, Committed: o.At})
	})
	slices.SortFunc(committed, func(a, b PartitionLag) int {
		if c := strings.Compare(a.Topic, b.Topic); c != 0 {
			return c
		}
		return int(a.Partition - b.Partition)
	})
	return map[string]any{"group": name, "committed": committed}, nil
}

// resetTargets computes the offsets to commit: for the topic asked, every
// partition; otherwise every partition the group has committed.
func (c *Console) resetTargets(ctx context.Context, group string, req resetRequest) (kadm.Offsets, error) {
	topics := []string{req.Topic}
	if req.Topic == "" {
		fetched, err := c.adm.FetchOffsets(ctx, group)
		if err != nil {
			return nil, err
		}
		topics = fetched.Offsets().TopicsSet().Topics()
		if len(topics) == 0 {
			return nil, badRequest("the group has no committed offsets: choose a topic")
		}
	}
	starts, err := c.adm.ListStartOffsets(ctx, topics...)
	if err != nil {
		return nil, err
	}
	ends, err := c.adm.ListEndOffsets(ctx, topics...)
	if err != nil {
		return nil, err
	}
	if err := errors.Join(starts.Error(), ends.Error()); err != nil {
		return nil, err
	}
	var after kadm.ListedOffsets
	if req.To == "timestamp" {
		if after, err = c.adm.ListOffsetsAfterMilli(ctx, req.Timestamp, topics...); err != nil {
			return nil, err
		}
	}
	out := kadm.Offsets{}
	starts.Each(func(s kadm.ListedOffset) {
		e, _ := ends.Lookup(s.Topic, s.Partition)
		at := s.Offset
		switch req.To {
		case "latest":
			at = e.Offset
		case "offset":
			at = min(max(req.Offset, s.Offset), e.Offset)
		case "timestamp":
			at = e.Offset
			if a, ok := after.Lookup(s.Topic, s.Partition); ok && a.Err == nil && a.Offset >= 0 {
				at = a.Offset
			}
		}
		out.Add(kadm.Offset{Topic: s.Topic, Partition: s.Partition, At: at, LeaderEpoch: -1})
	})
	return out, nil
}
