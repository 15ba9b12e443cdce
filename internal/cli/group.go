package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

// groupCommands are the `fjord group` subcommands, in the order usage lists
// them.
var groupCommands = []subcommand{
	{"list", "list consumer groups with state, protocol type and member count", groupList},
	{"describe", "show members, assignments, committed offsets and lag", groupDescribe},
	{"reset-offsets", "plan, and with --execute commit, new offsets for a stopped group", groupResetOffsets},
	{"delete", "delete empty groups and their committed offsets", groupDelete},
}

// Group runs `fjord group SUBCOMMAND ...`.
func Group(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	return dispatch(ctx, "group", groupCommands, args, stdout, stderr)
}

// maxGroupArgs bounds the groups one describe or delete names, and the
// groups one DescribeGroups request asks about, so output and requests stay
// a size a terminal and a broker handle comfortably.
const maxGroupArgs = 1000

// groupStates are the states a group can be in, as Kafka names them: the
// classic protocol's five, then the KIP-848 consumer protocol's own.
var groupStates = []string{
	"PreparingRebalance", "CompletingRebalance", "Stable", "Dead", "Empty",
	"Assigning", "Reconciling", "NotReady",
}

// parseGroupStates reads --state: a comma-separated list matched without
// regard to case, as Kafka's tool does, and returned in Kafka's spelling
// because the broker compares the names it gets.
func parseGroupStates(s string) ([]string, error) {
	var states []string
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		i := slices.IndexFunc(groupStates, func(state string) bool { return strings.EqualFold(state, part) })
		if i < 0 {
			return nil, fmt.Errorf("unknown group state %q (known: %s)", part, strings.Join(groupStates, ", "))
		}
		if !slices.Contains(states, groupStates[i]) {
			states = append(states, groupStates[i])
		}
	}
	return states, nil
}

// groupIsInactive says whether a group has no members that could be
// consuming: only then may its offsets be reset (Kafka's rule).
func groupIsInactive(state string) bool {
	return state == "Empty" || state == "Dead"
}

func groupList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("fjord group list", "fjord group list [--state STATE,STATE...]", stderr)
	var conn connFlags
	conn.register(fs)
	stateFlag := fs.String("state", "", "only groups in these states (comma-separated: "+strings.Join(groupStates, ",")+")")
	rest, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 0 {
		return usagef(fs, "unexpected arguments %q", rest)
	}
	states, err := parseGroupStates(*stateFlag)
	if err != nil {
		return usagef(fs, "%v", err)
	}
	adm, ctx, seeds, closeAdmin, err := openAdmin(ctx, fs, conn)
	if err != nil {
		return err
	}
	defer closeAdmin()

	listed, err := adm.ListGroups(ctx, states...)
	if err != nil {
		return describeRequestError(ctx, "listing groups", seeds, conn.timeout, err)
	}
	members, err := memberCounts(ctx, adm, listed.Groups())
	if err != nil {
		return describeRequestError(ctx, "describing groups", seeds, conn.timeout, err)
	}
	return writeGroupList(stdout, listed.Sorted(), members)
}

// memberCounts describes the groups, a bounded number per request, for the
// one thing ListGroups does not say: how many members each has.
func memberCounts(ctx context.Context, adm *kadm.Client, groups []string) (map[string]int, error) {
	counts := make(map[string]int, len(groups))
	for chunk := range slices.Chunk(groups, maxGroupArgs) {
		described, err := adm.DescribeGroups(ctx, chunk...)
		if err != nil {
			return nil, err
		}
		for name, d := range described {
			if d.Err == nil {
				counts[name] = len(d.Members)
			}
		}
	}
	return counts, nil
}

// writeGroupList prints one row per group; a group that could not be
// described shows "?" members rather than a wrong count.
func writeGroupList(w io.Writer, groups []kadm.ListedGroup, members map[string]int) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "GROUP\tSTATE\tPROTOCOL-TYPE\tMEMBERS")
	for _, g := range groups {
		count := "?"
		if n, ok := members[g.Group]; ok {
			count = fmt.Sprint(n)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", g.Group, orDash(g.State), orDash(g.ProtocolType), count)
	}
	return tw.Flush()
}

// orDash shows an empty field as "-" so that columns stay aligned and
// parseable.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func groupDelete(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("fjord group delete", "fjord group delete GROUP...", stderr)
	var conn connFlags
	conn.register(fs)
	names, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(names) == 0 || len(names) > maxGroupArgs {
		return usagef(fs, "between 1 and %d group names required, got %d", maxGroupArgs, len(names))
	}
	adm, ctx, seeds, closeAdmin, err := openAdmin(ctx, fs, conn)
	if err != nil {
		return err
	}
	defer closeAdmin()

	resps, err := adm.DeleteGroups(ctx, names...)
	if err != nil && len(resps) == 0 {
		return describeRequestError(ctx, "deleting groups", seeds, conn.timeout, err)
	}
	var failures []string
	for _, name := range names {
		resp, ok := resps[name]
		switch {
		case !ok:
			failures = append(failures, noAnswer(name, err))
		case resp.Err == nil:
			fmt.Fprintf(stdout, "deleted group %q\n", name)
		default:
			failures = append(failures, deleteGroupFailure(name, resp))
		}
	}
	return joinFailures(failures)
}

// noAnswer explains a group missing from a sharded answer: the request
// to its coordinator failed (err says why) or the broker left it out.
func noAnswer(group string, err error) string {
	if err != nil {
		return fmt.Sprintf("group %q: no answer from its coordinator: %v", group, err)
	}
	return fmt.Sprintf("group %q: no answer from the broker", group)
}

// deleteGroupFailure explains the two refusals a person meets most, and
// passes any other code through by its Kafka name.
func deleteGroupFailure(name string, resp kadm.DeleteGroupResponse) string {
	switch {
	case errors.Is(resp.Err, kerr.NonEmptyGroup):
		return fmt.Sprintf("group %q still has active members; stop its consumers first (%s)", name, kafkaErrorName(resp.Err))
	case errors.Is(resp.Err, kerr.GroupIDNotFound):
		return fmt.Sprintf("group %q does not exist (%s)", name, kafkaErrorName(resp.Err))
	default:
		return fmt.Sprintf("deleting group %q: %s", name, withDetail(resp.Err, resp.ErrMessage))
	}
}
