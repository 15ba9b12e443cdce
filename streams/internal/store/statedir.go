package store

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sync"

	"golang.org/x/sys/unix"
)

// ErrStateDirLocked is returned by OpenStateDir while another StateDir,
// in this process or another, holds the application's state directory.
var ErrStateDirLocked = errors.New("store: state directory locked by another instance")

const (
	lockFileName    = ".lock"
	processFileName = "fjord-streams-process-metadata"
	// processFileVersion is the version field of the process file.
	processFileVersion = 1
	// State is private to the application: Kafka Streams too makes its
	// state directory rwx------ (KAFKA-10705).
	dirMode  = 0o700
	fileMode = 0o600
)

// validName is what an application or task id may be to serve as a
// directory name: Kafka's legal characters for application.id and task
// ids, and no leading dot, which the state directory keeps for its own
// files.
var validName = regexp.MustCompile(`^[A-Za-z0-9_-][A-Za-z0-9._-]*$`)

// StateDir is one application's state directory, <root>/<applicationID>,
// held exclusively by one instance:
//
//	<root>/<applicationID>/
//	  .lock                             flock held while open
//	  fjord-streams-process-metadata    {"version":1,"processId":"..."}
//	  <taskID>/                         one directory per task's stores
//
// Its methods may be called from any goroutine.
type StateDir struct {
	dir       string
	processID string
	mu        struct {
		sync.Mutex
		lock *os.File // nil once closed
	}
}

// OpenStateDir creates the application's state directory if needed and
// locks it, failing with ErrStateDirLocked if another instance holds it.
func OpenStateDir(root, applicationID string) (*StateDir, error) {
	if !validName.MatchString(applicationID) {
		return nil, fmt.Errorf("store: application id %q: not a valid directory name", applicationID)
	}
	dir := filepath.Join(root, applicationID)
	if err := os.MkdirAll(dir, dirMode); err != nil {
		return nil, fmt.Errorf("store: state directory: %w", err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	processID, err := loadProcessID(dir)
	if err != nil {
		_ = lock.Close()
		return nil, err
	}
	d := &StateDir{dir: dir, processID: processID}
	d.mu.lock = lock
	return d, nil
}

// lockDir takes the flock of dir's lock file. A flock belongs to the open
// file, not the process, so a second open in the same process conflicts
// too, and the kernel drops it when the process dies: no stale lock.
func lockDir(dir string) (*os.File, error) {
	path := filepath.Join(dir, lockFileName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, fileMode)
	if err != nil {
		return nil, fmt.Errorf("store: state directory lock: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		_ = f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("store: %s: %w", dir, ErrStateDirLocked)
		}
		return nil, fmt.Errorf("store: state directory lock %s: %w", path, err)
	}
	return f, nil
}

// processFile is the content of the process file.
type processFile struct {
	Version   int    `json:"version"`
	ProcessID string `json:"processId"`
}

// loadProcessID reads the process id, or makes one and writes it. The id
// only helps the group leader give tasks back to the instance that has
// their state; a file that cannot be parsed is replaced with a new id,
// which costs state moves, never data.
func loadProcessID(dir string) (string, error) {
	path := filepath.Join(dir, processFileName)
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("store: process file: %w", err)
	}
	var pf processFile
	if err == nil && json.Unmarshal(data, &pf) == nil && pf.ProcessID != "" {
		return pf.ProcessID, nil
	}
	pf = processFile{Version: processFileVersion, ProcessID: newProcessID()}
	data, err = json.Marshal(pf)
	if err != nil {
		return "", fmt.Errorf("store: process file: %w", err)
	}
	if err := writeFileAtomic(dir, processFileName, data); err != nil {
		return "", fmt.Errorf("store: process file: %w", err)
	}
	return pf.ProcessID, nil
}

// newProcessID returns a random (version 4) UUID.
func newProcessID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// writeFileAtomic replaces dir/name with data: a crash leaves the old file
// or the new one, never a torn one.
func writeFileAtomic(dir, name string, data []byte) error {
	tmp, err := os.CreateTemp(dir, "."+name+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // fails harmlessly once renamed
	if _, err := tmp.Write(data); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), fileMode); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, name)); err != nil {
		return err
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Dir is the application's state directory.
func (d *StateDir) Dir() string { return d.dir }

// ProcessID is this instance's stable id, the same after a restart.
func (d *StateDir) ProcessID() string { return d.processID }

// TaskDir returns the directory of taskID's stores, creating it if needed.
func (d *StateDir) TaskDir(taskID string) (string, error) {
	path, err := d.taskPath(taskID)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(path, dirMode); err != nil {
		return "", fmt.Errorf("store: task directory: %w", err)
	}
	return path, nil
}

func (d *StateDir) taskPath(taskID string) (string, error) {
	d.mu.Lock()
	closed := d.mu.lock == nil
	d.mu.Unlock()
	if closed {
		return "", fmt.Errorf("store: state directory %s: %w", d.dir, ErrClosed)
	}
	if !validName.MatchString(taskID) {
		return "", fmt.Errorf("store: task id %q: not a valid directory name", taskID)
	}
	return filepath.Join(d.dir, taskID), nil
}

// ListTaskDirs returns the ids of the tasks that have a directory, sorted:
// at start-up, the state a restarted instance can offer to the group.
func (d *StateDir) ListTaskDirs() ([]string, error) {
	entries, err := os.ReadDir(d.dir)
	if err != nil {
		return nil, fmt.Errorf("store: state directory: %w", err)
	}
	var ids []string
	for _, e := range entries {
		if e.IsDir() && validName.MatchString(e.Name()) {
			ids = append(ids, e.Name())
		}
	}
	slices.Sort(ids)
	return ids, nil
}

// RemoveTaskDir deletes taskID's directory and every store in it: for a
// store found corrupt, or state whose changelog moved past it (the task
// then restores from scratch). Its stores must be closed.
func (d *StateDir) RemoveTaskDir(taskID string) error {
	path, err := d.taskPath(taskID)
	if err != nil {
		return err
	}
	if err := os.RemoveAll(path); err != nil {
		return fmt.Errorf("store: task directory: %w", err)
	}
	return nil
}

// Close releases the lock; a second Close does nothing.
func (d *StateDir) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.mu.lock == nil {
		return nil
	}
	// Closing the file releases its flock.
	err := d.mu.lock.Close()
	d.mu.lock = nil
	if err != nil {
		return fmt.Errorf("store: state directory lock: %w", err)
	}
	return nil
}
