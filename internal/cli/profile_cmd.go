package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/fjordhq/fjord/internal/clientconf"
	"github.com/fjordhq/fjord/internal/tlsconfig"
)

var profileCommands = []subcommand{
	{"create", "save brokers and security settings as a named profile", profileCreate},
	{"list", "list the profiles, marking the one in use", profileList},
	{"show", "print a profile's settings, passwords hidden", profileShow},
	{"use", "make a profile the current one, used without --profile", profileUse},
	{"delete", "delete a profile", profileDelete},
}

// Profile runs `fjord profile SUBCOMMAND`. Profiles are read by every
// command that talks to brokers (see connFlags); these subcommands only
// edit files and never connect.
func Profile(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	return dispatch(ctx, "profile", profileCommands, args, stdout, stderr)
}

// profileFileProperties name files; a profile stores them absolute, since
// it is used from any directory.
var profileFileProperties = []string{
	tlsconfig.PropTruststoreLocation, tlsconfig.PropKeystoreLocation,
	clientconf.PropSSLCALocation, clientconf.PropSSLCertificateLocation, clientconf.PropSSLKeyLocation,
}

func profileCreate(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("fjord profile create", "fjord profile create NAME [--brokers HOST:PORT,...] [security flags] "+
		"[--command-config FILE] [--set PROPERTY=VALUE ...] [--use] [--overwrite]", stderr)
	brokers := fs.String("brokers", "", "comma-separated `host:port` list of seed brokers (bootstrap.servers)")
	var security SecurityFlags
	security.Register(fs)
	var sets stringList
	fs.Var(&sets, "set", "Kafka client property `PROPERTY=VALUE` to store, over --command-config's (repeatable)")
	use := fs.Bool("use", false, "make it the current profile")
	overwrite := fs.Bool("overwrite", false, "replace a profile of that name")
	names, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(names) != 1 {
		return usagef(fs, "exactly one profile NAME required, got %d", len(names))
	}
	if err := checkProfileName(names[0]); err != nil {
		return usagef(fs, "%v", err)
	}
	if security.tokenFile != "" {
		return usagef(fs, "a profile cannot hold --sasl-token-file; give it when running a command, or set sasl.jaas.config")
	}
	props, err := profileProperties(&security, *brokers, sets)
	if err != nil {
		return usagef(fs, "%v", err)
	}
	store, err := openProfileStore()
	if err != nil {
		return err
	}
	if err := store.save(names[0], props, *overwrite); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "profile %q saved in %s\n", names[0], store.path(names[0]))
	if *use {
		return setCurrentProfile(store, names[0], stdout)
	}
	return nil
}

// profileProperties are the properties a new profile holds, checked as a
// command using it would check them, files read included.
func profileProperties(security *SecurityFlags, brokers string, sets []string) (map[string]string, error) {
	props, err := security.properties()
	if err != nil {
		return nil, err
	}
	set, err := parseConfigs(sets)
	if err != nil {
		return nil, fmt.Errorf("--set: %w", err)
	}
	for k, v := range set {
		props[k] = *v
	}
	if brokers != "" {
		seeds, err := ParseBrokers(brokers)
		if err != nil {
			return nil, err
		}
		props[PropBootstrapServers] = strings.Join(seeds, ",")
	}
	for _, name := range profileFileProperties {
		if path := props[name]; path != "" && !filepath.IsAbs(path) {
			abs, err := filepath.Abs(path)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			props[name] = abs
		}
	}
	if _, err := security.resolve(props); err != nil {
		return nil, err
	}
	return props, nil
}

func profileList(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("fjord profile list", "fjord profile list [--names]", stderr)
	namesOnly := fs.Bool("names", false, "print only the names, one a line (for scripts and shell completion)")
	rest, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 0 {
		return usagef(fs, "unexpected arguments %q", rest)
	}
	store, err := openProfileStore()
	if err != nil {
		return err
	}
	names, err := store.names()
	if err != nil {
		return err
	}
	if *namesOnly {
		for _, name := range names {
			fmt.Fprintln(stdout, name)
		}
		return nil
	}
	inUse, source := profileInUse(store)
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CURRENT\tNAME\tBROKERS\tSECURITY")
	for _, name := range names {
		mark, brokers, security := "", "-", "-"
		if name == inUse {
			mark = "*"
		}
		if props, err := store.load(name); err != nil {
			security = "unreadable: " + err.Error()
		} else {
			brokers, security = orDash(props[PropBootstrapServers]), describeProfileSecurity(props)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", mark, name, brokers, security)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if inUse != "" && source != "" {
		fmt.Fprintf(stderr, "profile %q is in use because %s\n", inUse, source)
	}
	return nil
}

// profileInUse is the profile a command without --profile would use, and,
// when FJORD_PROFILE chose it, a note saying so.
func profileInUse(store profileStore) (name, source string) {
	if name := os.Getenv(ProfileEnv); name != "" {
		return name, ProfileEnv + " names it"
	}
	name, _ = store.current()
	return name, ""
}

// describeProfileSecurity summarises a profile's security without reading
// the files it names: the protocol, and the SASL mechanism and user.
func describeProfileSecurity(props map[string]string) string {
	protocol, err := clientconf.SecurityProtocol(props)
	if err != nil {
		return "invalid security.protocol"
	}
	if !clientconf.UsesSASL(protocol) {
		return protocol
	}
	return protocol + " " + clientconf.SASLMechanism(props)
}

func profileShow(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("fjord profile show", "fjord profile show [NAME]   (default: the profile in use)", stderr)
	names, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(names) > 1 {
		return usagef(fs, "at most one profile NAME, got %d", len(names))
	}
	store, err := openProfileStore()
	if err != nil {
		return err
	}
	name := ""
	if len(names) == 1 {
		name = names[0]
	} else if name, _ = profileInUse(store); name == "" {
		return errors.New(`no profile is in use (see "fjord profile use")`)
	}
	props, err := store.load(name)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "# profile %s: %s\n", name, store.path(name))
	for _, k := range slices.Sorted(maps.Keys(props)) {
		v := props[k]
		if isSecretProperty(k) {
			v = "[hidden]"
		}
		fmt.Fprintf(stdout, "%s=%s\n", k, v)
	}
	return nil
}

// isSecretProperty reports whether a property's value is a password, a
// key or a login configuration, which show never prints.
func isSecretProperty(name string) bool {
	return strings.HasSuffix(name, ".password") || strings.Contains(name, "secret") ||
		name == clientconf.PropSASLJAASConfig || name == tlsconfig.PropKeystoreKey
}

func profileUse(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("fjord profile use", "fjord profile use NAME | --none", stderr)
	none := fs.Bool("none", false, "use no profile by default")
	names, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if (len(names) != 1 && !*none) || (len(names) != 0 && *none) {
		return usagef(fs, "give one profile NAME, or --none")
	}
	store, err := openProfileStore()
	if err != nil {
		return err
	}
	if *none {
		if err := store.setCurrent(""); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "no profile is current")
		return nil
	}
	if _, err := store.load(names[0]); err != nil {
		return err
	}
	return setCurrentProfile(store, names[0], stdout)
}

func setCurrentProfile(store profileStore, name string, stdout io.Writer) error {
	if err := store.setCurrent(name); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "profile %q is current\n", name)
	return nil
}

func profileDelete(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("fjord profile delete", "fjord profile delete NAME...", stderr)
	names, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(names) == 0 {
		return usagef(fs, "profile names required")
	}
	store, err := openProfileStore()
	if err != nil {
		return err
	}
	for _, name := range names {
		if err := checkProfileName(name); err != nil {
			return usagef(fs, "%v", err)
		}
		if err := store.remove(name); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "profile %q deleted\n", name)
	}
	return nil
}
