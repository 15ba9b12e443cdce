package runtime

import (
	"context"
	"maps"
	"slices"
	"time"

	"github.com/fjordhq/fjord/internal/connect/kafkastore"
	"github.com/fjordhq/fjord/internal/connect/workergroup"
)

// statusWriteTimeout bounds one status write, so that a task reporting its
// state cannot hang on an unreachable cluster.
const statusWriteTimeout = 30 * time.Second

// reconcile makes this worker run what its assignment names, with the
// configurations of the config snapshot: it stops what is no longer
// assigned, configured or of the same configuration, applies restart
// requests and target states, and starts what is missing. The caller
// holds opMu.
func (d *Distributed) reconcile(ctx context.Context) {
	snap := d.configs.Snapshot()
	d.mu.Lock()
	joined := d.joined
	restarts := d.restarts
	d.restarts = nil
	d.mu.Unlock()
	if joined == nil || ctx.Err() != nil {
		return
	}
	d.checkRebalanceNeeded(snap)
	wantConnectors := map[string]bool{}
	for _, c := range joined.Assignment.Connectors {
		wantConnectors[c] = true
	}
	wantTasks := map[TaskID]bool{}
	names := maps.Clone(wantConnectors)
	for _, t := range joined.Assignment.Tasks {
		wantTasks[TaskID{Connector: t.Connector, Task: int(t.Task)}] = true
		names[t.Connector] = true
	}
	d.stopUnwanted(snap, wantConnectors, wantTasks)
	d.applyRestarts(restarts)
	for _, name := range slices.Sorted(maps.Keys(names)) {
		d.startWanted(ctx, snap, name, wantConnectors[name], wantTasks)
	}
}

// checkRebalanceNeeded has the leader rejoin the group when connectors
// came or went or their task counts changed since the group last assigned
// them; until the new assignment, writes answer 409 (Kafka's
// needsReconfigRebalance).
func (d *Distributed) checkRebalanceNeeded(snap kafkastore.ConfigSnapshot) {
	d.mu.Lock()
	leader := d.joined != nil && d.joined.Assignment.Leader == d.joined.MemberID
	needed := leader && !maps.Equal(d.assignedCounts, configuredCounts(snap))
	if needed {
		d.rebalancing = true
	}
	d.mu.Unlock()
	if needed {
		d.member.RequestRejoin()
	}
}

// stopUnwanted stops the connectors and tasks this worker runs that are
// not assigned to it, no longer configured, of another configuration, or
// stopped.
func (d *Distributed) stopUnwanted(snap kafkastore.ConfigSnapshot, wantConnectors map[string]bool, wantTasks map[TaskID]bool) {
	for _, name := range slices.Sorted(maps.Keys(d.runs)) {
		run := d.runs[name]
		config, configured := snap.ConnectorConfigs[name]
		if !configured || !maps.Equal(config, run.config) {
			d.env.stop(run)
			if !configured && (run.conn != nil || wantConnectors[name]) {
				d.putStatus(TaskID{Connector: name, Task: connectorStatusTask}, string(kafkastore.StateDestroyed), "")
			}
			delete(d.runs, name)
			continue
		}
		target := targetOf(snap, name)
		if run.conn != nil && (!wantConnectors[name] || target == targetStopped) {
			d.env.stopConnector(run)
			if !wantConnectors[name] {
				d.putStatus(TaskID{Connector: name, Task: connectorStatusTask}, StateUnassigned, "")
			}
		}
		d.mu.Lock()
		tasks := slices.Clone(run.tasks)
		d.mu.Unlock()
		configs := snap.TaskConfigs[name]
		for _, t := range tasks {
			current := t.id.Task < len(configs) && maps.Equal(configs[t.id.Task], t.config)
			if !wantTasks[t.id] || !current || target == targetStopped {
				d.env.stopTask(run, t.id.Task)
				d.putStatus(t.id, StateUnassigned, "")
			}
		}
	}
}

// targetOf is a connector's target state in the snapshot: STARTED when it
// has none.
func targetOf(snap kafkastore.ConfigSnapshot, name string) string {
	if t, ok := snap.TargetStates[name]; ok {
		return string(t)
	}
	return targetStarted
}

// applyRestarts stops the instances that restart requests name, on this
// worker; startWanted starts them again.
func (d *Distributed) applyRestarts(requests []kafkastore.RestartRequest) {
	for _, req := range requests {
		run, ok := d.runs[req.Connector]
		if !ok {
			continue
		}
		d.mu.Lock()
		connectorFailed := run.state == StateFailed
		tasks := slices.Clone(run.tasks)
		d.mu.Unlock()
		if run.conn != nil || connectorFailed {
			if !req.OnlyFailed || connectorFailed {
				d.env.stopConnector(run)
				d.env.setConnector(run, StateRestarting, nil)
			}
		}
		if !req.IncludeTasks {
			continue
		}
		for _, t := range tasks {
			d.mu.Lock()
			failed := t.state == StateFailed
			d.mu.Unlock()
			if !req.OnlyFailed || failed {
				d.env.stopTask(run, t.id.Task)
				d.putStatus(t.id, StateRestarting, "")
			}
		}
	}
}

// startWanted starts what is assigned of connector name and not running
// here, and applies its target state to its running tasks.
func (d *Distributed) startWanted(ctx context.Context, snap kafkastore.ConfigSnapshot, name string, wantConnector bool,
	wantTasks map[TaskID]bool) {
	config, ok := snap.ConnectorConfigs[name]
	if !ok {
		return
	}
	target := targetOf(snap, name)
	run, ok := d.runs[name]
	if !ok {
		plugin, err := d.registry.Lookup(config[keyConnectorClass])
		run = &connectorRun{name: name, config: config, plugin: plugin, target: target, state: StateUnassigned}
		d.runs[name] = run
		if err != nil {
			if wantConnector {
				d.env.setConnector(run, StateFailed, err)
			}
			return
		}
	}
	d.mu.Lock()
	run.target = target
	connectorDown := run.conn == nil && run.state != StateFailed && run.state != StateStopped ||
		run.state == StateRestarting || run.state == StateStopped && target != targetStopped
	running := map[int]*taskRun{}
	for _, t := range run.tasks {
		running[t.id.Task] = t
	}
	d.mu.Unlock()
	if run.plugin.New == nil {
		return
	}
	if wantConnector && connectorDown {
		if configs, ok := d.env.startConnector(run); ok {
			d.publishTaskConfigs(ctx, snap, name, configs)
		}
	}
	d.mu.Lock()
	state, conn := run.state, run.conn
	d.mu.Unlock()
	if conn != nil {
		// Pausing and resuming leave the instance running.
		if want := map[bool]string{true: StatePaused, false: StateRunning}[target == targetPaused]; state != want {
			d.env.setConnector(run, want, nil)
		}
	}
	if target == targetStopped {
		return
	}
	configs := snap.TaskConfigs[name]
	for i, tc := range configs {
		id := TaskID{Connector: name, Task: i}
		if t, ok := running[i]; ok {
			t.target.set(target == targetPaused)
			continue
		}
		if wantTasks[id] {
			d.env.startTask(ctx, run, i, tc)
		}
	}
}

// publishTaskConfigs writes a connector's task configurations to the config
// topic when they differ from the committed ones. Kafka has the leader
// write them (a worker forwards them); here the connector's worker writes
// them itself, as the group runs one instance of a connector at a time.
func (d *Distributed) publishTaskConfigs(ctx context.Context, snap kafkastore.ConfigSnapshot, name string, configs []map[string]string) {
	configs = d.worker.ConfigProviders.unresolve(snap.ConnectorConfigs[name], configs)
	if slices.EqualFunc(configs, snap.TaskConfigs[name], maps.Equal) && !snap.Inconsistent[name] {
		return
	}
	if err := d.fenceRemovedTasks(ctx, snap, name, len(configs)); err != nil {
		d.logger.Warn("fencing removed tasks", "connector", name, "err", err)
		return
	}
	if err := d.configs.PutTaskConfigs(ctx, name, configs); err != nil {
		d.logger.Warn("writing task configurations", "connector", name, "err", err)
	}
}

// fenceRemovedTasks fences, under exactly-once, the tasks of a connector
// from task count on, before task configurations without them are written.
func (d *Distributed) fenceRemovedTasks(ctx context.Context, snap kafkastore.ConfigSnapshot, name string, count int) error {
	if !d.env.exactlyOnce || len(snap.TaskConfigs[name]) <= count {
		return nil
	}
	return fenceTasks(ctx, d.client, d.worker.GroupID, name, count, len(snap.TaskConfigs[name]))
}

// stopRevoked stops revoked connectors and tasks. The caller holds opMu.
func (d *Distributed) stopRevoked(connectors []string, tasks []workergroup.TaskID) {
	for _, name := range connectors {
		if run, ok := d.runs[name]; ok {
			d.env.stopConnector(run)
			d.putStatus(TaskID{Connector: name, Task: connectorStatusTask}, StateUnassigned, "")
		}
	}
	for _, t := range tasks {
		if run, ok := d.runs[t.Connector]; ok {
			d.env.stopTask(run, int(t.Task))
			d.putStatus(TaskID{Connector: t.Connector, Task: int(t.Task)}, StateUnassigned, "")
		}
	}
	for name, run := range d.runs {
		d.mu.Lock()
		idle := run.conn == nil && len(run.tasks) == 0
		d.mu.Unlock()
		if idle {
			delete(d.runs, name)
		}
	}
}

// stopAll stops everything still running, at shutdown.
func (d *Distributed) stopAll() {
	d.opMu.Lock()
	defer d.opMu.Unlock()
	for name, run := range d.runs {
		d.env.stop(run)
		delete(d.runs, name)
	}
}

// statusChanged writes a state a connector or task reported to the status
// topic, unless a later generation's report of another worker is there.
func (d *Distributed) statusChanged(id TaskID, state, trace string) {
	d.putStatus(id, state, trace)
}

func (d *Distributed) putStatus(id TaskID, state, trace string) {
	d.mu.Lock()
	ctx := d.runCtx
	d.mu.Unlock()
	if ctx == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), statusWriteTimeout)
	defer cancel()
	st := kafkastore.Status{State: kafkastore.StatusState(state), Trace: trace, WorkerID: d.workerID, Generation: d.generation()}
	var err error
	if id.Task == connectorStatusTask {
		_, err = d.statuses.PutConnectorSafe(ctx, id.Connector, st)
	} else {
		_, err = d.statuses.PutTaskSafe(ctx, kafkastore.TaskID{Connector: id.Connector, Task: id.Task}, st)
	}
	if err != nil {
		d.logger.Warn("writing a status", "of", id.String(), "state", state, "err", err)
	}
}

// reconfigure asks a running connector for its task configurations again,
// after ConnectorContext.RequestTaskReconfiguration, and publishes them if
// they changed.
func (d *Distributed) reconfigure(name string) {
	go func() {
		d.opMu.Lock()
		defer d.opMu.Unlock()
		run, ok := d.runs[name]
		d.mu.Lock()
		ctx := d.runCtx
		d.mu.Unlock()
		if !ok || run.conn == nil || ctx == nil || ctx.Err() != nil {
			return
		}
		configs, err := run.conn.TaskConfigs(tasksMax(run.config))
		if err != nil {
			d.env.setConnector(run, StateFailed, err)
			return
		}
		d.publishTaskConfigs(ctx, d.configs.Snapshot(), name, configs)
	}()
}

// raised fails a connector that reported an error of its own.
func (d *Distributed) raised(name string, err error) {
	go func() {
		d.opMu.Lock()
		defer d.opMu.Unlock()
		if run, ok := d.runs[name]; ok {
			d.env.setConnector(run, StateFailed, err)
		}
	}()
}
