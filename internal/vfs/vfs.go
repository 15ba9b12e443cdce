// Package vfs is the file system seen by the storage engine. Every storage
// file operation goes through FS so that tests can swap the real file system
// for an in-memory one that simulates power loss and injects I/O errors.
//
// Model. An FS hands out Files. Data written to a File becomes durable only
// after File.Sync; a directory entry created, renamed or removed becomes
// durable only after SyncDir of its directory. Default returns the operating
// system's file system; NewMem returns a MemFS whose Crash method drops
// everything that was not made durable, in the style of Pebble's strict
// MemFS.
//
// Concurrency. Implementations are safe for concurrent use. A File may be
// read with ReadAt by many goroutines while one goroutine writes to it;
// Sync may run concurrently with writes.
package vfs

import (
	"io"
	"os"
	"time"
)

// File is an open file.
type File interface {
	io.ReaderAt
	io.Writer
	io.Closer
	// Sync makes every byte written so far durable.
	Sync() error
	// Truncate changes the size of the file.
	Truncate(size int64) error
	// Size is the current size in bytes, durable or not.
	Size() (int64, error)
	// Name is the name the file was opened with.
	Name() string
}

// FileInfo describes a file or directory.
type FileInfo struct {
	Name    string
	Size    int64
	ModTime time.Time
	IsDir   bool
}

// FS is a file system. Errors for missing files wrap os.ErrNotExist.
type FS interface {
	// OpenFile opens or creates a file; flag and perm are os.OpenFile's.
	OpenFile(name string, flag int, perm os.FileMode) (File, error)
	// Remove removes a file or an empty directory.
	Remove(name string) error
	// RemoveAll removes a path and everything below it.
	RemoveAll(path string) error
	// Rename renames a file, replacing newname if it exists.
	Rename(oldname, newname string) error
	// MkdirAll creates a directory and its parents.
	MkdirAll(dir string, perm os.FileMode) error
	// ReadDir lists the names in dir, sorted.
	ReadDir(dir string) ([]string, error)
	// Stat describes a file or directory.
	Stat(name string) (FileInfo, error)
	// SyncDir makes the entries of dir durable: files created, renamed
	// into or removed from it.
	SyncDir(dir string) error
}

// Exists reports whether name exists in fs.
func Exists(fs FS, name string) (bool, error) {
	_, err := fs.Stat(name)
	if err == nil {
		return true, nil
	}
	if os.IsNotExist(err) {
		return false, nil
	}
	return false, err
}
