package workergroup

import (
	"maps"
	"slices"
)

// ConnectorsAndTasks is a set of connectors and tasks (Kafka's name for
// it), each slice sorted and without duplicates when this package made it.
type ConnectorsAndTasks struct {
	Connectors []string
	Tasks      []TaskID
}

// IsEmpty reports whether w holds neither connectors nor tasks.
func (w ConnectorsAndTasks) IsEmpty() bool { return len(w.Connectors) == 0 && len(w.Tasks) == 0 }

// work is the assignor's set form of ConnectorsAndTasks.
type work struct {
	connectors map[string]bool
	tasks      map[TaskID]bool
}

func newWork() work {
	return work{connectors: map[string]bool{}, tasks: map[TaskID]bool{}}
}

func workOf(w ConnectorsAndTasks) work {
	out := newWork()
	for _, c := range w.Connectors {
		out.connectors[c] = true
	}
	for _, t := range w.Tasks {
		out.tasks[t] = true
	}
	return out
}

func (w work) clone() work {
	return work{connectors: maps.Clone(w.connectors), tasks: maps.Clone(w.tasks)}
}

func (w work) isEmpty() bool { return len(w.connectors) == 0 && len(w.tasks) == 0 }

func (w work) addAll(o work) {
	for c := range o.connectors {
		w.connectors[c] = true
	}
	for t := range o.tasks {
		w.tasks[t] = true
	}
}

func (w work) removeAll(o work) {
	for c := range o.connectors {
		delete(w.connectors, c)
	}
	for t := range o.tasks {
		delete(w.tasks, t)
	}
}

// minus is a new set: w without anything in any of others.
func (w work) minus(others ...work) work {
	out := w.clone()
	for _, o := range others {
		out.removeAll(o)
	}
	return out
}

// intersect is a new set: what w and o both hold.
func (w work) intersect(o work) work {
	out := newWork()
	for c := range w.connectors {
		if o.connectors[c] {
			out.connectors[c] = true
		}
	}
	for t := range w.tasks {
		if o.tasks[t] {
			out.tasks[t] = true
		}
	}
	return out
}

// overlaps reports whether w and o share anything.
func (w work) overlaps(o work) bool {
	for c := range w.connectors {
		if o.connectors[c] {
			return true
		}
	}
	for t := range w.tasks {
		if o.tasks[t] {
			return true
		}
	}
	return false
}

func (w work) sortedConnectors() []string { return slices.Sorted(maps.Keys(w.connectors)) }

func (w work) sortedTasks() []TaskID {
	return slices.SortedFunc(maps.Keys(w.tasks), compareTaskIDs)
}

func (w work) public() ConnectorsAndTasks {
	return ConnectorsAndTasks{Connectors: w.sortedConnectors(), Tasks: w.sortedTasks()}
}
