package storage

import (
	"fmt"
	"os"

	"github.com/fjordhq/fjord/internal/vfs"
)

// Index files are persistence only: the entries live in memory (index.go)
// and a file is written whole, never appended to, so a segment holds one
// open file descriptor (its .log) and not three. A partition count in the
// thousands then fits the process's file limit.
//
// When. A segment's index files are written
//   - by the Sync that first covers it after it was rolled (its entries are
//     final then), before that Sync moves the recovery point past it;
//   - by Close for the active segment, before the recovery point is set to
//     the log end;
//   - by Open for every segment it scanned except the active one, before the
//     checkpoint that trusts them;
//   - by compaction, under the .cleaned suffix, before the swap.
//
// The .txnindex (txnindex.go) is written at the same times, except that
// Open leaves the segments it scanned to the next Sync, which writes them
// once their entries were added back; that Sync also writes the .txnindex
// of a rolled segment an entry was added to. A segment without entries has
// its .txnindex removed instead.
//
// Why a plain rewrite is safe. Files are written in place (truncate, write,
// fsync) without a temporary name. Only segments at or above the recovery
// point are ever rewritten, and Open scans those and rebuilds their indexes
// whatever the files hold, so a torn, stale or missing index file there is
// harmless. The recovery point passes a segment only after its index files
// were fsynced. A file whose directory entry was lost in a crash is
// rebuilt too (readIndexFile reports it as corruption), so the directory is
// not fsynced for them.

// indexSnapshot is a segment's index entries as of one moment.
type indexSnapshot struct {
	base    Offset
	offsets []uint64
	times   []timeEntry
}

// snapshotIndexLocked copies the slice headers of s's indexes (Log.mu held
// or s not shared). Entries of a rolled segment are never changed in place.
func (s *segment) snapshotIndexLocked() indexSnapshot {
	return indexSnapshot{base: s.baseOffset, offsets: s.index.slots, times: s.timeIndex.entries}
}

// encode returns the bytes of the .index and .timeindex files.
func (x indexSnapshot) encode() (offsets, times []byte) {
	ix := offsetIndex{baseOffset: x.base, slots: x.offsets}
	offsets = make([]byte, 0, len(x.offsets)*offsetIndexEntryBytes)
	for i := range x.offsets {
		offsets = ix.encode(offsets, ix.entry(i))
	}
	tx := timeIndex{baseOffset: x.base}
	times = make([]byte, 0, len(x.times)*timeIndexEntryBytes)
	for _, e := range x.times {
		times = tx.encode(times, e)
	}
	return offsets, times
}

// writeIndexFiles writes and fsyncs both index files of the segment at
// x.base in dir, with suffix appended to their names ("" or cleanedSuffix).
func writeIndexFiles(fs vfs.FS, dir string, x indexSnapshot, suffix string) error {
	offsets, times := x.encode()
	s := segment{baseOffset: x.base, dir: dir}
	if err := writeWholeFile(fs, s.path(indexSuffix)+suffix, offsets); err != nil {
		return err
	}
	return writeWholeFile(fs, s.path(timeIndexSuffix)+suffix, times)
}

// writeWholeFile replaces the contents of path with b and fsyncs it.
func writeWholeFile(fs vfs.FS, path string, b []byte) error {
	f, err := fs.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("write index: %w", err)
	}
	if len(b) > 0 {
		if _, err := f.Write(b); err != nil {
			f.Close()
			return fmt.Errorf("write %s: %w", path, err)
		}
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("sync %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", path, err)
	}
	return nil
}
