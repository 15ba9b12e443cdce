package rest

import (
	"context"
	"maps"
	"slices"
	"strconv"
	"sync"
)

// memHerder is a test double: an in-memory Herder with just enough
// behaviour to drive every endpoint and its errors. It stands in for the
// worker runtime, which does not exist yet; once the standalone herder
// does, these endpoint tests should run against it as well.
type memHerder struct {
	// before, when set, runs first in every method: tests use it to answer
	// not-leader, to fail, or to block until the context ends.
	before func(ctx context.Context, op string) error

	mu         sync.Mutex
	connectors map[string]*memConnector
}

type memConnector struct {
	config     Config
	target     string // RUNNING, PAUSED or STOPPED
	tasks      int
	failedTask int // -1: none
	topics     []string
	offsets    []ConnectorOffset
}

func memPlugins() []PluginInfo {
	return []PluginInfo{
		{Class: "org.apache.kafka.connect.file.FileStreamSourceConnector", Type: PluginTypeSource, Version: "4.0.0"},
		{Class: "org.apache.kafka.connect.file.FileStreamSinkConnector", Type: PluginTypeSink},
		{Class: "org.apache.kafka.connect.json.JsonConverter", Type: PluginTypeConverter, Version: "4.0.0"},
	}
}

// newMemHerder returns a herder with two connectors: "src", a running
// source with two tasks, task 1 failed; "snk", a stopped sink.
func newMemHerder() *memHerder {
	h := &memHerder{connectors: map[string]*memConnector{}}
	h.connectors["src"] = &memConnector{
		config: Config{"name": "src", "connector.class": "FileStreamSource", "tasks.max": "2"},
		target: StateRunning, tasks: 2, failedTask: 1, topics: []string{"t1"},
		offsets: []ConnectorOffset{{Partition: map[string]any{"filename": "a.txt"},
			Offset: map[string]any{"position": 30}}},
	}
	h.connectors["snk"] = &memConnector{
		config: Config{"name": "snk", "connector.class": "FileStreamSinkConnector", "topics": "t1"},
		target: StateStopped, failedTask: -1,
	}
	return h
}

// get returns a copy of the named connector, nil when there is none,
// for tests to inspect what a request did.
func (h *memHerder) get(name string) *memConnector {
	h.mu.Lock()
	defer h.mu.Unlock()
	c, ok := h.connectors[name]
	if !ok {
		return nil
	}
	copied := *c
	copied.config = maps.Clone(c.config)
	return &copied
}

func (h *memHerder) enter(ctx context.Context, op string) error {
	if h.before != nil {
		return h.before(ctx, op)
	}
	return nil
}

// connectorLocked returns the named connector; h.mu must be held.
func (h *memHerder) connectorLocked(name string) (*memConnector, error) {
	c, ok := h.connectors[name]
	if !ok {
		return nil, NotFoundf("Connector %s not found", name)
	}
	return c, nil
}

func connectorType(config Config) ConnectorType {
	class := config[connectorClassConfig]
	if class == "" {
		return ConnectorTypeUnknown
	}
	for _, p := range memPlugins() {
		if p.Type != PluginTypeSource && p.Type != PluginTypeSink {
			continue
		}
		if pluginMatches(p.Class, class) {
			return ConnectorType(p.Type)
		}
	}
	return ConnectorTypeUnknown
}

func (h *memHerder) KafkaClusterID(ctx context.Context) (string, error) {
	if err := h.enter(ctx, "KafkaClusterID"); err != nil {
		return "", err
	}
	return "cluster-1", nil
}

func (h *memHerder) HealthCheck(ctx context.Context) error { return h.enter(ctx, "HealthCheck") }

func (h *memHerder) Connectors(ctx context.Context) ([]string, error) {
	if err := h.enter(ctx, "Connectors"); err != nil {
		return nil, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Collect(maps.Keys(h.connectors)), nil
}

func (h *memHerder) ConnectorInfo(ctx context.Context, name string) (ConnectorInfo, error) {
	if err := h.enter(ctx, "ConnectorInfo"); err != nil {
		return ConnectorInfo{}, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.infoLocked(name)
}

func (h *memHerder) infoLocked(name string) (ConnectorInfo, error) {
	c, err := h.connectorLocked(name)
	if err != nil {
		return ConnectorInfo{}, err
	}
	info := ConnectorInfo{Name: name, Config: maps.Clone(c.config), Type: connectorType(c.config)}
	for i := range c.tasks {
		info.Tasks = append(info.Tasks, ConnectorTaskID{Connector: name, Task: i})
	}
	return info, nil
}

func (h *memHerder) ConnectorConfig(ctx context.Context, name string) (Config, error) {
	info, err := h.ConnectorInfo(ctx, name)
	return info.Config, err
}

func (h *memHerder) ConnectorStatus(ctx context.Context, name string) (ConnectorStateInfo, error) {
	if err := h.enter(ctx, "ConnectorStatus"); err != nil {
		return ConnectorStateInfo{}, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.statusLocked(name, "")
}

// statusLocked returns a connector's states, those of the connector and
// tasks to restart (restarting != "") as RESTARTING.
func (h *memHerder) statusLocked(name string, restarting string) (ConnectorStateInfo, error) {
	c, err := h.connectorLocked(name)
	if err != nil {
		return ConnectorStateInfo{}, err
	}
	out := ConnectorStateInfo{Name: name, Type: connectorType(c.config),
		Connector: ConnectorState{State: c.target, WorkerID: "worker-1:8083"}}
	if restarting != "" {
		out.Connector.State = StateRestarting
	}
	for i := range c.tasks {
		task := TaskState{ID: i, State: c.target, WorkerID: "worker-1:8083"}
		if i == c.failedTask {
			task.State, task.Trace = StateFailed, "java.lang.RuntimeException: boom"
		}
		if restarting == "all" || (restarting == "failed" && task.State == StateFailed) {
			task.State = StateRestarting
		}
		out.Tasks = append(out.Tasks, task)
	}
	return out, nil
}

func (h *memHerder) TaskConfigs(ctx context.Context, name string) ([]TaskInfo, error) {
	info, err := h.ConnectorInfo(ctx, name)
	if err != nil {
		return nil, err
	}
	var tasks []TaskInfo
	for _, id := range info.Tasks {
		tasks = append(tasks, TaskInfo{ID: id, Config: Config{"task.index": strconv.Itoa(id.Task)}})
	}
	return tasks, nil
}

func (h *memHerder) TaskStatus(ctx context.Context, id ConnectorTaskID) (TaskState, error) {
	status, err := h.ConnectorStatus(ctx, id.Connector)
	if err != nil {
		return TaskState{}, err
	}
	if id.Task < 0 || id.Task >= len(status.Tasks) {
		return TaskState{}, NotFoundf("No status found for task %s-%d", id.Connector, id.Task)
	}
	return status.Tasks[id.Task], nil
}

func (h *memHerder) PutConnectorConfig(ctx context.Context, name string, config Config, initial InitialState,
	allowReplace bool) (bool, ConnectorInfo, error) {
	if err := h.enter(ctx, "PutConnectorConfig"); err != nil {
		return false, ConnectorInfo{}, err
	}
	infos, err := validate(config)
	if err != nil {
		return false, ConnectorInfo{}, err
	}
	if infos.ErrorCount > 0 {
		return false, ConnectorInfo{}, InvalidConfig(infos)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	c, exists := h.connectors[name]
	if exists && !allowReplace {
		return false, ConnectorInfo{}, AlreadyExists(name)
	}
	if !exists {
		c = &memConnector{target: StateRunning, failedTask: -1}
		if initial == InitialStatePaused || initial == InitialStateStopped {
			c.target = string(initial)
		}
		h.connectors[name] = c
	}
	c.config = maps.Clone(config)
	if c.target != StateStopped {
		c.tasks, _ = strconv.Atoi(config["tasks.max"])
		c.tasks = max(c.tasks, 1)
	}
	info, err := h.infoLocked(name)
	return !exists, info, err
}

func (h *memHerder) PatchConnectorConfig(ctx context.Context, name string, patch ConfigPatch) (ConnectorInfo, error) {
	config, err := h.ConnectorConfig(ctx, name)
	if err != nil {
		return ConnectorInfo{}, err
	}
	for key, value := range patch {
		if value == nil {
			delete(config, key)
		} else {
			config[key] = *value
		}
	}
	_, info, err := h.PutConnectorConfig(ctx, name, config, "", true)
	return info, err
}

func (h *memHerder) DeleteConnector(ctx context.Context, name string) error {
	return h.update(ctx, "DeleteConnector", name, func(*memConnector) { delete(h.connectors, name) })
}

// update runs change on the named connector under the lock.
func (h *memHerder) update(ctx context.Context, op, name string, change func(*memConnector)) error {
	if err := h.enter(ctx, op); err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	c, err := h.connectorLocked(name)
	if err != nil {
		return err
	}
	change(c)
	return nil
}

func (h *memHerder) PauseConnector(ctx context.Context, name string) error {
	return h.update(ctx, "PauseConnector", name, func(c *memConnector) { c.target = StatePaused })
}

func (h *memHerder) ResumeConnector(ctx context.Context, name string) error {
	return h.update(ctx, "ResumeConnector", name, func(c *memConnector) { c.target = StateRunning })
}

func (h *memHerder) StopConnector(ctx context.Context, name string) error {
	return h.update(ctx, "StopConnector", name, func(c *memConnector) { c.target, c.tasks = StateStopped, 0 })
}

func (h *memHerder) RestartConnector(ctx context.Context, name string) error {
	return h.update(ctx, "RestartConnector", name, func(*memConnector) {})
}

func (h *memHerder) RestartConnectorAndTasks(ctx context.Context, req RestartRequest) (ConnectorStateInfo, error) {
	if err := h.enter(ctx, "RestartConnectorAndTasks"); err != nil {
		return ConnectorStateInfo{}, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	which := "none"
	switch {
	case req.IncludeTasks && req.OnlyFailed:
		which = "failed"
	case req.IncludeTasks:
		which = "all"
	}
	return h.statusLocked(req.Connector, which)
}

func (h *memHerder) RestartTask(ctx context.Context, id ConnectorTaskID) error {
	_, err := h.TaskStatus(ctx, id)
	return err
}

func (h *memHerder) ConnectorActiveTopics(ctx context.Context, name string) ([]string, error) {
	var topics []string
	err := h.update(ctx, "ConnectorActiveTopics", name, func(c *memConnector) { topics = slices.Clone(c.topics) })
	return topics, err
}

func (h *memHerder) ResetConnectorActiveTopics(ctx context.Context, name string) error {
	return h.update(ctx, "ResetConnectorActiveTopics", name, func(c *memConnector) { c.topics = nil })
}

func (h *memHerder) ConnectorOffsets(ctx context.Context, name string) (ConnectorOffsets, error) {
	var offsets ConnectorOffsets
	err := h.update(ctx, "ConnectorOffsets", name, func(c *memConnector) {
		offsets.Offsets = slices.Clone(c.offsets)
	})
	return offsets, err
}

func (h *memHerder) AlterConnectorOffsets(ctx context.Context, name string, offsets ConnectorOffsets) (Message, error) {
	return h.changeOffsets(ctx, name, "altered", func(c *memConnector) { c.offsets = offsets.Offsets })
}

func (h *memHerder) ResetConnectorOffsets(ctx context.Context, name string) (Message, error) {
	return h.changeOffsets(ctx, name, "reset", func(c *memConnector) { c.offsets = nil })
}

func (h *memHerder) changeOffsets(ctx context.Context, name, done string, change func(*memConnector)) (Message, error) {
	var notStopped bool
	err := h.update(ctx, "offsets", name, func(c *memConnector) {
		if notStopped = c.target != StateStopped; !notStopped {
			change(c)
		}
	})
	switch {
	case err != nil:
		return Message{}, err
	case notStopped:
		return Message{}, OffsetsNeedStopped(name)
	}
	return Message{Message: "The offsets for this connector have been " + done + " successfully"}, nil
}

func (h *memHerder) ConnectorPlugins(ctx context.Context) ([]PluginInfo, error) {
	return memPlugins(), h.enter(ctx, "ConnectorPlugins")
}

func (h *memHerder) ConnectorPluginConfig(ctx context.Context, plugin string) ([]ConfigKeyInfo, error) {
	if err := h.enter(ctx, "ConnectorPluginConfig"); err != nil {
		return nil, err
	}
	if connectorType(Config{connectorClassConfig: plugin}) == ConnectorTypeUnknown {
		return nil, NotFoundf("Unknown plugin %s.", plugin)
	}
	infos, _ := validate(Config{connectorClassConfig: plugin})
	var keys []ConfigKeyInfo
	for _, c := range infos.Configs {
		keys = append(keys, *c.Definition)
	}
	return keys, nil
}

func (h *memHerder) ValidateConnectorConfig(ctx context.Context, config Config) (ConfigInfos, error) {
	if err := h.enter(ctx, "ValidateConnectorConfig"); err != nil {
		return ConfigInfos{}, err
	}
	return validate(config)
}

// validate checks connector.class (a known connector) and tasks.max (an
// integer), as a connector's ConfigDef would.
func validate(config Config) (ConfigInfos, error) {
	class, ok := config[connectorClassConfig]
	if !ok {
		return ConfigInfos{}, BadRequestf("Connector config %v contains no connector type", config)
	}
	infos := ConfigInfos{Name: class, Groups: []string{"Common"}}
	value := func(key string) *string {
		if v, ok := config[key]; ok {
			return &v
		}
		return nil
	}
	classValue := &ConfigValueInfo{Name: connectorClassConfig, Value: value(connectorClassConfig), Visible: true}
	if connectorType(config) == ConnectorTypeUnknown {
		classValue.Errors = []string{"Invalid value " + class + " for configuration connector.class: Class not found"}
	}
	tasksValue := &ConfigValueInfo{Name: "tasks.max", Value: value("tasks.max"), Visible: true}
	if v := tasksValue.Value; v != nil {
		if _, err := strconv.Atoi(*v); err != nil {
			tasksValue.Errors = []string{"Invalid value " + *v + " for configuration tasks.max: Not a number of type INT"}
		}
	}
	defaultTasks, common := "1", "Common"
	infos.Configs = []ConfigInfo{
		{Definition: &ConfigKeyInfo{Name: connectorClassConfig, Type: "STRING", Required: true, Importance: "HIGH",
			Group: &common, Order: 2, Width: "LONG", DisplayName: "Connector class"}, Value: classValue},
		{Definition: &ConfigKeyInfo{Name: "tasks.max", Type: "INT", DefaultValue: &defaultTasks, Importance: "HIGH",
			Group: &common, Order: 3, Width: "SHORT", DisplayName: "Tasks max"}, Value: tasksValue},
	}
	infos.ErrorCount = len(classValue.Errors) + len(tasksValue.Errors)
	return infos, nil
}
