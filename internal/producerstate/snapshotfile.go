package producerstate

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/fjordhq/fjord/internal/vfs"
)

// The .snapshot files of a partition directory: naming, atomic writes,
// bounded reads. Which to write, trust and delete is the owner's choice
// (internal/partition).

const (
	// SnapshotSuffix ends a snapshot file's name, as Kafka's.
	SnapshotSuffix = ".snapshot"
	// snapshotTmpSuffix ends a snapshot being written; a crash may leave
	// one behind, and ListSnapshotFiles removes it.
	snapshotTmpSuffix = SnapshotSuffix + ".tmp"
	offsetDigits      = 20
	// MaxSnapshotBytes bounds what is read: about 1.5 million producers
	// with full windows of 5 batches. A larger file is treated as corrupt
	// and the state rebuilt from the log, so the bound costs time, never
	// correctness.
	MaxSnapshotBytes = 256 << 20
)

// SnapshotFileName is the name of the snapshot at offset: 20 digits, as
// segment files.
func SnapshotFileName(offset int64) string {
	return fmt.Sprintf("%0*d%s", offsetDigits, offset, SnapshotSuffix)
}

// ParseSnapshotFileName returns the offset of a snapshot file's name and
// whether the name is one.
func ParseSnapshotFileName(name string) (int64, bool) {
	stem, ok := strings.CutSuffix(name, SnapshotSuffix)
	if !ok || len(stem) != offsetDigits {
		return 0, false
	}
	v, err := strconv.ParseInt(stem, 10, 64)
	if err != nil || v < 0 {
		return 0, false
	}
	return v, true
}

// ListSnapshotFiles returns the offsets of the snapshots in dir, ascending,
// and removes temp files a crash left behind (no fsync: one that comes back
// is removed again).
func ListSnapshotFiles(fs vfs.FS, dir string) ([]int64, error) {
	names, err := fs.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("list snapshots in %s: %w", dir, err)
	}
	var offsets []int64
	for _, name := range names {
		if strings.HasSuffix(name, snapshotTmpSuffix) {
			if err := fs.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
				return nil, fmt.Errorf("remove stale snapshot: %w", err)
			}
			continue
		}
		if o, ok := ParseSnapshotFileName(name); ok {
			offsets = append(offsets, o)
		}
	}
	// ReadDir sorts names, and equal-width digits sort as numbers.
	return offsets, nil
}

// WriteSnapshotFile replaces the snapshot at offset with data atomically:
// temp file, fsync, rename, fsync of the directory. After an error the
// file at offset is the old one, absent or the new one, whole.
func WriteSnapshotFile(fs vfs.FS, dir string, offset int64, data []byte) error {
	name := filepath.Join(dir, SnapshotFileName(offset))
	tmp := name + ".tmp"
	f, err := fs.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("create snapshot: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write snapshot: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("sync snapshot: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close snapshot: %w", err)
	}
	if err := fs.Rename(tmp, name); err != nil {
		return fmt.Errorf("rename snapshot: %w", err)
	}
	if err := fs.SyncDir(dir); err != nil {
		return fmt.Errorf("sync dir after snapshot: %w", err)
	}
	return nil
}

// ReadSnapshotFile returns the bytes of the snapshot at offset. A file
// larger than MaxSnapshotBytes is ErrCorruptSnapshot.
func ReadSnapshotFile(fs vfs.FS, dir string, offset int64) ([]byte, error) {
	f, err := fs.OpenFile(filepath.Join(dir, SnapshotFileName(offset)), os.O_RDONLY, 0)
	if err != nil {
		return nil, fmt.Errorf("open snapshot: %w", err)
	}
	defer f.Close()
	size, err := f.Size()
	if err != nil {
		return nil, fmt.Errorf("size of %s: %w", f.Name(), err)
	}
	if size > MaxSnapshotBytes {
		return nil, fmt.Errorf("%w: %s is %d bytes", ErrCorruptSnapshot, f.Name(), size)
	}
	b := make([]byte, size)
	n, err := f.ReadAt(b, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("read %s: %w", f.Name(), err)
	}
	return b[:n], nil
}

// RemoveSnapshotFiles removes the snapshots at offsets (a missing one is
// not an error) and, with durable, fsyncs the directory so that none comes
// back after a crash.
func RemoveSnapshotFiles(fs vfs.FS, dir string, offsets []int64, durable bool) error {
	for _, o := range offsets {
		if err := fs.Remove(filepath.Join(dir, SnapshotFileName(o))); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("remove snapshot: %w", err)
		}
	}
	if durable && len(offsets) > 0 {
		if err := fs.SyncDir(dir); err != nil {
			return fmt.Errorf("sync dir after removing snapshots: %w", err)
		}
	}
	return nil
}
