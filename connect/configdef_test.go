package connect_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/fjordhq/fjord/connect"
)

// jdbcConfig is a definition in the style of a JDBC connector's.
func jdbcConfig() *connect.ConfigDef {
	return connect.NewConfigDef().
		Define(connect.ConfigKey{Name: "connection.url", Type: connect.ConfigString, Required: true,
			Validator: connect.NonEmptyString(), Importance: connect.High, Documentation: "JDBC URL.",
			Group: "Database", OrderInGroup: 1, Width: connect.WidthLong, DisplayName: "JDBC URL"}).
		Define(connect.ConfigKey{Name: "connection.password", Type: connect.ConfigPassword, Default: "",
			Importance: connect.High, Documentation: "Password.", Group: "Database", OrderInGroup: 2}).
		Define(connect.ConfigKey{Name: "batch.max.rows", Type: connect.ConfigInt, Default: 100,
			Validator: connect.Between(1, 10000), Importance: connect.Low, Documentation: "Rows per poll."}).
		Define(connect.ConfigKey{Name: "poll.interval.ms", Type: connect.ConfigLong, Default: int64(5000),
			Validator: connect.AtLeast(0), Importance: connect.Medium, Documentation: "Poll interval."}).
		Define(connect.ConfigKey{Name: "mode", Type: connect.ConfigString, Default: "bulk",
			Validator: connect.OneOf("bulk", "incrementing", "timestamp"), Importance: connect.High,
			Documentation: "Mode.", Group: "Mode", OrderInGroup: 1, Dependents: []string{"incrementing.column.name"}}).
		Define(connect.ConfigKey{Name: "incrementing.column.name", Type: connect.ConfigString, Default: "",
			Importance: connect.Medium, Documentation: "Column.", Group: "Mode", OrderInGroup: 2,
			Recommender: modeRecommender{}}).
		Define(connect.ConfigKey{Name: "table.whitelist", Type: connect.ConfigList, Default: []string{},
			Importance: connect.Medium, Documentation: "Tables."}).
		Define(connect.ConfigKey{Name: "numeric.ratio", Type: connect.ConfigDouble, Default: "0.5",
			Importance: connect.Low, Documentation: "Ratio."}).
		Define(connect.ConfigKey{Name: "validate.non.null", Type: connect.ConfigBoolean, Default: true,
			Importance: connect.Low, Documentation: "Check."})
}

// modeRecommender shows incrementing.column.name only in incrementing mode.
type modeRecommender struct{}

func (modeRecommender) ValidValues(string, map[string]any) ([]any, error) {
	return []any{"id", "seq"}, nil
}

func (modeRecommender) Visible(_ string, parsed map[string]any) (bool, error) {
	return parsed["mode"] == "incrementing", nil
}

func TestConfigDefParse(t *testing.T) {
	cfg, err := jdbcConfig().Parse(map[string]string{
		"connection.url":      " jdbc:postgresql://db/app ",
		"connection.password": "s3cret",
		"batch.max.rows":      "500",
		"table.whitelist":     "orders , users,",
		"validate.non.null":   "FALSE",
		"unknown.key":         "kept",
	})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.GetString("connection.url") != "jdbc:postgresql://db/app" || cfg.GetInt("batch.max.rows") != 500 ||
		cfg.GetLong("poll.interval.ms") != 5000 || cfg.GetDouble("numeric.ratio") != 0.5 ||
		cfg.GetBoolean("validate.non.null") || cfg.GetPassword("connection.password").Value() != "s3cret" {
		t.Fatalf("parsed %v", cfg)
	}
	if got := cfg.GetList("table.whitelist"); !slices.Equal(got, []string{"orders", "users", ""}) {
		t.Errorf("list %q: Kafka splits at every comma", got)
	}
	if cfg.Originals()["unknown.key"] != "kept" {
		t.Error("undefined keys should stay in Originals")
	}
	for _, printed := range []string{cfg.String(), fmt.Sprint(&cfg, cfg) + fmt.Sprintf("%#v %+v", cfg, cfg), fmt.Sprintf("%+v %#v", cfg.GetPassword("connection.password"), cfg.Get("connection.password"))} {
		if strings.Contains(printed, "s3cret") {
			t.Errorf("password printed: %s", printed)
		}
	}
	mustPanic(t, "getter of another type", func() { cfg.GetInt("connection.url") })
	mustPanic(t, "getter of an undefined key", func() { cfg.GetString("unknown.key") })
}

func TestConfigDefParseErrors(t *testing.T) {
	_, err := jdbcConfig().Parse(map[string]string{
		"batch.max.rows":      "0",
		"poll.interval.ms":    "soon",
		"mode":                "stream",
		"validate.non.null":   "yes",
		"connection.password": "hunter2",
	})
	if !errors.Is(err, connect.ErrInvalidConfig) {
		t.Fatalf("error %v does not wrap ErrInvalidConfig", err)
	}
	for _, want := range []string{
		`Missing required configuration "connection.url" which has no default value.`,
		"Invalid value 0 for configuration batch.max.rows: Value must be at least 1",
		"Invalid value soon for configuration poll.interval.ms: Not a number of type LONG",
		"Invalid value stream for configuration mode: String must be one of: bulk, incrementing, timestamp",
		"Invalid value yes for configuration validate.non.null: Expected value to be either true or false",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Error("password in error")
	}
	def := connect.NewConfigDef().Define(connect.ConfigKey{Name: "secret", Type: connect.ConfigPassword, Required: true,
		Importance: connect.High, Validator: connect.ValidatorFunc(func(string, any) error { return errors.New("too short") })})
	_, err = def.Parse(map[string]string{"secret": "hunter2"})
	if err == nil || !strings.Contains(err.Error(), "Invalid value [hidden] for configuration secret: too short") {
		t.Errorf("password validation error: %v", err)
	}
}

func TestConfigDefDefineRefusesMistakes(t *testing.T) {
	for name, key := range map[string]connect.ConfigKey{
		"no name":             {Type: connect.ConfigString, Importance: connect.High},
		"no type":             {Name: "a", Importance: connect.High},
		"no importance":       {Name: "a", Type: connect.ConfigString},
		"default of a type":   {Name: "a", Type: connect.ConfigInt, Default: "ten", Importance: connect.High},
		"int out of range":    {Name: "a", Type: connect.ConfigShort, Default: 70000, Importance: connect.High},
		"required default":    {Name: "a", Type: connect.ConfigInt, Default: 1, Required: true, Importance: connect.High},
		"default not valid":   {Name: "a", Type: connect.ConfigInt, Default: 0, Validator: connect.AtLeast(1), Importance: connect.High},
		"list default of int": {Name: "a", Type: connect.ConfigList, Default: 1, Importance: connect.High},
	} {
		mustPanic(t, name, func() { connect.NewConfigDef().Define(key) })
	}
	def := connect.NewConfigDef().Define(connect.ConfigKey{Name: "a", Type: connect.ConfigInt, Importance: connect.High})
	mustPanic(t, "defined twice", func() { def.Define(connect.ConfigKey{Name: "a", Type: connect.ConfigInt, Importance: connect.High}) })
}

func mustPanic(t *testing.T, name string, f func()) {
	t.Helper()
	defer func() {
		if recover() == nil {
			t.Errorf("%s: no panic", name)
		}
	}()
	f()
}

func TestValidators(t *testing.T) {
	for _, tc := range []struct {
		v     connect.Validator
		value any
		want  string
	}{
		{connect.AtLeast(1), int32(1), ""},
		{connect.AtLeast(1), int32(0), "Value must be at least 1"},
		{connect.AtLeast(1), nil, "Value must be non-null"},
		{connect.Between(0.5, 2), 2.5, "Value must be no more than 2"},
		{connect.Between(-5, 5), int64(-5), ""},
		{connect.OneOf("a", "b"), "c", "String must be one of: a, b"},
		{connect.OneOf("a", "b"), []string{"a", "b"}, ""},
		{connect.OneOf("a", "b"), []string{"a", "x"}, "String must be one of: a, b"},
		{connect.OneOfIgnoreCase("Base64", "numeric"), "NUMERIC", ""},
		{connect.OneOfIgnoreCase("Base64"), "hex", "String must be one of (case insensitive): BASE64"},
		{connect.NonEmptyString(), "", "String must be non-empty"},
		{connect.NonEmptyString(), nil, ""},
		{connect.AllOf(connect.NonEmptyString(), connect.OneOf("x")), "y", "String must be one of: x"},
	} {
		err := tc.v.Validate("k", tc.value)
		if got := fmt.Sprint(err); tc.want == "" && err != nil || tc.want != "" && got != tc.want {
			t.Errorf("%v on %#v: %v, want %q", tc.v, tc.value, err, tc.want)
		}
	}
}

func TestPasswordNeverPrints(t *testing.T) {
	p := connect.NewPassword("hunter2")
	type holder struct {
		Exported   connect.Password
		unexported connect.Password
		inAny      any
	}
	h := holder{Exported: p, unexported: p, inAny: p}
	js, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{fmt.Sprint(p), fmt.Sprintf("%v %+v %#v %s %q %x", p, h, h, p, p, p), string(js)} {
		if strings.Contains(s, "hunter2") || strings.Contains(s, fmt.Sprintf("%x", "hunter2")) {
			t.Errorf("password printed: %s", s)
		}
	}
	if p.Value() != "hunter2" || (connect.Password{}).Value() != "" {
		t.Error("Value")
	}
}
