package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/fjordhq/fjord/internal/controllerwire"
)

// ControllersEnv names the environment variable that supplies the default
// for --bootstrap-controller.
const ControllersEnv = "FJORD_CONTROLLERS"

// clusterStatus asks the controller listener (Kafka's
// kafka-metadata-quorum.sh --bootstrap-controller) rather than a broker:
// the quorum's members, their log positions and fenced brokers are not in
// any client API fjord serves.
func clusterStatus(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("fjord cluster status", "fjord cluster status --bootstrap-controller HOST:PORT[,HOST:PORT...]", stderr)
	def := os.Getenv(ControllersEnv)
	var controllers string
	var conn connFlags
	fs.StringVar(&controllers, "bootstrap-controller", def,
		"comma-separated `host:port` list of controller listeners, the addresses of --controllers (env "+ControllersEnv+")")
	fs.DurationVar(&conn.timeout, "timeout", DefaultTimeout, "bound on the request")
	rest, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 0 {
		return usagef(fs, "unexpected arguments %q", rest)
	}
	if controllers == "" {
		return usagef(fs, "--bootstrap-controller is required (the HOST:PORT of a --controllers entry)")
	}
	addrs, err := ParseBrokers(controllers)
	if err != nil {
		return usagef(fs, "--bootstrap-controller: %v", err)
	}
	if conn.timeout <= 0 {
		return usagef(fs, "--timeout must be positive, got %v", conn.timeout)
	}
	ctx, cancel := context.WithTimeout(ctx, conn.timeout)
	defer cancel()
	var errs []error
	for _, addr := range addrs {
		q, err := controllerwire.DescribeQuorum(ctx, addr)
		if err == nil {
			return writeQuorumStatus(stdout, q)
		}
		errs = append(errs, err)
	}
	return fmt.Errorf("reading the quorum status from %s: %w", strings.Join(addrs, ","), errors.Join(errs...))
}

// writeQuorumStatus prints the quorum and the brokers.
func writeQuorumStatus(w io.Writer, q controllerwire.QuorumStatus) error {
	fmt.Fprintf(w, "Cluster ID:      %s\n", orNone(q.ClusterID))
	fmt.Fprintf(w, "Leader:          %d\n", q.LeaderID)
	fmt.Fprintf(w, "Term:            %d\n", q.Term)
	fmt.Fprintf(w, "High watermark:  %d\n", q.HighWatermark)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "Voters: %d\n", len(q.Voters))
	writeReplicas(tw, q.LeaderID, q.Voters)
	if len(q.Observers) > 0 {
		fmt.Fprintf(tw, "Observers: %d\n", len(q.Observers))
		writeReplicas(tw, q.LeaderID, q.Observers)
	}
	alive := 0
	for _, b := range q.Brokers {
		if !b.Fenced {
			alive++
		}
	}
	fmt.Fprintf(tw, "Brokers: %d (%d alive, %d fenced)\n", len(q.Brokers), alive, len(q.Brokers)-alive)
	fmt.Fprintln(tw, "  ID\tADDRESS\tRACK\tSTATE\tPARTITIONS-LED")
	for _, b := range q.Brokers {
		state := "alive"
		if b.Fenced {
			state = "fenced"
		}
		fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\t%d\n", b.NodeID, net.JoinHostPort(b.Host, strconv.Itoa(int(b.Port))), b.Rack, state, b.PartitionsLed)
	}
	return tw.Flush()
}

func writeReplicas(w io.Writer, leader int32, replicas []controllerwire.ReplicaStatus) {
	fmt.Fprintln(w, "  ID\tADDRESS\tROLE\tLAST-LOG-INDEX\tLAG")
	for _, r := range replicas {
		role := "follower"
		if r.NodeID == leader {
			role = "leader"
		}
		index, lag := strconv.FormatUint(r.LastLogIndex, 10), strconv.FormatInt(r.Lag, 10)
		if !r.Reachable {
			role, index, lag = "unreachable", "-", "-"
		}
		fmt.Fprintf(w, "  %d\t%s\t%s\t%s\t%s\n", r.NodeID, r.Addr, role, index, lag)
	}
}
