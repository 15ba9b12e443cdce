package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

// resetPartition is what planning needs to know about one partition.
type resetPartition struct {
	topic     string
	partition int32
	committed int64 // -1: the group has no commit here
	logStart  int64
	logEnd    int64
	atTime    int64 // the first offset at or after --to-datetime (the log end if none); -1 when not asked
}

// resetPlanRow is one partition's move.
type resetPlanRow struct {
	topic     string
	partition int32
	current   int64 // -1: no commit
	next      int64
}

// planReset computes the new offset of every partition. Every target is
// clamped to [log start, log end], as Kafka's tool does, so a commit never
// points outside the log. Shifting needs a committed offset; partitions
// without one fail the whole plan, naming them, rather than guessing.
func planReset(spec resetSpec, partitions []resetPartition) ([]resetPlanRow, error) {
	plan := make([]resetPlanRow, 0, len(partitions))
	var uncommitted []string
	for _, p := range partitions {
		var target int64
		switch spec.kind {
		case resetToEarliest:
			target = p.logStart
		case resetToLatest:
			target = p.logEnd
		case resetToOffset:
			target = spec.offset
		case resetToDatetime:
			target = p.atTime
		case resetShiftBy:
			if p.committed < 0 {
				uncommitted = append(uncommitted, fmt.Sprintf("%s/%d", p.topic, p.partition))
				continue
			}
			target = saturatingAdd(p.committed, spec.shift)
		default:
			return nil, fmt.Errorf("unknown reset scenario %d", spec.kind)
		}
		plan = append(plan, resetPlanRow{
			topic: p.topic, partition: p.partition, current: p.committed,
			next: min(max(target, p.logStart), p.logEnd),
		})
	}
	if len(uncommitted) > 0 {
		return nil, fmt.Errorf("--shift-by moves a committed offset, and the group has none for %s", strings.Join(uncommitted, ", "))
	}
	return plan, nil
}

// saturatingAdd adds a non-negative offset and a delta without wrapping
// around, so --shift-by 9223372036854775807 lands on the log end.
func saturatingAdd(offset, delta int64) int64 {
	if delta > 0 && offset > math.MaxInt64-delta {
		return math.MaxInt64
	}
	return offset + delta
}

// loadResetPartitions resolves the selected partitions and lists the
// offsets the scenario needs for them.
func loadResetPartitions(ctx context.Context, adm *kadm.Client, opts resetOptions) ([]resetPartition, error) {
	committed, err := adm.FetchOffsets(ctx, opts.group)
	if err != nil {
		return nil, fmt.Errorf("fetching committed offsets: %w", err)
	}
	selected, err := selectResetPartitions(ctx, adm, opts, committed)
	if err != nil {
		return nil, err
	}
	topics := selected.Topics()
	starts, err := adm.ListStartOffsets(ctx, topics...)
	if err != nil {
		return nil, fmt.Errorf("listing log start offsets: %w", err)
	}
	ends, err := adm.ListEndOffsets(ctx, topics...)
	if err != nil {
		return nil, fmt.Errorf("listing log end offsets: %w", err)
	}
	var atTime kadm.ListedOffsets
	if opts.spec.kind == resetToDatetime {
		if atTime, err = adm.ListOffsetsAfterMilli(ctx, opts.spec.timestampMs, topics...); err != nil {
			return nil, fmt.Errorf("listing offsets by time: %w", err)
		}
	}
	var out []resetPartition
	var failures []string
	for _, tp := range selected.Sorted() {
		for _, partition := range tp.Partitions {
			p := resetPartition{topic: tp.Topic, partition: partition, committed: -1, atTime: -1}
			if o, ok := committed.Lookup(tp.Topic, partition); ok && o.Err == nil && o.At >= 0 {
				p.committed = o.At
			}
			var errs []error
			p.logStart, errs = lookupListed(starts, tp.Topic, partition, errs)
			p.logEnd, errs = lookupListed(ends, tp.Topic, partition, errs)
			if atTime != nil {
				p.atTime, errs = lookupListed(atTime, tp.Topic, partition, errs)
			}
			if err := errors.Join(errs...); err != nil {
				failures = append(failures, fmt.Sprintf("%s/%d: %v", tp.Topic, partition, err))
				continue
			}
			out = append(out, p)
		}
	}
	if len(failures) > 0 {
		return nil, fmt.Errorf("listing offsets: %s", strings.Join(failures, "; "))
	}
	return out, nil
}

func lookupListed(l kadm.ListedOffsets, topic string, partition int32, errs []error) (int64, []error) {
	o, ok := l.Lookup(topic, partition)
	switch {
	case !ok:
		return -1, append(errs, errors.New("no offset in the broker's answer"))
	case o.Err != nil:
		return -1, append(errs, o.Err)
	}
	return o.Offset, errs
}

// selectResetPartitions turns --all-topics or the --topic flags into a set
// of partitions that exist.
func selectResetPartitions(ctx context.Context, adm *kadm.Client, opts resetOptions, committed kadm.OffsetResponses) (kadm.TopicsSet, error) {
	selected := make(kadm.TopicsSet)
	if opts.allTopics {
		committed.Each(func(o kadm.OffsetResponse) {
			if o.Err == nil && o.At >= 0 {
				selected.Add(o.Topic, o.Partition)
			}
		})
		if len(selected) == 0 {
			return nil, fmt.Errorf("group %q has no committed offsets to reset; name topics with --topic", opts.group)
		}
		return selected, nil
	}
	names := make([]string, len(opts.topics))
	for i, sel := range opts.topics {
		names[i] = sel.topic
	}
	details, err := adm.ListTopics(ctx, names...)
	if err != nil {
		return nil, fmt.Errorf("listing topics: %w", err)
	}
	for _, sel := range opts.topics {
		d, ok := details[sel.topic]
		if !ok || d.Err != nil {
			return nil, fmt.Errorf("topic %q does not exist", sel.topic)
		}
		if sel.partitions == nil {
			selected.Add(sel.topic, d.Partitions.Numbers()...)
			continue
		}
		for _, p := range sel.partitions {
			if _, ok := d.Partitions[p]; !ok {
				return nil, fmt.Errorf("topic %q has no partition %d (it has %d)", sel.topic, p, len(d.Partitions))
			}
		}
		selected.Add(sel.topic, sel.partitions...)
	}
	return selected, nil
}

// writeResetPlan prints the plan in the columns of Kafka's tool, with the
// current commit beside the new one so a dry run shows the move.
func writeResetPlan(w io.Writer, plan []resetPlanRow) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TOPIC\tPARTITION\tCURRENT-OFFSET\tNEW-OFFSET")
	for _, r := range plan {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%d\n", r.topic, r.partition, formatOffset(r.current), r.next)
	}
	return tw.Flush()
}

// commitResetPlan commits the plan as an admin commit (no member,
// generation -1), which the coordinator accepts only for a group without
// members: a consumer that joined since the check makes it fail rather
// than be overwritten.
func commitResetPlan(ctx context.Context, adm *kadm.Client, group string, plan []resetPlanRow) error {
	offsets := make(kadm.Offsets)
	for _, r := range plan {
		// LeaderEpoch -1: the epoch of the record at the new offset is
		// unknown, and a wrong one would make consumers truncate.
		offsets.Add(kadm.Offset{Topic: r.topic, Partition: r.partition, At: r.next, LeaderEpoch: -1})
	}
	resps, err := adm.CommitOffsets(ctx, group, offsets)
	if err != nil {
		return err
	}
	var failures []string
	for _, r := range resps.Sorted() {
		if r.Err != nil {
			failures = append(failures, fmt.Sprintf("%s/%d: %s", r.Topic, r.Partition, kafkaErrorName(r.Err)))
		}
	}
	if len(failures) > 0 {
		return fmt.Errorf("the coordinator refused %d of %d commits: %s%s", len(failures), len(plan),
			strings.Join(failures, "; "), joinedHint(resps))
	}
	return nil
}

// joinedHint explains UNKNOWN_MEMBER_ID on an admin commit: the coordinator
// gives it when the group is no longer empty, that is, a consumer joined
// between the check and the commit.
func joinedHint(resps kadm.OffsetResponses) string {
	joined := false
	resps.Each(func(o kadm.OffsetResponse) { joined = joined || errors.Is(o.Err, kerr.UnknownMemberID) })
	if !joined {
		return ""
	}
	return " (a consumer joined the group since it was checked; stop it and run again)"
}
