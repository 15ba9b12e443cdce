package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
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
	brokers  trackedString
	profile  string
	timeout  time.Duration
	security SecurityFlags
	// resolved is what validate made of security; copies of a validated
	// connFlags share it, so files are read once per command.
	resolved *ClientSecurity
}

// register adds --brokers, --profile, --timeout and the security flags to
// fs.
func (c *connFlags) register(fs *flag.FlagSet) {
	fs.Var(&c.brokers, "brokers", "comma-separated `host:port` list of seed brokers (default: $"+BrokersEnv+
		", else the profile's bootstrap.servers, else "+DefaultBrokers+")")
	fs.StringVar(&c.profile, "profile", "", "use the brokers and security settings of profile `NAME` (env "+ProfileEnv+
		`; default: the one "fjord profile use" chose)`)
	fs.DurationVar(&c.timeout, "timeout", DefaultTimeout, "bound on each broker operation")
	c.security.Register(fs)
}

// validate checks the values after parsing, loads the profile, resolves
// the security settings and returns the seed list.
func (c *connFlags) validate() ([]string, error) {
	if c.timeout <= 0 {
		return nil, fmt.Errorf("--timeout must be positive, got %v", c.timeout)
	}
	profile, err := loadActiveProfile(c.profile)
	if err != nil {
		return nil, err
	}
	brokers, from := c.brokerList(profile)
	seeds, err := ParseBrokers(brokers)
	if err != nil {
		if from != "" {
			return nil, fmt.Errorf("%s: %w", from, err)
		}
		return nil, err
	}
	if profile != nil {
		c.security.base = profile.props
	}
	if c.resolved, err = c.security.Resolve(); err != nil {
		if profile != nil {
			return nil, fmt.Errorf("profile %q: %w", profile.name, err)
		}
		return nil, err
	}
	return seeds, nil
}

// brokerList picks the seed list: --brokers, else the brokers of a profile
// --profile named, else $FJORD_BROKERS, else the brokers of the profile
// FJORD_PROFILE names or the current one, else the default. The command
// line wins over the environment, which wins over the files. from names
// where a list other than --brokers came from, for errors.
func (c *connFlags) brokerList(profile *activeProfile) (brokers, from string) {
	if c.brokers.set {
		return c.brokers.value, ""
	}
	profileBrokers := ""
	if profile != nil {
		profileBrokers = profile.props[PropBootstrapServers]
	}
	if profile != nil && profile.explicit && profileBrokers != "" {
		return profileBrokers, fmt.Sprintf("%s of profile %q", PropBootstrapServers, profile.name)
	}
	if env := os.Getenv(BrokersEnv); env != "" {
		return env, "$" + BrokersEnv
	}
	if profileBrokers != "" {
		return profileBrokers, fmt.Sprintf("%s of profile %q", PropBootstrapServers, profile.name)
	}
	return DefaultBrokers, ""
}

// trackedString is a string flag that knows whether it was given, so that
// a default can come from elsewhere after parsing.
type trackedString struct {
	value string
	set   bool
}

func (s *trackedString) String() string { return s.value }

func (s *trackedString) Set(v string) error {
	s.value, s.set = v, true
	return nil
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

// SplitCommand is splitCommand for commands that dispatch themselves
// (`fjord bench MODE`): names are the words that may come first.
func SplitCommand(args, names []string) (name string, rest []string, bad int) {
	return splitCommand(args, func(s string) bool { return slices.Contains(names, s) })
}

// splitCommand finds the command or subcommand name in args that may
// begin with flags (`fjord --profile prod topic list`, `fjord topic
// --brokers b:9092 list`) and returns it with the other arguments in
// order, so that the command parses the flags before its name as if they
// came after it. The name is the first argument that isNamed accepts and
// that is not the value of a flag before it: a connection flag (--brokers,
// --profile, ...) always takes the next argument as its value, and
// another flag given as "--flag value" takes it when it is not a name.
// Without a name, bad is the index of the first argument that is neither
// a flag nor a flag's value, or -1.
func splitCommand(args []string, isNamed func(string) bool) (name string, rest []string, bad int) {
	valueFlags := connectionValueFlags()
	unknownFlagBefore := false
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if arg == "--" {
			return "", nil, -1
		}
		if len(arg) > 1 && arg[0] == '-' {
			flagName := strings.TrimLeft(arg, "-")
			takesValue, known := valueFlags[flagName]
			switch {
			case strings.Contains(flagName, "="):
				unknownFlagBefore = false
			case known && takesValue:
				i++ // its value
				unknownFlagBefore = false
			default:
				unknownFlagBefore = !known
			}
			continue
		}
		if isNamed(arg) {
			rest = append(append(rest, args[:i]...), args[i+1:]...)
			return arg, rest, -1
		}
		if !unknownFlagBefore {
			return "", nil, i
		}
		unknownFlagBefore = false // it was that flag's value
	}
	return "", nil, -1
}

// connectionValueFlags maps the name of each flag connFlags registers to
// whether it takes a value.
func connectionValueFlags() map[string]bool {
	fs := flag.NewFlagSet("", flag.ContinueOnError)
	var conn connFlags
	conn.register(fs)
	flags := map[string]bool{}
	fs.VisitAll(func(f *flag.Flag) {
		b, ok := f.Value.(interface{ IsBoolFlag() bool })
		flags[f.Name] = !ok || !b.IsBoolFlag()
	})
	return flags
}
