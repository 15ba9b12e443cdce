package connect_test

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/fjordhq/fjord/connect"
)

func TestConfigDefValidate(t *testing.T) {
	values := jdbcConfig().Validate(map[string]string{
		"mode":             "incrementing",
		"batch.max.rows":   "x",
		"table.whitelist":  "a,b",
		"poll.interval.ms": "-1",
	})
	var names []string
	byName := map[string]connect.ConfigValue{}
	for _, v := range values {
		names = append(names, v.Name)
		byName[v.Name] = v
	}
	if want := []string{"connection.url", "connection.password", "batch.max.rows", "poll.interval.ms", "mode",
		"incrementing.column.name", "table.whitelist", "numeric.ratio", "validate.non.null"}; !slices.Equal(names, want) {
		t.Fatalf("names %v, want definition order %v", names, want)
	}
	for name, want := range map[string][]string{
		"connection.url": {`Missing required configuration "connection.url" which has no default value.`},
		// Kafka reports the parse failure, then the validator's view of
		// the null it left.
		"batch.max.rows":   {"Invalid value x for configuration batch.max.rows: Not a number of type INT", "Invalid value null for configuration batch.max.rows: Value must be non-null"},
		"poll.interval.ms": {"Invalid value -1 for configuration poll.interval.ms: Value must be at least 0"},
		"mode":             nil,
	} {
		if got := byName[name].Errors; !slices.Equal(got, want) {
			t.Errorf("%s: errors %q, want %q", name, got, want)
		}
	}
	inc := byName["incrementing.column.name"]
	if !inc.Visible || !slices.Equal(inc.RecommendedValues, []any{"id", "seq"}) {
		t.Errorf("recommender: %+v", inc)
	}
	if byName["mode"].Value != "incrementing" || !slices.Equal(byName["table.whitelist"].Value.([]string), []string{"a", "b"}) {
		t.Errorf("parsed values %+v", values)
	}
	hidden := jdbcConfig().Validate(map[string]string{"mode": "bulk"})
	if hidden[5].Visible {
		t.Error("incrementing.column.name should be hidden in bulk mode")
	}
}

func TestConfigDefValidateUndefinedDependent(t *testing.T) {
	def := connect.NewConfigDef().Define(connect.ConfigKey{Name: "a", Type: connect.ConfigInt, Default: 1,
		Importance: connect.High, Dependents: []string{"b"}})
	values := def.Validate(nil)
	if len(values) != 2 || values[1].Name != "b" || values[1].Visible ||
		!slices.Equal(values[1].Errors, []string{"b is referred in the dependents, but not defined."}) {
		t.Fatalf("values %+v", values)
	}
	if _, err := def.Parse(nil); err == nil {
		t.Fatal("Parse accepted an undefined dependent")
	}
}

// TestConfigInfosJSON checks the exact JSON of a validation answer against
// the shape of Kafka Connect's PUT /connector-plugins/{type}/config/validate:
// definition members in Kafka's order ("order" last, -1 outside a group),
// nulls for missing defaults and groups, values as strings, passwords
// hidden, empty lists as [].
func TestConfigInfosJSON(t *testing.T) {
	def := connect.NewConfigDef().
		Define(connect.ConfigKey{Name: "file", Type: connect.ConfigString, Required: true, Importance: connect.High,
			Documentation: "Source filename.", Group: "Input", OrderInGroup: 1, Width: connect.WidthLong, DisplayName: "File"}).
		Define(connect.ConfigKey{Name: "batch.size", Type: connect.ConfigInt, Default: 2000,
			Validator: connect.AtLeast(1), Importance: connect.Low, Documentation: "Batch size."}).
		Define(connect.ConfigKey{Name: "api.key", Type: connect.ConfigPassword, Default: "", Importance: connect.High,
			Documentation: "Key.", Group: "Input", OrderInGroup: 2}).
		Define(connect.ConfigKey{Name: "ratio", Type: connect.ConfigDouble, Default: 1, Importance: connect.Low,
			Documentation: "Ratio."})
	values := def.Validate(map[string]string{"batch.size": "0", "api.key": "s3cret", "topics": "t"})
	values = append(values, connect.ConfigValue{Name: "name", Value: "file-source", Visible: true})
	got, err := json.Marshal(connect.NewConfigInfos("org.example.FileSource", def, values))
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"name":"org.example.FileSource","error_count":2,"groups":["Input"],"configs":[` +
		`{"definition":null,"value":{"name":"name","value":"file-source","recommended_values":[],"errors":[],"visible":true}},` +
		`{"definition":{"name":"file","type":"STRING","required":true,"default_value":null,"importance":"HIGH","documentation":"Source filename.","group":"Input","width":"LONG","display_name":"File","dependents":[],"order":1},` +
		`"value":{"name":"file","value":null,"recommended_values":[],"errors":["Missing required configuration \"file\" which has no default value."],"visible":true}},` +
		`{"definition":{"name":"batch.size","type":"INT","required":false,"default_value":"2000","importance":"LOW","documentation":"Batch size.","group":null,"width":"NONE","display_name":"batch.size","dependents":[],"order":-1},` +
		`"value":{"name":"batch.size","value":"0","recommended_values":[],"errors":["Invalid value 0 for configuration batch.size: Value must be at least 1"],"visible":true}},` +
		`{"definition":{"name":"api.key","type":"PASSWORD","required":false,"default_value":"[hidden]","importance":"HIGH","documentation":"Key.","group":"Input","width":"NONE","display_name":"api.key","dependents":[],"order":2},` +
		`"value":{"name":"api.key","value":"[hidden]","recommended_values":[],"errors":[],"visible":true}},` +
		`{"definition":{"name":"ratio","type":"DOUBLE","required":false,"default_value":"1.0","importance":"LOW","documentation":"Ratio.","group":null,"width":"NONE","display_name":"ratio","dependents":[],"order":-1},` +
		`"value":{"name":"ratio","value":"1.0","recommended_values":[],"errors":[],"visible":true}}]}`
	if string(got) != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}
