package rest

import "context"

// Herder is the worker runtime as the REST API sees it: Kafka Connect's
// Herder, with a context and a synchronous return instead of a callback.
// The standalone and the distributed runtime implement it.
//
// The server calls every method from the goroutine serving an HTTP
// request, so calls arrive concurrently and an implementation must be safe
// for concurrent use. ctx ends when the client goes away, when the request
// timeout passes (ServerConfig.RequestTimeout) or when the server shuts down; a
// method must then return promptly, with ctx's error or its own. A write
// (create, reconfigure, restart...) returns once the runtime has done it
// or failed to, as Kafka's herder completes its callback.
//
// Errors choose the answer (see errors.go): ErrNotFound and NotFoundf give
// 404, ErrBadRequest, InvalidConfig and OffsetsNeedStopped 400,
// ErrAlreadyExists, ErrRebalanceNeeded and ErrConflict 409, ErrForbidden
// 403. A *NotLeaderError makes the server forward the request to the
// leader. Anything else is a 500 whose message is the error's text.
type Herder interface {
	// KafkaClusterID returns the ID of the Kafka cluster the worker uses,
	// for GET /.
	KafkaClusterID(ctx context.Context) (string, error)
	// HealthCheck returns nil once the worker is started and able to
	// serve requests (GET /health, KIP-1017); an error wrapping
	// ErrStarting while it is still starting.
	HealthCheck(ctx context.Context) error

	// Connectors returns the names of every connector.
	Connectors(ctx context.Context) ([]string, error)
	// ConnectorInfo returns a connector's configuration and tasks.
	ConnectorInfo(ctx context.Context, name string) (ConnectorInfo, error)
	// ConnectorConfig returns a connector's configuration.
	ConnectorConfig(ctx context.Context, name string) (Config, error)
	// ConnectorStatus returns the state of a connector and its tasks.
	ConnectorStatus(ctx context.Context, name string) (ConnectorStateInfo, error)
	// TaskConfigs returns a connector's tasks and their configurations.
	TaskConfigs(ctx context.Context, name string) ([]TaskInfo, error)
	// TaskStatus returns one task's state.
	TaskStatus(ctx context.Context, id ConnectorTaskID) (TaskState, error)

	// PutConnectorConfig creates the connector, or replaces its
	// configuration when allowReplace is set; with allowReplace unset an
	// existing connector is an ErrAlreadyExists error. config holds the
	// connector's name under "name". initial is the state to create the
	// connector in, empty for the default (running); it is always empty
	// on replace. created tells a creation from a replacement.
	PutConnectorConfig(ctx context.Context, name string, config Config, initial InitialState,
		allowReplace bool) (created bool, info ConnectorInfo, err error)
	// PatchConnectorConfig applies patch to an existing connector's
	// configuration (nil values remove keys) and validates and stores the
	// result, as PutConnectorConfig does.
	PatchConnectorConfig(ctx context.Context, name string, patch ConfigPatch) (ConnectorInfo, error)
	// DeleteConnector stops a connector and deletes its configuration.
	DeleteConnector(ctx context.Context, name string) error

	// PauseConnector, ResumeConnector and StopConnector set a connector's
	// target state; each is idempotent.
	PauseConnector(ctx context.Context, name string) error
	ResumeConnector(ctx context.Context, name string) error
	StopConnector(ctx context.Context, name string) error
	// RestartConnector restarts the connector instance only.
	RestartConnector(ctx context.Context, name string) error
	// RestartConnectorAndTasks restarts the connector and tasks req
	// selects (KIP-745) and returns their states, those to be restarted
	// as RESTARTING.
	RestartConnectorAndTasks(ctx context.Context, req RestartRequest) (ConnectorStateInfo, error)
	// RestartTask restarts one task.
	RestartTask(ctx context.Context, id ConnectorTaskID) error

	// ConnectorActiveTopics returns the topics a connector has used since
	// it was created or its topics were last reset (KIP-558).
	ConnectorActiveTopics(ctx context.Context, name string) ([]string, error)
	// ResetConnectorActiveTopics forgets a connector's active topics.
	ResetConnectorActiveTopics(ctx context.Context, name string) error

	// ConnectorOffsets returns a connector's offsets (KIP-875).
	ConnectorOffsets(ctx context.Context, name string) (ConnectorOffsets, error)
	// AlterConnectorOffsets and ResetConnectorOffsets change the offsets
	// of a STOPPED connector, answering OffsetsNeedStopped otherwise; the
	// Message says what was done.
	AlterConnectorOffsets(ctx context.Context, name string, offsets ConnectorOffsets) (Message, error)
	ResetConnectorOffsets(ctx context.Context, name string) (Message, error)

	// ConnectorPlugins returns every plugin the worker has, connectors and
	// others; the server filters them.
	ConnectorPlugins(ctx context.Context) ([]PluginInfo, error)
	// ConnectorPluginConfig returns a plugin's configuration definition,
	// by full or simple class name or alias.
	ConnectorPluginConfig(ctx context.Context, plugin string) ([]ConfigKeyInfo, error)
	// ValidateConnectorConfig validates a configuration against the
	// definition of the connector its connector.class names. Errors in
	// the configuration are in the result, not in err.
	ValidateConnectorConfig(ctx context.Context, config Config) (ConfigInfos, error)
}

// RestartRequest selects what POST /connectors/{name}/restart restarts.
type RestartRequest struct {
	Connector string
	// OnlyFailed restarts only the instances that are FAILED.
	OnlyFailed bool
	// IncludeTasks restarts the tasks as well as the connector.
	IncludeTasks bool
}
