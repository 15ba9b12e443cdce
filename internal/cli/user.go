package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

// SCRAM iteration bounds: Kafka refuses fewer than 4096 (RFC 7677's
// minimum) and more than 16384 (ScramMechanism's maximum) in
// AlterUserScramCredentials.
const (
	minScramIterations     = 4096
	maxScramIterations     = 16384
	defaultScramIterations = 8192 // kafka-configs.sh's default
)

// maxPasswordBytes bounds a password read from stdin: a line longer than
// this is a file piped in by mistake.
const maxPasswordBytes = 64 << 10

// User runs `fjord user SUBCOMMAND ...`: SCRAM credentials, as
// kafka-configs.sh --entity-type users manages them.
func User(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	commands := []subcommand{
		{"create", "create or update a user's SCRAM credential (password from --password or stdin)",
			func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
				return userCreate(ctx, args, stdin, stdout, stderr)
			}},
		{"list", "list users with SCRAM credentials, their mechanisms and iterations", userList},
		{"delete", "delete a user's SCRAM credential for one mechanism", userDelete},
	}
	return dispatch(ctx, "user", commands, args, stdout, stderr)
}

// parseScramMechanism maps Kafka's mechanism names to kadm's.
func parseScramMechanism(s string) (kadm.ScramMechanism, error) {
	switch strings.ToUpper(s) {
	case MechanismScramSHA256:
		return kadm.ScramSha256, nil
	case MechanismScramSHA512:
		return kadm.ScramSha512, nil
	}
	return 0, fmt.Errorf("--mechanism must be SCRAM-SHA-256 or SCRAM-SHA-512, got %q", s)
}

func userCreate(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("fjord user create",
		"fjord user create NAME [--mechanism SCRAM-SHA-256|SCRAM-SHA-512] [--iterations N] [--password P] < password\n"+
			"Without --password the first line of stdin is the password, which keeps it out of shell history and ps:\n"+
			"  read -rs PW && printf '%s\\n' \"$PW\" | fjord user create alice", stderr)
	var conn connFlags
	conn.register(fs)
	mechanismName := fs.String("mechanism", MechanismScramSHA512, "SCRAM mechanism: SCRAM-SHA-256 or SCRAM-SHA-512")
	iterations := fs.Int("iterations", defaultScramIterations,
		fmt.Sprintf("SCRAM iterations, %d to %d", minScramIterations, maxScramIterations))
	password := fs.String("password", "", "the new password (default: the first line of stdin); visible to ps, prefer stdin")
	names, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(names) != 1 || names[0] == "" {
		return usagef(fs, "exactly one user NAME required, got %d", len(names))
	}
	mechanism, err := parseScramMechanism(*mechanismName)
	if err != nil {
		return usagef(fs, "%v", err)
	}
	if *iterations < minScramIterations || *iterations > maxScramIterations {
		return usagef(fs, "--iterations must be between %d and %d, got %d", minScramIterations, maxScramIterations, *iterations)
	}
	secret := *password
	if secret == "" {
		if secret, err = readPassword(stdin); err != nil {
			return usagef(fs, "%v", err)
		}
	}
	adm, ctx, seeds, closeAdmin, err := openAdmin(ctx, fs, conn)
	if err != nil {
		return err
	}
	defer closeAdmin()

	name := names[0]
	upsert := []kadm.UpsertSCRAM{{User: name, Mechanism: mechanism, Iterations: int32(*iterations), Password: secret}}
	res, err := adm.AlterUserSCRAMs(ctx, nil, upsert)
	if err != nil {
		return describeRequestError(ctx, fmt.Sprintf("creating user %q", name), seeds, conn.timeout, err)
	}
	if err := alteredUserError(res, name); err != nil {
		return fmt.Errorf("creating user %q: %w", name, err)
	}
	fmt.Fprintf(stdout, "created %s credential for user %q with %d iterations\n", mechanism, name, *iterations)
	return nil
}

// readPassword reads the first line of stdin, without its line ending.
func readPassword(stdin io.Reader) (string, error) {
	if stdin == nil {
		return "", errors.New("no --password and no stdin to read it from")
	}
	r := bufio.NewReaderSize(io.LimitReader(stdin, maxPasswordBytes+1), 4096)
	line, err := r.ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("reading the password from stdin: %w", err)
	}
	if len(line) > maxPasswordBytes {
		return "", fmt.Errorf("the password on stdin is longer than %d bytes", maxPasswordBytes)
	}
	line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	if line == "" {
		return "", errors.New("no password: give --password or a line on stdin")
	}
	return line, nil
}

// alteredUserError returns the broker's error for one user of an
// AlterUserScramCredentials response.
func alteredUserError(res kadm.AlteredUserSCRAMs, name string) error {
	r, ok := res[name]
	switch {
	case !ok:
		return errors.New("the broker's answer does not mention the user")
	case r.Err != nil:
		return errors.New(withDetail(r.Err, r.ErrMessage))
	}
	return nil
}

func userList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("fjord user list", "fjord user list [NAME ...]", stderr)
	var conn connFlags
	conn.register(fs)
	names, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	adm, ctx, seeds, closeAdmin, err := openAdmin(ctx, fs, conn)
	if err != nil {
		return err
	}
	defer closeAdmin()

	described, err := adm.DescribeUserSCRAMs(ctx, names...)
	if err != nil {
		return describeRequestError(ctx, "listing users", seeds, conn.timeout, err)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "USER\tMECHANISM\tITERATIONS")
	var missing []string
	for _, d := range described.Sorted() {
		switch {
		case errors.Is(d.Err, kerr.ResourceNotFound):
			missing = append(missing, d.User)
			continue
		case d.Err != nil:
			return fmt.Errorf("describing user %q: %s", d.User, withDetail(d.Err, d.ErrMessage))
		}
		for _, c := range d.CredInfos {
			fmt.Fprintf(tw, "%s\t%s\t%d\n", d.User, c.Mechanism, c.Iterations)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(missing) > 0 {
		return fmt.Errorf("no SCRAM credentials for %s", quoteAll(missing))
	}
	return nil
}

func userDelete(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("fjord user delete", "fjord user delete NAME [--mechanism SCRAM-SHA-256|SCRAM-SHA-512]", stderr)
	var conn connFlags
	conn.register(fs)
	mechanismName := fs.String("mechanism", MechanismScramSHA512, "the SCRAM mechanism whose credential to delete")
	names, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(names) != 1 || names[0] == "" {
		return usagef(fs, "exactly one user NAME required, got %d", len(names))
	}
	mechanism, err := parseScramMechanism(*mechanismName)
	if err != nil {
		return usagef(fs, "%v", err)
	}
	adm, ctx, seeds, closeAdmin, err := openAdmin(ctx, fs, conn)
	if err != nil {
		return err
	}
	defer closeAdmin()

	name := names[0]
	res, err := adm.AlterUserSCRAMs(ctx, []kadm.DeleteSCRAM{{User: name, Mechanism: mechanism}}, nil)
	if err != nil {
		return describeRequestError(ctx, fmt.Sprintf("deleting user %q", name), seeds, conn.timeout, err)
	}
	if err := alteredUserError(res, name); err != nil {
		return fmt.Errorf("deleting the %s credential of user %q: %w", mechanism, name, err)
	}
	fmt.Fprintf(stdout, "deleted %s credential of user %q\n", mechanism, name)
	return nil
}

// quoteAll formats names for a message: "a", "b".
func quoteAll(names []string) string {
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(quoted, ", ")
}
