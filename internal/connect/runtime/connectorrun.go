package runtime

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/fjordhq/fjord/connect"
)

// Target states of a connector, with Kafka's names in the config topic.
const (
	targetStarted = "STARTED"
	targetPaused  = "PAUSED"
	targetStopped = "STOPPED"
)

// connectorRun is one connector on this worker: its configuration and
// target state, its Connector instance while it runs, and its tasks. Its
// fields are guarded by the herder's mu; starting and stopping happen
// under the herder's opMu, one operation at a time, so that a connector's
// and its tasks' methods are never called concurrently by the herder.
type connectorRun struct {
	name   string
	config map[string]string
	plugin connect.Plugin
	target string

	state, trace string
	conn         connect.Connector
	taskConfigs  []map[string]string
	tasks        []*taskRun
}

// taskRun is one task's goroutine and its last reported state.
type taskRun struct {
	id           TaskID
	config       map[string]string
	state, trace string
	cancel       context.CancelFunc
	done         chan struct{}
	target       *targetState
}

// connectorStatusTask is the task number statusChanged gives a connector's
// own state.
const connectorStatusTask = -1

// runEnv is what running connectors and tasks need from the herder.
type runEnv struct {
	worker   *WorkerConfig
	offsets  offsetStore
	baseOpts []kgo.Opt
	logger   *slog.Logger
	// mu guards the runs' states, which the task goroutines report.
	mu *sync.Mutex
	// reconfigure is called when a connector asks for new task configs,
	// raised when it fails on its own (ConnectorContext.RaiseError).
	reconfigure func(name string)
	raised      func(name string, err error)
	// exactlyOnce runs source tasks in transactions (distributed mode with
	// exactly.once.source.support=enabled).
	exactlyOnce bool
	// statusChanged, if set, hears every state a connector (task
	// connectorStatusTask) or task reports, outside mu: distributed
	// mode writes them to the status topic.
	statusChanged func(id TaskID, state, trace string)
	// registry makes the connectors' transformation chains.
	registry *connect.Registry
}

// start starts the connector and, unless it is stopped, its tasks.
func (e *runEnv) start(ctx context.Context, run *connectorRun) {
	configs, ok := e.startConnector(run)
	if !ok {
		return
	}
	// Tasks resolve their variables when they start; what is kept and
	// shown has them as the user wrote them.
	configs = e.worker.ConfigProviders.unresolve(run.config, configs)
	e.mu.Lock()
	run.taskConfigs = configs
	e.mu.Unlock()
	for i, tc := range configs {
		e.startTask(ctx, run, i, tc)
	}
}

// startConnector starts the connector instance of run, unless it is
// stopped, and returns the task configurations it generates; false when
// it is stopped or failed (its state says which).
func (e *runEnv) startConnector(run *connectorRun) ([]map[string]string, bool) {
	if run.target == targetStopped {
		e.setConnector(run, StateStopped, nil)
		return nil, false
	}
	config, err := e.worker.ConfigProviders.resolve(run.config)
	if err != nil {
		e.setConnector(run, StateFailed, fmt.Errorf("connector %s: %w", run.name, err))
		return nil, false
	}
	conn := run.plugin.New()
	cctx := &connectorContext{env: e, name: run.name, reader: storeReader{store: e.offsets, connector: run.name}}
	if err := conn.Start(cctx, config); err != nil {
		e.setConnector(run, StateFailed, fmt.Errorf("starting connector %s: %w", run.name, err))
		return nil, false
	}
	e.mu.Lock()
	run.conn = conn
	e.mu.Unlock()
	configs, err := conn.TaskConfigs(tasksMax(config))
	if err != nil {
		e.setConnector(run, StateFailed, fmt.Errorf("connector %s: task configurations: %w", run.name, err))
		return nil, false
	}
	state := StateRunning
	if run.target == targetPaused {
		state = StatePaused
	}
	e.setConnector(run, state, nil)
	return configs, true
}

// startTask starts task i of run with its configuration.
func (e *runEnv) startTask(ctx context.Context, run *connectorRun, i int, taskConfig map[string]string) {
	t := &taskRun{id: TaskID{run.name, i}, config: taskConfig, state: StateUnassigned, done: make(chan struct{}), target: &targetState{}}
	t.target.set(run.target == targetPaused)
	e.mu.Lock()
	run.tasks = append(run.tasks, t)
	e.mu.Unlock()
	report := func(state string, err error) { e.setTask(t, state, err) }
	runner, err := e.newRunner(run, t, taskConfig, report)
	if err != nil {
		report(StateFailed, err)
		close(t.done)
		return
	}
	tctx, cancel := context.WithCancel(ctx)
	t.cancel = cancel
	go func() {
		defer close(t.done)
		runner.run(tctx)
	}()
}

// taskRunner is a source or sink task's loop.
type taskRunner interface{ run(ctx context.Context) }

// newRunner makes the loop of a task of run.
func (e *runEnv) newRunner(run *connectorRun, t *taskRun, taskConfig map[string]string, report func(string, error)) (taskRunner, error) {
	connectorConfig, err := e.worker.ConfigProviders.resolve(run.config)
	if err == nil {
		taskConfig, err = e.worker.ConfigProviders.resolve(taskConfig)
	}
	if err != nil {
		return nil, fmt.Errorf("task %s: %w", t.id, err)
	}
	conv, err := connectorConverters(e.worker, connectorConfig)
	if err != nil {
		return nil, fmt.Errorf("task %s: %w", t.id, err)
	}
	chain, err := e.registry.NewChain(connectorConfig)
	if err != nil {
		return nil, fmt.Errorf("task %s: %w", t.id, err)
	}
	if chain.Len() == 0 {
		chain = nil
	}
	// A task may run on a worker without its connector's instance (in
	// distributed mode): an unstarted instance makes it, as Kafka makes
	// tasks from the connector's task class.
	conn := run.conn
	if conn == nil {
		conn = run.plugin.New()
	}
	switch conn := conn.(type) {
	case connect.SourceConnector:
		opts := append(e.clientOpts(), kgo.RecordPartitioner(newSourcePartitioner()))
		var txn *sourceTransactions
		if e.exactlyOnce {
			if txn, err = newSourceTransactions(e.worker, t.id, connectorConfig); err != nil {
				return nil, fmt.Errorf("task %s: %w", t.id, err)
			}
			opts = append(opts, kgo.TransactionalID(txn.id))
		}
		producer, err := kgo.NewClient(opts...)
		if err != nil {
			return nil, fmt.Errorf("task %s: producer: %w", t.id, err)
		}
		r := &sourceTaskRunner{
			id: t.id, task: conn.NewTask(), config: taskConfig, converters: conv,
			producer: producer, offsets: e.offsets, flushEvery: e.worker.OffsetFlushInterval,
			flushTimeout: e.worker.OffsetFlushTimeout, report: report, logger: e.logger, target: t.target, txn: txn,
		}
		if txn != nil && txn.interval > 0 {
			r.flushEvery = txn.interval
		}
		if chain != nil {
			r.transform = func(rec *connect.SourceRecord) (bool, error) {
				out, keep, err := chain.ApplySource(*rec)
				*rec = out
				return keep, err
			}
		}
		return &closingRunner{taskRunner: r, close: func() { producer.Close(); closeChain(chain) }}, nil
	case connect.SinkConnector:
		r := &sinkTaskRunner{
			id: t.id, task: conn.NewTask(), config: taskConfig, connectorConfig: connectorConfig, converters: conv,
			consumerOpts: e.clientOpts(), producerOpts: e.clientOpts(), flushEvery: e.worker.OffsetFlushInterval,
			report: report, logger: e.logger, target: t.target,
		}
		if chain != nil {
			r.transform = func(rec *connect.SinkRecord) (bool, error) {
				out, keep, err := chain.ApplySink(*rec)
				*rec = out
				return keep, err
			}
		}
		return &closingRunner{taskRunner: r, close: func() { closeChain(chain) }}, nil
	}
	closeChain(chain)
	return nil, fmt.Errorf("task %s: %w: %T is neither a source nor a sink connector", t.id, errors.ErrUnsupported, conn)
}

func closeChain(c *connect.Chain) {
	if c != nil {
		_ = c.Close()
	}
}

// clientOpts are a new client's options: the worker's own.
func (e *runEnv) clientOpts() []kgo.Opt { return append([]kgo.Opt(nil), e.baseOpts...) }

// closingRunner closes a task's clients once its loop returns.
type closingRunner struct {
	taskRunner
	close func()
}

func (c *closingRunner) run(ctx context.Context) {
	defer c.close()
	c.taskRunner.run(ctx)
}

// stop stops run's tasks (each within task.shutdown.graceful.timeout.ms,
// then abandoned with a warning, as Kafka does) and its connector.
func (e *runEnv) stop(run *connectorRun) {
	e.stopTasks(run)
	e.stopConnector(run)
}

// stopConnector stops run's connector instance, if it runs.
func (e *runEnv) stopConnector(run *connectorRun) {
	e.mu.Lock()
	conn := run.conn
	run.conn = nil
	e.mu.Unlock()
	if conn != nil {
		if err := conn.Stop(); err != nil {
			e.logger.Warn("stopping connector", "connector", run.name, "err", err)
		}
	}
}

func (e *runEnv) stopTasks(run *connectorRun) {
	e.mu.Lock()
	tasks := run.tasks
	run.tasks = nil
	e.mu.Unlock()
	e.awaitStopped(tasks)
}

// stopTask stops one of run's tasks, if it runs here.
func (e *runEnv) stopTask(run *connectorRun, task int) {
	e.mu.Lock()
	var stopping []*taskRun
	run.tasks = slices.DeleteFunc(run.tasks, func(t *taskRun) bool {
		if t.id.Task == task {
			stopping = append(stopping, t)
			return true
		}
		return false
	})
	e.mu.Unlock()
	e.awaitStopped(stopping)
}

// awaitStopped cancels tasks and waits for them, each within
// task.shutdown.graceful.timeout.ms.
func (e *runEnv) awaitStopped(tasks []*taskRun) {
	for _, t := range tasks {
		if t.cancel != nil {
			t.cancel()
		}
	}
	timer := time.NewTimer(e.worker.TaskShutdownTimeout)
	defer timer.Stop()
	for _, t := range tasks {
		select {
		case <-t.done:
		case <-timer.C:
			e.logger.Warn("task did not stop in time; abandoned", "task", t.id.String(), "timeout", e.worker.TaskShutdownTimeout)
		}
	}
}

func (e *runEnv) setConnector(run *connectorRun, state string, err error) {
	e.mu.Lock()
	run.state, run.trace = state, ""
	if err != nil {
		run.trace = err.Error()
		e.logger.Error("connector failed", "connector", run.name, "err", err)
	}
	trace := run.trace
	e.mu.Unlock()
	if e.statusChanged != nil {
		e.statusChanged(TaskID{Connector: run.name, Task: connectorStatusTask}, state, trace)
	}
}

func (e *runEnv) setTask(t *taskRun, state string, err error) {
	e.mu.Lock()
	t.state, t.trace = state, ""
	if err != nil {
		t.trace = err.Error()
	}
	trace := t.trace
	e.mu.Unlock()
	if e.statusChanged != nil {
		e.statusChanged(t.id, state, trace)
	}
}

// connectorContext is what a connector sees of the worker.
type connectorContext struct {
	env    *runEnv
	name   string
	reader connect.OffsetReader
}

func (c *connectorContext) RequestTaskReconfiguration() { c.env.reconfigure(c.name) }

func (c *connectorContext) RaiseError(err error) { c.env.raised(c.name, err) }

func (c *connectorContext) OffsetReader() connect.OffsetReader { return c.reader }

// cloneConfig copies a configuration map.
func cloneConfig(c map[string]string) map[string]string { return maps.Clone(c) }
