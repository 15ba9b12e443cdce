package config

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestLoadProperties(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want map[string]string
	}{
		{"empty", "", map[string]string{}},
		{"equals", "a=b\n", map[string]string{"a": "b"}},
		{"colon", "a: b", map[string]string{"a": "b"}},
		{"space separator", "a   b", map[string]string{"a": "b"}},
		{"trim around", "  a  =  b c  \n", map[string]string{"a": "b c"}},
		{"comments", "# x=y\n! z=w\n  # indented\na=1", map[string]string{"a": "1"}},
		{"blank lines", "\n\n a=1\n\n", map[string]string{"a": "1"}},
		{"equals in value", "a=b=c", map[string]string{"a": "b=c"}},
		{"empty value", "a=\nb", map[string]string{"a": "", "b": ""}},
		{"last wins", "a=1\na=2", map[string]string{"a": "2"}},
		{"continuation", "a=one,\\\n    two,\\\n  three\nb=2", map[string]string{"a": "one,two,three", "b": "2"}},
		{"continuation at eof", "a=x\\", map[string]string{"a": "x"}},
		{"escaped backslash is not continuation", "a=x\\\\\nb=y", map[string]string{"a": `x\`, "b": "y"}},
		{"escaped separator in key", `a\=b=c`, map[string]string{"a=b": "c"}},
		{"escapes", `a=t\tn\nu\u0041`, map[string]string{"a": "t\tn\nuA"}},
		{"crlf", "a=1\r\nb=2\r\n", map[string]string{"a": "1", "b": "2"}},
		{"comment char inside continuation", "a=x\\\n#y", map[string]string{"a": "x#y"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := LoadProperties(strings.NewReader(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestLoadPropertiesErrors(t *testing.T) {
	if _, err := LoadProperties(strings.NewReader(`a=\u12`)); err == nil {
		t.Fatal("malformed unicode escape accepted")
	}
	big := strings.Repeat("a", MaxPropertiesBytes+10)
	if _, err := LoadProperties(strings.NewReader(big)); !errors.Is(err, ErrPropertiesTooLarge) {
		t.Fatalf("oversized file: %v", err)
	}
}

func FuzzLoadProperties(f *testing.F) {
	f.Add("a=b\n# c\nd: e\\\n f\n")
	f.Add(`k\u00=\`)
	f.Fuzz(func(t *testing.T, in string) {
		_, _ = LoadProperties(strings.NewReader(in))
	})
}
