package converters_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/fjordhq/fjord/connect"
	"github.com/fjordhq/fjord/connect/converters"
)

// simpleHeaderSeeds are headers of every shape the parser knows: Kafka's
// test inputs, the values of the table tests, and hostile text.
func simpleHeaderSeeds() []string {
	seeds := []string{
		"", " ", "null", " null ", "true", "false", "true}", "[true, false]", "{true: false, false: true}",
		"0", "-0.0", "127", "128", "-129", "32768", "2147483648", "9223372036854775807", "9223372036854775808",
		"1.0", "1.1", "66000.0008", "1e20", "1e39", "1e400", "-1e-50", "1.2345679E10", "3.4028235E38",
		"1.7976931348623157E308", "+5", "-.5", "1.", "١٢٣", "1e2147483647", "0e-2147483648",
		"2019-08-23", "14:34:54.346Z", "2019-08-23T14:34:54.346Z", "2019-08-23T14\\:34\\:54.346Z", "24:00:00.000Z",
		"[2019-08-23, 14:34:54.346Z]", "[1, 2019-08-23]", "[5, 2019-08-23T14:34:54.346Z]", "[2147483647, 2019-08-23]",
		`{"foo":"123","bar":"baz"}`, `{ "foo" :  12345 , "bar" : 0,  "baz" : -4321 }  `, `{"k1":14:34:54.346Z}`,
		`["three\"blind\\\"mice", "a, ,b", " ", "\n", "14\:34\:54.346Z"]`, `{"a\\:b": [1, 2.5], "c": {}}`,
		"[]", "{}", "[[]]", "[null]", "{3: null}", "[1, null]", "[1,]", "[1] x", "12:34", " [x", "{null: 3}",
		`[1, 2, 300, "four"]`, `{1:1, 2:1, 300:300, 4:"four"}`, `{"a":"x""b":"y"}`, "[[1], [2.5]]",
		"[[1.00000001], [2]]", "[1.5, 1.00000001]", `{1.00000001: "a", 1: "b"}`, "{-1e-50: 1, 1e-50: 2}",
		"[9223372036854775808, 1e400]", "{[1]: 2}", `["1.0", 9223372036854775808]`, "\xff\xfe", "\xef\xbf\xbf",
		strings.Repeat("[", 70) + strings.Repeat("]", 70), strings.Repeat("[", 64) + strings.Repeat("]", 64),
	}
	return seeds
}

// FuzzSimpleHeaderConverter feeds arbitrary bytes to ToConnectHeader: it
// must not panic or fail, must give a value connect.ValidateValue accepts,
// and what it reads must write and read back to an equivalent value (equal
// but for the type of whole floats, see equivalentHeaderValue), after which
// writing and reading is exact.
func FuzzSimpleHeaderConverter(f *testing.F) {
	for _, s := range simpleHeaderSeeds() {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c := converters.SimpleHeaderConverter{}
		first, err := c.ToConnectHeader("t", "h", data)
		if err != nil {
			t.Fatalf("read %q: %v", data, err)
		}
		if err := connect.ValidateValue(first.Schema, first.Value); err != nil {
			t.Fatalf("read %q as an invalid value %#v of %v: %v", data, first.Value, first.Schema, err)
		}
		once := writeHeaderOrFail(t, c, first)
		second := readHeaderOrFail(t, c, once)
		if !schemasEquivalent(first.Schema, second.Schema) || !equivalentHeaderValue(first.Value, second.Value) {
			t.Fatalf("%q read as %v %#v, wrote %q, read back as %v %#v",
				data, first.Schema, first.Value, once, second.Schema, second.Value)
		}
		twice := writeHeaderOrFail(t, c, second)
		third := readHeaderOrFail(t, c, twice)
		if !sameSchema(second.Schema, third.Schema) || !sameHeaderValue(second.Value, third.Value) {
			t.Fatalf("%q wrote %q, read %v %#v, wrote %q, read %v %#v",
				data, once, second.Schema, second.Value, twice, third.Schema, third.Value)
		}
		if thrice := writeHeaderOrFail(t, c, third); !bytes.Equal(twice, thrice) {
			t.Fatalf("%q: %q then %q", data, twice, thrice)
		}
	})
}

func writeHeaderOrFail(t *testing.T, c converters.SimpleHeaderConverter, sv connect.SchemaAndValue) []byte {
	t.Helper()
	b, err := c.FromConnectHeader("t", "h", sv.Schema, sv.Value)
	if err != nil {
		t.Fatalf("cannot write %v %#v: %v", sv.Schema, sv.Value, err)
	}
	if (b == nil) != (sv.Value == nil) {
		t.Fatalf("wrote %#v as %q", sv.Value, b)
	}
	return b
}

func readHeaderOrFail(t *testing.T, c converters.SimpleHeaderConverter, b []byte) connect.SchemaAndValue {
	t.Helper()
	sv, err := c.ToConnectHeader("t", "h", b)
	if err != nil {
		t.Fatalf("read %q: %v", b, err)
	}
	return sv
}

func sameSchema(a, b *connect.Schema) bool {
	return a == nil && b == nil || a != nil && a.Equal(b)
}
