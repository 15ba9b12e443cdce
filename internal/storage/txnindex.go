package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/fjordhq/fjord/internal/vfs"
)

// The transaction index, Kafka's TransactionIndex: per segment, the aborted
// transactions whose abort markers lie in it, for read_committed fetches.
// Its entries live in memory with their segment and are persisted like the
// other index files (indexfile.go), with two differences.
//
// A missing .txnindex means "no aborted transactions", not damage, so a
// segment without entries has no file. Writing a segment's index therefore
// writes or removes its .txnindex, and the directory is fsynced before
// anything trusts it: a lost directory entry would read as an empty index.
//
// Storage cannot rebuild the entries from the log: a transaction's first
// offset and the last stable offset belong to the producer state. So Open
// drops what it cannot trust, every entry from the first segment it scanned
// or whose file it could not load, and says where from
// (TxnIndexRebuildFrom); the owner of the producer state adds them again
// while replaying the log. The recovery point stays below those segments
// until the next Sync has written their files (txnlog.go).

const (
	// abortedTxnBytes is the size of one entry, Kafka's AbortedTxn:
	// version int16, producer id, first, last and last stable offsets
	// int64, big endian.
	abortedTxnBytes   = 34
	abortedTxnVersion = 0
)

// AbortedTxn is one aborted transaction: the producer, its first and last
// offsets (LastOffset is the abort marker's) and the last stable offset
// when it was aborted.
type AbortedTxn struct {
	ProducerID                                int64
	FirstOffset, LastOffset, LastStableOffset Offset
}

// problem says what makes t impossible on its own, or "".
func (t AbortedTxn) problem() string {
	switch {
	case t.FirstOffset < 0:
		return fmt.Sprintf("negative first offset %d", t.FirstOffset)
	case t.FirstOffset > t.LastOffset:
		return fmt.Sprintf("first offset %d after last offset %d", t.FirstOffset, t.LastOffset)
	}
	return ""
}

func encodeTxnIndex(txns []AbortedTxn) []byte {
	b := make([]byte, 0, len(txns)*abortedTxnBytes)
	for _, t := range txns {
		b = binary.BigEndian.AppendUint16(b, abortedTxnVersion)
		b = binary.BigEndian.AppendUint64(b, uint64(t.ProducerID))
		b = binary.BigEndian.AppendUint64(b, uint64(t.FirstOffset))
		b = binary.BigEndian.AppendUint64(b, uint64(t.LastOffset))
		b = binary.BigEndian.AppendUint64(b, uint64(t.LastStableOffset))
	}
	return b
}

// decodeTxnIndex parses and checks the .txnindex of the segment holding
// offsets [base, next): whole entries of version 0, each with a first
// offset in [0, last offset], last offsets strictly increasing and inside
// the segment.
func decodeTxnIndex(name string, b []byte, base, next Offset) ([]AbortedTxn, error) {
	if len(b)%abortedTxnBytes != 0 {
		return nil, corruptf(name, 0, "size %d is not a whole number of entries", len(b))
	}
	txns := make([]AbortedTxn, 0, len(b)/abortedTxnBytes)
	for at := 0; at < len(b); at += abortedTxnBytes {
		e := b[at : at+abortedTxnBytes]
		if v := int16(binary.BigEndian.Uint16(e)); v != abortedTxnVersion {
			return nil, corruptf(name, int64(at), "entry version %d", v)
		}
		t := AbortedTxn{
			ProducerID:       int64(binary.BigEndian.Uint64(e[2:])),
			FirstOffset:      Offset(binary.BigEndian.Uint64(e[10:])),
			LastOffset:       Offset(binary.BigEndian.Uint64(e[18:])),
			LastStableOffset: Offset(binary.BigEndian.Uint64(e[26:])),
		}
		if p := t.problem(); p != "" {
			return nil, corruptf(name, int64(at), "%s", p)
		}
		if t.LastOffset < base || t.LastOffset >= next {
			return nil, corruptf(name, int64(at), "last offset %d outside the segment [%d, %d)", t.LastOffset, base, next)
		}
		if n := len(txns); n > 0 && t.LastOffset <= txns[n-1].LastOffset {
			return nil, corruptf(name, int64(at), "entries out of order")
		}
		txns = append(txns, t)
	}
	return txns, nil
}

// readTxnIndexFile reads a .txnindex whole; a missing file is an empty
// index. Its size is bounded by the log's, as readIndexFile's: every entry
// has its own marker batch.
func readTxnIndexFile(fs vfs.FS, path string, logSize int64) ([]byte, error) {
	f, err := fs.OpenFile(path, os.O_RDONLY, 0)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("open transaction index: %w", err)
	}
	defer f.Close()
	return readBoundedIndex(f, path, abortedTxnBytes, logSize)
}

// writeTxnIndexFile makes the .txnindex (with suffix) of the segment at
// base in dir hold txns: written and fsynced, or removed when there are
// none. It reports whether it may have changed the directory, which must
// then be fsynced before the file is trusted.
func writeTxnIndexFile(fs vfs.FS, dir string, base Offset, txns []AbortedTxn, suffix string) (dirChanged bool, err error) {
	path := filepath.Join(dir, segmentName(base)+txnIndexSuffix+suffix)
	if len(txns) > 0 {
		return true, writeWholeFile(fs, path, encodeTxnIndex(txns))
	}
	err = fs.Remove(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("remove %s: %w", path, err)
	}
	return true, nil
}

// txnSnapshot is a segment's transaction index as of one moment, to write
// without Log.mu: entries are only ever appended past its length, or the
// slice replaced.
type txnSnapshot struct {
	base Offset
	txns []AbortedTxn
	// seg and version name a dirty segment's entries as written (seg is
	// nil for others).
	seg     *segment
	version uint64
}

// setTxns replaces the segment's entries (Log.mu held, or s not shared).
func (s *segment) setTxns(txns []AbortedTxn) {
	s.txns, s.txnMinFirst = txns, math.MaxInt64
	for _, t := range txns {
		s.txnMinFirst = min(s.txnMinFirst, t.FirstOffset)
	}
	s.txnVersion++
}

// addTxn appends an entry (Log.mu held).
func (s *segment) addTxn(t AbortedTxn) {
	if len(s.txns) == 0 {
		s.txnMinFirst = t.FirstOffset
	}
	s.txns = append(s.txns, t)
	s.txnMinFirst = min(s.txnMinFirst, t.FirstOffset)
	s.txnVersion++
}

// txnsBelow returns the entries whose marker lies below end. Its capacity
// is clipped, so that a later add copies rather than writing into an array
// a snapshot may still be encoding.
func txnsBelow(txns []AbortedTxn, end Offset) []AbortedTxn {
	n := 0
	for n < len(txns) && txns[n].LastOffset < end {
		n++
	}
	return txns[:n:n]
}

// loadTxnIndex reads and checks the .txnindex of a segment that load
// trusted (its size and next offset are known).
func (s *segment) loadTxnIndex(fs vfs.FS) error {
	path := s.path(txnIndexSuffix)
	b, err := readTxnIndexFile(fs, path, s.size)
	if err != nil {
		return err
	}
	txns, err := decodeTxnIndex(path, b, s.baseOffset, s.nextOffset)
	if err != nil {
		return err
	}
	s.setTxns(txns)
	return nil
}
