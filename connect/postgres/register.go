package postgres

import (
	"errors"

	"github.com/fjordhq/fjord/connect"
)

// Version is the connectors' version, as GET /connector-plugins shows it.
const Version = "0.1.0"

// The connectors' class names; Kafka's automatic aliases make
// "PostgresSink" and "PostgresSource" find them too.
const (
	SinkClass   = "io.fjord.connect.postgres.PostgresSinkConnector"
	SourceClass = "io.fjord.connect.postgres.PostgresSourceConnector"
)

// Register adds the sink and source connectors to a registry.
func Register(r *connect.Registry) error {
	return errors.Join(
		r.Register(connect.Plugin{Class: SinkClass, New: func() connect.Connector { return &PostgresSinkConnector{} }}),
		r.Register(connect.Plugin{Class: SourceClass, New: func() connect.Connector { return &PostgresSourceConnector{} }}),
		r.Register(connect.Plugin{Class: CdcSourceClass, New: func() connect.Connector { return &PostgresCdcSourceConnector{} }}),
	)
}
