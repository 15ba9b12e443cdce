package runtime

import (
	"context"
	"fmt"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/fjordhq/fjord/connect"
	"github.com/fjordhq/fjord/connect/converters"
	"github.com/fjordhq/fjord/internal/connect/rest"
)

// herderBase is what both herders share: the plugins, the admin client and
// the running environment, and the REST methods that do not depend on
// where configurations live.
type herderBase struct {
	env      *runEnv
	registry *connect.Registry
	workerID string
	admin    *kadm.Client
}

// workerID is the worker's id in statuses, as Kafka gives it: the host and
// port of its advertised REST URL.
func workerID(worker *WorkerConfig) string {
	return strings.TrimPrefix(strings.TrimPrefix(worker.AdvertisedURL, "http://"), "https://")
}

func (h *herderBase) KafkaClusterID(ctx context.Context) (string, error) {
	md, err := h.admin.BrokerMetadata(ctx)
	if err != nil {
		return "", fmt.Errorf("cluster id: %w", err)
	}
	return md.Cluster, nil
}

func connectorType(t connect.PluginType) rest.ConnectorType {
	switch t {
	case connect.PluginSource:
		return rest.ConnectorTypeSource
	case connect.PluginSink:
		return rest.ConnectorTypeSink
	}
	return rest.ConnectorTypeUnknown
}

func (h *herderBase) ConnectorPlugins(context.Context) ([]rest.PluginInfo, error) {
	var out []rest.PluginInfo
	for _, list := range [][]connect.PluginInfo{h.registry.Plugins(), h.registry.Transformations(), h.registry.Predicates()} {
		for _, p := range list {
			out = append(out, rest.PluginInfo{Class: p.Class, Type: p.Type, Version: p.Version})
		}
	}
	for _, class := range []string{converters.JSONConverterClass, converters.StringConverterClass, converters.ByteArrayConverterClass} {
		out = append(out, rest.PluginInfo{Class: class, Type: rest.PluginTypeConverter})
	}
	out = append(out, rest.PluginInfo{Class: converters.SimpleHeaderConverterClass, Type: rest.PluginTypeHeaderConverter})
	return out, nil
}

func (h *herderBase) ConnectorPluginConfig(_ context.Context, plugin string) ([]rest.ConfigKeyInfo, error) {
	p, err := h.registry.Lookup(plugin)
	if err != nil {
		return nil, rest.NotFoundf("Unknown plugin %s.", plugin)
	}
	def := p.New().Config()
	infos := connect.NewConfigInfos(p.Class, def, nil)
	var out []rest.ConfigKeyInfo
	for _, c := range infos.Configs {
		if c.Definition != nil {
			out = append(out, *c.Definition)
		}
	}
	return out, nil
}

func (h *herderBase) ValidateConnectorConfig(_ context.Context, config rest.Config) (rest.ConfigInfos, error) {
	infos, _, err := validateConnectorConfig(h.registry, config, h.env != nil && h.env.exactlyOnce)
	return infos, err
}

// checkedConfig is a connector's configuration as a create or an update
// gives it, with its name, validated: an invalid one is the 400 Kafka
// answers, with the validation's messages.
func (h *herderBase) checkedConfig(name string, config rest.Config) (rest.Config, error) {
	config = cloneConfig(config)
	if config[keyName] == "" {
		config[keyName] = name
	}
	infos, _, err := validateConnectorConfig(h.registry, config, h.env != nil && h.env.exactlyOnce)
	if err != nil {
		return nil, err
	}
	if infos.ErrorCount > 0 {
		return nil, rest.InvalidConfig(infos)
	}
	return config, nil
}

// patched applies a PATCH to a configuration: nil values remove keys.
func patched(config rest.Config, patch rest.ConfigPatch) rest.Config {
	for k, v := range patch {
		if v == nil {
			delete(config, k)
		} else {
			config[k] = *v
		}
	}
	return config
}

// taskInfos lists a connector's tasks with their configurations.
func taskInfos(name string, configs []map[string]string) []rest.TaskInfo {
	out := []rest.TaskInfo{}
	for i, c := range configs {
		out = append(out, rest.TaskInfo{ID: rest.ConnectorTaskID{Connector: name, Task: i}, Config: cloneConfig(c)})
	}
	return out
}

// taskStateOf picks a task's state out of its connector's status.
func taskStateOf(status rest.ConnectorStateInfo, id rest.ConnectorTaskID) (rest.TaskState, error) {
	for _, t := range status.Tasks {
		if t.ID == id.Task {
			return t, nil
		}
	}
	return rest.TaskState{}, rest.NotFoundf("Task %s-%d not found", id.Connector, id.Task)
}
