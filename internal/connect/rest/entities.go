package rest

import (
	"encoding/json"
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

// PluginType is a plugin's kind as GET /connector-plugins spells it.
type PluginType string

// Kafka's PluginType values, lower case on the wire.
const (
	PluginTypeSource                     PluginType = "source"
	PluginTypeSink                       PluginType = "sink"
	PluginTypeConverter                  PluginType = "converter"
	PluginTypeHeaderConverter            PluginType = "header_converter"
	PluginTypeTransformation             PluginType = "transformation"
	PluginTypePredicate                  PluginType = "predicate"
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
// refused creation or update lists in its error message. The runtime fills
// it in from its connector's configuration definition.
type ConfigInfos struct {
	Name       string       `json:"name"` // the connector class
	ErrorCount int          `json:"error_count"`
	Groups     []string     `json:"groups"`
	Configs    []ConfigInfo `json:"configs"`
}

// MarshalJSON writes nil lists as [].
func (c ConfigInfos) MarshalJSON() ([]byte, error) {
	type plain ConfigInfos
	p := plain(c)
	if p.Groups == nil {
		p.Groups = []string{}
	}
	if p.Configs == nil {
		p.Configs = []ConfigInfo{}
	}
	return json.Marshal(p)
}

// ConfigInfo pairs one configuration key's definition with its validated
// value. Either may be null: Kafka reports a value with no definition
// (a key the connector does not know) and a definition with no value.
type ConfigInfo struct {
	Definition *ConfigKeyInfo   `json:"definition"`
	Value      *ConfigValueInfo `json:"value"`
}

// ConfigKeyInfo describes one configuration key.
type ConfigKeyInfo struct {
	Name     string `json:"name"`
	Type     string `json:"type"` // Kafka's ConfigDef.Type name: STRING, INT, LIST...
	Required bool   `json:"required"`
	// DefaultValue is null for a key without a default (a required one).
	DefaultValue  *string  `json:"default_value"`
	Importance    string   `json:"importance"` // HIGH, MEDIUM or LOW
	Documentation string   `json:"documentation"`
	Group         string   `json:"group"`
	OrderInGroup  int      `json:"order"`
	Width         string   `json:"width"` // NONE, SHORT, MEDIUM or LONG
	DisplayName   string   `json:"display_name"`
	Dependents    []string `json:"dependents"`
}

// MarshalJSON writes a nil dependents list as [].
func (c ConfigKeyInfo) MarshalJSON() ([]byte, error) {
	type plain ConfigKeyInfo
	p := plain(c)
	if p.Dependents == nil {
		p.Dependents = []string{}
	}
	return json.Marshal(p)
}

// ConfigValueInfo is one key's value after validation.
type ConfigValueInfo struct {
	Name string `json:"name"`
	// Value is null when the key is unset and has no default.
	Value             *string  `json:"value"`
	RecommendedValues []string `json:"recommended_values"`
	Errors            []string `json:"errors"`
	Visible           bool     `json:"visible"`
}

// MarshalJSON writes nil lists as [].
func (c ConfigValueInfo) MarshalJSON() ([]byte, error) {
	type plain ConfigValueInfo
	p := plain(c)
	if p.RecommendedValues == nil {
		p.RecommendedValues = []string{}
	}
	if p.Errors == nil {
		p.Errors = []string{}
	}
	return json.Marshal(p)
}

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
