package vfs

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// ErrInjected is returned by a MemFS operation that was made to fail.
var ErrInjected = errors.New("vfs: injected error")

// errCrashed is returned by a handle opened before the last Crash.
var errCrashed = errors.New("vfs: file handle from before a crash")

// Op names a mutating MemFS operation, as seen by an Injector.
type Op string

// The operations that count towards FailAt and reach an Injector.
const (
	OpCreate   Op = "create"
	OpWrite    Op = "write"
	OpSync     Op = "sync"
	OpTruncate Op = "truncate"
	OpRename   Op = "rename"
	OpRemove   Op = "remove"
	OpSyncDir  Op = "syncdir"
)

// Injector decides whether a mutating operation fails. It is called with
// the MemFS lock held and must not call back into the MemFS.
type Injector func(op Op, name string) error

// MemFS is an in-memory FS with strict crash semantics:
//
//   - bytes written to a file survive Crash only if a Sync of that file
//     followed them;
//   - a file created, renamed or removed keeps that change across Crash only
//     if SyncDir of its directory followed it;
//   - directories themselves (MkdirAll, RemoveAll) are durable at once, a
//     simplification: the storage engine never depends on a directory
//     creation being undone.
//
// Every mutating operation is numbered; FailAt makes the Nth and every later
// one fail (a process dying mid-workload), and a failing write still stores
// the first half of its bytes (a torn write). Handles opened before Crash
// return errors afterwards. All methods are safe for concurrent use.
type MemFS struct {
	mu       sync.Mutex
	dirs     map[string]*memDir
	now      func() time.Time
	ops      int64
	failAt   int64
	injector Injector
	syncs    int64
	gen      int64
}

type memDir struct {
	entries map[string]*memNode
	durable map[string]*memNode
}

// memNode is a file's contents. Bytes [0, syncedLen) are durable; when a
// write or truncate touches them, snapshot keeps the durable bytes so that
// Crash can restore them. Appending, the common case, copies nothing.
type memNode struct {
	data      []byte
	syncedLen int
	snapshot  []byte
	modTime   time.Time
}

// NewMem returns an empty in-memory file system with a root directory "/"
// and the current directory ".".
func NewMem() *MemFS {
	m := &MemFS{dirs: map[string]*memDir{}, now: time.Now}
	m.dirs["/"] = newMemDir()
	m.dirs["."] = newMemDir()
	return m
}

func newMemDir() *memDir {
	return &memDir{entries: map[string]*memNode{}, durable: map[string]*memNode{}}
}

// SetNow sets the clock used for modification times.
func (m *MemFS) SetNow(now func() time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.now = now
}

// FailAt makes the nth mutating operation from now (1-based) and every one
// after it fail with ErrInjected. n <= 0 disables failures.
func (m *MemFS) FailAt(n int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if n <= 0 {
		m.failAt = 0
		return
	}
	m.failAt = m.ops + n
}

// SetInjector installs a hook consulted before every mutating operation.
func (m *MemFS) SetInjector(inj Injector) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.injector = inj
}

// Ops is the number of mutating operations attempted so far.
func (m *MemFS) Ops() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.ops
}

// SyncCount is the number of successful File.Sync calls so far.
func (m *MemFS) SyncCount() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.syncs
}

// Crash simulates a power loss: every file loses the bytes written after its
// last Sync and every directory loses the entries changed after its last
// SyncDir. Failure injection is cleared and open handles become unusable.
func (m *MemFS) Crash() {
	m.mu.Lock()
	defer m.mu.Unlock()
	seen := map[*memNode]bool{}
	for _, d := range m.dirs {
		for _, set := range []map[string]*memNode{d.entries, d.durable} {
			for _, n := range set {
				if !seen[n] {
					seen[n] = true
					n.restore()
				}
			}
		}
		d.entries = cloneEntries(d.durable)
	}
	m.failAt = 0
	m.injector = nil
	m.gen++
}

func (n *memNode) restore() {
	if n.snapshot != nil {
		n.data = n.snapshot
		n.snapshot = nil
	} else {
		n.data = n.data[:n.syncedLen]
	}
	n.syncedLen = len(n.data)
}

// protect saves the durable bytes before a change below syncedLen.
func (n *memNode) protect(from int) {
	if from < n.syncedLen && n.snapshot == nil {
		n.snapshot = append([]byte(nil), n.data[:n.syncedLen]...)
	}
}

func cloneEntries(src map[string]*memNode) map[string]*memNode {
	dst := make(map[string]*memNode, len(src))
	for k, v := range src {
		dst[k] = v
	}
	return dst
}

// opLocked counts a mutating operation and reports whether it must fail.
func (m *MemFS) opLocked(op Op, name string) error {
	m.ops++
	if m.failAt > 0 && m.ops >= m.failAt {
		return fmt.Errorf("%s %s: %w", op, name, ErrInjected)
	}
	if m.injector != nil {
		if err := m.injector(op, name); err != nil {
			return fmt.Errorf("%s %s: %w", op, name, err)
		}
	}
	return nil
}

func splitPath(name string) (dir, base string) {
	name = filepath.Clean(name)
	return filepath.Dir(name), filepath.Base(name)
}

func notExist(op, name string) error {
	return &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
}

func (m *MemFS) lookupLocked(name string) (*memDir, string, *memNode, error) {
	dir, base := splitPath(name)
	d, ok := m.dirs[dir]
	if !ok {
		return nil, "", nil, notExist("open", name)
	}
	return d, base, d.entries[base], nil
}

// OpenFile implements FS.
func (m *MemFS) OpenFile(name string, flag int, perm os.FileMode) (File, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, base, n, err := m.lookupLocked(name)
	if err != nil {
		return nil, err
	}
	if _, isDir := m.dirs[filepath.Clean(name)]; isDir {
		return nil, &fs.PathError{Op: "open", Path: name, Err: errors.New("is a directory")}
	}
	if n == nil {
		if flag&os.O_CREATE == 0 {
			return nil, notExist("open", name)
		}
		if err := m.opLocked(OpCreate, name); err != nil {
			return nil, err
		}
		n = &memNode{modTime: m.now()}
		d.entries[base] = n
	} else if flag&(os.O_CREATE|os.O_EXCL) == os.O_CREATE|os.O_EXCL {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrExist}
	}
	if flag&os.O_TRUNC != 0 && len(n.data) > 0 {
		if err := m.opLocked(OpTruncate, name); err != nil {
			return nil, err
		}
		n.protect(0)
		n.data = n.data[:0]
	}
	writable := flag&(os.O_WRONLY|os.O_RDWR) != 0
	return &memFile{fs: m, node: n, name: name, gen: m.gen, appendOnly: flag&os.O_APPEND != 0, writable: writable}, nil
}

// Remove implements FS.
func (m *MemFS) Remove(name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	clean := filepath.Clean(name)
	if _, isDir := m.dirs[clean]; isDir {
		if len(m.childrenLocked(clean)) > 0 {
			return &fs.PathError{Op: "remove", Path: name, Err: errors.New("directory not empty")}
		}
		if err := m.opLocked(OpRemove, name); err != nil {
			return err
		}
		delete(m.dirs, clean)
		return nil
	}
	d, base, n, err := m.lookupLocked(name)
	if err != nil {
		return err
	}
	if n == nil {
		return notExist("remove", name)
	}
	if err := m.opLocked(OpRemove, name); err != nil {
		return err
	}
	delete(d.entries, base)
	return nil
}

// RemoveAll implements FS. It is durable at once (see MemFS).
func (m *MemFS) RemoveAll(path string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	clean := filepath.Clean(path)
	if err := m.opLocked(OpRemove, path); err != nil {
		return err
	}
	for dir := range m.dirs {
		if dir == clean || strings.HasPrefix(dir, clean+string(filepath.Separator)) {
			delete(m.dirs, dir)
		}
	}
	if d, ok := m.dirs[filepath.Dir(clean)]; ok {
		delete(d.entries, filepath.Base(clean))
		delete(d.durable, filepath.Base(clean))
	}
	return nil
}

// Rename implements FS for files.
func (m *MemFS) Rename(oldname, newname string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	od, obase, n, err := m.lookupLocked(oldname)
	if err != nil {
		return err
	}
	if n == nil {
		return notExist("rename", oldname)
	}
	nd, nbase, _, err := m.lookupLocked(newname)
	if err != nil {
		return err
	}
	if err := m.opLocked(OpRename, oldname); err != nil {
		return err
	}
	delete(od.entries, obase)
	nd.entries[nbase] = n
	return nil
}

// MkdirAll implements FS. It is durable at once (see MemFS).
func (m *MemFS) MkdirAll(dir string, perm os.FileMode) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	clean := filepath.Clean(dir)
	for p := clean; ; p = filepath.Dir(p) {
		if _, ok := m.dirs[p]; ok {
			break
		}
		if pd, ok := m.dirs[filepath.Dir(p)]; ok && pd.entries[filepath.Base(p)] != nil {
			return &fs.PathError{Op: "mkdir", Path: p, Err: errors.New("not a directory")}
		}
		m.dirs[p] = newMemDir()
		if p == filepath.Dir(p) {
			break
		}
	}
	return nil
}

func (m *MemFS) childrenLocked(dir string) []string {
	var names []string
	if d, ok := m.dirs[dir]; ok {
		for name := range d.entries {
			names = append(names, name)
		}
	}
	for p := range m.dirs {
		if p != dir && filepath.Dir(p) == dir {
			names = append(names, filepath.Base(p))
		}
	}
	sort.Strings(names)
	return names
}

// ReadDir implements FS.
func (m *MemFS) ReadDir(dir string) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	clean := filepath.Clean(dir)
	if _, ok := m.dirs[clean]; !ok {
		return nil, notExist("readdir", dir)
	}
	return m.childrenLocked(clean), nil
}

// Stat implements FS.
func (m *MemFS) Stat(name string) (FileInfo, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	clean := filepath.Clean(name)
	if _, ok := m.dirs[clean]; ok {
		return FileInfo{Name: filepath.Base(clean), IsDir: true}, nil
	}
	_, base, n, err := m.lookupLocked(name)
	if err != nil {
		return FileInfo{}, err
	}
	if n == nil {
		return FileInfo{}, notExist("stat", name)
	}
	return FileInfo{Name: base, Size: int64(len(n.data)), ModTime: n.modTime}, nil
}

// SyncDir implements FS.
func (m *MemFS) SyncDir(dir string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, ok := m.dirs[filepath.Clean(dir)]
	if !ok {
		return notExist("syncdir", dir)
	}
	if err := m.opLocked(OpSyncDir, dir); err != nil {
		return err
	}
	d.durable = cloneEntries(d.entries)
	return nil
}

// memFile is a handle on a memNode. Reads and writes take the MemFS lock.
type memFile struct {
	fs         *MemFS
	node       *memNode
	name       string
	gen        int64
	pos        int64
	appendOnly bool
	writable   bool
	closed     bool
}

func (f *memFile) checkLocked() error {
	if f.closed {
		return &fs.PathError{Op: "use", Path: f.name, Err: fs.ErrClosed}
	}
	if f.gen != f.fs.gen {
		return &fs.PathError{Op: "use", Path: f.name, Err: errCrashed}
	}
	return nil
}

// ReadAt implements io.ReaderAt.
func (f *memFile) ReadAt(p []byte, off int64) (int, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.checkLocked(); err != nil {
		return 0, err
	}
	if off < 0 {
		return 0, &fs.PathError{Op: "readat", Path: f.name, Err: fs.ErrInvalid}
	}
	if off >= int64(len(f.node.data)) {
		return 0, io.EOF
	}
	n := copy(p, f.node.data[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// Write implements io.Writer. An injected failure stores half the bytes.
func (f *memFile) Write(p []byte) (int, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.checkLocked(); err != nil {
		return 0, err
	}
	if !f.writable {
		return 0, &fs.PathError{Op: "write", Path: f.name, Err: fs.ErrPermission}
	}
	if err := f.fs.opLocked(OpWrite, f.name); err != nil {
		n := f.writeLocked(p[:len(p)/2])
		return n, err
	}
	return f.writeLocked(p), nil
}

func (f *memFile) writeLocked(p []byte) int {
	n := f.node
	if f.appendOnly {
		f.pos = int64(len(n.data))
	}
	n.protect(int(f.pos))
	end := int(f.pos) + len(p)
	if end > len(n.data) {
		if f.pos > int64(len(n.data)) {
			n.data = append(n.data, make([]byte, int(f.pos)-len(n.data))...)
		}
		n.data = append(n.data[:f.pos], p...)
	} else {
		copy(n.data[f.pos:], p)
	}
	f.pos = int64(end)
	n.modTime = f.fs.now()
	return len(p)
}

// Close implements io.Closer.
func (f *memFile) Close() error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if f.closed {
		return &fs.PathError{Op: "close", Path: f.name, Err: fs.ErrClosed}
	}
	f.closed = true
	return nil
}

// Sync implements File.
func (f *memFile) Sync() error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.checkLocked(); err != nil {
		return err
	}
	if err := f.fs.opLocked(OpSync, f.name); err != nil {
		return err
	}
	f.node.snapshot = nil
	f.node.syncedLen = len(f.node.data)
	f.fs.syncs++
	return nil
}

// Truncate implements File.
func (f *memFile) Truncate(size int64) error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.checkLocked(); err != nil {
		return err
	}
	if size < 0 {
		return &fs.PathError{Op: "truncate", Path: f.name, Err: fs.ErrInvalid}
	}
	if err := f.fs.opLocked(OpTruncate, f.name); err != nil {
		return err
	}
	n := f.node
	if int(size) <= len(n.data) {
		n.protect(int(size))
		n.data = n.data[:size]
	} else {
		n.data = append(n.data, make([]byte, int(size)-len(n.data))...)
	}
	n.modTime = f.fs.now()
	return nil
}

// Size implements File.
func (f *memFile) Size() (int64, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.checkLocked(); err != nil {
		return 0, err
	}
	return int64(len(f.node.data)), nil
}

// Name implements File.
func (f *memFile) Name() string { return f.name }
