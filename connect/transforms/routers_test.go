package transforms_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fjordhq/fjord/connect"
	"github.com/fjordhq/fjord/connect/transforms"
)

func route(t *testing.T, regex, replacement, topic string) string {
	t.Helper()
	tr := configured(t, transforms.NewRegexRouter(), "regex", regex, "replacement", replacement)
	return apply(t, tr, connect.SinkRecord{Topic: topic}.Record()).Topic
}

func TestRegexRouter(t *testing.T) {
	for _, tc := range [][4]string{
		// Kafka's RegexRouterTest.
		{"foo", "bar", "foo", "bar"},
		{"foo", "bar", "orig", "orig"},
		{"(.*)", "$1", "orig", "orig"},
		{"(.*)", "prefix-$1", "orig", "prefix-orig"},
		{"(.*)", "$1-suffix", "orig", "orig-suffix"},
		{`(.*)-(\d\d\d\d\d\d\d\d)`, "$1", "index-20160117", "index"},
		// Java's replacement rules.
		{"(?<name>.*)-raw", "${name}", "orders-raw", "orders"},
		{"(.*)", `\$1`, "orig", "$1"},
		{"(a)(b)", "$12", "ab", "a2"},      // $12 is group 1 then "2": there is no group 12
		{"(a)?b", "[$1]", "b", "[]"},       // a group that took no part adds nothing
		{"foo", "bar", "foofoo", "foofoo"}, // matches() needs the whole topic
		{"a|ab", "X", "ab", "Xb"},          // replaceFirst finds the first match, as Java's
	} {
		if got := route(t, tc[0], tc[1], tc[2]); got != tc[3] {
			t.Errorf("regex %q replacement %q on %q = %q, want %q", tc[0], tc[1], tc[2], got, tc[3])
		}
	}
	for _, config := range []map[string]string{
		{"regex": "(", "replacement": "x"},
		{"regex": "(?=a)", "replacement": "x"}, // lookahead: not RE2
		{"regex": "(.*)", "replacement": "$2"},
		{"regex": "(.*)", "replacement": "${nope}"},
		{"regex": "(.*)", "replacement": "$"},
		{"regex": "(.*)", "replacement": `a\`},
		{"regex": "(.*)", "replacement": "$x"},
		{"regex": "(.*)"},
	} {
		if err := transforms.NewRegexRouter().Configure(config); !errors.Is(err, connect.ErrInvalidConfig) {
			t.Errorf("Configure(%v): %v", config, err)
		}
	}
}

func TestTimestampRouter(t *testing.T) {
	tr := configured(t, transforms.NewTimestampRouter())
	r := connect.SourceRecord{Topic: "test", Timestamp: time.UnixMilli(1483425001864)}.Record()
	if got := apply(t, tr, r).Topic; got != "test-20170103" {
		t.Errorf("default configuration: %q", got)
	}
	tr = configured(t, transforms.NewTimestampRouter(), "topic.format", "${timestamp}.${topic}.${topic}",
		"timestamp.format", "yyyy-MM-dd'T'HH")
	if got := apply(t, tr, r).Topic; got != "2017-01-03T06.test.test" {
		t.Errorf("custom formats: %q", got)
	}
	if _, _, err := tr.Apply(connect.Record{Topic: "test"}); !errors.Is(err, connect.ErrInvalidData) ||
		!strings.Contains(err.Error(), "Timestamp missing on record") {
		t.Errorf("no timestamp: %v", err)
	}
	if err := transforms.NewTimestampRouter().Configure(props("timestamp.format", "yyyy-qq")); !errors.Is(err, connect.ErrInvalidConfig) {
		t.Errorf("bad pattern: %v", err)
	}
}

func TestFilterAndPredicates(t *testing.T) {
	if _, keep, err := transforms.NewFilter().Apply(connect.Record{Topic: "t", Value: "v"}); keep || err != nil {
		t.Error("Filter kept a record")
	}
	headers := func(keys ...string) connect.Record {
		var h connect.Headers
		for _, k := range keys {
			h = append(h, connect.Header{Key: k, Schema: connect.StringSchema, Value: "x"})
		}
		return connect.Record{Topic: "t", Headers: h}
	}
	has := transforms.NewHasHeaderKey()
	if err := has.Configure(props("name", "foo")); err != nil {
		t.Fatal(err)
	}
	for keys, want := range map[string]bool{"foo": true, "foo,bar": true, "bar,foo,bar,foo": true, "bar": false,
		"bar,bar": false, "": false} {
		if got := has.Test(headers(strings.Split(keys, ",")...)); got != want {
			t.Errorf("HasHeaderKey(foo) on %s = %v", keys, got)
		}
	}
	matches := transforms.NewTopicNameMatches()
	if err := matches.Configure(props("pattern", "my-prefix-.*")); err != nil {
		t.Fatal(err)
	}
	for topic, want := range map[string]bool{"my-prefix-": true, "my-prefix-foo": true, "x-my-prefix-": false,
		"x-my-prefix-foo": false, "your-prefix-": false, "your-prefix-foo": false, "": false} {
		if got := matches.Test(connect.Record{Topic: topic}); got != want {
			t.Errorf("TopicNameMatches on %q = %v", topic, got)
		}
	}
	tomb := transforms.NewRecordIsTombstone()
	if !tomb.Test(connect.Record{Key: "k"}) || tomb.Test(connect.Record{Value: "v"}) {
		t.Error("RecordIsTombstone")
	}
	for _, tc := range []struct {
		p    connect.Predicate
		cfg  map[string]string
		want string
	}{
		{transforms.NewHasHeaderKey(), map[string]string{}, `Missing required configuration "name"`},
		{transforms.NewHasHeaderKey(), props("name", ""), "Invalid value  for configuration name: String must be non-empty"},
		{transforms.NewTopicNameMatches(), map[string]string{}, `Missing required configuration "pattern"`},
		{transforms.NewTopicNameMatches(), props("pattern", ""), "String must be non-empty"},
		{transforms.NewTopicNameMatches(), props("pattern", "["), "Invalid regex"},
	} {
		if err := tc.p.Configure(tc.cfg); !errors.Is(err, connect.ErrInvalidConfig) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%T %v: %v", tc.p, tc.cfg, err)
		}
	}
}

// A worker registers the package and builds chains from connector
// configurations.
func TestRegisterAndChain(t *testing.T) {
	r := connect.NewRegistry()
	if err := transforms.Register(r); err != nil {
		t.Fatal(err)
	}
	var classes []string
	for _, p := range append(r.Transformations(), r.Predicates()...) {
		if p.Version != transforms.Version {
			t.Errorf("%s version %q", p.Class, p.Version)
		}
		classes = append(classes, p.Class)
	}
	if len(classes) != 19 || !slices.Contains(classes, "org.apache.kafka.connect.transforms.Cast$Value") ||
		!slices.Contains(classes, "org.apache.kafka.connect.transforms.predicates.RecordIsTombstone") {
		t.Errorf("classes %v", classes)
	}
	for _, alias := range []string{"RegexRouter", "TimestampRouter", "ValueToKey", "Filter", "HasHeaderKey",
		"TopicNameMatches", "RecordIsTombstone"} {
		_, errT := r.LookupTransformation(alias)
		_, errP := r.LookupPredicate(alias)
		if errT != nil && errP != nil {
			t.Errorf("alias %s: %v", alias, errT)
		}
	}
	if _, err := r.LookupTransformation("Value"); err == nil {
		t.Error("the ambiguous alias Value found a transformation")
	}
	chain, err := r.NewChain(map[string]string{
		"transforms":                   "route,drop",
		"transforms.route.type":        "RegexRouter",
		"transforms.route.regex":       "(.*)-raw",
		"transforms.route.replacement": "$1",
		"transforms.drop.type":         "Filter",
		"transforms.drop.predicate":    "isTombstone",
		"predicates":                   "isTombstone",
		"predicates.isTombstone.type":  "RecordIsTombstone",
	})
	if err != nil {
		t.Fatal(err)
	}
	defer chain.Close()
	if out, keep, err := chain.Apply(connect.Record{Topic: "orders-raw", Value: "v"}); !keep || err != nil || out.Topic != "orders" {
		t.Errorf("routed: %+v %v %v", out, keep, err)
	}
	if _, keep, err := chain.Apply(connect.Record{Topic: "orders-raw"}); keep || err != nil {
		t.Errorf("tombstone kept: %v", err)
	}
	_, err = r.NewChain(map[string]string{"transforms": "c", "transforms.c.type": "org.apache.kafka.connect.transforms.Cast$Value",
		"transforms.c.spec": "a:array"})
	var ce *connect.ConfigError
	if !errors.As(err, &ce) || ce.Key != "transforms.c.spec" || !strings.Contains(ce.Message, "does not support casting to ARRAY") {
		t.Errorf("bad cast spec: %v", err)
	}
}
