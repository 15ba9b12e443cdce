package workergroup

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// ProtocolVersion is the version that opens every metadata and assignment
// of Kafka Connect's group protocol: 0 eager, 1 incremental cooperative
// (KIP-415), 2 the same with internal request signing (KIP-507).
type ProtocolVersion int16

// Compatibility is Kafka Connect's connect.protocol setting. Its values are
// the protocol version each mode speaks.
type Compatibility int16

const (
	// Eager revokes everything at every rebalance (protocol "default", V0).
	Eager Compatibility = 0
	// Compatible is incremental cooperative rebalancing (protocol
	// "compatible", V1).
	Compatible Compatibility = 1
	// Sessioned is Compatible plus session keys for internal REST requests
	// (protocol "sessioned", V2); Kafka's default.
	Sessioned Compatibility = 2
)

// ParseCompatibility reads a connect.protocol value, case-insensitively as
// Kafka does.
func ParseCompatibility(name string) (Compatibility, error) {
	for _, c := range []Compatibility{Eager, Compatible, Sessioned} {
		if strings.EqualFold(name, c.String()) {
			return c, nil
		}
	}
	return 0, fmt.Errorf("unknown connect.protocol %q: want eager, compatible or sessioned", name)
}

// String is the connect.protocol value of c.
func (c Compatibility) String() string {
	switch c {
	case Eager:
		return "eager"
	case Compatible:
		return "compatible"
	case Sessioned:
		return "sessioned"
	}
	return fmt.Sprintf("Compatibility(%d)", int16(c))
}

// ProtocolName is the name c goes by in JoinGroup's protocol list.
func (c Compatibility) ProtocolName() string {
	if c == Eager {
		return "default"
	}
	return c.String()
}

// Version is the protocol version c speaks.
func (c Compatibility) Version() ProtocolVersion { return ProtocolVersion(c) }

// compatibilityOfProtocol maps a JoinGroup protocol name back to its mode.
func compatibilityOfProtocol(name string) (Compatibility, bool) {
	for _, c := range []Compatibility{Eager, Compatible, Sessioned} {
		if strings.EqualFold(name, c.ProtocolName()) {
			return c, true
		}
	}
	return 0, false
}

// connectorTask is the task number that stands for the connector itself
// in an assignment's task list (Kafka's CONNECTOR_TASK).
const connectorTask = -1

// TaskID names one task: its connector and its number, from 0.
type TaskID struct {
	Connector string
	Task      int32
}

func (t TaskID) String() string { return fmt.Sprintf("%s-%d", t.Connector, t.Task) }

// compareTaskIDs orders tasks as Kafka's ConnectorTaskId does: by
// connector, then by number.
func compareTaskIDs(a, b TaskID) int {
	if c := strings.Compare(a.Connector, b.Connector); c != 0 {
		return c
	}
	return cmp.Compare(a.Task, b.Task)
}

// AssignmentError is the error field of an assignment.
type AssignmentError int16

const (
	// NoError: the assignment holds.
	NoError AssignmentError = 0
	// ConfigMismatch: the leader was behind the config topic offset some
	// member reported and could not assign. Workers read the config topic
	// to its end and rejoin.
	ConfigMismatch AssignmentError = 1
)

// Assignment is what the leader hands one worker in SyncGroup. In the
// cooperative versions Connectors and Tasks are only what the worker is to
// start in this round (it keeps what it ran, minus the revoked), while in
// the eager version they are everything it runs.
type Assignment struct {
	Version      ProtocolVersion
	Error        AssignmentError
	Leader       string // the leader's member id
	LeaderURL    string // the leader's REST URL
	ConfigOffset int64  // the config topic offset the assignment was computed at
	Connectors   []string
	Tasks        []TaskID
	// RevokedConnectors and RevokedTasks (V1+) are to be stopped before
	// the worker rejoins.
	RevokedConnectors []string
	RevokedTasks      []TaskID
	// Delay (V1+) asks the worker to rejoin once it has passed: the leader
	// is holding back the work of a departed worker.
	Delay time.Duration
}

// WorkerState is a worker's JoinGroup metadata.
type WorkerState struct {
	Version      ProtocolVersion
	URL          string // the worker's REST URL
	ConfigOffset int64  // the config topic offset the worker has read to
	// Allocation (V1+) is the assignment the worker holds, with
	// Connectors and Tasks being everything it runs; nil when it holds
	// none (a new worker, or one that lost its assignment).
	Allocation *Assignment
}

// EncodeWorkerState writes s as Kafka's ConnectProtocol (V0) or
// IncrementalCooperativeConnectProtocol (V1, V2) member metadata. The
// allocation, if any, is written with s's version.
func EncodeWorkerState(s WorkerState) ([]byte, error) {
	w := &writer{}
	w.int16(int16(s.Version))
	w.string("url", s.URL)
	w.int64(s.ConfigOffset)
	if s.Version >= 1 {
		var allocation []byte
		if s.Allocation != nil {
			a := *s.Allocation
			a.Version = s.Version
			var err error
			if allocation, err = EncodeAssignment(a); err != nil {
				return nil, fmt.Errorf("worker state allocation: %w", err)
			}
		}
		w.nullableBytes(allocation)
	}
	if w.err != nil {
		return nil, fmt.Errorf("worker state: %w", w.err)
	}
	return w.b, nil
}

// DecodeWorkerState reads member metadata of any version as Kafka's
// IncrementalCooperativeConnectProtocol does: a negative version is
// refused, any other is read with the V1 layout, whose allocation may be
// absent (V0) or null. Bytes past the known fields are ignored, as Kafka
// ignores them, so that later versions can append fields.
func DecodeWorkerState(b []byte) (WorkerState, error) {
	r := newReader(b)
	var s WorkerState
	s.Version = ProtocolVersion(r.Int16("worker state version"))
	if r.Err == nil && s.Version < 0 {
		r.Fail("worker state version %d", s.Version)
	}
	s.URL = r.string("worker url")
	s.ConfigOffset = r.Int64("worker config offset")
	if r.Err == nil && !r.exhausted() {
		if allocation, ok := r.nullableBytes("worker allocation"); ok {
			a, err := DecodeAssignment(allocation)
			if err != nil {
				return WorkerState{}, fmt.Errorf("worker state allocation: %w", err)
			}
			s.Allocation = &a
		}
	}
	if r.Err != nil {
		return WorkerState{}, fmt.Errorf("decoding worker state: %w", r.Err)
	}
	return s, nil
}

// EncodeAssignment writes a as Kafka's assignment of a.Version: V0 stops
// after the assigned connectors and tasks, V1 and V2 add the revoked ones
// and the delay. Each connector appears once, sorted by name, with its
// task numbers ascending after -1 for the connector itself.
func EncodeAssignment(a Assignment) ([]byte, error) {
	if a.Version < 0 {
		return nil, fmt.Errorf("assignment version %d", a.Version)
	}
	w := &writer{}
	w.int16(int16(a.Version))
	w.int16(int16(a.Error))
	w.string("leader", a.Leader)
	w.string("leader url", a.LeaderURL)
	w.int64(a.ConfigOffset)
	writeConnectorAssignments(w, a.Connectors, a.Tasks)
	if a.Version >= 1 {
		writeConnectorAssignments(w, a.RevokedConnectors, a.RevokedTasks)
		w.int32(int32(min(max(a.Delay.Milliseconds(), math.MinInt32), math.MaxInt32)))
	}
	if w.err != nil {
		return nil, fmt.Errorf("assignment: %w", w.err)
	}
	return w.b, nil
}

// DecodeAssignment reads an assignment of any version with Kafka's V1
// layout, as Kafka's WorkerCoordinator does: the connector lists may be
// null, and the revoked lists and the delay may be missing (V0), each
// meaning empty. Connectors and tasks come back sorted without duplicates.
func DecodeAssignment(b []byte) (Assignment, error) {
	r := newReader(b)
	var a Assignment
	a.Version = ProtocolVersion(r.Int16("assignment version"))
	if r.Err == nil && a.Version < 0 {
		r.Fail("assignment version %d", a.Version)
	}
	a.Error = AssignmentError(r.Int16("assignment error"))
	a.Leader = r.string("leader")
	a.LeaderURL = r.string("leader url")
	a.ConfigOffset = r.Int64("assignment config offset")
	if r.Err == nil && !r.exhausted() {
		a.Connectors, a.Tasks = readConnectorAssignments(r, "assigned")
	}
	if r.Err == nil && !r.exhausted() {
		a.RevokedConnectors, a.RevokedTasks = readConnectorAssignments(r, "revoked")
	}
	if r.Err == nil && !r.exhausted() {
		a.Delay = time.Duration(r.Int32("delay")) * time.Millisecond
	}
	if r.Err != nil {
		return Assignment{}, fmt.Errorf("decoding assignment: %w", r.Err)
	}
	return a, nil
}

// writeConnectorAssignments writes the array of (connector, [task]) that
// carries both connectors and tasks, -1 standing for the connector.
func writeConnectorAssignments(w *writer, connectors []string, tasks []TaskID) {
	byConnector := map[string][]int32{}
	for _, c := range connectors {
		if _, ok := byConnector[c]; !ok {
			byConnector[c] = []int32{connectorTask}
		}
	}
	for _, t := range tasks {
		if t.Task < 0 && w.err == nil {
			w.err = fmt.Errorf("task %s: negative task number", t)
		}
		byConnector[t.Connector] = append(byConnector[t.Connector], t.Task)
	}
	names := make([]string, 0, len(byConnector))
	for name := range byConnector {
		names = append(names, name)
	}
	slices.Sort(names)
	w.int32(int32(len(names)))
	for _, name := range names {
		numbers := byConnector[name]
		slices.Sort(numbers)
		numbers = slices.Compact(numbers)
		w.string("connector name", name)
		w.int32(int32(len(numbers)))
		for _, n := range numbers {
			w.int32(n)
		}
	}
}

// readConnectorAssignments reads what writeConnectorAssignments writes. A
// null array is empty; a task number below -1 is malformed.
func readConnectorAssignments(r *reader, what string) ([]string, []TaskID) {
	count, ok := r.arrayCount(what+" connectors", minConnectorAssignmentBytes, true)
	if !ok {
		return nil, nil
	}
	var connectors []string
	var tasks []TaskID
	for range count {
		name := r.string(what + " connector name")
		numbers, _ := r.arrayCount(what+" task numbers", taskNumberBytes, false)
		for range numbers {
			n := r.Int32(what + " task number")
			switch {
			case r.Err != nil:
			case n == connectorTask:
				connectors = append(connectors, name)
			case n < 0:
				r.Fail("%s task number %d of connector %q", what, n, name)
			default:
				tasks = append(tasks, TaskID{Connector: name, Task: n})
			}
		}
		if r.Err != nil {
			return nil, nil
		}
	}
	return sortedConnectors(connectors), sortedTasks(tasks)
}

// sortedConnectors sorts names in place and drops duplicates.
func sortedConnectors(names []string) []string {
	slices.Sort(names)
	return slices.Compact(names)
}

// sortedTasks sorts tasks in place and drops duplicates.
func sortedTasks(tasks []TaskID) []TaskID {
	slices.SortFunc(tasks, compareTaskIDs)
	return slices.Compact(tasks)
}
