package vfs

import (
	"fmt"
	"os"
	"sync"
)

// FaultFS is another FS, usually the operating system's, whose operations
// a test can make fail or whose reads it can corrupt while a real broker
// runs on it: a disk that dies under load, or one that returns bad bytes.
// Its Files are not OSFiles, so reads through it never take the sendfile
// path and always pass the read hook.
type FaultFS struct {
	fs FS
	mu sync.RWMutex
	// inj decides whether a mutating operation fails (nil: none does);
	// read may change the bytes a File.ReadAt returned.
	inj  Injector
	read func(name string, off int64, p []byte)
}

// NewFaultFS wraps fs, failing nothing until told to.
func NewFaultFS(fs FS) *FaultFS { return &FaultFS{fs: fs} }

// SetInjector installs the rule consulted before every mutating operation
// (nil: none fails). It may be changed at any time.
func (f *FaultFS) SetInjector(inj Injector) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.inj = inj
}

// SetReadHook installs a function that may change the bytes of every
// successful File.ReadAt (nil: none). It runs on the reader's goroutine.
func (f *FaultFS) SetReadHook(hook func(name string, off int64, p []byte)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.read = hook
}

func (f *FaultFS) check(op Op, name string) error {
	f.mu.RLock()
	inj := f.inj
	f.mu.RUnlock()
	if inj == nil {
		return nil
	}
	if err := inj(op, name); err != nil {
		return fmt.Errorf("%s %s: %w", op, name, err)
	}
	return nil
}

// OpenFile implements FS; opening with O_CREATE counts as OpCreate.
func (f *FaultFS) OpenFile(name string, flag int, perm os.FileMode) (File, error) {
	if flag&os.O_CREATE != 0 {
		if err := f.check(OpCreate, name); err != nil {
			return nil, err
		}
	}
	file, err := f.fs.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return &faultFile{File: file, fs: f, name: name}, nil
}

// Remove implements FS.
func (f *FaultFS) Remove(name string) error {
	if err := f.check(OpRemove, name); err != nil {
		return err
	}
	return f.fs.Remove(name)
}

// RemoveAll implements FS.
func (f *FaultFS) RemoveAll(path string) error {
	if err := f.check(OpRemove, path); err != nil {
		return err
	}
	return f.fs.RemoveAll(path)
}

// Rename implements FS.
func (f *FaultFS) Rename(oldname, newname string) error {
	if err := f.check(OpRename, oldname); err != nil {
		return err
	}
	return f.fs.Rename(oldname, newname)
}

// MkdirAll implements FS; it counts as OpCreate.
func (f *FaultFS) MkdirAll(dir string, perm os.FileMode) error {
	if err := f.check(OpCreate, dir); err != nil {
		return err
	}
	return f.fs.MkdirAll(dir, perm)
}

// ReadDir implements FS.
func (f *FaultFS) ReadDir(dir string) ([]string, error) { return f.fs.ReadDir(dir) }

// Stat implements FS.
func (f *FaultFS) Stat(name string) (FileInfo, error) { return f.fs.Stat(name) }

// SyncDir implements FS.
func (f *FaultFS) SyncDir(dir string) error {
	if err := f.check(OpSyncDir, dir); err != nil {
		return err
	}
	return f.fs.SyncDir(dir)
}

type faultFile struct {
	File
	fs   *FaultFS
	name string
}

func (f *faultFile) ReadAt(p []byte, off int64) (int, error) {
	n, err := f.File.ReadAt(p, off)
	f.fs.mu.RLock()
	hook := f.fs.read
	f.fs.mu.RUnlock()
	if hook != nil && n > 0 {
		hook(f.name, off, p[:n])
	}
	return n, err
}

func (f *faultFile) Write(p []byte) (int, error) {
	if err := f.fs.check(OpWrite, f.name); err != nil {
		return 0, err
	}
	return f.File.Write(p)
}

func (f *faultFile) Sync() error {
	if err := f.fs.check(OpSync, f.name); err != nil {
		return err
	}
	return f.File.Sync()
}

func (f *faultFile) Truncate(size int64) error {
	if err := f.fs.check(OpTruncate, f.name); err != nil {
		return err
	}
	return f.File.Truncate(size)
}
