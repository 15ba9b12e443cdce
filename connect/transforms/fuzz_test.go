package transforms

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fjordhq/fjord/connect"
)

// The parsers of user input (configuration and string data) must refuse
// what they cannot read, never panic.

func FuzzCastSpec(f *testing.F) {
	for _, seed := range []string{"int8", "age:int64,price:float64", "a:b:c", "", ":", "::int8", " x : STRING ", "foo:int8,int32"} {
		f.Add(seed, "42")
	}
	f.Add("float32", " -1.5e3f ")
	f.Add("float64", "0x1.8p1d")
	f.Fuzz(func(t *testing.T, spec, value string) {
		parsed, err := parseCastSpec(strings.Split(spec, ","))
		if err == nil && parsed.whole == 0 && len(parsed.fields) == 0 {
			t.Fatalf("spec %q parsed to nothing", spec)
		}
		for _, to := range castOutputTypes {
			if v, err := castValue(connect.StringSchema, value, to); err == nil && connect.ValidateValue(nil, v) != nil {
				t.Fatalf("cast of %q to %s gave %T", value, to, v)
			}
		}
	})
}

func FuzzJavaDateFormat(f *testing.F) {
	for _, seed := range []string{"yyyyMMdd", "yyyy-MM-dd'T'HH:mm:ss.SSSXXX", "EEE, d MMM yyyy HH:mm:ss Z", "''", "'",
		"hh 'o''clock' a, zzzz", "G yy DDD u k K"} {
		f.Add(seed, "2017-01-03T06:05:04.007+02:00", int64(1483425001864))
	}
	f.Fuzz(func(t *testing.T, pattern, text string, millis int64) {
		format, err := compileJavaDateFormat(pattern)
		if err != nil {
			return
		}
		at := time.UnixMilli(millis % (1 << 50)).UTC() // years of four or five digits
		formatted := format.format(at)
		_, _ = format.parse(text)
		_, _ = format.parse(formatted)
	})
}

func FuzzJavaReplacement(f *testing.F) {
	for _, seed := range [][3]string{{"(.*)", "$1", "orig"}, {"(?<n>a)(b)?", "${n}-$2$12\\$", "ab"}, {"x", "$", "x"},
		{"(a)", "\\", "a"}, {"(a)", "${", "a"}, {"(a)", "$9", "a"}} {
		f.Add(seed[0], seed[1], seed[2])
	}
	f.Fuzz(func(t *testing.T, regex, replacement, topic string) {
		p, err := compileJavaPattern(regex)
		if err != nil {
			return
		}
		repl, err := parseJavaReplacement(replacement, p.find.NumSubexp(), p.find.SubexpNames())
		if err != nil {
			return
		}
		if p.whole.MatchString(topic) {
			_ = p.replaceFirst(topic, repl)
		}
		if !strings.ContainsAny(replacement, `\$`) && len(repl) > 1 {
			t.Fatalf("plain replacement %q parsed to %d parts", replacement, len(repl))
		}
	})
}

func FuzzFieldPath(f *testing.F) {
	for _, seed := range []string{"foo.bar", "`foo.bar`.baz", "foo.`bar\\`.baz`", "``", "..", "`", "a.`b"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, path string) {
		steps, err := parseFieldPathV2(path)
		if err == nil && !strings.Contains(path, "`") && path != "" &&
			!slices.Equal([]string(steps), strings.Split(path, ".")) {
			t.Fatalf("%q without backticks parsed to %q", path, steps)
		}
	})
}
