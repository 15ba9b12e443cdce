package connect

// Connector manages one integration with an external system: given its
// configuration, it splits the work into task configurations, and watches
// the system for changes that need other tasks (Kafka's Connector).
// Implement SourceConnector or SinkConnector, which add the task factory.
//
// The worker makes a new Connector (with Plugin.New) for each run of a
// connector and calls Start, TaskConfigs and Stop on one goroutine, one at
// a time. It may also make instances only to call Version, Config and the
// optional interfaces (validation, exactly-once checks) without starting
// them, so a fresh instance must answer those.
type Connector interface {
	// Version is the connector's version, shown by GET /connector-plugins.
	Version() string
	// Start begins work with the connector's configuration (as the user
	// gave it, after the worker resolved config providers). ctx stays
	// valid until Stop returns; for a SourceConnector it is also a
	// SourceConnectorContext.
	Start(ctx ConnectorContext, config map[string]string) error
	// TaskConfigs returns the configurations of at most maxTasks tasks. The
	// worker starts one task per configuration and asks again after
	// RequestTaskReconfiguration.
	TaskConfigs(maxTasks int) ([]map[string]string, error)
	// Stop ends work and releases what Start took.
	Stop() error
	// Config defines the connector's configuration: its keys are validated
	// by PUT /connector-plugins/{type}/config/validate and before Start.
	Config() *ConfigDef
}

// SourceConnector is a connector whose tasks read from an external system
// into Kafka (Kafka's SourceConnector).
type SourceConnector interface {
	Connector
	// NewTask returns a new, unstarted task.
	NewTask() SourceTask
}

// SinkConnector is a connector whose tasks write records from Kafka to an
// external system (Kafka's SinkConnector). The worker subscribes its tasks
// to the topics of the "topics" or "topics.regex" configuration.
type SinkConnector interface {
	Connector
	// NewTask returns a new, unstarted task.
	NewTask() SinkTask
}

// ConnectorContext lets a connector talk to the worker. Its methods are
// safe to call from any goroutine, such as one the connector starts to
// watch the external system.
type ConnectorContext interface {
	// RequestTaskReconfiguration asks the worker to call TaskConfigs again
	// and restart the tasks if their configurations changed.
	RequestTaskReconfiguration()
	// RaiseError fails the connector with err: its status becomes FAILED.
	RaiseError(err error)
}

// SourceConnectorContext is the ConnectorContext of a source connector.
type SourceConnectorContext interface {
	ConnectorContext
	// OffsetReader reads the committed offsets of the connector's tasks.
	OffsetReader() OffsetReader
}

// ConnectorValidator is implemented by connectors that check their
// configuration beyond what their ConfigDef says, for example that two keys
// agree or that the external system answers (Kafka's Connector.validate).
// Without it the worker calls Config().Validate. The result is in the form
// of ConfigDef.Validate, which an implementation usually calls first.
type ConnectorValidator interface {
	Validate(config map[string]string) []ConfigValue
}

// Support is a connector's answer to an exactly-once question (Kafka's
// ExactlyOnceSupport and ConnectorTransactionBoundaries).
type Support int8

// The answers. The zero value is Unsupported.
const (
	Unsupported Support = iota
	Supported
)

// String returns Kafka's names, "SUPPORTED" and "UNSUPPORTED".
func (s Support) String() string {
	if s == Supported {
		return "SUPPORTED"
	}
	return "UNSUPPORTED"
}

// ExactlyOnceSupporter is implemented by source connectors that declare
// whether they provide exactly-once delivery with a configuration
// (KIP-618's SourceConnector.exactlyOnceSupport). A worker with
// exactly.once.source.support=enabled refuses a connector configured with
// exactly.once.support=required unless it answers Supported; a connector
// without this interface is treated as Kafka treats a null answer, as
// unable. It may be called before Start.
type ExactlyOnceSupporter interface {
	ExactlyOnceSupport(config map[string]string) Support
}

// TransactionBoundaryDefiner is implemented by source connectors whose
// tasks can define their own transactions (with TransactionContext) when
// configured with transaction.boundary=connector (KIP-618's
// SourceConnector.canDefineTransactionBoundaries). Without it the answer is
// Unsupported. It may be called before Start.
type TransactionBoundaryDefiner interface {
	CanDefineTransactionBoundaries(config map[string]string) Support
}

// SourcePartitionOffset is one source partition and its offset, as the
// offsets REST API alters them. A nil Offset resets the partition.
type SourcePartitionOffset struct {
	Partition map[string]any
	Offset    map[string]any
}

// SourceOffsetAlterer is implemented by source connectors that keep their
// offsets in the external system too, or check offsets a user writes with
// PATCH or DELETE /connectors/{name}/offsets (KIP-875's
// SourceConnector.alterOffsets). An error refuses the change. It may be
// called before Start and more than once with the same offsets.
type SourceOffsetAlterer interface {
	AlterOffsets(config map[string]string, offsets []SourcePartitionOffset) error
}

// SinkOffsetAlterer is the SourceOffsetAlterer of sink connectors
// (KIP-875's SinkConnector.alterOffsets): offsets are by topic partition,
// nil for a reset.
type SinkOffsetAlterer interface {
	AlterOffsets(config map[string]string, offsets map[TopicPartition]*int64) error
}
