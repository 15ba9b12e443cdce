package cli

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// maxDescribeTopics bounds one describe so that its output, and the
// requests behind it, stay a size a terminal can show.
const maxDescribeTopics = 1000

func topicDescribe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("fjord topic describe", "fjord topic describe NAME...", stderr)
	var conn connFlags
	conn.register(fs)
	names, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(names) == 0 || len(names) > maxDescribeTopics {
		return usagef(fs, "between 1 and %d topic names required, got %d", maxDescribeTopics, len(names))
	}
	adm, ctx, seeds, closeAdmin, err := openAdmin(ctx, fs, conn)
	if err != nil {
		return err
	}
	defer closeAdmin()

	details, err := adm.ListTopicsWithInternal(ctx, names...)
	if err != nil {
		return describeRequestError(ctx, "describing topics", seeds, conn.timeout, err)
	}
	var failures []string
	var found []string
	for _, name := range names {
		d, ok := details[name]
		switch {
		case !ok || errors.Is(d.Err, kerr.UnknownTopicOrPartition):
			code := kerr.UnknownTopicOrPartition.Message
			failures = append(failures, fmt.Sprintf("topic %q does not exist (%s)", name, code))
		case d.Err != nil:
			failures = append(failures, fmt.Sprintf("describing topic %q: %s", name, kafkaErrorName(d.Err)))
		default:
			found = append(found, name)
		}
	}
	if len(found) > 0 {
		view, err := loadTopicView(ctx, adm, found)
		if err != nil {
			return describeRequestError(ctx, "describing topics", seeds, conn.timeout, err)
		}
		for _, name := range found {
			writeTopicDescription(stdout, details[name], view)
		}
	}
	return joinFailures(failures)
}

// topicView gathers what describe shows beyond metadata.
type topicView struct {
	startOffsets kadm.ListedOffsets
	endOffsets   kadm.ListedOffsets
	configs      map[string]kadm.ResourceConfig
}

func loadTopicView(ctx context.Context, adm *kadm.Client, topics []string) (topicView, error) {
	var v topicView
	var err error
	if v.startOffsets, err = adm.ListStartOffsets(ctx, topics...); err != nil {
		return v, fmt.Errorf("listing log start offsets: %w", err)
	}
	if v.endOffsets, err = adm.ListEndOffsets(ctx, topics...); err != nil {
		return v, fmt.Errorf("listing log end offsets: %w", err)
	}
	configs, err := adm.DescribeTopicConfigs(ctx, topics...)
	if err != nil {
		return v, fmt.Errorf("describing topic configs: %w", err)
	}
	v.configs = make(map[string]kadm.ResourceConfig, len(configs))
	for _, rc := range configs {
		v.configs[rc.Name] = rc
	}
	return v, nil
}

// writeTopicDescription prints one topic in the shape of kafka-topics
// --describe: a summary line, the topic's own config overrides, then one
// row per partition.
func writeTopicDescription(w io.Writer, d kadm.TopicDetail, v topicView) {
	fmt.Fprintf(w, "Topic: %s\tTopicId: %s\tPartitionCount: %d\tReplicationFactor: %d\n",
		d.Topic, formatTopicID(d.ID), len(d.Partitions), d.Partitions.NumReplicas())
	fmt.Fprintf(w, "Configs: %s\n", formatOverrides(v.configs[d.Topic]))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  PARTITION\tLEADER\tREPLICAS\tISR\tLOG-START-OFFSET\tLOG-END-OFFSET")
	for _, p := range d.Partitions.Sorted() {
		fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\t%s\t%s\n", p.Partition, formatLeader(p.Leader),
			formatBrokerIDs(p.Replicas), formatBrokerIDs(p.ISR),
			formatListedOffset(v.startOffsets, d.Topic, p.Partition),
			formatListedOffset(v.endOffsets, d.Topic, p.Partition))
	}
	_ = tw.Flush()
}

// formatTopicID prints a topic id as Kafka's Uuid.toString does: URL-safe
// base64 without padding.
func formatTopicID(id kadm.TopicID) string {
	return base64.RawURLEncoding.EncodeToString(id[:])
}

func formatLeader(id int32) string {
	if id < 0 {
		return "none"
	}
	return strconv.Itoa(int(id))
}

func formatBrokerIDs(ids []int32) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = strconv.Itoa(int(id))
	}
	return strings.Join(parts, ",")
}

func formatListedOffset(l kadm.ListedOffsets, topic string, partition int32) string {
	o, ok := l.Lookup(topic, partition)
	switch {
	case !ok:
		return "?"
	case o.Err != nil:
		return kafkaErrorName(o.Err)
	default:
		return strconv.FormatInt(o.Offset, 10)
	}
}

// formatOverrides lists the configs set on the topic itself (source
// DYNAMIC_TOPIC_CONFIG), as kafka-topics --describe does; values inherited
// from the broker are not the topic's business.
func formatOverrides(rc kadm.ResourceConfig) string {
	if rc.Err != nil {
		return "(" + withDetail(rc.Err, rc.ErrMessage) + ")"
	}
	var parts []string
	for _, c := range rc.Configs {
		if c.Source != kmsg.ConfigSourceDynamicTopicConfig {
			continue
		}
		value := "null"
		switch {
		case c.Sensitive:
			value = "[hidden]"
		case c.Value != nil:
			value = *c.Value
		}
		parts = append(parts, c.Key+"="+value)
	}
	slices.Sort(parts)
	return strings.Join(parts, ",")
}
