package transforms

import (
	"slices"
	"testing"
)

// The cases of Kafka's FieldPathNotationTest.
func TestParseFieldPath(t *testing.T) {
	for _, path := range []string{"foo.bar.baz", "foo`bar`", "foo.`bar.baz`"} {
		if got, err := parseFieldPath(path, "V1"); err != nil || !slices.Equal(got, fieldPath{path}) {
			t.Errorf("V1 %q: %q %v", path, got, err)
		}
	}
	for path, want := range map[string][]string{
		"..":                    {"", "", ""},
		"foo..":                 {"foo", "", ""},
		".bar.":                 {"", "bar", ""},
		"..baz":                 {"", "", "baz"},
		"":                      {},
		"foobarbaz":             {"foobarbaz"},
		"foo.bar.baz":           {"foo", "bar", "baz"},
		"foo`bar`baz":           {"foo`bar`baz"},
		"`foo.bar.baz`":         {"foo.bar.baz"},
		"foo.`bar.baz`":         {"foo", "bar.baz"},
		"`foo.bar`.baz":         {"foo.bar", "baz"},
		"foo.`bar`.baz":         {"foo", "bar", "baz"},
		"foo.``bar.baz`":        {"foo", "`bar.baz"},
		"foo.`bar.baz``":        {"foo", "bar.baz`"},
		"foo.`ba`r.baz`":        {"foo", "ba`r.baz"},
		"foo.ba`r.baz":          {"foo", "ba`r", "baz"},
		"foo.``bar``.baz":       {"foo", "`bar`", "baz"},
		"``foo.bar.baz``":       {"`foo.bar.baz`"},
		"foo.`bar\\`.baz`":      {"foo", "bar`.baz"},
		"foo.`bar.`baz`":        {"foo", "bar.`baz"},
		"foo.`bar\\`.`baz`":     {"foo", "bar`.`baz"},
		"foo.`bar\\\\`.\\`baz`": {"foo", "bar\\`.\\`baz"},
		"``":                    {""},
		"`a`.":                  {"a", ""},
	} {
		if got, err := parseFieldPath(path, "v2"); err != nil || !slices.Equal(got, fieldPath(want)) {
			t.Errorf("V2 %q: %q %v, want %q", path, got, err, want)
		}
	}
	for path, at := range map[string]string{"`foo.bar.baz": "0", "foo.`bar.baz": "4", "foo.bar.`baz": "8", "foo.bar.`baz\\`": "8"} {
		_, err := parseFieldPath(path, "V2")
		want := "Incomplete backtick pair in path: [" + path + "], consider adding a backslash before backtick at position " +
			at + " to escape it"
		if err == nil || err.Error() != "connect: invalid configuration: "+want {
			t.Errorf("V2 %q: %v", path, err)
		}
	}
}
