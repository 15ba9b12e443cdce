package config

import (
	"fmt"
	"net"
	"strconv"
	"strings"
)

// Validators for Def.Validate. Each receives a value already checked against
// the def's type.

func atLeast(min int64) func(string) error {
	return func(v string) error {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			return err
		}
		if n < min {
			return fmt.Errorf("value must be at least %d", min)
		}
		return nil
	}
}

func between(min, max int64) func(string) error {
	return func(v string) error {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			return err
		}
		if n < min || n > max {
			return fmt.Errorf("value must be between %d and %d", min, max)
		}
		return nil
	}
}

func betweenFloat(min, max float64) func(string) error {
	return func(v string) error {
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			return err
		}
		if f < min || f > max {
			return fmt.Errorf("value must be between %g and %g", min, max)
		}
		return nil
	}
}

// oneOf accepts exactly one of the listed strings (case-sensitive, as Kafka's
// ValidString).
func oneOf(allowed ...string) func(string) error {
	return func(v string) error {
		for _, a := range allowed {
			if v == a {
				return nil
			}
		}
		return fmt.Errorf("value must be one of %s", strings.Join(allowed, ", "))
	}
}

// listOf accepts a comma-separated list whose items are all allowed and not
// repeated; an empty list is refused unless allowEmpty.
func listOf(allowEmpty bool, allowed ...string) func(string) error {
	item := oneOf(allowed...)
	return func(v string) error {
		items := splitList(v)
		if len(items) == 0 && !allowEmpty {
			return fmt.Errorf("list must not be empty")
		}
		seen := make(map[string]bool, len(items))
		for _, it := range items {
			if err := item(it); err != nil {
				return err
			}
			if seen[it] {
				return fmt.Errorf("duplicate item %q", it)
			}
			seen[it] = true
		}
		return nil
	}
}

// gzipLevel accepts Deflater's levels: -1 (default) or 1..9.
func gzipLevel(v string) error {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		return err
	}
	if n == -1 || (n >= 1 && n <= 9) {
		return nil
	}
	return fmt.Errorf("value must be -1 or between 1 and 9")
}

// listenerList accepts NAME://host:port entries separated by commas.
func listenerList(v string) error {
	for _, l := range splitList(v) {
		if _, _, err := splitListener(l); err != nil {
			return err
		}
	}
	return nil
}

// hostPortOrEmpty accepts HOST:PORT (an empty host or port 0 too, as
// net.Listen does) or nothing.
func hostPortOrEmpty(v string) error {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil
	}
	_, port, err := net.SplitHostPort(v)
	if err != nil {
		return err
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("bad port %q", port)
	}
	return nil
}
