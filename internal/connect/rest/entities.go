package rest

import (
	"encoding/json"

	"github.com/fjordhq/fjord/connect"
)

// The types below are the bodies of Kafka Connect's REST API, field for
// field: the JSON names, nesting and null-versus-absent choices are
// Kafka's (org.apache.kafka.connect.runtime.rest.entities), so that
// scripts, UIs and operators written against a Kafka Connect worker read
// fjord's answers unchanged. Lists a caller leaves nil are written as []
// where Kafka always writes a list.

// ServerInfo is the body of GET /.
type ServerInfo struct {
	Version        string `json:"version"`
	Commit         string `json:"commit"`
	KafkaClusterID string `json:"kafka_cluster_id"`
}

// WorkerStatus is the body of GET /health (KIP-1017).
type WorkerStatus struct {
	Status  string `json:"status"` // "healthy", "starting" or "unhealthy"
	Message string `json:"message"`
}

// ConnectorType is a connector's kind as the REST API spells it.
type ConnectorType string

// Kafka's ConnectorType values, lower case on the wire.
const (
	ConnectorTypeSource  ConnectorType = "source"
	ConnectorTypeSink    ConnectorType = "sink"
	ConnectorTypeUnknown ConnectorType = "unknown"
)

// ConnectorTaskID names one task of a connector.
type ConnectorTaskID struct {
	Connector string `json:"connector"`
	Task      int    `json:"task"`
}

// ConnectorInfo is the body of GET /connectors/{name} and of the answers
// to connector creation and reconfiguration.
type ConnectorInfo struct {
	Name   string            `json:"name"`
	Config Config            `json:"config"`
	Tasks  []ConnectorTaskID `json:"tasks"`
	Type   ConnectorType     `json:"type"`
}

// MarshalJSON writes a nil config or task list as {} or [], as Kafka does.
func (c ConnectorInfo) MarshalJSON() ([]byte, error) {
	type plain ConnectorInfo
	p := plain(c)
	p.Config = emptyIfNil(p.Config)
	if p.Tasks == nil {
		p.Tasks = []ConnectorTaskID{}
	}
	return json.Marshal(p)
}

// Connector and task states as Kafka's status API reports them.
const (
	StateUnassigned = "UNASSIGNED"
	StateRunning    = "RUNNING"
	StatePaused     = "PAUSED"
	StateStopped    = "STOPPED"
	StateFailed     = "FAILED"
	StateRestarting = "RESTARTING"
)

// ConnectorState is the connector half of a ConnectorStateInfo.
type ConnectorState struct {
	State    string `json:"state"`
	WorkerID string `json:"worker_id"`
	// Trace is the failure's stack trace or message; Kafka leaves the
	// field out when it is empty.
	Trace string `json:"trace,omitempty"`
}

// TaskState is one task's status: an element of ConnectorStateInfo.tasks
// and the body of GET /connectors/{name}/tasks/{id}/status.
type TaskState struct {
	ID       int    `json:"id"`
	State    string `json:"state"`
	WorkerID string `json:"worker_id"`
	Trace    string `json:"trace,omitempty"`
}

// ConnectorStateInfo is the body of GET /connectors/{name}/status.
type ConnectorStateInfo struct {
	Name      string         `json:"name"`
	Connector ConnectorState `json:"connector"`
	Tasks     []TaskState    `json:"tasks"`
	Type      ConnectorType  `json:"type"`
}

// MarshalJSON writes a nil task list as [].
func (s ConnectorStateInfo) MarshalJSON() ([]byte, error) {
	type plain ConnectorStateInfo
	p := plain(s)
	if p.Tasks == nil {
		p.Tasks = []TaskState{}
	}
	return json.Marshal(p)
}

// TaskInfo is an element of GET /connectors/{name}/tasks.
type TaskInfo struct {
	ID     ConnectorTaskID `json:"id"`
	Config Config          `json:"config"`
}

// MarshalJSON writes a nil config as {}.
func (t TaskInfo) MarshalJSON() ([]byte, error) {
	type plain TaskInfo
	p := plain(t)
	p.Config = emptyIfNil(p.Config)
	return json.Marshal(p)
}

// PluginType is a plugin's kind as GET /connector-plugins spells it: the
// connector API's, which names the kinds a Registry holds.
type PluginType = connect.PluginType

// Kafka's PluginType values, lower case on the wire.
const (
	PluginTypeSource                                = connect.PluginSource
	PluginTypeSink                                  = connect.PluginSink
	PluginTypeTransformation                        = connect.PluginTransformation
	PluginTypePredicate                             = connect.PluginPredicate
	PluginTypeConverter                  PluginType = "converter"
	PluginTypeHeaderConverter            PluginType = "header_converter"
	PluginTypeConfigProvider             PluginType = "configprovider"
	PluginTypeRestExtension              PluginType = "rest_extension"
	PluginTypeClientConfigOverridePolicy PluginType = "connector_client_config_override_policy"
)

// PluginInfo is an element of GET /connector-plugins.
type PluginInfo struct {
	Class string     `json:"class"`
	Type  PluginType `json:"type"`
	// Version is left out of the JSON when empty: Kafka omits the field
	// for plugins whose version is undefined.
	Version string `json:"version,omitempty"`
}

// ConfigInfos is the result of validating a connector configuration: the
// body of PUT /connector-plugins/{type}/config/validate, and what a
// refused creation or update lists in its error message. It is the public
// connect package's, which a connector's ConfigDef fills in with Kafka's
// JSON; ConfigInfo, ConfigKeyInfo and ConfigValueInfo are its parts.
type (
	ConfigInfos     = connect.ConfigInfos
	ConfigInfo      = connect.ConfigInfo
	ConfigKeyInfo   = connect.ConfigKeyInfo
	ConfigValueInfo = connect.ConfigValueInfo
)

// ConnectorOffsets is the body of GET /connectors/{name}/offsets and of
// PATCH /connectors/{name}/offsets (KIP-875).
type ConnectorOffsets struct {
	Offsets []ConnectorOffset `json:"offsets"`
}

// MarshalJSON writes a nil list as [].
func (c ConnectorOffsets) MarshalJSON() ([]byte, error) {
	type plain ConnectorOffsets
	p := plain(c)
	if p.Offsets == nil {
		p.Offsets = []ConnectorOffset{}
	}
	return json.Marshal(p)
}

// ConnectorOffset is one source partition's (or, for a sink, one topic
// partition's) offset. Numbers decoded from a request are json.Number, so
// that 64-bit offsets keep every digit. A null Offset in an alter request
// asks for that partition's offset to be reset.
type ConnectorOffset struct {
	Partition map[string]any `json:"partition"`
	Offset    map[string]any `json:"offset"`
}

// Message is the body of a successful offsets alteration or reset.
type Message struct {
	Message string `json:"message"`
}

// ErrorMessage is the body of every error answer.
type ErrorMessage struct {
	ErrorCode int    `json:"error_code"`
	Message   string `json:"message"`
}

// InitialState is the state a connector is created in (KIP-980).
type InitialState string

// The initial states POST /connectors accepts, in any case.
const (
	InitialStateRunning InitialState = "RUNNING"
	InitialStatePaused  InitialState = "PAUSED"
	InitialStateStopped InitialState = "STOPPED"
)

// CreateConnectorRequest is the body of POST /connectors.
type CreateConnectorRequest struct {
	Name   string `json:"name"`
	Config Config `json:"config"`
	// InitialState is empty when the request names none: the connector
	// then starts running.
	InitialState InitialState `json:"initial_state,omitempty"`
}

// ActiveTopicsInfo is one connector's entry in an ActiveTopics answer.
type ActiveTopicsInfo struct {
	Topics []string `json:"topics"`
}

// MarshalJSON writes a nil list as [].
func (a ActiveTopicsInfo) MarshalJSON() ([]byte, error) {
	topics := a.Topics
	if topics == nil {
		topics = []string{}
	}
	return json.Marshal(struct {
		Topics []string `json:"topics"`
	}{topics})
}

// ActiveTopics is the body of GET /connectors/{name}/topics: the
// connector's name mapped to its topics (KIP-558).
type ActiveTopics map[string]ActiveTopicsInfo

// ConnectorExpansion is one connector's entry in GET
// /connectors?expand=...: each requested expansion, and only those.
type ConnectorExpansion struct {
	Status *ConnectorStateInfo `json:"status,omitempty"`
	Info   *ConnectorInfo      `json:"info,omitempty"`
}

func emptyIfNil(c Config) Config {
	if c == nil {
		return Config{}
	}
	return c
}
