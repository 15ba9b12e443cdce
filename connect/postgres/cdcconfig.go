package postgres

import (
	"errors"
	"fmt"
	"regexp"

	"github.com/jackc/pgx/v5"

	"github.com/fjordhq/fjord/connect"
)

// The change data capture source's own keys, named as Debezium's
// PostgreSQL connector names them.
const (
	keySlotName        = "slot.name"
	keyPublicationName = "publication.name"
	defaultSlotName    = "fjord_cdc"
	defaultPublication = "fjord_cdc"
	// maxCdcBatchRows bounds the changes one Poll returns and, with
	// cdcTransactionRows, the changes a task holds in memory.
	maxCdcBatchRows = 100_000
)

// identifierPattern is what PostgreSQL accepts as a slot name (lower-case
// letters, digits and underscores, at most 63 bytes); publication names
// are held to it too, so that both can be written into replication
// commands without quoting.
var identifierPattern = regexp.MustCompile(`^[a-z0-9_]{1,63}$`)

func validateIdentifier(_ string, value any) error {
	s, _ := value.(string)
	if !identifierPattern.MatchString(s) {
		return errors.New("must be 1 to 63 lower-case letters, digits and underscores")
	}
	return nil
}

// cdcConfigDef defines the change data capture source's configuration.
func cdcConfigDef() *connect.ConfigDef {
	def := defineConnection(connect.NewConfigDef())
	const db, conn = "Replication", "Connector"
	return def.
		Define(connect.ConfigKey{Name: keyTableIncludeList, Type: connect.ConfigList, Required: true,
			Validator: connect.ValidatorFunc(validateTableList), Importance: connect.High,
			Group: db, OrderInGroup: 1, Width: connect.WidthLong,
			Documentation: "The tables whose changes are captured, as SQL names them: items, sales.orders. " +
				"The connector creates the publication FOR TABLE these tables when it does not exist; " +
				"an existing publication is used as it is."}).
		Define(connect.ConfigKey{Name: keySlotName, Type: connect.ConfigString, Default: defaultSlotName,
			Validator: connect.ValidatorFunc(validateIdentifier), Importance: connect.High,
			Group: db, OrderInGroup: 2, Width: connect.WidthMedium,
			Documentation: "The logical replication slot, created with the pgoutput plugin when it does " +
				"not exist. It keeps the server's write-ahead log until the connector has committed it: " +
				"drop it (pg_drop_replication_slot) when the connector is deleted."}).
		Define(connect.ConfigKey{Name: keyPublicationName, Type: connect.ConfigString, Default: defaultPublication,
			Validator: connect.ValidatorFunc(validateIdentifier), Importance: connect.High,
			Group: db, OrderInGroup: 3, Width: connect.WidthMedium,
			Documentation: "The publication whose changes the slot streams."}).
		Define(connect.ConfigKey{Name: keyTopicPrefix, Type: connect.ConfigString, Default: "",
			Importance: connect.High, Group: conn, OrderInGroup: 1, Width: connect.WidthMedium,
			Documentation: "The topic of a table is this prefix, the table's schema, a dot and its name, " +
				"as the catalog spells them: pg- gives pg-public.orders."}).
		Define(connect.ConfigKey{Name: keyBatchMaxRows, Type: connect.ConfigInt, Default: 1000,
			Validator: connect.Between(1, maxCdcBatchRows), Importance: connect.Low,
			Group: conn, OrderInGroup: 2, Width: connect.WidthShort,
			Documentation: "The most changes one poll returns."})
}

// cdcConfig is the change data capture source's parsed configuration.
type cdcConfig struct {
	conn         *pgx.ConnConfig
	tables       []string
	slot         string
	publication  string
	topicPrefix  string
	batchMaxRows int
}

func parseCdcConfig(props map[string]string) (*cdcConfig, error) {
	cfg, err := cdcConfigDef().Parse(props)
	if err != nil {
		return nil, err
	}
	conn, err := connConfig(cfg, "fjord-postgres-cdc")
	if err != nil {
		return nil, err
	}
	c := &cdcConfig{
		conn:         conn,
		tables:       cfg.GetList(keyTableIncludeList),
		slot:         cfg.GetString(keySlotName),
		publication:  cfg.GetString(keyPublicationName),
		topicPrefix:  cfg.GetString(keyTopicPrefix),
		batchMaxRows: int(cfg.GetInt(keyBatchMaxRows)),
	}
	if c.slot == "" || c.publication == "" {
		return nil, fmt.Errorf("%w: %s and %s must not be empty", connect.ErrInvalidConfig, keySlotName, keyPublicationName)
	}
	return c, nil
}
