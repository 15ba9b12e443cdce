package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"

	"github.com/fjordhq/fjord/internal/recordbatch"
	"github.com/fjordhq/fjord/internal/vfs"
)

const (
	offsetIndexEntryBytes = 8
	timeIndexEntryBytes   = 12
)

// offsetEntry maps the base offset of a batch to its position in the log.
type offsetEntry struct {
	offset   Offset
	position int64
}

// timeEntry records that the largest timestamp so far in the segment became
// timestamp at the batch holding offset.
type timeEntry struct {
	timestamp int64
	offset    Offset
}

// offsetIndex is a segment's sparse offset index: entries in memory for
// binary search, the file for persistence. In memory each entry is packed
// as on disk, relative offset and position in one uint64, so a full index
// costs segment.index.bytes of memory and no more. Slots are guarded by
// Log.mu. Once a segment is rolled its slots are never changed in place,
// only replaced whole, so a copy of the slice header taken under Log.mu can
// be encoded without it.
type offsetIndex struct {
	baseOffset Offset
	slots      []uint64
}

func (ix *offsetIndex) count() int { return len(ix.slots) }

func (ix *offsetIndex) entry(i int) offsetEntry {
	slot := ix.slots[i]
	return offsetEntry{offset: ix.baseOffset + Offset(slot>>32), position: int64(uint32(slot))}
}

func (ix *offsetIndex) add(e offsetEntry) {
	ix.slots = append(ix.slots, uint64(e.offset-ix.baseOffset)<<32|uint64(uint32(e.position)))
}

// entries returns a copy of the entries, for rewriting and tests.
func (ix *offsetIndex) entries() []offsetEntry {
	out := make([]offsetEntry, ix.count())
	for i := range out {
		out[i] = ix.entry(i)
	}
	return out
}

func (ix *offsetIndex) setEntries(entries []offsetEntry) {
	ix.slots = make([]uint64, 0, len(entries))
	for _, e := range entries {
		ix.add(e)
	}
}

// lookup returns the position of the last indexed batch whose base offset is
// at most target, or 0: the batch holding target starts there or later.
func (ix *offsetIndex) lookup(target Offset) int64 {
	if target < ix.baseOffset {
		return 0
	}
	rel := uint64(target - ix.baseOffset)
	if rel > 0xffffffff {
		rel = 0xffffffff
	}
	key := rel<<32 | 0xffffffff
	i := sort.Search(len(ix.slots), func(i int) bool { return ix.slots[i] > key })
	if i == 0 {
		return 0
	}
	return int64(uint32(ix.slots[i-1]))
}

func (ix *offsetIndex) encode(dst []byte, e offsetEntry) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(e.offset-ix.baseOffset))
	return binary.BigEndian.AppendUint32(dst, uint32(e.position))
}

// timeIndex is a segment's sparse time index, organised like offsetIndex.
type timeIndex struct {
	baseOffset Offset
	entries    []timeEntry
}

// lastBelow returns the offset of the last entry with a timestamp below ts
// and whether there is one. Every batch before that entry's offset has a
// max timestamp below ts too, so a search for ts may start there.
func (ix *timeIndex) lastBelow(ts int64) (Offset, bool) {
	i := sort.Search(len(ix.entries), func(i int) bool { return ix.entries[i].timestamp >= ts })
	if i == 0 {
		return 0, false
	}
	return ix.entries[i-1].offset, true
}

// last returns the newest entry, or the sentinel {-1, -1}.
func (ix *timeIndex) last() timeEntry {
	if len(ix.entries) == 0 {
		return timeEntry{timestamp: -1, offset: -1}
	}
	return ix.entries[len(ix.entries)-1]
}

func (ix *timeIndex) encode(dst []byte, e timeEntry) []byte {
	dst = binary.BigEndian.AppendUint64(dst, uint64(e.timestamp))
	return binary.BigEndian.AppendUint32(dst, uint32(e.offset-ix.baseOffset))
}

// readIndexFile reads a whole index file, refusing sizes that cannot belong
// to a log of logSize bytes: every entry points at a distinct batch, so there
// are at most logSize/HeaderSize+1 of them. This bounds the allocation by the
// log's size, never by the index file's claim. A missing file is corruption
// too: the caller rebuilds the index from the log.
func readIndexFile(fs vfs.FS, path string, entryBytes int, logSize int64) ([]byte, error) {
	f, err := fs.OpenFile(path, os.O_RDONLY, 0)
	if errors.Is(err, os.ErrNotExist) {
		return nil, corruptf(path, 0, "index file missing")
	}
	if err != nil {
		return nil, fmt.Errorf("open index: %w", err)
	}
	defer f.Close()
	return readBoundedIndex(f, path, entryBytes, logSize)
}

// readBoundedIndex reads the whole open index file f (see readIndexFile).
func readBoundedIndex(f vfs.File, path string, entryBytes int, logSize int64) ([]byte, error) {
	size, err := f.Size()
	if err != nil {
		return nil, fmt.Errorf("size of %s: %w", path, err)
	}
	maxEntries := logSize/recordbatch.HeaderSize + 1
	if size%int64(entryBytes) != 0 || size/int64(entryBytes) > maxEntries {
		return nil, corruptf(path, 0, "index size %d does not fit a log of %d bytes", size, logSize)
	}
	b := make([]byte, size)
	if n, err := f.ReadAt(b, 0); err != nil && !(errors.Is(err, io.EOF) && int64(n) == size) {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return b, nil
}

// decodeOffsetIndex parses and checks an offset index: offsets and positions
// strictly increasing, positions inside the log.
func decodeOffsetIndex(name string, b []byte, base Offset, logSize int64) ([]offsetEntry, error) {
	entries := make([]offsetEntry, 0, len(b)/offsetIndexEntryBytes)
	for i := 0; i+offsetIndexEntryBytes <= len(b); i += offsetIndexEntryBytes {
		e := offsetEntry{
			offset:   base + Offset(binary.BigEndian.Uint32(b[i:])),
			position: int64(binary.BigEndian.Uint32(b[i+4:])),
		}
		if e.position >= logSize {
			return nil, corruptf(name, int64(i), "position %d past log end %d", e.position, logSize)
		}
		if n := len(entries); n > 0 && (e.offset <= entries[n-1].offset || e.position <= entries[n-1].position) {
			return nil, corruptf(name, int64(i), "entries out of order")
		}
		entries = append(entries, e)
	}
	return entries, nil
}

// decodeTimeIndex parses and checks a time index: timestamps strictly
// increasing, offsets not decreasing and below nextOffset.
func decodeTimeIndex(name string, b []byte, base, nextOffset Offset) ([]timeEntry, error) {
	entries := make([]timeEntry, 0, len(b)/timeIndexEntryBytes)
	for i := 0; i+timeIndexEntryBytes <= len(b); i += timeIndexEntryBytes {
		e := timeEntry{
			timestamp: int64(binary.BigEndian.Uint64(b[i:])),
			offset:    base + Offset(binary.BigEndian.Uint32(b[i+8:])),
		}
		if e.offset >= nextOffset {
			return nil, corruptf(name, int64(i), "offset %d past segment end %d", e.offset, nextOffset)
		}
		if n := len(entries); n > 0 && (e.timestamp <= entries[n-1].timestamp || e.offset < entries[n-1].offset) {
			return nil, corruptf(name, int64(i), "entries out of order")
		}
		entries = append(entries, e)
	}
	return entries, nil
}
