package streams

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/fjordhq/fjord/streams/internal/assign"
)

// offsetSumFile is where a task directory records how far its persistent
// stores had restored their changelogs when the task last closed, so that a
// restarted instance can tell the group's leader which state it still has
// without opening every store (Kafka reads its .checkpoint files so).
const offsetSumFile = "offset-sum"

// loadOffsetSums reads the offset sums of the task directories left by an
// earlier run. A missing or unreadable file means no usable state.
func (a *App) loadOffsetSums() {
	dirs, err := a.stateDir.ListTaskDirs()
	if err != nil {
		a.logf("streams: list task directories: %v", err)
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, name := range dirs {
		id, err := assign.ParseTaskID(name)
		if err != nil {
			continue
		}
		data, err := os.ReadFile(filepath.Join(a.stateDir.Dir(), name, offsetSumFile))
		if err != nil {
			continue
		}
		sum, err := strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64)
		if err != nil || sum < 0 {
			continue
		}
		a.mu.offsetSums[TaskID{Subtopology: id.Subtopology, Partition: id.Partition}] = sum
	}
}

// saveOffsetSum records a closing task's offset sum in its directory, if
// it has persistent stores there.
func (a *App) saveOffsetSum(t *task) {
	if a.stateDir == nil || !t.hasPersistentStores() {
		return
	}
	sum := t.offsetSum()
	dir := filepath.Join(a.stateDir.Dir(), t.id.String())
	err := os.WriteFile(filepath.Join(dir, offsetSumFile), []byte(strconv.FormatInt(sum, 10)+"\n"), 0o644)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		a.logf("streams: task %s: save offset sum: %v", t.id, err)
	}
}
