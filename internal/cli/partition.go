package cli

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/twmb/franz-go/pkg/kadm"
)

var partitionCommands = []subcommand{
	{"reassign", "move partition replicas to other brokers (TOPIC:PARTITION=BROKER,BROKER,...), optionally throttled; --verify checks and removes the throttle", partitionReassign},
	{"reassignments", "list reassignments in progress", partitionReassignments},
}

// Partition runs `fjord partition SUBCOMMAND ...`.
func Partition(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	return dispatch(ctx, "partition", partitionCommands, args, stdout, stderr)
}

// maxReassignArgs bounds one reassignment request.
const maxReassignArgs = 10000

// parseReassignment reads TOPIC:PARTITION=B1,B2,... ("=" with nothing
// after it cancels a reassignment in progress).
func parseReassignment(arg string) (topic string, partition int32, brokers []int32, err error) {
	left, right, ok := strings.Cut(arg, "=")
	if !ok {
		return "", 0, nil, fmt.Errorf("%q is not TOPIC:PARTITION=BROKER,BROKER,...", arg)
	}
	cut := strings.LastIndex(left, ":")
	if cut <= 0 {
		return "", 0, nil, fmt.Errorf("%q has no TOPIC:PARTITION", arg)
	}
	p, err := strconv.ParseInt(left[cut+1:], 10, 32)
	if err != nil || p < 0 {
		return "", 0, nil, fmt.Errorf("bad partition in %q", arg)
	}
	if right == "" {
		return left[:cut], int32(p), nil, nil
	}
	for _, f := range strings.Split(right, ",") {
		id, err := strconv.ParseInt(strings.TrimSpace(f), 10, 32)
		if err != nil || id < 0 {
			return "", 0, nil, fmt.Errorf("bad broker id %q in %q", f, arg)
		}
		brokers = append(brokers, int32(id))
	}
	return left[:cut], int32(p), brokers, nil
}

func partitionReassign(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("fjord partition reassign",
		"fjord partition reassign [--throttle BYTES_PER_SEC | --verify] TOPIC:PARTITION=BROKER,BROKER,... (TOPIC:PARTITION= cancels)", stderr)
	var conn connFlags
	conn.register(fs)
	throttle := fs.Int64("throttle", -1, "limit the replication of the moving replicas to `BYTES_PER_SEC` (brokers' and topics' replication throttle configs)")
	verify := fs.Bool("verify", false, "report whether the reassignments completed and, once none is in progress, remove the throttle")
	specs, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(specs) == 0 || len(specs) > maxReassignArgs {
		return usagef(fs, "between 1 and %d reassignments required, got %d", maxReassignArgs, len(specs))
	}
	if *verify && *throttle >= 0 {
		return usagef(fs, "--throttle and --verify do not go together")
	}
	if *throttle < -1 {
		return usagef(fs, "--throttle must be at least 0 bytes/s, got %d", *throttle)
	}
	var req kadm.AlterPartitionAssignmentsReq
	var moves []move
	for _, spec := range specs {
		topic, p, brokers, err := parseReassignment(spec)
		if err != nil {
			return usagef(fs, "%v", err)
		}
		req.Assign(topic, p, brokers)
		moves = append(moves, move{topic: topic, partition: p, brokers: brokers})
	}
	adm, ctx, seeds, closeAdmin, err := openAdmin(ctx, fs, conn)
	if err != nil {
		return err
	}
	defer closeAdmin()
	if *verify {
		if err := verifyReassignment(ctx, adm, moves, stdout); err != nil {
			return describeRequestError(ctx, "verifying reassignments", seeds, conn.timeout, err)
		}
		return nil
	}
	if *throttle >= 0 {
		if err := throttleReassignment(ctx, adm, moves, *throttle, stdout); err != nil {
			return describeRequestError(ctx, "throttling reassignments", seeds, conn.timeout, err)
		}
	}
	resps, err := adm.AlterPartitionAssignments(ctx, req)
	if err != nil {
		return describeRequestError(ctx, "reassigning partitions", seeds, conn.timeout, err)
	}
	var failures []string
	for _, r := range resps.Sorted() {
		if r.Err != nil {
			failures = append(failures, fmt.Sprintf("%s-%d: %v %s", r.Topic, r.Partition, r.Err, r.ErrMessage))
			continue
		}
		fmt.Fprintf(stdout, "reassignment of %s-%d started\n", r.Topic, r.Partition)
	}
	return joinFailures(failures)
}

func partitionReassignments(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("fjord partition reassignments", "fjord partition reassignments [TOPIC...]", stderr)
	var conn connFlags
	conn.register(fs)
	topics, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	adm, ctx, seeds, closeAdmin, err := openAdmin(ctx, fs, conn)
	if err != nil {
		return err
	}
	defer closeAdmin()
	md, err := adm.Metadata(ctx, topics...)
	if err != nil {
		return describeRequestError(ctx, "listing reassignments", seeds, conn.timeout, err)
	}
	set := kadm.TopicsSet{}
	for name, t := range md.Topics {
		for _, p := range t.Partitions {
			set.Add(name, p.Partition)
		}
	}
	list, err := adm.ListPartitionReassignments(ctx, set)
	if err != nil {
		return describeRequestError(ctx, "listing reassignments", seeds, conn.timeout, err)
	}
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "TOPIC\tPARTITION\tREPLICAS\tADDING\tREMOVING")
	for _, r := range list.Sorted() {
		fmt.Fprintf(w, "%s\t%d\t%s\t%s\t%s\n", r.Topic, r.Partition, joinIDs(r.Replicas), joinIDs(r.AddingReplicas), joinIDs(r.RemovingReplicas))
	}
	return w.Flush()
}

func joinIDs(ids []int32) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = strconv.Itoa(int(id))
	}
	return strings.Join(parts, ",")
}
