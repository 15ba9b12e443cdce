package vfs

import (
	"fmt"
	"os"
	"sort"
)

// OS is the operating system's file system.
type OS struct{}

// Default returns the operating system's file system.
func Default() FS { return OS{} }

// OSFile is a File backed by an *os.File.
type OSFile struct {
	f *os.File
}

// OSFile returns the underlying *os.File, so that a fetch path can hand it
// to the kernel (sendfile). Callers must not close it.
func (f *OSFile) OSFile() *os.File { return f.f }

// ReadAt implements io.ReaderAt.
func (f *OSFile) ReadAt(p []byte, off int64) (int, error) { return f.f.ReadAt(p, off) }

// Write implements io.Writer.
func (f *OSFile) Write(p []byte) (int, error) { return f.f.Write(p) }

// Close implements io.Closer.
func (f *OSFile) Close() error { return f.f.Close() }

// Sync flushes the file's data to stable storage.
func (f *OSFile) Sync() error { return f.f.Sync() }

// Truncate changes the size of the file.
func (f *OSFile) Truncate(size int64) error { return f.f.Truncate(size) }

// Name is the file's name.
func (f *OSFile) Name() string { return f.f.Name() }

// Size is the file's current size.
func (f *OSFile) Size() (int64, error) {
	fi, err := f.f.Stat()
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

// OpenFile implements FS.
func (OS) OpenFile(name string, flag int, perm os.FileMode) (File, error) {
	f, err := os.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return &OSFile{f: f}, nil
}

// Remove implements FS.
func (OS) Remove(name string) error { return os.Remove(name) }

// RemoveAll implements FS.
func (OS) RemoveAll(path string) error { return os.RemoveAll(path) }

// Rename implements FS.
func (OS) Rename(oldname, newname string) error { return os.Rename(oldname, newname) }

// MkdirAll implements FS.
func (OS) MkdirAll(dir string, perm os.FileMode) error { return os.MkdirAll(dir, perm) }

// ReadDir implements FS.
func (OS) ReadDir(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names, nil
}

// Stat implements FS.
func (OS) Stat(name string) (FileInfo, error) {
	fi, err := os.Stat(name)
	if err != nil {
		return FileInfo{}, err
	}
	return FileInfo{Name: fi.Name(), Size: fi.Size(), ModTime: fi.ModTime(), IsDir: fi.IsDir()}, nil
}

// SyncDir implements FS: it fsyncs the directory itself.
func (OS) SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open dir for sync: %w", err)
	}
	syncErr := d.Sync()
	closeErr := d.Close()
	if syncErr != nil {
		return fmt.Errorf("sync dir %s: %w", dir, syncErr)
	}
	return closeErr
}
