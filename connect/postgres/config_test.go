package postgres

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/fjordhq/fjord/connect"
)

const testURL = "postgres://app@localhost:5432/shop"

func TestSinkConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		props map[string]string
		want  string
	}{
		{"no url", map[string]string{}, `Missing required configuration "connection.url"`},
		{"bad url", map[string]string{keyConnectionURL: "postgres://x:notaport/db"}, "not a PostgreSQL connection string"},
		{"bad insert.mode", map[string]string{keyConnectionURL: testURL, keyInsertMode: "merge"},
			"String must be one of: insert, upsert"},
		{"bad pk.mode", map[string]string{keyConnectionURL: testURL, keyPKMode: "kafka"},
			"String must be one of: none, record_key, record_value"},
		{"upsert without key", map[string]string{keyConnectionURL: testURL, keyInsertMode: "upsert"},
			"insert.mode=upsert needs a primary key"},
		{"delete without record_key", map[string]string{keyConnectionURL: testURL, keyDeleteEnabled: "true",
			keyPKMode: "record_value"}, "delete.enabled=true needs pk.mode=record_key"},
		{"pk.fields without pk.mode", map[string]string{keyConnectionURL: testURL, keyPKFields: "id"},
			"pk.fields is set but pk.mode is none"},
		{"repeated pk.fields", map[string]string{keyConnectionURL: testURL, keyPKMode: "record_value", keyPKFields: "a,a"},
			"distinct"},
		{"batch.size 0", map[string]string{keyConnectionURL: testURL, keyBatchSize: "0"}, "Value must be at least 1"},
		{"bad table format", map[string]string{keyConnectionURL: testURL, keyTableNameFormat: "a.b.${topic}"},
			"schema.table"},
	} {
		err := (&PostgresSinkConnector{}).Start(nil, tc.props)
		if !errors.Is(err, connect.ErrInvalidConfig) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v; want ErrInvalidConfig saying %q", tc.name, err, tc.want)
		}
	}
}

func TestSinkValidateReportsCombinationsOnTheirKey(t *testing.T) {
	values := (&PostgresSinkConnector{}).Validate(map[string]string{keyConnectionURL: testURL, keyInsertMode: "upsert"})
	for _, v := range values {
		want := 0
		if v.Name == keyInsertMode {
			want = 1
		}
		if len(v.Errors) != want {
			t.Errorf("%s: errors %q, want %d", v.Name, v.Errors, want)
		}
	}
}

func TestSourceConfigErrors(t *testing.T) {
	base := map[string]string{keyConnectionURL: testURL, keyTableIncludeList: "a", keyMode: modeIncrementing,
		keyIncrementingColumn: "id"}
	with := func(k, v string) map[string]string {
		m := map[string]string{}
		for key, val := range base {
			m[key] = val
		}
		if v == "" {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	for _, tc := range []struct {
		name  string
		props map[string]string
		want  string
	}{
		{"no tables", with(keyTableIncludeList, ""), `Missing required configuration "table.include.list"`},
		{"empty table name", with(keyTableIncludeList, "a,,b"), "distinct and non-empty"},
		{"no mode", with(keyMode, ""), `Missing required configuration "mode"`},
		{"bulk mode", with(keyMode, "bulk"), "String must be one of: incrementing, timestamp, timestamp+incrementing"},
		{"no incrementing column", with(keyIncrementingColumn, ""), "mode=incrementing needs incrementing.column.name"},
		{"no timestamp column", with(keyMode, modeTimestampIncrementing), "needs timestamp.column.name"},
		{"batch.max.rows 0", with(keyBatchMaxRows, "0"), "Value must be at least 1"},
		{"poll.interval.ms 0", with(keyPollInterval, "0"), "Value must be at least 1"},
		{"negative delay", with(keyTimestampDelay, "-1"), "Value must be at least 0"},
	} {
		err := (&PostgresSourceConnector{}).Start(nil, tc.props)
		if !errors.Is(err, connect.ErrInvalidConfig) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v; want ErrInvalidConfig saying %q", tc.name, err, tc.want)
		}
	}
}

func TestSourceTaskConfigsShareTables(t *testing.T) {
	c := &PostgresSourceConnector{}
	props := map[string]string{keyConnectionURL: testURL, keyTableIncludeList: "a,b,c,d,e", keyMode: modeIncrementing,
		keyIncrementingColumn: "id"}
	if err := c.Start(nil, props); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		maxTasks int
		want     []string
	}{
		{1, []string{"a,b,c,d,e"}},
		{2, []string{"a,c,e", "b,d"}},
		{9, []string{"a", "b", "c", "d", "e"}},
	} {
		configs, err := c.TaskConfigs(tc.maxTasks)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, cfg := range configs {
			got = append(got, cfg[keyTaskTables])
			if cfg[keyConnectionURL] != testURL {
				t.Fatalf("task config %v lacks the connector's keys", cfg)
			}
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%d tasks: tables %q, want %q", tc.maxTasks, got, tc.want)
		}
	}
}

func TestSinkTaskConfigsAreCopies(t *testing.T) {
	c := &PostgresSinkConnector{}
	if err := c.Start(nil, map[string]string{keyConnectionURL: testURL}); err != nil {
		t.Fatal(err)
	}
	configs, err := c.TaskConfigs(3)
	if err != nil || len(configs) != 3 || configs[2][keyConnectionURL] != testURL {
		t.Fatalf("task configs %v, %v", configs, err)
	}
}

func TestConnectionKeysOverrideTheURL(t *testing.T) {
	cfg, err := parseSinkConfig(map[string]string{keyConnectionURL: "jdbc:postgresql://db:6543/shop?user=a&password=b",
		keyConnectionUser: "writer", keyConnectionPassword: "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	c := cfg.conn
	if c.Host != "db" || c.Port != 6543 || c.Database != "shop" || c.User != "writer" || c.Password != "s3cret" ||
		c.RuntimeParams["application_name"] != "fjord-postgres-sink" || c.ConnectTimeout != defaultConnectTimeout {
		t.Fatalf("connection config %+v", c)
	}
}

func TestRegister(t *testing.T) {
	r := connect.NewRegistry()
	if err := Register(r); err != nil {
		t.Fatal(err)
	}
	for alias, want := range map[string]connect.PluginType{"PostgresSink": connect.PluginSink,
		"PostgresSource": connect.PluginSource} {
		p, err := r.Lookup(alias)
		if err != nil || p.Type != want || p.Version != Version {
			t.Errorf("%s: %+v, %v", alias, p, err)
		}
	}
	if err := Register(r); err == nil {
		t.Error("registering twice succeeded")
	}
}

func TestTableFormat(t *testing.T) {
	for format, want := range map[string]tableRef{
		"${topic}":             {name: "orders.v1"},
		"kafka_${topic}":       {name: "kafka_orders.v1"},
		"archive.${topic}":     {schema: "archive", name: "orders.v1"},
		"${topic}_s.${topic}x": {schema: "orders.v1_s", name: "orders.v1x"},
	} {
		cfg, err := parseSinkConfig(map[string]string{keyConnectionURL: testURL, keyTableNameFormat: format})
		if err != nil {
			t.Fatal(err)
		}
		if got := cfg.tableFor("orders.v1"); got != want {
			t.Errorf("%s: %+v, want %+v", format, got, want)
		}
	}
}
