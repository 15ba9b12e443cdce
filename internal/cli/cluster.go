package cli

import (
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"text/tabwriter"
)

var clusterCommands = []subcommand{
	{"info", "cluster id, controller, brokers and topic count", clusterInfo},
	{"status", "the metadata quorum (leader, voters, lag) and the brokers (alive or fenced, partitions led)", clusterStatus},
}

// Cluster runs `fjord cluster SUBCOMMAND ...`.
func Cluster(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	return dispatch(ctx, "cluster", clusterCommands, args, stdout, stderr)
}

func clusterInfo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("fjord cluster info", "fjord cluster info", stderr)
	var conn connFlags
	conn.register(fs)
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

	// One full metadata request answers everything: brokers, controller,
	// cluster id and the topics to count.
	md, err := adm.Metadata(ctx)
	if err != nil {
		return describeRequestError(ctx, "reading cluster metadata", seeds, conn.timeout, err)
	}
	topics, internal := 0, 0
	for _, d := range md.Topics {
		if isInternalTopic(d) {
			internal++
		} else {
			topics++
		}
	}
	fmt.Fprintf(stdout, "Cluster ID:  %s\n", orNone(md.Cluster))
	fmt.Fprintf(stdout, "Controller:  %s\n", formatLeader(md.Controller))
	fmt.Fprintf(stdout, "Topics:      %d (and %d internal)\n", topics, internal)
	fmt.Fprintf(stdout, "Brokers:     %d\n", len(md.Brokers))
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  ID\tADDRESS\tRACK")
	for _, b := range md.Brokers {
		rack := ""
		if b.Rack != nil {
			rack = *b.Rack
		}
		fmt.Fprintf(tw, "  %d\t%s\t%s\n", b.NodeID, net.JoinHostPort(b.Host, strconv.Itoa(int(b.Port))), rack)
	}
	return tw.Flush()
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
