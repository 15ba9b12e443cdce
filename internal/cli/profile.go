package cli

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/fjordhq/fjord/internal/clientconf"
)

// Profiles are named sets of client settings, as rpk's: the brokers to
// talk to and how to authenticate to them, chosen with --profile instead
// of repeating --brokers and the security flags. Each profile is a Kafka
// client properties file, the kind --command-config takes, in
//
//	$FJORD_CONFIG_DIR/profiles/NAME.properties
//	(default $XDG_CONFIG_HOME/fjord, usually ~/.config/fjord, on Linux)
//
// with bootstrap.servers for the brokers and security.protocol, sasl.*
// and ssl.* for security; other properties are ignored. The file
// current-profile beside profiles/ holds the name of the profile used when
// neither --profile nor FJORD_PROFILE names one (`fjord profile use`).
const (
	// ConfigDirEnv overrides the directory holding fjord's client
	// configuration.
	ConfigDirEnv = "FJORD_CONFIG_DIR"
	// ProfileEnv names the profile to use when --profile is not given.
	ProfileEnv = "FJORD_PROFILE"
	// PropBootstrapServers is Kafka's client property for the seed brokers.
	PropBootstrapServers = "bootstrap.servers"
)

const (
	profilesDirName    = "profiles"
	profileFileExt     = ".properties"
	currentProfileFile = "current-profile"
	// maxProfiles bounds a listing; more than this in one directory is a
	// mistake, not a set of clusters.
	maxProfiles = 1000
	// maxProfileNameBytes bounds a profile name, and so the current-profile
	// file.
	maxProfileNameBytes = 64
)

// profileNamePattern keeps a name usable as a file name on every system
// and in a shell without quoting.
var profileNamePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// ErrNoProfile marks a profile that a command line or FJORD_PROFILE named
// and that does not exist.
var ErrNoProfile = errors.New("no such profile")

// checkProfileName refuses a name that would not make a plain file name.
func checkProfileName(name string) error {
	if len(name) > maxProfileNameBytes || !profileNamePattern.MatchString(name) {
		return fmt.Errorf("profile name %q must be 1 to %d letters, digits, '.', '_' or '-', starting with a letter or digit",
			name, maxProfileNameBytes)
	}
	return nil
}

// profileStore is the directory of fjord's client configuration.
type profileStore struct {
	dir string
}

// openProfileStore finds the configuration directory: $FJORD_CONFIG_DIR,
// else fjord under the user's configuration directory.
func openProfileStore() (profileStore, error) {
	if dir := os.Getenv(ConfigDirEnv); dir != "" {
		return profileStore{dir: dir}, nil
	}
	base, err := os.UserConfigDir()
	if err != nil {
		return profileStore{}, fmt.Errorf("finding the profile directory (set %s): %w", ConfigDirEnv, err)
	}
	return profileStore{dir: filepath.Join(base, "fjord")}, nil
}

func (s profileStore) profilesDir() string { return filepath.Join(s.dir, profilesDirName) }

func (s profileStore) path(name string) string {
	return filepath.Join(s.profilesDir(), name+profileFileExt)
}

// load reads a profile's properties; a missing profile is ErrNoProfile.
func (s profileStore) load(name string) (map[string]string, error) {
	if err := checkProfileName(name); err != nil {
		return nil, err
	}
	props, err := clientconf.LoadProperties(s.path(name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w %q in %s (\"fjord profile list\" shows them)", ErrNoProfile, name, s.profilesDir())
	}
	if err != nil {
		return nil, fmt.Errorf("reading profile %q: %w", name, err)
	}
	return props, nil
}

// names lists the profiles in name order.
func (s profileStore) names() ([]string, error) {
	entries, err := os.ReadDir(s.profilesDir())
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("listing profiles: %w", err)
	}
	var names []string
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), profileFileExt)
		if !ok || e.IsDir() || checkProfileName(name) != nil {
			continue
		}
		if len(names) == maxProfiles {
			return nil, fmt.Errorf("more than %d profiles in %s", maxProfiles, s.profilesDir())
		}
		names = append(names, name)
	}
	slices.Sort(names)
	return names, nil
}

// current returns the name `fjord profile use` chose, or "".
func (s profileStore) current() (string, error) {
	f, err := os.Open(filepath.Join(s.dir, currentProfileFile))
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("reading the current profile: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxProfileNameBytes+2))
	if err != nil {
		return "", fmt.Errorf("reading the current profile: %w", err)
	}
	name := strings.TrimSpace(string(b))
	if name == "" {
		return "", nil
	}
	if err := checkProfileName(name); err != nil {
		return "", fmt.Errorf("%s: %w", filepath.Join(s.dir, currentProfileFile), err)
	}
	return name, nil
}

// setCurrent makes name the current profile; "" leaves none current.
func (s profileStore) setCurrent(name string) error {
	path := filepath.Join(s.dir, currentProfileFile)
	if name == "" {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	}
	return writeFileAtomic(path, []byte(name+"\n"))
}

// save writes a profile, refusing to replace one unless overwrite.
func (s profileStore) save(name string, props map[string]string, overwrite bool) error {
	path := s.path(name)
	if _, err := os.Stat(path); err == nil && !overwrite {
		return fmt.Errorf("profile %q already exists in %s (delete it first, or give --overwrite)", name, s.profilesDir())
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# fjord profile %s: Kafka client properties, written by \"fjord profile create\".\n", name)
	if err := clientconf.WriteProperties(&b, props); err != nil {
		return err
	}
	return writeFileAtomic(path, []byte(b.String()))
}

// remove deletes a profile, and makes none current if it was.
func (s profileStore) remove(name string) error {
	if err := os.Remove(s.path(name)); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w %q in %s", ErrNoProfile, name, s.profilesDir())
	} else if err != nil {
		return err
	}
	current, err := s.current()
	if err == nil && current == name {
		return s.setCurrent("")
	}
	return nil
}

// writeFileAtomic replaces path with data through a temporary file and a
// rename, so that a reader never sees half a profile. The directory and
// file are private to the user: a profile may hold a password.
func writeFileAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // fails harmlessly after the rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// activeProfile is the profile a command uses and where its name came
// from.
type activeProfile struct {
	name string
	// explicit is true when --profile named it: its brokers then win over
	// FJORD_BROKERS, as the command line wins over the environment.
	explicit bool
	props    map[string]string
}

// loadActiveProfile finds the profile a command uses: the one --profile
// names (flagName), else the one FJORD_PROFILE names, else the current
// one; nil when there is none. A named profile that does not exist is an
// error.
func loadActiveProfile(flagName string) (*activeProfile, error) {
	name, explicit := flagName, flagName != ""
	if name == "" {
		name = os.Getenv(ProfileEnv)
	}
	store, err := openProfileStore()
	if err != nil {
		if name == "" {
			return nil, nil // no profile asked for, and nowhere to look for a current one
		}
		return nil, err
	}
	if name == "" {
		if name, err = store.current(); err != nil || name == "" {
			return nil, err
		}
	}
	props, err := store.load(name)
	if err != nil {
		return nil, err
	}
	return &activeProfile{name: name, explicit: explicit, props: props}, nil
}
