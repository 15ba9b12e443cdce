package postgres

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/fjordhq/fjord/connect"
)

// The sink's keys, named as the JDBC sink connector names them.
const (
	keyTableNameFormat = "table.name.format"
	keyInsertMode      = "insert.mode"
	keyPKMode          = "pk.mode"
	keyPKFields        = "pk.fields"
	keyDeleteEnabled   = "delete.enabled"
	keyAutoCreate      = "auto.create"
	keyAutoEvolve      = "auto.evolve"
	keyBatchSize       = "batch.size"
)

// The values of insert.mode and pk.mode.
const (
	insertModeInsert = "insert"
	insertModeUpsert = "upsert"

	pkModeNone        = "none"
	pkModeRecordKey   = "record_key"
	pkModeRecordValue = "record_value"
)

// defaultKeyColumn names the column of a primitive record key when
// pk.fields does not (the JDBC sink's name).
const defaultKeyColumn = "__connect_key"

// topicPlaceholder is replaced by the record's topic in table.name.format.
const topicPlaceholder = "${topic}"

// maxBatchSize bounds batch.size: the records a task holds in memory
// before it writes them, and the rows of one statement.
const maxBatchSize = 100_000

// sinkConfigDef defines the sink's configuration.
func sinkConfigDef() *connect.ConfigDef {
	def := defineConnection(connect.NewConfigDef())
	const writes, mapping, ddl = "Writes", "Data Mapping", "DDL Support"
	return def.
		Define(connect.ConfigKey{Name: keyInsertMode, Type: connect.ConfigString, Default: insertModeInsert,
			Validator: connect.OneOf(insertModeInsert, insertModeUpsert), Importance: connect.High,
			Group: writes, OrderInGroup: 1, Width: connect.WidthShort,
			Documentation: "insert writes rows with INSERT, failing on a duplicate key; upsert writes them with " +
				"INSERT ... ON CONFLICT (primary key) DO UPDATE, so that writing a record again is harmless. " +
				"upsert needs a pk.mode other than none."}).
		Define(connect.ConfigKey{Name: keyBatchSize, Type: connect.ConfigInt, Default: 3000,
			Validator: connect.Between(1, maxBatchSize), Importance: connect.Medium,
			Group: writes, OrderInGroup: 2, Width: connect.WidthShort,
			Documentation: "The most rows one statement writes, and the most records a task buffers before " +
				"it writes them without waiting for the worker's flush."}).
		Define(connect.ConfigKey{Name: keyDeleteEnabled, Type: connect.ConfigBoolean, Default: false,
			Importance: connect.Medium, Group: writes, OrderInGroup: 3, Width: connect.WidthShort,
			Documentation: "Whether a record with a null value (a tombstone) deletes the row of its key. " +
				"Needs pk.mode=record_key. Without it a tombstone is an error."}).
		Define(connect.ConfigKey{Name: keyTableNameFormat, Type: connect.ConfigString, Default: topicPlaceholder,
			Validator: connect.ValidatorFunc(validateTableFormat), Importance: connect.Medium,
			Group: mapping, OrderInGroup: 1, Width: connect.WidthLong,
			Documentation: "The table to write a record to, where ${topic} is the record's topic, for example " +
				"kafka_${topic}. A dot written in the format separates a schema from the table name " +
				"(archive.${topic}); dots of the topic stay in the table's name."}).
		Define(connect.ConfigKey{Name: keyPKMode, Type: connect.ConfigString, Default: pkModeNone,
			Validator: connect.OneOf(pkModeNone, pkModeRecordKey, pkModeRecordValue), Importance: connect.High,
			Group: mapping, OrderInGroup: 2, Width: connect.WidthMedium,
			Documentation: "Where the primary key comes from: none; record_key, the record's key, a primitive " +
				"(one column, named by pk.fields or __connect_key) or a struct (its fields, or those of pk.fields); " +
				"record_value, fields of the value (those of pk.fields, or all)."}).
		Define(connect.ConfigKey{Name: keyPKFields, Type: connect.ConfigList, Default: []string{},
			Importance: connect.Medium, Group: mapping, OrderInGroup: 3, Width: connect.WidthLong,
			Documentation: "The primary key's columns, as pk.mode explains."}).
		Define(connect.ConfigKey{Name: keyAutoCreate, Type: connect.ConfigBoolean, Default: false,
			Importance: connect.Medium, Group: ddl, OrderInGroup: 1, Width: connect.WidthShort,
			Documentation: "Whether to create a missing table (CREATE TABLE) from the record's value schema, " +
				"with the primary key of pk.mode."}).
		Define(connect.ConfigKey{Name: keyAutoEvolve, Type: connect.ConfigBoolean, Default: false,
			Importance: connect.Medium, Group: ddl, OrderInGroup: 2, Width: connect.WidthShort,
			Documentation: "Whether to add the columns a table lacks (ALTER TABLE ... ADD COLUMN, nullable) " +
				"when records have new fields."})
}

// validateTableFormat accepts "table" or "schema.table", each part
// non-empty.
func validateTableFormat(_ string, value any) error {
	s, _ := value.(string)
	parts := strings.Split(s, ".")
	if s == "" || len(parts) > 2 || slices.Contains(parts, "") {
		return errors.New("must be a table name or schema.table, where ${topic} stands for the topic")
	}
	return nil
}

// sinkConfig is the sink's parsed configuration.
type sinkConfig struct {
	conn          *pgx.ConnConfig
	tableFormat   []string // [table] or [schema, table], ${topic} not yet replaced
	upsert        bool
	pkMode        string
	pkFields      []string
	deleteEnabled bool
	autoCreate    bool
	autoEvolve    bool
	batchSize     int
}

// parseSinkConfig checks a configuration, its keys and how they combine.
func parseSinkConfig(props map[string]string) (*sinkConfig, error) {
	cfg, err := sinkConfigDef().Parse(props)
	if err != nil {
		return nil, err
	}
	if problems := sinkCombinationProblems(cfg); len(problems) > 0 {
		return nil, combinationError(problems)
	}
	conn, err := connConfig(cfg, "fjord-postgres-sink")
	if err != nil {
		return nil, err
	}
	return &sinkConfig{
		conn:          conn,
		tableFormat:   strings.Split(cfg.GetString(keyTableNameFormat), "."),
		upsert:        cfg.GetString(keyInsertMode) == insertModeUpsert,
		pkMode:        cfg.GetString(keyPKMode),
		pkFields:      cfg.GetList(keyPKFields),
		deleteEnabled: cfg.GetBoolean(keyDeleteEnabled),
		autoCreate:    cfg.GetBoolean(keyAutoCreate),
		autoEvolve:    cfg.GetBoolean(keyAutoEvolve),
		batchSize:     int(cfg.GetInt(keyBatchSize)),
	}, nil
}

// keyProblem is a problem of a configuration, reported on one key.
type keyProblem struct {
	key     string
	message string
}

// sinkCombinationProblems checks what no single key's validator can.
func sinkCombinationProblems(cfg connect.Config) []keyProblem {
	var problems []keyProblem
	pkMode := cfg.GetString(keyPKMode)
	if cfg.GetString(keyInsertMode) == insertModeUpsert && pkMode == pkModeNone {
		problems = append(problems, keyProblem{keyInsertMode,
			"insert.mode=upsert needs a primary key: set pk.mode to record_key or record_value"})
	}
	if cfg.GetBoolean(keyDeleteEnabled) && pkMode != pkModeRecordKey {
		problems = append(problems, keyProblem{keyDeleteEnabled,
			"delete.enabled=true needs pk.mode=record_key: a tombstone carries only its key"})
	}
	fields := cfg.GetList(keyPKFields)
	if pkMode == pkModeNone && len(fields) > 0 {
		problems = append(problems, keyProblem{keyPKFields, "pk.fields is set but pk.mode is none"})
	}
	for i, f := range fields {
		if f == "" || slices.Contains(fields[:i], f) {
			problems = append(problems, keyProblem{keyPKFields,
				fmt.Sprintf("pk.fields must name distinct, non-empty fields: %q", strings.Join(fields, ","))})
			break
		}
	}
	return problems
}

// combinationError is the error of Parse for combination problems: each
// on its own line, after ErrInvalidConfig.
func combinationError(problems []keyProblem) error {
	lines := make([]string, len(problems))
	for i, p := range problems {
		lines[i] = p.message
	}
	return fmt.Errorf("%w: %s", connect.ErrInvalidConfig, strings.Join(lines, "\n"))
}

// validateWith is ConnectorValidator.Validate for a definition and its
// combination checks: the combination problems join the keys' own.
func validateWith(def *connect.ConfigDef, props map[string]string,
	combination func(connect.Config) []keyProblem) []connect.ConfigValue {
	values := def.Validate(props)
	cfg, err := def.Parse(props)
	if err != nil {
		return values // the keys' own problems come first
	}
	for _, p := range combination(cfg) {
		for i := range values {
			if values[i].Name == p.key {
				values[i].Errors = append(values[i].Errors, p.message)
			}
		}
	}
	return values
}
