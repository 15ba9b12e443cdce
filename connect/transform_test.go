package connect_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fjordhq/fjord/connect"
)

// prefixTopic is a transformation as a user would write one: it puts a
// prefix before the topic.
type prefixTopic struct {
	prefix string
	closed *int
}

func (t *prefixTopic) Version() string { return "1.2.3" }

func (t *prefixTopic) Config() *connect.ConfigDef {
	return connect.NewConfigDef().Define(connect.ConfigKey{Name: "prefix", Type: connect.ConfigString,
		Required: true, Validator: connect.NonEmptyString(), Importance: connect.High, Documentation: "Topic prefix."})
}

func (t *prefixTopic) Configure(config map[string]string) error {
	cfg, err := t.Config().Parse(config)
	if err != nil {
		return err
	}
	t.prefix = cfg.GetString("prefix")
	if t.prefix == "fail" {
		return errors.New("prefix fail refused")
	}
	return nil
}

func (t *prefixTopic) Apply(r connect.Record) (connect.Record, bool, error) {
	if r.Topic == "poison" {
		return r, false, connect.ErrInvalidData
	}
	r.Topic = t.prefix + r.Topic
	return r, true, nil
}

func (t *prefixTopic) Close() error {
	if t.closed != nil {
		*t.closed++
	}
	return nil
}

// dropAll drops every record, as Kafka's Filter.
type dropAll struct{}

func (dropAll) Config() *connect.ConfigDef { return connect.NewConfigDef() }

func (dropAll) Configure(map[string]string) error { return nil }

func (dropAll) Apply(connect.Record) (connect.Record, bool, error) {
	return connect.Record{}, false, nil
}

func (dropAll) Close() error { return nil }

// topicIs is a predicate true for one topic.
type topicIs struct{ topic string }

func (*topicIs) Config() *connect.ConfigDef {
	return connect.NewConfigDef().Define(connect.ConfigKey{Name: "topic", Type: connect.ConfigString,
		Required: true, Importance: connect.High})
}

func (p *topicIs) Configure(config map[string]string) error {
	p.topic = config["topic"]
	return nil
}

func (p *topicIs) Test(r connect.Record) bool { return r.Topic == p.topic }

func (*topicIs) Close() error { return nil }

func newPrefix(closed *int) func() connect.Transformation {
	return func() connect.Transformation { return &prefixTopic{closed: closed} }
}

func newDrop() connect.Transformation { return dropAll{} }

func newTopicIs() connect.Predicate { return &topicIs{} }

func sinkOf(topic string, partition int32, offset int64) connect.SinkRecord {
	return connect.SinkRecord{Topic: topic, Partition: partition, Offset: offset,
		OriginalTopic: topic, OriginalPartition: partition, OriginalOffset: offset}
}

func testRegistry(t *testing.T, closed *int) *connect.Registry {
	t.Helper()
	r := connect.NewRegistry()
	for _, p := range []connect.TransformationPlugin{
		{Class: "com.example.PrefixTopic", New: newPrefix(closed)},
		{Class: "com.example.Drop$Value", New: newDrop},
		{Class: "com.example.Other$Value", New: newDrop},
		{Class: "com.example.DropAllTransformation", New: newDrop, Aliases: []string{"nothing"}},
	} {
		if err := r.RegisterTransformation(p); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.RegisterPredicate(connect.PredicatePlugin{Class: "com.example.TopicIsPredicate", New: newTopicIs}); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRecordViews(t *testing.T) {
	partition := int32(2)
	ts := time.UnixMilli(1700000000000).UTC()
	src := connect.SourceRecord{SourcePartition: map[string]any{"file": "a"}, SourceOffset: map[string]any{"pos": int64(7)},
		Topic: "in", Partition: &partition, Key: "k", Value: "v", Timestamp: ts}
	view := src.Record()
	if view.Offset != nil || view.Topic != "in" || *view.Partition != 2 || view.Key != "k" || !view.Timestamp.Equal(ts) {
		t.Fatalf("source view %+v", view)
	}
	view.Topic, view.Value, view.Partition = "out", "w", nil
	back := src.WithRecord(view)
	if back.Topic != "out" || back.Value != "w" || back.Partition != nil || back.SourceOffset["pos"] != int64(7) {
		t.Fatalf("source back %+v", back)
	}

	sink := sinkOf("in", 3, 41)
	sink.TimestampType = connect.LogAppendTime
	sv := sink.Record()
	if *sv.Offset != 41 || *sv.Partition != 3 {
		t.Fatalf("sink view %+v", sv)
	}
	other, offset := int32(9), int64(1000)
	sv.Topic, sv.Partition, sv.Offset = "out", &other, &offset
	got := sink.WithRecord(sv)
	if got.Topic != "out" || got.Partition != 9 || got.Offset != 41 || got.OriginalTopic != "in" ||
		got.OriginalPartition != 3 || got.OriginalOffset != 41 || got.TimestampType != connect.LogAppendTime {
		t.Fatalf("sink back %+v", got)
	}
	sv.Partition = nil
	if got := sink.WithRecord(sv); got.Partition != 3 {
		t.Fatalf("nil partition should keep the sink record's: %+v", got)
	}
}

func TestTransformationRegistry(t *testing.T) {
	r := testRegistry(t, nil)
	for name, want := range map[string]string{
		"com.example.PrefixTopic": "com.example.PrefixTopic",
		"PrefixTopic":             "com.example.PrefixTopic",
		"DropAllTransformation":   "com.example.DropAllTransformation",
		"DropAll":                 "com.example.DropAllTransformation", // the suffix pruned, as Kafka
		"nothing":                 "com.example.DropAllTransformation",
		"com.example.Drop$Value":  "com.example.Drop$Value",
	} {
		if p, err := r.LookupTransformation(name); err != nil || p.Class != want {
			t.Errorf("LookupTransformation(%s) = %s, %v; want %s", name, p.Class, err, want)
		}
	}
	// "Value" is the Java simple name of both nested classes: ambiguous.
	for _, name := range []string{"Value", "Drop$Value", "TopicIsPredicate", "nope"} {
		if _, err := r.LookupTransformation(name); !errors.Is(err, connect.ErrUnknownPlugin) {
			t.Errorf("LookupTransformation(%s): %v", name, err)
		}
	}
	if p, err := r.LookupPredicate("TopicIs"); err != nil || p.Class != "com.example.TopicIsPredicate" {
		t.Errorf("LookupPredicate(TopicIs) = %+v, %v", p, err)
	}
	if _, err := r.Lookup("PrefixTopic"); err == nil {
		t.Error("a transformation must not be found as a connector")
	}
	all := append(append(r.Plugins(), r.Transformations()...), r.Predicates()...)
	js, err := json.Marshal(all)
	if err != nil {
		t.Fatal(err)
	}
	const want = `[{"class":"com.example.Drop$Value","type":"transformation"},` +
		`{"class":"com.example.DropAllTransformation","type":"transformation"},` +
		`{"class":"com.example.Other$Value","type":"transformation"},` +
		`{"class":"com.example.PrefixTopic","type":"transformation","version":"1.2.3"},` +
		`{"class":"com.example.TopicIsPredicate","type":"predicate"}]`
	if string(js) != want {
		t.Errorf("GET /connector-plugins?connectorsOnly=false:\n%s\nwant\n%s", js, want)
	}
	for name, p := range map[string]connect.TransformationPlugin{
		"duplicate":      {Class: "com.example.PrefixTopic", New: newDrop},
		"no class":       {New: newDrop},
		"no factory":     {Class: "x.Y"},
		"alias is class": {Class: "x.Z", New: newDrop, Aliases: []string{"com.example.PrefixTopic"}},
		"nil config":     {Class: "x.N", New: func() connect.Transformation { return nilConfig{} }},
	} {
		if err := r.RegisterTransformation(p); err == nil {
			t.Errorf("%s: registered", name)
		}
	}
}

type nilConfig struct{ dropAll }

func (nilConfig) Config() *connect.ConfigDef { return nil }

func TestChainFromConfig(t *testing.T) {
	closed := 0
	r := testRegistry(t, &closed)
	chain, err := r.NewChain(map[string]string{
		"connector.class":                 "ignored",
		"transforms":                      "dropOrders, prefix ,again",
		"transforms.dropOrders.type":      "DropAll",
		"transforms.dropOrders.predicate": "isOrders",
		"transforms.prefix.type":          "PrefixTopic",
		"transforms.prefix.prefix":        "p-",
		"transforms.prefix.predicate":     "isLogs",
		"transforms.prefix.negate":        "true",
		"transforms.again.type":           "com.example.PrefixTopic",
		"transforms.again.prefix":         "x.",
		"predicates":                      "isOrders,isLogs",
		"predicates.isOrders.type":        "TopicIs",
		"predicates.isOrders.topic":       "orders",
		"predicates.isLogs.type":          "com.example.TopicIsPredicate",
		"predicates.isLogs.topic":         "logs",
	})
	if err != nil {
		t.Fatal(err)
	}
	if chain.Len() != 3 {
		t.Fatalf("%d stages", chain.Len())
	}
	for _, tc := range []struct {
		topic, want string
		kept        bool
	}{
		{"orders", "", false},        // dropped where the predicate holds
		{"logs", "x.logs", true},     // negated predicate: prefix skipped
		{"users", "x.p-users", true}, // both prefixes, in order
	} {
		out, keep, err := chain.ApplySource(connect.SourceRecord{Topic: tc.topic, SourceOffset: map[string]any{"n": int64(1)}})
		if err != nil || keep != tc.kept || keep && (out.Topic != tc.want || out.SourceOffset["n"] != int64(1)) {
			t.Errorf("%s: %+v %v %v; want %s %v", tc.topic, out, keep, err, tc.want, tc.kept)
		}
	}
	out, keep, err := chain.ApplySink(sinkOf("users", 1, 5))
	if err != nil || !keep || out.Topic != "x.p-users" || out.OriginalTopic != "users" || out.Offset != 5 {
		t.Errorf("sink: %+v %v %v", out, keep, err)
	}
	_, _, err = chain.Apply(connect.Record{Topic: "poison"})
	var te *connect.TransformError
	if !errors.As(err, &te) || te.Alias != "prefix" || te.Class != "com.example.PrefixTopic" || !errors.Is(err, connect.ErrInvalidData) {
		t.Errorf("stage error: %v", err)
	}
	if err := chain.Close(); err != nil || closed != 2 {
		t.Errorf("Close: %v, %d prefix transformations closed", err, closed)
	}
	empty, err := r.NewChain(map[string]string{"connector.class": "x"})
	if err != nil || empty.Len() != 0 {
		t.Fatalf("no transforms: %v", err)
	}
	if rec, keep, err := empty.Apply(connect.Record{Topic: "t"}); !keep || err != nil || rec.Topic != "t" {
		t.Errorf("empty chain changed the record")
	}
}

func TestChainConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		config map[string]string
		key    string
		want   string
	}{
		{"unknown type", map[string]string{"transforms": "a", "transforms.a.type": "com.x.Nope"},
			"transforms.a.type", "Invalid value com.x.Nope for configuration transforms.a.type: Class com.x.Nope could not be found."},
		{"predicate as type", map[string]string{"transforms": "a", "transforms.a.type": "TopicIs"},
			"transforms.a.type", "Not a Transformation"},
		{"missing type", map[string]string{"transforms": "a"},
			"transforms.a.type", `Missing required configuration "transforms.a.type" which has no default value.`},
		{"missing own key", map[string]string{"transforms": "a", "transforms.a.type": "PrefixTopic"},
			"transforms.a.prefix", `Missing required configuration "transforms.a.prefix" which has no default value.`},
		{"bad own key", map[string]string{"transforms": "a", "transforms.a.type": "PrefixTopic", "transforms.a.prefix": ""},
			"transforms.a.prefix", "Invalid value  for configuration transforms.a.prefix: String must be non-empty"},
		{"duplicate alias", map[string]string{"transforms": "a,a", "transforms.a.type": "DropAll"},
			"transforms", "Duplicate alias provided."},
		{"negate alone", map[string]string{"transforms": "a", "transforms.a.type": "DropAll", "transforms.a.negate": "true"},
			"transforms.a.type", "Config 'transforms.a.negate' was provided but there is no config 'transforms.a.predicate' defining a predicate to be negated."},
		{"negate not boolean", map[string]string{"transforms": "a", "transforms.a.type": "DropAll", "transforms.a.negate": "yes",
			"transforms.a.predicate": "p", "predicates": "p", "predicates.p.type": "TopicIs", "predicates.p.topic": "t"},
			"transforms.a.negate", "Expected value to be either true or false"},
		{"predicate not listed", map[string]string{"transforms": "a", "transforms.a.type": "DropAll", "transforms.a.predicate": "p"},
			"transforms.a.predicate", "No predicate has alias p in predicates"},
		{"predicate type unknown", map[string]string{"transforms": "a", "transforms.a.type": "DropAll", "transforms.a.predicate": "p",
			"predicates": "p", "predicates.p.type": "Nope"}, "predicates.p.type", "Class Nope could not be found."},
		{"predicate key missing", map[string]string{"transforms": "a", "transforms.a.type": "DropAll", "transforms.a.predicate": "p",
			"predicates": "p", "predicates.p.type": "TopicIs"}, "predicates.p.topic", "Missing required configuration"},
		{"configure fails", map[string]string{"transforms": "a", "transforms.a.type": "PrefixTopic", "transforms.a.prefix": "fail"},
			"transforms.a.type", "prefix fail refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			chain, err := testRegistry(t, nil).NewChain(tc.config)
			if err == nil {
				t.Fatalf("built %d stages", chain.Len())
			}
			if !errors.Is(err, connect.ErrInvalidConfig) {
				t.Errorf("%v does not wrap ErrInvalidConfig", err)
			}
			var ce *connect.ConfigError
			if !errors.As(err, &ce) || ce.Key != tc.key || !strings.Contains(ce.Message, tc.want) {
				t.Errorf("got %v; want key %s with %q", err, tc.key, tc.want)
			}
		})
	}
}

// A worker validates a connector configuration against the enriched
// definition: each transformation's keys appear under their prefix, in
// the alias's group.
func TestEnrichConfigDefForValidation(t *testing.T) {
	r := testRegistry(t, nil)
	base := connect.NewConfigDef().Define(connect.ConfigKey{Name: "connector.class", Type: connect.ConfigString,
		Required: true, Importance: connect.High})
	props := map[string]string{"connector.class": "x", "transforms": "pre", "transforms.pre.type": "PrefixTopic",
		"predicates": "p", "predicates.p.type": "TopicIs"}
	def := r.EnrichConfigDef(base, props)
	if len(base.Keys()) != 1 {
		t.Fatal("base modified")
	}
	var names []string
	for _, k := range def.Keys() {
		names = append(names, k.Name)
	}
	want := []string{"connector.class", "transforms", "predicates", "transforms.pre.type", "transforms.pre.predicate",
		"transforms.pre.negate", "transforms.pre.prefix", "predicates.p.type", "predicates.p.topic"}
	if !slices.Equal(names, want) {
		t.Fatalf("keys %v\nwant %v", names, want)
	}
	if k, _ := def.Key("transforms.pre.prefix"); k.Group != "Transforms: pre" || k.OrderInGroup != 4 || k.DisplayName != "prefix" {
		t.Errorf("embedded key %+v", k)
	}
	infos := connect.NewConfigInfos("x", def, def.Validate(props))
	if infos.ErrorCount != 2 {
		t.Errorf("%d errors, want 2 (transforms.pre.prefix, predicates.p.topic)", infos.ErrorCount)
	}
	for _, c := range infos.Configs {
		if c.Value != nil && c.Value.Name == "transforms.pre.type" {
			if !slices.Contains(c.Value.RecommendedValues, "com.example.PrefixTopic") || len(c.Value.Errors) != 0 {
				t.Errorf("type key: %+v", c.Value)
			}
		}
	}
	if g := def.Groups(); !slices.Equal(g, []string{"Transforms", "Predicates", "Transforms: pre", "Predicates: p"}) {
		t.Errorf("groups %v", g)
	}
}

// A worker registers the transformations and predicates it is compiled
// with, and builds each task's chain from the connector's configuration.
func ExampleRegistry_NewChain() {
	plugins := connect.NewRegistry()
	_ = plugins.RegisterTransformation(connect.TransformationPlugin{
		Class: "com.example.PrefixTopic",
		New:   func() connect.Transformation { return &prefixTopic{} },
	})
	_ = plugins.RegisterPredicate(connect.PredicatePlugin{
		Class: "com.example.TopicIsPredicate",
		New:   func() connect.Predicate { return &topicIs{} },
	})
	chain, err := plugins.NewChain(map[string]string{
		"transforms":                  "prefix",
		"transforms.prefix.type":      "PrefixTopic", // the class's simple name is an alias
		"transforms.prefix.prefix":    "mirror.",
		"transforms.prefix.predicate": "internal",
		"transforms.prefix.negate":    "true",
		"predicates":                  "internal",
		"predicates.internal.type":    "TopicIs",
		"predicates.internal.topic":   "_internal",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer chain.Close()
	for _, topic := range []string{"orders", "_internal"} {
		out, keep, _ := chain.ApplySource(connect.SourceRecord{Topic: topic, Value: "v"})
		fmt.Println(out.Topic, keep)
	}
	_, err = plugins.NewChain(map[string]string{"transforms": "p", "transforms.p.type": "PrefixTopic"})
	fmt.Println(err)
	// Output:
	// mirror.orders true
	// _internal true
	// connect: transforms.p.prefix: Missing required configuration "transforms.p.prefix" which has no default value.
}
