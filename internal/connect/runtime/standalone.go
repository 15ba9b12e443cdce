package runtime

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/fjordhq/fjord/connect"
	"github.com/fjordhq/fjord/internal/connect/rest"
)

// Standalone is the herder of a standalone worker (`fjord connect
// standalone`): connectors' configurations and target states live in
// memory, given on the command line or through the REST API; source
// offsets live in offset.storage.file.filename; every connector and task
// runs in this process.
type Standalone struct {
	herderBase

	ready chan struct{}
	// runCtx is the context connectors and tasks run under, set by Run.
	runCtx context.Context

	// opMu serializes the operations that start or stop connectors;
	// mu (shared with env) guards the maps and the runs' states.
	opMu       sync.Mutex
	mu         sync.Mutex
	connectors map[string]*connectorRun
}

// NewStandalone makes a standalone herder; Run starts it.
func NewStandalone(worker *WorkerConfig, registry *connect.Registry, logger *slog.Logger) (*Standalone, error) {
	offsets, err := openFileOffsetStore(worker.OffsetFile)
	if err != nil {
		return nil, err
	}
	opts := []kgo.Opt{kgo.SeedBrokers(worker.BootstrapServers...)}
	opts = append(opts, worker.Security.Opts(0)...)
	if worker.ClientID != "" {
		opts = append(opts, kgo.ClientID(worker.ClientID))
	}
	adminClient, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("admin client: %w", err)
	}
	h := &Standalone{
		herderBase: herderBase{registry: registry, workerID: workerID(worker), admin: kadm.NewClient(adminClient)},
		ready:      make(chan struct{}), connectors: map[string]*connectorRun{},
	}
	h.env = &runEnv{worker: worker, offsets: offsets, baseOpts: opts, logger: logger, mu: &h.mu,
		reconfigure: h.reconfigure, raised: h.raised, registry: registry}
	return h, nil
}

// Run starts the connectors created before it (with the given initial
// configurations, as connect-standalone.sh takes them) and serves until
// ctx ends, then stops every connector and task.
func (h *Standalone) Run(ctx context.Context, initial []map[string]string) error {
	h.mu.Lock()
	h.runCtx = ctx
	h.mu.Unlock()
	for _, config := range initial {
		if _, _, err := h.PutConnectorConfig(ctx, config[keyName], config, "", false); err != nil {
			return fmt.Errorf("connector %q: %w", config[keyName], err)
		}
	}
	close(h.ready)
	<-ctx.Done()
	h.opMu.Lock()
	defer h.opMu.Unlock()
	for _, run := range h.runs() {
		h.env.stop(run)
	}
	h.admin.Close()
	return nil
}

// runs returns every run, by name.
func (h *Standalone) runs() []*connectorRun {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.SortedFunc(maps.Values(h.connectors), func(a, b *connectorRun) int { return strings.Compare(a.name, b.name) })
}

// run returns the run of a connector, or a 404 error.
func (h *Standalone) run(name string) (*connectorRun, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if r, ok := h.connectors[name]; ok {
		return r, nil
	}
	return nil, rest.NotFoundf("Connector %s not found", name)
}

func (h *Standalone) HealthCheck(ctx context.Context) error {
	select {
	case <-h.ready:
		return nil
	default:
		return fmt.Errorf("%w: the worker is starting", rest.ErrStarting)
	}
}

func (h *Standalone) Connectors(context.Context) ([]string, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Sorted(maps.Keys(h.connectors)), nil
}

func (h *Standalone) ConnectorInfo(_ context.Context, name string) (rest.ConnectorInfo, error) {
	run, err := h.run(name)
	if err != nil {
		return rest.ConnectorInfo{}, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.infoLocked(run), nil
}

func (h *Standalone) infoLocked(run *connectorRun) rest.ConnectorInfo {
	info := rest.ConnectorInfo{Name: run.name, Config: cloneConfig(run.config), Type: connectorType(run.plugin.Type)}
	for i := range run.taskConfigs {
		info.Tasks = append(info.Tasks, rest.ConnectorTaskID{Connector: run.name, Task: i})
	}
	return info
}

func (h *Standalone) ConnectorConfig(_ context.Context, name string) (rest.Config, error) {
	run, err := h.run(name)
	if err != nil {
		return nil, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return cloneConfig(run.config), nil
}

func (h *Standalone) ConnectorStatus(_ context.Context, name string) (rest.ConnectorStateInfo, error) {
	run, err := h.run(name)
	if err != nil {
		return rest.ConnectorStateInfo{}, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	info := rest.ConnectorStateInfo{Name: run.name, Type: connectorType(run.plugin.Type),
		Connector: rest.ConnectorState{State: run.state, WorkerID: h.workerID, Trace: run.trace}}
	for _, t := range run.tasks {
		info.Tasks = append(info.Tasks, rest.TaskState{ID: t.id.Task, State: t.state, WorkerID: h.workerID, Trace: t.trace})
	}
	return info, nil
}

func (h *Standalone) TaskConfigs(_ context.Context, name string) ([]rest.TaskInfo, error) {
	run, err := h.run(name)
	if err != nil {
		return nil, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return taskInfos(name, run.taskConfigs), nil
}

func (h *Standalone) TaskStatus(ctx context.Context, id rest.ConnectorTaskID) (rest.TaskState, error) {
	status, err := h.ConnectorStatus(ctx, id.Connector)
	if err != nil {
		return rest.TaskState{}, err
	}
	return taskStateOf(status, id)
}

func (h *Standalone) PutConnectorConfig(ctx context.Context, name string, config rest.Config, initial rest.InitialState,
	allowReplace bool) (bool, rest.ConnectorInfo, error) {
	config, err := h.checkedConfig(name, config)
	if err != nil {
		return false, rest.ConnectorInfo{}, err
	}
	plugin, err := h.registry.Lookup(config[keyConnectorClass])
	if err != nil {
		return false, rest.ConnectorInfo{}, rest.BadRequestf("%v", err)
	}
	h.opMu.Lock()
	defer h.opMu.Unlock()
	h.mu.Lock()
	old, exists := h.connectors[name]
	h.mu.Unlock()
	if exists && !allowReplace {
		return false, rest.ConnectorInfo{}, rest.AlreadyExists(name)
	}
	run := &connectorRun{name: name, config: config, plugin: plugin, target: initialTarget(initial), state: StateUnassigned}
	if exists {
		h.env.stop(old)
		run.target = old.target
	}
	h.mu.Lock()
	h.connectors[name] = run
	h.mu.Unlock()
	h.env.start(h.context(ctx), run)
	h.mu.Lock()
	defer h.mu.Unlock()
	return !exists, h.infoLocked(run), nil
}

// context is the context runs start under: Run's, or, before Run, the
// caller's (tests that drive the herder without Run).
func (h *Standalone) context(ctx context.Context) context.Context {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.runCtx != nil {
		return h.runCtx
	}
	return context.WithoutCancel(ctx)
}

func initialTarget(s rest.InitialState) string {
	switch rest.InitialState(strings.ToUpper(string(s))) {
	case rest.InitialStatePaused:
		return targetPaused
	case rest.InitialStateStopped:
		return targetStopped
	}
	return targetStarted
}

func (h *Standalone) PatchConnectorConfig(ctx context.Context, name string, patch rest.ConfigPatch) (rest.ConnectorInfo, error) {
	config, err := h.ConnectorConfig(ctx, name)
	if err != nil {
		return rest.ConnectorInfo{}, err
	}
	_, info, err := h.PutConnectorConfig(ctx, name, patched(config, patch), "", true)
	return info, err
}

func (h *Standalone) DeleteConnector(_ context.Context, name string) error {
	h.opMu.Lock()
	defer h.opMu.Unlock()
	run, err := h.run(name)
	if err != nil {
		return err
	}
	h.env.stop(run)
	h.mu.Lock()
	delete(h.connectors, name)
	h.mu.Unlock()
	return nil
}

// setTarget moves a connector to a target state: pausing and resuming
// leave the tasks running, paused or not; stopping stops them and the
// connector, and leaving STOPPED starts them again.
func (h *Standalone) setTarget(ctx context.Context, name, target string) error {
	h.opMu.Lock()
	defer h.opMu.Unlock()
	run, err := h.run(name)
	if err != nil {
		return err
	}
	h.mu.Lock()
	from := run.target
	run.target = target
	tasks := slices.Clone(run.tasks)
	h.mu.Unlock()
	switch {
	case from == target:
	case target == targetStopped:
		h.env.stop(run)
		h.mu.Lock()
		run.taskConfigs = nil
		h.mu.Unlock()
		h.env.setConnector(run, StateStopped, nil)
	case from == targetStopped:
		h.env.start(h.context(ctx), run)
	default:
		for _, t := range tasks {
			t.target.set(target == targetPaused)
		}
		state := StateRunning
		if target == targetPaused {
			state = StatePaused
		}
		h.env.setConnector(run, state, nil)
	}
	return nil
}

func (h *Standalone) PauseConnector(ctx context.Context, name string) error {
	return h.setTarget(ctx, name, targetPaused)
}

func (h *Standalone) ResumeConnector(ctx context.Context, name string) error {
	return h.setTarget(ctx, name, targetStarted)
}

func (h *Standalone) StopConnector(ctx context.Context, name string) error {
	return h.setTarget(ctx, name, targetStopped)
}

func (h *Standalone) RestartConnector(ctx context.Context, name string) error {
	_, err := h.RestartConnectorAndTasks(ctx, rest.RestartRequest{Connector: name, IncludeTasks: true})
	return err
}

func (h *Standalone) RestartConnectorAndTasks(ctx context.Context, req rest.RestartRequest) (rest.ConnectorStateInfo, error) {
	status, err := h.ConnectorStatus(ctx, req.Connector)
	if err != nil {
		return status, err
	}
	failed := status.Connector.State == StateFailed
	for _, t := range status.Tasks {
		failed = failed || t.State == StateFailed
	}
	if req.OnlyFailed && !failed {
		return status, nil
	}
	h.opMu.Lock()
	run, err := h.run(req.Connector)
	if err == nil {
		h.env.stop(run)
		h.env.start(h.context(ctx), run)
	}
	h.opMu.Unlock()
	if err != nil {
		return rest.ConnectorStateInfo{}, err
	}
	return h.ConnectorStatus(ctx, req.Connector)
}

func (h *Standalone) RestartTask(ctx context.Context, id rest.ConnectorTaskID) error {
	if _, err := h.TaskStatus(ctx, id); err != nil {
		return err
	}
	return h.RestartConnector(ctx, id.Connector)
}

// reconfigure restarts a connector's tasks with the configurations it
// gives now, after ConnectorContext.RequestTaskReconfiguration.
func (h *Standalone) reconfigure(name string) {
	go func() {
		h.opMu.Lock()
		defer h.opMu.Unlock()
		run, err := h.run(name)
		runCtx := h.context(context.Background())
		if err != nil || runCtx.Err() != nil {
			return
		}
		h.env.stop(run)
		h.env.start(runCtx, run)
	}()
}

// raised fails a connector that reported an error of its own.
func (h *Standalone) raised(name string, err error) {
	if run, lookupErr := h.run(name); lookupErr == nil {
		h.env.setConnector(run, StateFailed, err)
	}
}

func (h *Standalone) ConnectorActiveTopics(_ context.Context, name string) ([]string, error) {
	if _, err := h.run(name); err != nil {
		return nil, err
	}
	return []string{}, nil
}

func (h *Standalone) ResetConnectorActiveTopics(_ context.Context, name string) error {
	_, err := h.run(name)
	return err
}
