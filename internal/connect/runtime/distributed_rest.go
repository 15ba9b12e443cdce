package runtime

import (
	"context"
	"fmt"
	"maps"
	"net/url"
	"slices"

	"github.com/fjordhq/fjord/internal/connect/kafkastore"
	"github.com/fjordhq/fjord/internal/connect/rest"
)

// snapshot reads the config topic to its end and returns what it holds,
// so that a worker answers with what was written through any other.
func (d *Distributed) snapshot(ctx context.Context) (kafkastore.ConfigSnapshot, error) {
	if err := d.configs.ReadToEnd(ctx); err != nil {
		return kafkastore.ConfigSnapshot{}, fmt.Errorf("reading the config topic: %w", err)
	}
	return d.configs.Snapshot(), nil
}

// configured returns the snapshot, or a 404 when it lacks connector name.
func (d *Distributed) configured(ctx context.Context, name string) (kafkastore.ConfigSnapshot, error) {
	snap, err := d.snapshot(ctx)
	if err != nil {
		return snap, err
	}
	if _, ok := snap.ConnectorConfigs[name]; !ok {
		return snap, rest.NotFoundf("Connector %s not found", name)
	}
	return snap, nil
}

func (d *Distributed) Connectors(ctx context.Context) ([]string, error) {
	snap, err := d.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	return slices.Sorted(maps.Keys(snap.ConnectorConfigs)), nil
}

func (d *Distributed) ConnectorInfo(ctx context.Context, name string) (rest.ConnectorInfo, error) {
	snap, err := d.configured(ctx, name)
	if err != nil {
		return rest.ConnectorInfo{}, err
	}
	return d.info(snap, name), nil
}

func (d *Distributed) info(snap kafkastore.ConfigSnapshot, name string) rest.ConnectorInfo {
	config := cloneConfig(snap.ConnectorConfigs[name])
	info := rest.ConnectorInfo{Name: name, Config: config, Type: rest.ConnectorTypeUnknown, Tasks: []rest.ConnectorTaskID{}}
	if plugin, err := d.registry.Lookup(config[keyConnectorClass]); err == nil {
		info.Type = connectorType(plugin.Type)
	}
	for i := range snap.TaskConfigs[name] {
		info.Tasks = append(info.Tasks, rest.ConnectorTaskID{Connector: name, Task: i})
	}
	return info
}

func (d *Distributed) ConnectorConfig(ctx context.Context, name string) (rest.Config, error) {
	snap, err := d.configured(ctx, name)
	if err != nil {
		return nil, err
	}
	return cloneConfig(snap.ConnectorConfigs[name]), nil
}

func (d *Distributed) ConnectorStatus(ctx context.Context, name string) (rest.ConnectorStateInfo, error) {
	snap, err := d.configured(ctx, name)
	if err != nil {
		return rest.ConnectorStateInfo{}, err
	}
	if err := d.statuses.ReadToEnd(ctx); err != nil {
		return rest.ConnectorStateInfo{}, fmt.Errorf("reading the status topic: %w", err)
	}
	st, ok := d.statuses.Connector(name)
	if !ok {
		return rest.ConnectorStateInfo{}, rest.NotFoundf("No status found for connector %s", name)
	}
	info := rest.ConnectorStateInfo{Name: name, Type: d.info(snap, name).Type,
		Connector: rest.ConnectorState{State: string(st.State), WorkerID: st.WorkerID, Trace: st.Trace}, Tasks: []rest.TaskState{}}
	for _, t := range d.statuses.Tasks(name) {
		if t.ID.Task < len(snap.TaskConfigs[name]) {
			info.Tasks = append(info.Tasks, rest.TaskState{ID: t.ID.Task, State: string(t.State), WorkerID: t.WorkerID, Trace: t.Trace})
		}
	}
	return info, nil
}

func (d *Distributed) TaskConfigs(ctx context.Context, name string) ([]rest.TaskInfo, error) {
	snap, err := d.configured(ctx, name)
	if err != nil {
		return nil, err
	}
	return taskInfos(name, snap.TaskConfigs[name]), nil
}

func (d *Distributed) TaskStatus(ctx context.Context, id rest.ConnectorTaskID) (rest.TaskState, error) {
	status, err := d.ConnectorStatus(ctx, id.Connector)
	if err != nil {
		return rest.TaskState{}, err
	}
	return taskStateOf(status, id)
}

func (d *Distributed) PutConnectorConfig(ctx context.Context, name string, config rest.Config, initial rest.InitialState,
	allowReplace bool) (bool, rest.ConnectorInfo, error) {
	config, err := d.checkedConfig(name, config)
	if err != nil {
		return false, rest.ConnectorInfo{}, err
	}
	if err := d.leadership("Only the leader can set connector configs."); err != nil {
		return false, rest.ConnectorInfo{}, err
	}
	snap, err := d.snapshot(ctx)
	if err != nil {
		return false, rest.ConnectorInfo{}, err
	}
	_, exists := snap.ConnectorConfigs[name]
	if exists && !allowReplace {
		return false, rest.ConnectorInfo{}, rest.AlreadyExists(name)
	}
	var target kafkastore.TargetState
	if initial != "" && !exists {
		target = kafkastore.TargetState(initialTarget(initial))
	}
	if err := d.configs.PutConnectorConfig(ctx, name, config, target); err != nil {
		return false, rest.ConnectorInfo{}, fmt.Errorf("writing the configuration of %s: %w", name, err)
	}
	return !exists, d.info(d.configs.Snapshot(), name), nil
}

func (d *Distributed) PatchConnectorConfig(ctx context.Context, name string, patch rest.ConfigPatch) (rest.ConnectorInfo, error) {
	config, err := d.ConnectorConfig(ctx, name)
	if err != nil {
		return rest.ConnectorInfo{}, err
	}
	_, info, err := d.PutConnectorConfig(ctx, name, patched(config, patch), "", true)
	return info, err
}

func (d *Distributed) DeleteConnector(ctx context.Context, name string) error {
	if err := d.leadership("Only the leader can delete connectors."); err != nil {
		return err
	}
	if _, err := d.configured(ctx, name); err != nil {
		return err
	}
	if err := d.configs.RemoveConnectorConfig(ctx, name); err != nil {
		return fmt.Errorf("removing connector %s: %w", name, err)
	}
	return nil
}

// putTarget writes a connector's target state. Any worker may, as in
// Kafka: the connector's workers apply it when they read it.
func (d *Distributed) putTarget(ctx context.Context, name string, target kafkastore.TargetState) error {
	if _, err := d.configured(ctx, name); err != nil {
		return err
	}
	if err := d.configs.PutTargetState(ctx, name, target); err != nil {
		return fmt.Errorf("setting the target state of %s: %w", name, err)
	}
	return nil
}

func (d *Distributed) PauseConnector(ctx context.Context, name string) error {
	return d.putTarget(ctx, name, kafkastore.TargetPaused)
}

func (d *Distributed) ResumeConnector(ctx context.Context, name string) error {
	return d.putTarget(ctx, name, kafkastore.TargetStarted)
}

// StopConnector empties the connector's task configurations and sets it
// STOPPED (KIP-875), on the leader as Kafka does.
func (d *Distributed) StopConnector(ctx context.Context, name string) error {
	if err := d.leadership("Only the leader can stop connectors."); err != nil {
		return err
	}
	if _, err := d.configured(ctx, name); err != nil {
		return err
	}
	if err := d.configs.PutTaskConfigs(ctx, name, nil); err != nil {
		return fmt.Errorf("stopping %s: %w", name, err)
	}
	return d.putTarget(ctx, name, kafkastore.TargetStopped)
}

func (d *Distributed) RestartConnector(ctx context.Context, name string) error {
	_, err := d.RestartConnectorAndTasks(ctx, rest.RestartRequest{Connector: name})
	return err
}

// RestartConnectorAndTasks writes a restart request to the config topic
// (KIP-745), on the leader; the workers running what it names restart it.
// The answer is the status with what will restart as RESTARTING.
func (d *Distributed) RestartConnectorAndTasks(ctx context.Context, req rest.RestartRequest) (rest.ConnectorStateInfo, error) {
	if err := d.leadership("Only the leader can restart connectors."); err != nil {
		return rest.ConnectorStateInfo{}, err
	}
	status, err := d.ConnectorStatus(ctx, req.Connector)
	if err != nil {
		return status, err
	}
	restart := func(state string) bool { return !req.OnlyFailed || state == StateFailed }
	planned := false
	if restart(status.Connector.State) {
		status.Connector.State, planned = StateRestarting, true
	}
	for i, t := range status.Tasks {
		if req.IncludeTasks && restart(t.State) {
			status.Tasks[i].State, planned = StateRestarting, true
		}
	}
	if !planned {
		return status, nil
	}
	err = d.configs.PutRestartRequest(ctx, kafkastore.RestartRequest{Connector: req.Connector, OnlyFailed: req.OnlyFailed,
		IncludeTasks: req.IncludeTasks})
	if err != nil {
		return rest.ConnectorStateInfo{}, fmt.Errorf("restarting %s: %w", req.Connector, err)
	}
	return status, nil
}

// RestartTask restarts a task that runs here, or sends the request to the
// worker whose status says it runs the task.
func (d *Distributed) RestartTask(ctx context.Context, id rest.ConnectorTaskID) error {
	status, err := d.TaskStatus(ctx, id)
	if err != nil {
		return err
	}
	d.opMu.Lock()
	defer d.opMu.Unlock()
	run, ok := d.runs[id.Connector]
	var task *taskRun
	if ok {
		d.mu.Lock()
		for _, t := range run.tasks {
			if t.id.Task == id.Task {
				task = t
			}
		}
		d.mu.Unlock()
	}
	if task == nil {
		if status.WorkerID == "" || status.WorkerID == d.workerID {
			return fmt.Errorf("%w: task %s-%d is not running anywhere", rest.ErrRebalanceNeeded, id.Connector, id.Task)
		}
		return &rest.NotLeaderError{LeaderURL: d.peerURL(status.WorkerID), Reason: "The task runs on another worker."}
	}
	d.env.stopTask(run, id.Task)
	d.mu.Lock()
	ctx = d.runCtx
	d.mu.Unlock()
	d.env.startTask(ctx, run, id.Task, task.config)
	return nil
}

// peerURL is the REST URL of the worker with the given id (host:port), in
// this worker's scheme.
func (d *Distributed) peerURL(workerID string) string {
	scheme := "http"
	if u, err := url.Parse(d.url); err == nil && u.Scheme != "" {
		scheme = u.Scheme
	}
	return scheme + "://" + workerID
}

func (d *Distributed) ConnectorActiveTopics(ctx context.Context, name string) ([]string, error) {
	if _, err := d.configured(ctx, name); err != nil {
		return nil, err
	}
	return []string{}, nil
}

func (d *Distributed) ResetConnectorActiveTopics(ctx context.Context, name string) error {
	_, err := d.configured(ctx, name)
	return err
}

func (d *Distributed) ConnectorOffsets(ctx context.Context, name string) (rest.ConnectorOffsets, error) {
	snap, err := d.configured(ctx, name)
	if err != nil {
		return rest.ConnectorOffsets{}, err
	}
	plugin, err := d.registry.Lookup(snap.ConnectorConfigs[name][keyConnectorClass])
	if err != nil {
		return rest.ConnectorOffsets{}, rest.BadRequestf("%v", err)
	}
	return d.connectorOffsets(ctx, name, plugin)
}

// AlterConnectorOffsets changes a stopped connector's offsets, on the
// leader as Kafka does.
func (d *Distributed) AlterConnectorOffsets(ctx context.Context, name string, offsets rest.ConnectorOffsets) (rest.Message, error) {
	if err := d.leadership("Only the leader can alter connector offsets."); err != nil {
		return rest.Message{}, err
	}
	snap, err := d.configured(ctx, name)
	if err != nil {
		return rest.Message{}, err
	}
	if targetOf(snap, name) != targetStopped {
		return rest.Message{}, rest.OffsetsNeedStopped(name)
	}
	config := snap.ConnectorConfigs[name]
	plugin, err := d.registry.Lookup(config[keyConnectorClass])
	if err != nil {
		return rest.Message{}, rest.BadRequestf("%v", err)
	}
	return d.alterOffsets(ctx, name, plugin, config, offsets)
}

func (d *Distributed) ResetConnectorOffsets(ctx context.Context, name string) (rest.Message, error) {
	return resetOffsets(ctx, d, name)
}

var _ rest.Herder = (*Distributed)(nil)
