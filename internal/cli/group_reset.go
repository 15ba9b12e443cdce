package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
)

// resetKind says where reset-offsets moves each partition's commit.
type resetKind int

const (
	resetToEarliest resetKind = iota + 1 // the log start offset
	resetToLatest                        // the log end offset (high watermark)
	resetToOffset                        // an absolute offset, clamped to the log
	resetToDatetime                      // the first record at or after a time
	resetShiftBy                         // the committed offset plus a delta, clamped
)

// resetSpec is the one scenario flag given to reset-offsets.
type resetSpec struct {
	kind        resetKind
	offset      int64 // resetToOffset
	shift       int64 // resetShiftBy; negative moves back
	timestampMs int64 // resetToDatetime, milliseconds since the Unix epoch
}

// topicSelection is one --topic value: a topic and, when listed, only those
// partitions.
type topicSelection struct {
	topic      string
	partitions []int32 // nil: every partition of the topic
}

// resetOptions is a parsed reset-offsets command line.
type resetOptions struct {
	group     string
	spec      resetSpec
	topics    []topicSelection
	allTopics bool
	execute   bool
}

// maxResetTopics bounds the --topic flags of one reset; a longer list is
// better served by --all-topics.
const maxResetTopics = 1000

const resetSynopsis = "fjord group reset-offsets GROUP (--topic TOPIC[:P,P...]... | --all-topics) " +
	"(--to-earliest | --to-latest | --to-offset N | --to-datetime RFC3339|@MS | --shift-by N) [--execute]"

// resetScenarioFlags are the flags of which exactly one must be given.
var resetScenarioFlags = []string{"to-earliest", "to-latest", "to-offset", "to-datetime", "shift-by"}

// parseResetArgs reads the reset-offsets command line into options and the
// connection flags; errors are ErrUsage after the complaint is printed.
func parseResetArgs(args []string, stderr io.Writer) (resetOptions, connFlags, error) {
	fs := newFlagSet("fjord group reset-offsets", resetSynopsis, stderr)
	var conn connFlags
	conn.register(fs)
	var topicList stringList
	fs.Var(&topicList, "topic", "`TOPIC` or TOPIC:P,P to reset (repeatable)")
	allTopics := fs.Bool("all-topics", false, "reset every partition the group has committed offsets for")
	fs.Bool("to-earliest", false, "move to the log start offset")
	fs.Bool("to-latest", false, "move to the log end offset")
	toOffset := fs.Int64("to-offset", 0, "move to offset `N`, clamped to [log start, log end]")
	toDatetime := fs.String("to-datetime", "", "move to the first record at or after a time: RFC 3339 or @MILLISECONDS")
	shiftBy := fs.Int64("shift-by", 0, "move the committed offset by `N` (negative: back), clamped to [log start, log end]")
	execute := fs.Bool("execute", false, "commit the new offsets (without it, only print the plan)")
	fs.Bool("dry-run", false, "only print the plan (the default)")
	rest, err := parseArgs(fs, args)
	if err != nil {
		return resetOptions{}, conn, err
	}
	if len(rest) != 1 {
		return resetOptions{}, conn, usagef(fs, "exactly one GROUP required, got %d", len(rest))
	}
	opts := resetOptions{group: rest[0], allTopics: *allTopics, execute: *execute}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if set["execute"] && set["dry-run"] {
		return opts, conn, usagef(fs, "--execute and --dry-run contradict each other")
	}
	var scenarios []string
	for _, name := range resetScenarioFlags {
		if set[name] {
			scenarios = append(scenarios, "--"+name)
		}
	}
	if len(scenarios) != 1 {
		return opts, conn, usagef(fs, "exactly one of --to-earliest, --to-latest, --to-offset, --to-datetime, --shift-by required, got %d %q",
			len(scenarios), scenarios)
	}
	switch scenarios[0] {
	case "--to-earliest":
		opts.spec = resetSpec{kind: resetToEarliest}
	case "--to-latest":
		opts.spec = resetSpec{kind: resetToLatest}
	case "--to-offset":
		if *toOffset < 0 {
			return opts, conn, usagef(fs, "--to-offset must not be negative, got %d", *toOffset)
		}
		opts.spec = resetSpec{kind: resetToOffset, offset: *toOffset}
	case "--to-datetime":
		ms, err := parseResetDatetime(*toDatetime)
		if err != nil {
			return opts, conn, usagef(fs, "--to-datetime %q: %v", *toDatetime, err)
		}
		opts.spec = resetSpec{kind: resetToDatetime, timestampMs: ms}
	case "--shift-by":
		opts.spec = resetSpec{kind: resetShiftBy, shift: *shiftBy}
	}
	if opts.allTopics == (len(topicList) > 0) {
		return opts, conn, usagef(fs, "exactly one of --topic (repeatable) or --all-topics required")
	}
	if len(topicList) > maxResetTopics {
		return opts, conn, usagef(fs, "at most %d --topic flags, got %d", maxResetTopics, len(topicList))
	}
	if opts.topics, err = parseTopicSelections(topicList); err != nil {
		return opts, conn, usagef(fs, "%v", err)
	}
	return opts, conn, nil
}

// parseResetDatetime reads "@MILLISECONDS" or an RFC 3339 time.
func parseResetDatetime(s string) (int64, error) {
	if s == "" {
		return 0, errors.New("empty time")
	}
	if rest, ok := strings.CutPrefix(s, "@"); ok {
		ms, err := strconv.ParseInt(rest, 10, 64)
		if err != nil || ms < 0 {
			return 0, errors.New("@ must be followed by non-negative milliseconds since the epoch")
		}
		return ms, nil
	}
	spec, err := parseFrom(s)
	if err != nil || spec.kind != fromTimestamp {
		return 0, errors.New("not an RFC 3339 time (2024-05-01T12:00:00Z) or @MILLISECONDS")
	}
	return spec.timestampMs, nil
}

// parseTopicSelections reads --topic values. A topic named twice is merged,
// and "every partition" wins over a list, so no partition is reset twice.
func parseTopicSelections(list []string) ([]topicSelection, error) {
	var out []topicSelection
	for _, s := range list {
		sel, err := parseTopicSelection(s)
		if err != nil {
			return nil, err
		}
		i := slices.IndexFunc(out, func(o topicSelection) bool { return o.topic == sel.topic })
		switch {
		case i < 0:
			out = append(out, sel)
		case out[i].partitions == nil || sel.partitions == nil:
			out[i].partitions = nil
		default:
			out[i].partitions = sortedUnique(append(out[i].partitions, sel.partitions...))
		}
	}
	return out, nil
}

func parseTopicSelection(s string) (topicSelection, error) {
	topic, list, hasList := strings.Cut(s, ":")
	if topic == "" {
		return topicSelection{}, fmt.Errorf("--topic %q has no topic name", s)
	}
	sel := topicSelection{topic: topic}
	if !hasList {
		return sel, nil
	}
	for part := range strings.SplitSeq(list, ",") {
		p, err := strconv.ParseInt(strings.TrimSpace(part), 10, 32)
		if err != nil || p < 0 {
			return topicSelection{}, fmt.Errorf("--topic %q: partition %q is not a non-negative number", s, part)
		}
		sel.partitions = append(sel.partitions, int32(p))
		if len(sel.partitions) > maxPartitions {
			return topicSelection{}, fmt.Errorf("--topic %q lists more than %d partitions", s, maxPartitions)
		}
	}
	sel.partitions = sortedUnique(sel.partitions)
	return sel, nil
}

func sortedUnique(ps []int32) []int32 {
	slices.Sort(ps)
	return slices.Compact(ps)
}

func groupResetOffsets(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	opts, conn, err := parseResetArgs(args, stderr)
	if err != nil {
		return err
	}
	seeds, err := conn.validate()
	if err != nil {
		fmt.Fprintf(stderr, "fjord group reset-offsets: %v\n", err)
		return ErrUsage
	}
	adm, err := newAdmin(conn, seeds)
	if err != nil {
		return err
	}
	defer adm.Close()
	ctx, cancel := context.WithTimeout(ctx, conn.timeout)
	defer cancel()

	if err := checkGroupInactive(ctx, adm, opts.group); errors.Is(err, errGroupActive) {
		return err
	} else if err != nil {
		return describeRequestError(ctx, "resetting offsets", seeds, conn.timeout, err)
	}
	partitions, err := loadResetPartitions(ctx, adm, opts)
	if err != nil {
		return describeRequestError(ctx, fmt.Sprintf("resetting offsets of group %q", opts.group), seeds, conn.timeout, err)
	}
	plan, err := planReset(opts.spec, partitions)
	if err != nil {
		return fmt.Errorf("resetting offsets of group %q: %w", opts.group, err)
	}
	if err := writeResetPlan(stdout, plan); err != nil {
		return err
	}
	if !opts.execute {
		fmt.Fprintln(stderr, "dry run: nothing committed; add --execute to commit these offsets")
		return nil
	}
	if err := commitResetPlan(ctx, adm, opts.group, plan); err != nil {
		return describeRequestError(ctx, fmt.Sprintf("committing offsets of group %q", opts.group), seeds, conn.timeout, err)
	}
	fmt.Fprintf(stderr, "committed new offsets for %d partitions of group %q\n", len(plan), opts.group)
	return nil
}

// errGroupActive marks a refusal to reset the offsets of a group whose
// members are consuming: they would overwrite the new offsets with their
// next commit, which is why Kafka refuses too.
var errGroupActive = errors.New("cannot reset the offsets of a group with active members")

func checkGroupInactive(ctx context.Context, adm *kadm.Client, group string) error {
	described, err := adm.DescribeGroups(ctx, group)
	if err != nil && len(described) == 0 {
		return fmt.Errorf("describing group %q: %w", group, err)
	}
	d, ok := described[group]
	switch {
	case !ok:
		return errors.New(noAnswer(group, err))
	case d.Err != nil:
		return fmt.Errorf("describing group %q: %s: %w", group, withDetail(d.Err, d.ErrMessage), d.Err)
	case !groupIsInactive(d.State):
		return fmt.Errorf("%w: group %q is %s with %d members; stop its consumers first",
			errGroupActive, group, d.State, len(d.Members))
	}
	return nil
}
