package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"
)

// ErrUsage marks a command line the command cannot run. The command has
// already printed why, and its usage, on stderr; the binary exits with 2.
var ErrUsage = errors.New("usage error")

// BrokersEnv names the environment variable that supplies the default for
// --brokers, so a shell session can point every command at one cluster.
const BrokersEnv = "FJORD_BROKERS"

// DefaultBrokers is used when neither --brokers nor FJORD_BROKERS is set:
// the address `fjord server` listens on by default.
const DefaultBrokers = "127.0.0.1:9092"

// DefaultTimeout bounds each broker operation unless --timeout says
// otherwise: Kafka clients' request.timeout.ms default. Kafka's
// default.api.timeout.ms (60 s) is too long to wait at a terminal.
const DefaultTimeout = 30 * time.Second

// maxBrokerAddrs bounds --brokers: a seed list longer than this is a typo,
// not a cluster.
const maxBrokerAddrs = 64

// connFlags are the flags every command that talks to brokers takes.
type connFlags struct {
	brokers  string
	timeout  time.Duration
	security SecurityFlags
	// resolved is what validate made of security; copies of a validated
	// connFlags share it, so files are read once per command.
	resolved *ClientSecurity
}

// register adds --brokers and --timeout to fs.
func (c *connFlags) register(fs *flag.FlagSet) {
	def := os.Getenv(BrokersEnv)
	if def == "" {
		def = DefaultBrokers
	}
	fs.StringVar(&c.brokers, "brokers", def, "comma-separated `host:port` list of seed brokers (env "+BrokersEnv+")")
	fs.DurationVar(&c.timeout, "timeout", DefaultTimeout, "bound on each broker operation")
	c.security.Register(fs)
}

// validate checks the values after parsing, resolves the security
// settings and returns the seed list.
func (c *connFlags) validate() ([]string, error) {
	if c.timeout <= 0 {
		return nil, fmt.Errorf("--timeout must be positive, got %v", c.timeout)
	}
	seeds, err := ParseBrokers(c.brokers)
	if err != nil {
		return nil, err
	}
	if c.resolved, err = c.security.Resolve(); err != nil {
		return nil, err
	}
	return seeds, nil
}

// clientSecurity returns the settings validate resolved, resolving them
// now for a copy taken before validate ran.
func (c connFlags) clientSecurity() (*ClientSecurity, error) {
	if c.resolved != nil {
		return c.resolved, nil
	}
	return c.security.Resolve()
}

// ParseBrokers splits a comma-separated seed list and checks that every
// entry is host:port.
func ParseBrokers(s string) ([]string, error) {
	var addrs []string
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		host, port, err := net.SplitHostPort(part)
		if err != nil || host == "" || port == "" {
			return nil, fmt.Errorf("broker address %q is not host:port", part)
		}
		addrs = append(addrs, part)
		if len(addrs) > maxBrokerAddrs {
			return nil, fmt.Errorf("more than %d broker addresses in --brokers", maxBrokerAddrs)
		}
	}
	if len(addrs) == 0 {
		return nil, errors.New("--brokers is empty")
	}
	return addrs, nil
}

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ",") }

func (l *stringList) Set(v string) error {
	*l = append(*l, v)
	return nil
}

// newFlagSet returns a FlagSet whose errors and usage go to stderr, headed
// by the command's synopsis.
func newFlagSet(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: %s\n", synopsis)
		hasFlags := false
		fs.VisitAll(func(*flag.Flag) { hasFlags = true })
		if hasFlags {
			fmt.Fprintln(stderr, "flags:")
			fs.PrintDefaults()
		}
	}
	return fs
}

// parseArgs parses flags that may come before, between or after positional
// arguments (`topic create NAME --partitions 3`), which the flag package
// alone does not allow. Everything after a literal "--" is positional.
// Parse errors have already been printed by the flag package.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, ErrUsage
		}
		rest := fs.Args()
		consumed := len(args) - len(rest)
		if consumed > 0 && args[consumed-1] == "--" {
			return append(positional, rest...), nil
		}
		if len(rest) == 0 {
			return positional, nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

// usagef prints a complaint and the usage of fs, and returns ErrUsage.
func usagef(fs *flag.FlagSet, format string, args ...any) error {
	fmt.Fprintf(fs.Output(), "%s: %s\n", fs.Name(), fmt.Sprintf(format, args...))
	fs.Usage()
	return ErrUsage
}

// parseKeyValue splits "k=v" at the first '='. The key must be non-empty;
// the value may be empty ("k=").
func parseKeyValue(s string) (key, value string, err error) {
	key, value, ok := strings.Cut(s, "=")
	if !ok {
		return "", "", fmt.Errorf("%q is not key=value", s)
	}
	if key == "" {
		return "", "", fmt.Errorf("%q has an empty key", s)
	}
	return key, value, nil
}

// parseConfigs turns repeated k=v flags into a map, refusing a key given
// twice because only one of the values could win.
func parseConfigs(list []string) (map[string]*string, error) {
	configs := make(map[string]*string, len(list))
	for _, kv := range list {
		k, v, err := parseKeyValue(kv)
		if err != nil {
			return nil, fmt.Errorf("config %w", err)
		}
		if _, dup := configs[k]; dup {
			return nil, fmt.Errorf("config %q given twice", k)
		}
		configs[k] = &v
	}
	return configs, nil
}
