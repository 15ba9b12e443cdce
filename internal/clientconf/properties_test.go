package clientconf

import (
	"errors"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fjordhq/fjord/internal/config"
)

// TestReadProperties covers the rules of Java's Properties.load that Kafka
// client files rely on, one rule a row.
func TestReadProperties(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want map[string]string
	}{
		{"empty", "", map[string]string{}},
		{"equals", "a=b", map[string]string{"a": "b"}},
		{"colon", "a: b", map[string]string{"a": "b"}},
		{"whitespace separator", "a \t b", map[string]string{"a": "b"}},
		{"whitespace around the separator", "  a  =  b", map[string]string{"a": "b"}},
		{"trailing whitespace trimmed", "a=b c \t\f\n", map[string]string{"a": "b c"}},
		{"only the first separator splits", "a=b=c:d", map[string]string{"a": "b=c:d"}},
		{"colon then equals", "a:=b", map[string]string{"a": "=b"}},
		{"key alone", "a\nb=", map[string]string{"a": "", "b": ""}},
		{"hash comment", "# a=b\nc=d", map[string]string{"c": "d"}},
		{"bang comment", "! a=b\nc=d", map[string]string{"c": "d"}},
		{"indented comment", "   # a=b", map[string]string{}},
		{"hash inside a value", "a=b # c", map[string]string{"a": "b # c"}},
		{"blank lines", "\n \t\n a=b\n\n", map[string]string{"a": "b"}},
		{"last value wins", "a=1\na=2", map[string]string{"a": "2"}},
		{"CRLF", "a=1\r\nb=2\r\n", map[string]string{"a": "1", "b": "2"}},
		{"continuation drops leading whitespace", "a=one,\\\n    two,\\\n\tthree", map[string]string{"a": "one,two,three"}},
		{"continuation at the end of input", "a=b\\", map[string]string{"a": "b"}},
		{"an empty line ends a continuation", "a=b\\\n\nc=d", map[string]string{"a": "b", "c": "d"}},
		{"a comment character inside a continuation", "a=b\\\n  #c", map[string]string{"a": "b#c"}},
		{"continuation inside the key", "ke\\\n  y=v", map[string]string{"key": "v"}},
		{"escaped backslash does not continue", "a=b\\\\\nc=d", map[string]string{"a": `b\`, "c": "d"}},
		{"three backslashes continue", "a=b\\\\\\\nc", map[string]string{"a": `b\c`}},
		{`\= in a key`, `a\=b=c`, map[string]string{"a=b": "c"}},
		{`\: in a key`, `host\:port: x`, map[string]string{"host:port": "x"}},
		{`\ in a key`, `a\ b = c`, map[string]string{"a b": "c"}},
		{`\# starts a key, not a comment`, `\#a=b`, map[string]string{"#a": "b"}},
		{`\! starts a key, not a comment`, `\!a=b`, map[string]string{"!a": "b"}},
		{`\= and \: in a value`, `a=b\=c\:d`, map[string]string{"a": "b=c:d"}},
		{"escaped trailing blanks are trimmed, escaped line breaks kept", `a=\t\n\r\f`, map[string]string{"a": "\t\n\r"}},
		{"control escapes inside", `a=1\t2\n3\r4\f5`, map[string]string{"a": "1\t2\n3\r4\f5"}},
		{`\u escapes`, `a=\u0041\u00e9\u20AC`, map[string]string{"a": "Aé€"}},
		{`\u escape in a key`, `\u0041=b`, map[string]string{"A": "b"}},
		{"other escaped characters stand for themselves", `a=\q\"\'`, map[string]string{"a": `q"'`}},
		{"escaped leading space of a value", `a=\ b`, map[string]string{"a": " b"}},
		{"UTF-8 passes through", "ключ=значение", map[string]string{"ключ": "значение"}},
		{"a JAAS value", `sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required \` + "\n" +
			`    username="alice" password="a\\b";`, map[string]string{
			"sasl.jaas.config": `org.apache.kafka.common.security.plain.PlainLoginModule required username="alice" password="a\b";`}},
		{"a Windows path", `ssl.truststore.location=C:\\certs\\ca.pem`, map[string]string{"ssl.truststore.location": `C:\certs\ca.pem`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadProperties(strings.NewReader(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(got, tt.want) {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestReadPropertiesErrors(t *testing.T) {
	for _, in := range []string{`a=\u12`, `a=\u12zz`, `\uXYZW=b`, "a=1\nb=\\u0"} {
		if _, err := ReadProperties(strings.NewReader(in)); err == nil || !strings.Contains(err.Error(), `\uXXXX`) {
			t.Errorf("%q: err = %v, want a malformed \\uXXXX escape", in, err)
		}
	}
	for name, in := range map[string]string{
		"one long line": strings.Repeat("a", MaxPropertiesBytes+1),
		"many lines":    strings.Repeat("a=b\n", MaxPropertiesBytes/4+1),
	} {
		if _, err := ReadProperties(strings.NewReader(in)); !errors.Is(err, config.ErrPropertiesTooLarge) {
			t.Errorf("%s: err = %v, want ErrPropertiesTooLarge", name, err)
		}
	}
}

func TestLoadProperties(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "client.properties")
	if err := os.WriteFile(good, []byte("security.protocol=SSL\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	props, err := LoadProperties(good)
	if err != nil || props[PropSecurityProtocol] != ProtocolSSL {
		t.Fatalf("got %v, %v", props, err)
	}
	bad := filepath.Join(dir, "bad.properties")
	if err := os.WriteFile(bad, []byte("a=1\nb=\\u00\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadProperties(bad); err == nil || !strings.Contains(err.Error(), bad+": properties line 2") {
		t.Errorf("bad file: %v, want its path and line", err)
	}
	missing := filepath.Join(dir, "missing.properties")
	if _, err := LoadProperties(missing); !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing file: %v, want ErrNotExist naming it", err)
	}
}

// FuzzReadProperties: any input is read or refused without a panic, and
// what is read is never larger than the input (escapes only shrink).
func FuzzReadProperties(f *testing.F) {
	for _, seed := range []string{
		"a=b\n# c\nd: e\\\n f\n", `k\u00=\`, "a\\\r\n=\\u0041\\", `\#\!\=\:\ =\t`, "a=b\\\\\\\n\n\\", "\xff\xfe=\x00",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		props, err := ReadProperties(strings.NewReader(in))
		if err != nil {
			return
		}
		size := 0
		for k, v := range props {
			size += len(k) + len(v)
		}
		if size > len(in) {
			t.Fatalf("read %d bytes of keys and values from %d bytes", size, len(in))
		}
	})
}

// FuzzPropertiesRoundTrip: a key and value written with Java's escapes
// (as Properties.store writes them) read back as they were, less the
// trailing whitespace of the value that Kafka trims.
func FuzzPropertiesRoundTrip(f *testing.F) {
	f.Add("ssl.truststore.location", "/etc/ca.pem")
	f.Add(" #key:=! ", "  value\\with=escapes\t\n")
	f.Add("", "\r\f")
	f.Fuzz(func(t *testing.T, key, value string) {
		in := escapeProperty(key, true) + "=" + escapeProperty(value, false) + "\n"
		props, err := ReadProperties(strings.NewReader(in))
		if err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		want := map[string]string{key: strings.TrimRight(value, " \t\f")}
		if !maps.Equal(props, want) {
			t.Fatalf("%q read as %q, want %q", in, props, want)
		}
	})
}

// TestWriteProperties writes what ReadProperties reads back, in key order,
// with the values a profile holds left readable.
func TestWriteProperties(t *testing.T) {
	props := map[string]string{
		"bootstrap.servers": "a:9092,b:9092",
		"sasl.jaas.config":  `org.apache.kafka.common.security.scram.ScramLoginModule required username="u" password="p\w";`,
		"odd key=:#!":       " leading space, # and \\ and \n",
	}
	var b strings.Builder
	if err := WriteProperties(&b, props); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(b.String(), "bootstrap.servers=a:9092,b:9092\n") {
		t.Errorf("output does not start with a readable bootstrap.servers line:\n%s", b.String())
	}
	got, err := ReadProperties(strings.NewReader(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(got, props) {
		t.Errorf("read back %q, want %q\nfile:\n%s", got, props, b.String())
	}
}
