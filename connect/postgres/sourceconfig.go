package postgres

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/fjordhq/fjord/connect"
)

// The source's keys, named as the JDBC source connector names them.
const (
	keyTableIncludeList       = "table.include.list"
	keyMode                   = "mode"
	keyIncrementingColumn     = "incrementing.column.name"
	keyTimestampColumn        = "timestamp.column.name"
	keyTimestampDelay         = "timestamp.delay.interval.ms"
	keyTopicPrefix            = "topic.prefix"
	keyPollInterval           = "poll.interval.ms"
	keyBatchMaxRows           = "batch.max.rows"
	keyTaskTables             = "tables" // set by TaskConfigs: the task's share of the tables
	modeIncrementing          = "incrementing"
	modeTimestamp             = "timestamp"
	modeTimestampIncrementing = "timestamp+incrementing"
)

// Limits of the source's keys.
const (
	// maxBatchMaxRows bounds the rows one query reads into memory.
	maxBatchMaxRows = 100_000
	// maxPollIntervalMs is a day: a longer interval is surely a mistake.
	maxPollIntervalMs = 24 * 60 * 60 * 1000
	// maxTables bounds table.include.list: each table is one query per
	// poll interval and one source partition.
	maxTables = 10_000
)

// sourceConfigDef defines the source's configuration; the task's adds the
// tables it reads.
func sourceConfigDef() *connect.ConfigDef {
	def := defineConnection(connect.NewConfigDef())
	const db, mode, conn = "Database", "Mode", "Connector"
	return def.
		Define(connect.ConfigKey{Name: keyTableIncludeList, Type: connect.ConfigList, Required: true,
			Validator: connect.ValidatorFunc(validateTableList), Importance: connect.High,
			Group: db, OrderInGroup: 1, Width: connect.WidthLong,
			Documentation: "The tables to copy, as SQL names them: items, sales.orders, \"MixedCase\". " +
				"A name without a schema is found on the search_path."}).
		Define(connect.ConfigKey{Name: keyMode, Type: connect.ConfigString, Required: true,
			Validator:  connect.OneOf(modeIncrementing, modeTimestamp, modeTimestampIncrementing),
			Importance: connect.High, Group: mode, OrderInGroup: 1, Width: connect.WidthMedium,
			Dependents: []string{keyIncrementingColumn, keyTimestampColumn},
			Documentation: "How new rows are found: incrementing, by a strictly increasing integer column " +
				"(new rows only); timestamp, by a column set to the time of each insert and update; " +
				"timestamp+incrementing, by both, the incrementing column ordering rows of one timestamp."}).
		Define(connect.ConfigKey{Name: keyIncrementingColumn, Type: connect.ConfigString, Default: "",
			Importance: connect.Medium, Group: mode, OrderInGroup: 2, Width: connect.WidthMedium,
			Documentation: "The strictly increasing integer column (smallint, integer or bigint) of the " +
				"incrementing modes."}).
		Define(connect.ConfigKey{Name: keyTimestampColumn, Type: connect.ConfigString, Default: "",
			Importance: connect.Medium, Group: mode, OrderInGroup: 3, Width: connect.WidthMedium,
			Documentation: "The timestamp (or timestamptz) column of the timestamp modes."}).
		Define(connect.ConfigKey{Name: keyTimestampDelay, Type: connect.ConfigLong, Default: int64(0),
			Validator: connect.Between(0, maxPollIntervalMs), Importance: connect.High,
			Group: mode, OrderInGroup: 4, Width: connect.WidthMedium,
			Documentation: "How long after its timestamp a row is read, in milliseconds: set it above the " +
				"longest transaction, so that a row committed late with an earlier timestamp is not missed."}).
		Define(connect.ConfigKey{Name: keyTopicPrefix, Type: connect.ConfigString, Default: "",
			Importance: connect.High, Group: conn, OrderInGroup: 1, Width: connect.WidthMedium,
			Documentation: "The topic of a table is this prefix and the table's name as " +
				"table.include.list writes it, without double quotes."}).
		Define(connect.ConfigKey{Name: keyPollInterval, Type: connect.ConfigInt, Default: 5000,
			Validator: connect.Between(1, maxPollIntervalMs), Importance: connect.High,
			Group: conn, OrderInGroup: 2, Width: connect.WidthShort,
			Documentation: "How often each table is queried for new rows, in milliseconds."}).
		Define(connect.ConfigKey{Name: keyBatchMaxRows, Type: connect.ConfigInt, Default: 100,
			Validator: connect.Between(1, maxBatchMaxRows), Importance: connect.Low,
			Group: conn, OrderInGroup: 3, Width: connect.WidthShort,
			Documentation: "The most rows one poll returns."})
}

// sourceTaskConfigDef is the source's definition and the task's tables.
func sourceTaskConfigDef() *connect.ConfigDef {
	return sourceConfigDef().Define(connect.ConfigKey{Name: keyTaskTables, Type: connect.ConfigList,
		Required: true, Validator: connect.ValidatorFunc(validateTableList), Importance: connect.Low,
		Documentation: "The tables this task reads, a share of table.include.list (set by the connector)."})
}

func validateTableList(_ string, value any) error {
	tables, _ := value.([]string)
	switch {
	case len(tables) == 0:
		return errors.New("at least one table is needed")
	case len(tables) > maxTables:
		return fmt.Errorf("more than %d tables", maxTables)
	}
	for i, t := range tables {
		if t == "" || slices.Contains(tables[:i], t) {
			return errors.New("table names must be distinct and non-empty")
		}
	}
	return nil
}

// sourceConfig is the source's parsed configuration.
type sourceConfig struct {
	conn           *pgx.ConnConfig
	tables         []string
	mode           string
	incrementing   string // column name, "" when the mode has none
	timestamp      string
	timestampDelay time.Duration
	topicPrefix    string
	pollInterval   time.Duration
	batchMaxRows   int
}

// parseSourceConfig checks a configuration with def (the connector's or
// the task's).
func parseSourceConfig(def *connect.ConfigDef, props map[string]string) (*sourceConfig, error) {
	cfg, err := def.Parse(props)
	if err != nil {
		return nil, err
	}
	if problems := sourceCombinationProblems(cfg); len(problems) > 0 {
		return nil, combinationError(problems)
	}
	conn, err := connConfig(cfg, "fjord-postgres-source")
	if err != nil {
		return nil, err
	}
	c := &sourceConfig{
		conn:           conn,
		tables:         cfg.GetList(keyTableIncludeList),
		mode:           cfg.GetString(keyMode),
		timestampDelay: time.Duration(cfg.GetLong(keyTimestampDelay)) * time.Millisecond,
		topicPrefix:    cfg.GetString(keyTopicPrefix),
		pollInterval:   time.Duration(cfg.GetInt(keyPollInterval)) * time.Millisecond,
		batchMaxRows:   int(cfg.GetInt(keyBatchMaxRows)),
	}
	if c.mode != modeTimestamp {
		c.incrementing = cfg.GetString(keyIncrementingColumn)
	}
	if c.mode != modeIncrementing {
		c.timestamp = cfg.GetString(keyTimestampColumn)
	}
	if _, ok := def.Key(keyTaskTables); ok {
		c.tables = cfg.GetList(keyTaskTables)
	}
	return c, nil
}

// sourceCombinationProblems checks that the mode's columns are named.
func sourceCombinationProblems(cfg connect.Config) []keyProblem {
	var problems []keyProblem
	mode := cfg.GetString(keyMode)
	if mode != modeTimestamp && strings.TrimSpace(cfg.GetString(keyIncrementingColumn)) == "" {
		problems = append(problems, keyProblem{keyIncrementingColumn,
			"mode=" + mode + " needs incrementing.column.name"})
	}
	if mode != modeIncrementing && strings.TrimSpace(cfg.GetString(keyTimestampColumn)) == "" {
		problems = append(problems, keyProblem{keyTimestampColumn,
			"mode=" + mode + " needs timestamp.column.name"})
	}
	return problems
}
