package cli

import (
	"errors"
	"io"
	"slices"
	"testing"
)

func TestParseArgsInterspersed(t *testing.T) {
	tests := []struct {
		name           string
		args           []string
		wantPositional []string
		wantPartitions int
		wantConfigs    []string
		wantErr        bool
	}{
		{"flags after name", []string{"orders", "--partitions", "3"}, []string{"orders"}, 3, nil, false},
		{"flags before name", []string{"--partitions=4", "orders"}, []string{"orders"}, 4, nil, false},
		{"flags between names", []string{"a", "--config", "x=1", "b", "--config=y=2"}, []string{"a", "b"}, -1, []string{"x=1", "y=2"}, false},
		{"double dash ends flags", []string{"--partitions", "2", "--", "--odd-name"}, []string{"--odd-name"}, 2, nil, false},
		{"no arguments", nil, nil, -1, nil, false},
		{"unknown flag", []string{"a", "--nope"}, nil, -1, nil, true},
		{"bad int", []string{"a", "--partitions", "many"}, nil, -1, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := newFlagSet("test", "test", io.Discard)
			partitions := fs.Int("partitions", -1, "")
			var configs stringList
			fs.Var(&configs, "config", "")
			got, err := parseArgs(fs, tt.args)
			if tt.wantErr {
				if !errors.Is(err, ErrUsage) {
					t.Fatalf("err = %v, want ErrUsage", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.wantPositional) {
				t.Errorf("positional = %q, want %q", got, tt.wantPositional)
			}
			if *partitions != tt.wantPartitions {
				t.Errorf("partitions = %d, want %d", *partitions, tt.wantPartitions)
			}
			if !slices.Equal(configs, tt.wantConfigs) {
				t.Errorf("configs = %q, want %q", configs, tt.wantConfigs)
			}
		})
	}
}

func TestParseBrokers(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		wantErr bool
	}{
		{"127.0.0.1:9092", []string{"127.0.0.1:9092"}, false},
		{"a:1, b:2 ,", []string{"a:1", "b:2"}, false},
		{"[::1]:9092", []string{"[::1]:9092"}, false},
		{"", nil, true},
		{" , ", nil, true},
		{"localhost", nil, true},
		{":9092", nil, true},
		{"host:", nil, true},
	}
	for _, tt := range tests {
		got, err := ParseBrokers(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseBrokers(%q) err = %v, wantErr %v", tt.in, err, tt.wantErr)
			continue
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("ParseBrokers(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseConfigs(t *testing.T) {
	got, err := parseConfigs([]string{"retention.ms=1000", "cleanup.policy=compact", "empty=", "eq=a=b"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"retention.ms": "1000", "cleanup.policy": "compact", "empty": "", "eq": "a=b"}
	if len(got) != len(want) {
		t.Fatalf("got %d configs, want %d", len(got), len(want))
	}
	for k, v := range want {
		if got[k] == nil || *got[k] != v {
			t.Errorf("config %q = %v, want %q", k, got[k], v)
		}
	}
	for _, bad := range [][]string{{"novalue"}, {"=v"}, {"a=1", "a=2"}} {
		if _, err := parseConfigs(bad); err == nil {
			t.Errorf("parseConfigs(%q) succeeded, want an error", bad)
		}
	}
}

func TestConnFlagsEnvDefault(t *testing.T) {
	t.Setenv(BrokersEnv, "10.0.0.1:9092,10.0.0.2:9092")
	fs := newFlagSet("test", "test", io.Discard)
	var conn connFlags
	conn.register(fs)
	if _, err := parseArgs(fs, nil); err != nil {
		t.Fatal(err)
	}
	seeds, err := conn.validate()
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"10.0.0.1:9092", "10.0.0.2:9092"}; !slices.Equal(seeds, want) {
		t.Errorf("seeds = %q, want %q", seeds, want)
	}
	if conn.timeout != DefaultTimeout {
		t.Errorf("timeout = %v, want %v", conn.timeout, DefaultTimeout)
	}
}
