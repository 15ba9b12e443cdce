package lag

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"
)

// Defaults of Options.
const (
	// DefaultInterval is short so that a status moves within seconds of
	// what it reports; a poll costs one OffsetFetch per group and one
	// ListOffsets per leader, and a Fetch only where a commit moved.
	DefaultInterval = time.Second
	// DefaultWindow is Burrow's default window of 10 samples; at the
	// default interval it spans 9 s, longer than the consumers' default
	// auto.commit.interval.ms of 5 s.
	DefaultWindow = 10
	// DefaultStopFactor sets StopAfter to this many window spans.
	DefaultStopFactor = 10
	// DefaultMaxGroups bounds the groups one poll reads; more are skipped
	// (in name order) with a warning, so a node with a flood of groups
	// keeps its polls bounded.
	DefaultMaxGroups = 10000
	// DefaultMaxPartitions bounds the partitions tracked over all groups,
	// and so the memory the windows take.
	DefaultMaxPartitions = 100000
)

// Options configure a Monitor.
type Options struct {
	// Interval is the time between polls (DefaultInterval).
	Interval time.Duration
	// Window is the number of samples kept per partition (DefaultWindow).
	Window int
	// StopAfter is how long a partition's commits may stop with lag before
	// it is STOPPED although the group has members; default
	// DefaultStopFactor x Interval x Window.
	StopAfter time.Duration
	// MaxGroups and MaxPartitions bound one poll (DefaultMaxGroups,
	// DefaultMaxPartitions).
	MaxGroups, MaxPartitions int
	// Now is the clock (time.Now).
	Now    func() time.Time
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.Interval <= 0 {
		o.Interval = DefaultInterval
	}
	if o.Window <= 0 {
		o.Window = DefaultWindow
	}
	if o.StopAfter <= 0 {
		o.StopAfter = DefaultStopFactor * o.Interval * time.Duration(o.Window)
	}
	if o.MaxGroups <= 0 {
		o.MaxGroups = DefaultMaxGroups
	}
	if o.MaxPartitions <= 0 {
		o.MaxPartitions = DefaultMaxPartitions
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// Thresholds are the status rules' limits these options set.
func (o Options) Thresholds() Thresholds {
	o = o.withDefaults()
	return Thresholds{Window: o.Window, StopAfter: o.StopAfter}
}

// Monitor polls a Source and keeps each group's lag and status.
type Monitor struct {
	src  Source
	opts Options

	// histories are the windows per group and partition, owned by the
	// polling goroutine (Run or Poll's caller).
	histories map[string]map[TopicPartition]*history

	mu struct {
		sync.Mutex
		// groups is the latest snapshot, in group name order; never
		// modified once published.
		groups []GroupLag
	}
}

// history is one partition's window and cached record timestamp.
type history struct {
	samples []Sample
	// lastCommit is when the committed offset last changed (the first
	// sample's time until it does); lastCaughtUp when lag was last 0.
	lastCommit, lastCaughtUp time.Time
	// stamp is the timestamp of the first record not consumed at
	// stampOffset, valid while the committed offset stays there.
	stampOffset int64
	stamp       time.Time
	stampFound  bool
}

// NewMonitor creates a monitor of src; call Run to poll.
func NewMonitor(src Source, opts Options) *Monitor {
	return &Monitor{src: src, opts: opts.withDefaults(), histories: map[string]map[TopicPartition]*history{}}
}

// Run polls every Interval until ctx ends.
func (m *Monitor) Run(ctx context.Context) {
	ticker := time.NewTicker(m.opts.Interval)
	defer ticker.Stop()
	for {
		if err := m.Poll(ctx); err != nil && ctx.Err() == nil {
			m.opts.Logger.Warn("consumer lag poll failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// Groups returns the latest lag of every group, in name order.
func (m *Monitor) Groups() []GroupLag {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]GroupLag, len(m.mu.groups))
	for i, g := range m.mu.groups {
		out[i] = g.clone()
	}
	return out
}

// Group returns the latest lag of one group.
func (m *Monitor) Group(name string) (GroupLag, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	i := sort.Search(len(m.mu.groups), func(i int) bool { return m.mu.groups[i].Group >= name })
	if i < len(m.mu.groups) && m.mu.groups[i].Group == name {
		return m.mu.groups[i].clone(), true
	}
	return GroupLag{}, false
}

func (g GroupLag) clone() GroupLag {
	g.Partitions = append(make([]PartitionLag, 0, len(g.Partitions)), g.Partitions...)
	return g
}

// Poll takes one sample of every group and publishes the result. Calls
// must not overlap; Run makes them.
func (m *Monitor) Poll(ctx context.Context) error {
	now := m.opts.Now()
	groups, err := m.src.Groups(ctx)
	if err != nil {
		return fmt.Errorf("list groups: %w", err)
	}
	sort.Slice(groups, func(i, j int) bool { return groups[i].Group < groups[j].Group })
	if len(groups) > m.opts.MaxGroups {
		m.opts.Logger.Warn("too many groups for the lag monitor; the rest are not reported",
			"groups", len(groups), "max", m.opts.MaxGroups)
		groups = groups[:m.opts.MaxGroups]
	}
	committed, partitions := m.readCommitted(ctx, groups)
	ends, err := m.src.EndOffsets(ctx, partitions)
	if err != nil {
		ends = nil
		err = fmt.Errorf("list end offsets: %w", err)
	}
	previous := m.Groups()
	out := make([]GroupLag, 0, len(groups))
	seen := map[string]bool{}
	for _, g := range groups {
		offsets, ok := committed[g.Group]
		if !ok {
			// Its offsets could not be read this time: keep what was
			// last known rather than make it vanish.
			if old, found := findGroup(previous, g.Group); found {
				out = append(out, old)
				seen[g.Group] = true
			}
			continue
		}
		seen[g.Group] = true
		out = append(out, m.evaluateGroup(ctx, g, offsets, ends, err, now))
	}
	for name := range m.histories {
		if !seen[name] {
			delete(m.histories, name)
		}
	}
	m.mu.Lock()
	m.mu.groups = out
	m.mu.Unlock()
	return nil
}

func findGroup(groups []GroupLag, name string) (GroupLag, bool) {
	for _, g := range groups {
		if g.Group == name {
			return g, true
		}
	}
	return GroupLag{}, false
}

// readCommitted reads each group's committed offsets, up to MaxPartitions
// in all, and returns them with the distinct partitions they name.
func (m *Monitor) readCommitted(ctx context.Context, groups []GroupInfo) (map[string]map[TopicPartition]int64, []TopicPartition) {
	committed := map[string]map[TopicPartition]int64{}
	distinct := map[TopicPartition]bool{}
	tracked := 0
	for _, g := range groups {
		offsets, err := m.src.Committed(ctx, g.Group)
		if err != nil {
			m.opts.Logger.Debug("committed offsets not read", "group", g.Group, "err", err)
			continue
		}
		if tracked+len(offsets) > m.opts.MaxPartitions {
			m.opts.Logger.Warn("too many partitions for the lag monitor; the rest are not reported",
				"group", g.Group, "max", m.opts.MaxPartitions)
			break
		}
		tracked += len(offsets)
		committed[g.Group] = offsets
		for tp := range offsets {
			distinct[tp] = true
		}
	}
	partitions := make([]TopicPartition, 0, len(distinct))
	for tp := range distinct {
		partitions = append(partitions, tp)
	}
	sortPartitions(partitions)
	return committed, partitions
}

func sortPartitions(tps []TopicPartition) {
	sort.Slice(tps, func(i, j int) bool {
		if tps[i].Topic != tps[j].Topic {
			return tps[i].Topic < tps[j].Topic
		}
		return tps[i].Partition < tps[j].Partition
	})
}
