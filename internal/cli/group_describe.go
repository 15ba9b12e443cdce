package cli

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
)

func groupDescribe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("fjord group describe", "fjord group describe GROUP...", stderr)
	usage := fs.Usage
	fs.Usage = func() {
		usage()
		fmt.Fprint(stderr, "\n"+lagHelp)
	}
	var conn connFlags
	conn.register(fs)
	names, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(names) == 0 || len(names) > maxGroupArgs {
		return usagef(fs, "between 1 and %d group names required, got %d", maxGroupArgs, len(names))
	}
	seeds, err := conn.validate()
	if err != nil {
		return usagef(fs, "%v", err)
	}
	// The client itself, not only its admin, for the Fetch that reads a
	// record's timestamp when the lag in time is computed here.
	cl, err := newClient(conn, seeds)
	if err != nil {
		return err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	adm.SetTimeoutMillis(int32(min(conn.timeout, time.Hour).Milliseconds()))
	ctx, cancel := context.WithTimeout(ctx, conn.timeout)
	defer cancel()

	described, err := adm.DescribeGroups(ctx, names...)
	if err != nil && len(described) == 0 {
		return describeRequestError(ctx, "describing groups", seeds, conn.timeout, err)
	}
	var failures []string
	printed := 0
	for _, name := range names {
		d, ok := described[name]
		switch {
		case !ok:
			failures = append(failures, noAnswer(name, err))
			continue
		case d.Err != nil:
			failures = append(failures, fmt.Sprintf("describing group %q: %s", name, withDetail(d.Err, d.ErrMessage)))
			continue
		}
		view, err := loadGroupView(ctx, adm, d)
		if err != nil {
			return describeRequestError(ctx, fmt.Sprintf("describing group %q", name), seeds, conn.timeout, err)
		}
		if !view.exists() {
			failures = append(failures, fmt.Sprintf("group %q does not exist", name))
			continue
		}
		view.lag = loadLagReport(ctx, cl, adm, d)
		if printed > 0 {
			fmt.Fprintln(stdout)
		}
		writeGroupDescription(stdout, view)
		printed++
	}
	return joinFailures(failures)
}

// groupView is what describe shows of one group: DescribeGroups' answer,
// the committed offsets, and the log end offsets of every topic the group
// consumes or has offsets for.
type groupView struct {
	group      kadm.DescribedGroup
	committed  kadm.OffsetResponses
	endOffsets kadm.ListedOffsets
	// lag is the lag in time and status (lag_describe.go), nil when
	// unknown.
	lag *lagReport
}

// exists tells a real group from the Dead placeholder that DescribeGroups
// (before v6) returns for any unknown name.
func (v groupView) exists() bool {
	return v.group.State != "Dead" || len(v.group.Members) > 0 || len(v.committed) > 0
}

func loadGroupView(ctx context.Context, adm *kadm.Client, d kadm.DescribedGroup) (groupView, error) {
	v := groupView{group: d}
	committed, err := adm.FetchOffsets(ctx, d.Group)
	if err != nil {
		return v, fmt.Errorf("fetching committed offsets: %w", err)
	}
	v.committed = committed
	topics := groupTopics(d, committed)
	if len(topics) == 0 {
		return v, nil
	}
	if v.endOffsets, err = adm.ListEndOffsets(ctx, topics...); err != nil {
		return v, fmt.Errorf("listing log end offsets: %w", err)
	}
	return v, nil
}

// groupTopics are the topics a group has committed offsets for or is
// assigned, sorted.
func groupTopics(d kadm.DescribedGroup, committed kadm.OffsetResponses) []string {
	set := d.AssignedPartitions()
	for topic := range committed {
		set.Add(topic)
	}
	return set.Topics()
}

// partitionLag is one row of describe's offsets table.
type partitionLag struct {
	topic     string
	partition int32
	committed int64 // -1: the group has no commit for this partition
	logEnd    int64 // -1: unknown (the partition or topic is gone, or the listing failed)
	owner     *kadm.DescribedGroupMember
}

// lag is the records between the commit and the log end offset (the high
// watermark), and false when either is unknown. It is not clamped: a
// negative lag means the log was truncated below the commit, which a person
// should see.
func (p partitionLag) lag() (int64, bool) {
	if p.committed < 0 || p.logEnd < 0 {
		return 0, false
	}
	return p.logEnd - p.committed, true
}

// groupLag lists every partition of every topic the group has offsets for,
// plus any partition assigned to a member, sorted by topic and partition,
// and the total lag of the partitions whose lag is known.
func groupLag(v groupView) (rows []partitionLag, total int64) {
	index := map[kadm.Offset]int{}
	row := func(topic string, partition int32) *partitionLag {
		key := kadm.Offset{Topic: topic, Partition: partition}
		if i, ok := index[key]; ok {
			return &rows[i]
		}
		index[key] = len(rows)
		rows = append(rows, partitionLag{topic: topic, partition: partition, committed: -1, logEnd: -1})
		return &rows[len(rows)-1]
	}
	v.committed.Each(func(o kadm.OffsetResponse) {
		if o.Err == nil && o.At >= 0 {
			row(o.Topic, o.Partition).committed = o.At
		}
	})
	for topic := range v.committed {
		for partition := range v.endOffsets[topic] {
			if partition >= 0 {
				row(topic, partition)
			}
		}
	}
	for i := range v.group.Members {
		m := &v.group.Members[i]
		if a, ok := m.Assigned.AsConsumer(); ok {
			for _, t := range a.Topics {
				for _, p := range t.Partitions {
					row(t.Topic, p).owner = m
				}
			}
		}
	}
	for i := range rows {
		if o, ok := v.endOffsets.Lookup(rows[i].topic, rows[i].partition); ok && o.Err == nil {
			rows[i].logEnd = o.Offset
		}
		if lag, ok := rows[i].lag(); ok {
			total += lag
		}
	}
	slices.SortFunc(rows, func(a, b partitionLag) int {
		return cmp.Or(strings.Compare(a.topic, b.topic), cmp.Compare(a.partition, b.partition))
	})
	return rows, total
}

// writeGroupDescription prints a summary, the members with their
// assignments, and the offsets table in the columns of
// kafka-consumer-groups.sh --describe, then the total lag.
func writeGroupDescription(w io.Writer, v groupView) {
	g := v.group
	protocol := orDash(g.ProtocolType)
	if g.Protocol != "" {
		protocol += "/" + g.Protocol
	}
	fmt.Fprintf(w, "Group: %s\tState: %s\tProtocol: %s\tCoordinator: %s\n",
		g.Group, orDash(g.State), protocol, formatCoordinator(g.Coordinator))
	fmt.Fprintf(w, "Members: %d\n", len(g.Members))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if len(g.Members) > 0 {
		fmt.Fprintln(tw, "  MEMBER-ID\tINSTANCE-ID\tCLIENT-ID\tHOST\tASSIGNMENT")
		for _, m := range g.Members {
			instance := "-"
			if m.InstanceID != nil {
				instance = orDash(*m.InstanceID)
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", m.MemberID, instance, orDash(m.ClientID),
				orDash(m.ClientHost), formatAssignment(m))
		}
		_ = tw.Flush()
	}
	rows, total := groupLag(v)
	// LAG-TIME comes last so that Kafka's columns keep their places for
	// scripts written against kafka-consumer-groups.sh.
	fmt.Fprintln(tw, "  TOPIC\tPARTITION\tCURRENT-OFFSET\tLOG-END-OFFSET\tLAG\tCONSUMER-ID\tHOST\tCLIENT-ID\tLAG-TIME")
	for _, r := range rows {
		consumer, host, client := "-", "-", "-"
		if r.owner != nil {
			consumer, host, client = r.owner.MemberID, orDash(r.owner.ClientHost), orDash(r.owner.ClientID)
		}
		lagTime := "-"
		if _, ok := r.lag(); ok {
			lagTime = formatLagTime(v.lag.partition(r.topic, r.partition))
		}
		fmt.Fprintf(tw, "  %s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.topic, r.partition,
			formatOffset(r.committed), formatOffset(r.logEnd), formatLag(r), consumer, host, client, lagTime)
	}
	_ = tw.Flush()
	fmt.Fprintf(w, "Total lag: %d\n", total)
	writeLagStatus(w, v.lag)
}

func formatCoordinator(b kadm.BrokerDetail) string {
	if b.Host == "" {
		return formatLeader(b.NodeID)
	}
	return fmt.Sprintf("%d (%s:%d)", b.NodeID, b.Host, b.Port)
}

// formatOffset shows an unknown offset as "-", as Kafka's tool does.
func formatOffset(o int64) string {
	if o < 0 {
		return "-"
	}
	return strconv.FormatInt(o, 10)
}

func formatLag(r partitionLag) string {
	lag, ok := r.lag()
	if !ok {
		return "-"
	}
	return strconv.FormatInt(lag, 10)
}

// formatAssignment prints a consumer member's partitions as
// "topic:0,1;other:2", or "-" for none or a non-consumer protocol.
func formatAssignment(m kadm.DescribedGroupMember) string {
	a, ok := m.Assigned.AsConsumer()
	if !ok || len(a.Topics) == 0 {
		return "-"
	}
	var parts []string
	for _, t := range a.Topics {
		ps := slices.Clone(t.Partitions)
		slices.Sort(ps)
		ids := make([]string, len(ps))
		for i, p := range ps {
			ids[i] = strconv.Itoa(int(p))
		}
		parts = append(parts, t.Topic+":"+strings.Join(ids, ","))
	}
	slices.Sort(parts)
	return strings.Join(parts, ";")
}
