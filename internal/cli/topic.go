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

// topicCommands are the `fjord topic` subcommands, in the order usage lists
// them.
var topicCommands = []subcommand{
	{"create", "create a topic", topicCreate},
	{"list", "list topics with partition count and replication factor", topicList},
	{"describe", "show partitions, leaders, replicas, ISR, offsets and configs", topicDescribe},
	{"delete", "delete topics", topicDelete},
	{"alter-config", "set or delete topic configs (IncrementalAlterConfigs)", topicAlterConfig},
}

// Topic runs `fjord topic SUBCOMMAND ...`.
func Topic(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	return dispatch(ctx, "topic", topicCommands, args, stdout, stderr)
}

func isHelp(arg string) bool {
	return arg == "help" || arg == "-h" || arg == "-help" || arg == "--help"
}

// maxPartitions bounds --partitions on the client side as a guard against
// typos; brokers apply their own, lower limits.
const maxPartitions = 1 << 20

func topicCreate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("fjord topic create", "fjord topic create NAME [--partitions N] [--replication-factor N] [--config k=v ...] [--if-not-exists]", stderr)
	var conn connFlags
	conn.register(fs)
	partitions := fs.Int("partitions", -1, "number of partitions (-1: the broker's num.partitions)")
	replication := fs.Int("replication-factor", -1, "replicas per partition (-1: the broker's default.replication.factor)")
	var configList stringList
	fs.Var(&configList, "config", "topic config `k=v` (repeatable)")
	ifNotExists := fs.Bool("if-not-exists", false, "succeed if the topic already exists")
	names, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(names) != 1 {
		return usagef(fs, "exactly one topic NAME required, got %d", len(names))
	}
	if *partitions == 0 || *partitions < -1 || *partitions > maxPartitions {
		return usagef(fs, "--partitions must be between 1 and %d (or -1 for the broker default), got %d", maxPartitions, *partitions)
	}
	if *replication == 0 || *replication < -1 || *replication > 1<<15-1 {
		return usagef(fs, "--replication-factor must be positive (or -1 for the broker default), got %d", *replication)
	}
	configs, err := parseConfigs(configList)
	if err != nil {
		return usagef(fs, "%v", err)
	}
	adm, ctx, seeds, closeAdmin, err := openAdmin(ctx, fs, conn)
	if err != nil {
		return err
	}
	defer closeAdmin()

	name := names[0]
	// CreateTopics rather than CreateTopic: the latter returns the topic's
	// own error as the request error, hiding TOPIC_ALREADY_EXISTS among
	// transport failures.
	resps, err := adm.CreateTopics(ctx, int32(*partitions), int16(*replication), configs, name)
	if err != nil {
		return describeRequestError(ctx, fmt.Sprintf("creating topic %q", name), seeds, conn.timeout, err)
	}
	resp, ok := resps[name]
	if !ok {
		return fmt.Errorf("creating topic %q: the broker's answer does not mention it", name)
	}
	switch {
	case resp.Err == nil:
		fmt.Fprintf(stdout, "created topic %q with %d partitions, replication factor %d\n", name, resp.NumPartitions, resp.ReplicationFactor)
		return nil
	case errors.Is(resp.Err, kerr.TopicAlreadyExists) && *ifNotExists:
		return nil
	case errors.Is(resp.Err, kerr.TopicAlreadyExists):
		return fmt.Errorf("topic %q already exists (%s)", name, kafkaErrorName(resp.Err))
	default:
		return fmt.Errorf("creating topic %q: %s", name, withDetail(resp.Err, resp.ErrMessage))
	}
}

// kafkaInternalTopics are the topics Kafka treats as internal by name
// (Topic.INTERNAL_TOPICS plus the KRaft metadata log), hidden from
// `topic list` even if a broker forgets to flag them.
var kafkaInternalTopics = []string{"__consumer_offsets", "__transaction_state", "__cluster_metadata"}

func isInternalTopic(d kadm.TopicDetail) bool {
	return d.IsInternal || slices.Contains(kafkaInternalTopics, d.Topic)
}

func topicList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("fjord topic list", "fjord topic list [--internal]", stderr)
	var conn connFlags
	conn.register(fs)
	internal := fs.Bool("internal", false, "include internal topics such as __consumer_offsets")
	rest, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 0 {
		return usagef(fs, "unexpected arguments %q", rest)
	}
	adm, ctx, seeds, closeAdmin, err := openAdmin(ctx, fs, conn)
	if err != nil {
		return err
	}
	defer closeAdmin()

	details, err := adm.ListTopicsWithInternal(ctx)
	if err != nil {
		return describeRequestError(ctx, "listing topics", seeds, conn.timeout, err)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TOPIC\tPARTITIONS\tREPLICATION-FACTOR")
	for _, d := range details.Sorted() {
		if isInternalTopic(d) && !*internal {
			continue
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\n", d.Topic, len(d.Partitions), d.Partitions.NumReplicas())
	}
	return tw.Flush()
}

func topicDelete(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("fjord topic delete", "fjord topic delete NAME... [--if-exists]", stderr)
	var conn connFlags
	conn.register(fs)
	ifExists := fs.Bool("if-exists", false, "succeed for topics that do not exist")
	names, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(names) == 0 {
		return usagef(fs, "at least one topic NAME required")
	}
	adm, ctx, seeds, closeAdmin, err := openAdmin(ctx, fs, conn)
	if err != nil {
		return err
	}
	defer closeAdmin()

	resps, err := adm.DeleteTopics(ctx, names...)
	if err != nil {
		return describeRequestError(ctx, "deleting topics", seeds, conn.timeout, err)
	}
	var failures []string
	for _, name := range names {
		resp, ok := resps[name]
		switch {
		case !ok:
			failures = append(failures, fmt.Sprintf("topic %q: no answer from the broker", name))
		case resp.Err == nil:
			fmt.Fprintf(stdout, "deleted topic %q\n", name)
		case errors.Is(resp.Err, kerr.UnknownTopicOrPartition) && *ifExists:
		case errors.Is(resp.Err, kerr.UnknownTopicOrPartition):
			failures = append(failures, fmt.Sprintf("topic %q does not exist (%s)", name, kafkaErrorName(resp.Err)))
		default:
			failures = append(failures, fmt.Sprintf("deleting topic %q: %s", name, withDetail(resp.Err, resp.ErrMessage)))
		}
	}
	return joinFailures(failures)
}

// joinFailures reports per-item failures of a multi-item command as one
// error, after the successes have been printed.
func joinFailures(failures []string) error {
	if len(failures) == 0 {
		return nil
	}
	return errors.New(strings.Join(failures, "; "))
}
