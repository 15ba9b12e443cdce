package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"log"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// Defaults of PebbleOptions. A process runs one store per stateful task and
// store, often hundreds, so each gets little memory; RocksDB's defaults in
// Kafka Streams (16 MiB memtables, a 50 MiB cache per store) are known to
// run such processes out of memory.
const (
	DefaultMemTableSizeBytes = 1 << 20 // 1 MiB: pebble rotates at this size and keeps up to two
	DefaultCacheSizeBytes    = 2 << 20 // 2 MiB of block cache per store unless one is shared
	DefaultMaxOpenFiles      = 64      // file descriptors per store; a small store has a few tables
)

// The reserved key space. User keys live under userPrefix, so no user key
// can collide with the store's own keys under metaPrefix.
const (
	metaPrefix byte = 0x00
	userPrefix byte = 0x01
	// pebbleFormat is the version of this layout, stored under formatKey.
	pebbleFormat byte = 1
	// checkpointVersion is the first byte of a stored checkpoint.
	checkpointVersion byte = 1
	// batchHeaderBytes is the size of a pebble batch's header (sequence
	// number and count), which Batch.Len counts even when empty.
	batchHeaderBytes = 12
	// maxUncommittedBytes bounds the batch: pebble panics past 4 GiB, and
	// an owner that commits by UncommittedBytes never comes near.
	maxUncommittedBytes = 2 << 30
)

var (
	formatKey     = []byte{metaPrefix, 'f', 'o', 'r', 'm', 'a', 't'}
	checkpointKey = []byte{metaPrefix, 'c', 'h', 'e', 'c', 'k', 'p', 'o', 'i', 'n', 't'}
	userLower     = []byte{userPrefix}
	userUpper     = []byte{userPrefix + 1}
	emptyValue    = []byte{}
)

// PebbleOptions configure OpenPebble; the zero value takes the defaults.
type PebbleOptions struct {
	// MemTableSizeBytes is the size of pebble's write buffer (Kafka
	// Streams' RocksDB write_buffer_size); 0: DefaultMemTableSizeBytes.
	MemTableSizeBytes int64
	// CacheSizeBytes is the block cache of this store when Cache is nil;
	// 0: DefaultCacheSizeBytes.
	CacheSizeBytes int64
	// Cache, if set, is a block cache shared by several stores, which
	// bounds their reads together (Kafka Streams' BoundedMemoryRocksDBConfig).
	// Its creator keeps its own reference and Unrefs it when done.
	Cache *pebble.Cache
	// MaxOpenFiles bounds the file descriptors of the store's tables;
	// 0: DefaultMaxOpenFiles.
	MaxOpenFiles int
	// FS is the file system; nil: the operating system's. Tests pass
	// vfs.NewCrashableMem() to crash the store at will.
	FS vfs.FS
	// EngineLogger receives pebble's own messages; nil: informational
	// ones are dropped, errors go to the standard logger, and fatal ones
	// panic (pebble does not expect Fatalf to return, and exiting the
	// process is not a library's call).
	EngineLogger pebble.Logger
}

// pebbleStore is the persistent KeyValue. The writes since the last Commit
// sit in an indexed batch, which reads go through; Commit applies the batch
// with the checkpoint, synced, and Abort resets it. Nothing is written to
// disk between commits, so a crash leaves exactly the last commit.
type pebbleStore struct {
	name       string
	db         *pebble.DB
	batch      *pebble.Batch
	checkpoint Checkpoint
	iterators  map[*pebbleIterator]struct{}
	keyBuf     []byte // scratch for prefixed keys that pebble does not keep
	// unflushed counts the writes committed since pebble last finished a
	// flush, for ApproximateNumEntries; pebble's flush goroutine resets it.
	unflushed *atomic.Int64
	failed    error // the write error that stopped the store
	closed    bool
}

// OpenPebble opens, or creates, the pebble store named name in dir.
func OpenPebble(name, dir string, opts PebbleOptions) (KeyValue, error) {
	unflushed := &atomic.Int64{}
	engineOpts := pebbleEngineOptions(opts)
	engineOpts.EventListener = &pebble.EventListener{FlushEnd: func(pebble.FlushInfo) { unflushed.Store(0) }}
	db, err := pebble.Open(dir, engineOpts)
	if err != nil {
		return nil, errorf(name, "open "+dir, markCorrupt(err))
	}
	p := &pebbleStore{name: name, db: db, iterators: map[*pebbleIterator]struct{}{}, unflushed: unflushed}
	if err := p.load(); err != nil {
		_ = db.Close()
		return nil, err
	}
	p.batch = db.NewIndexedBatch()
	return p, nil
}

func pebbleEngineOptions(opts PebbleOptions) *pebble.Options {
	o := &pebble.Options{
		FS:           opts.FS,
		MemTableSize: uint64(opts.MemTableSizeBytes),
		Cache:        opts.Cache,
		CacheSize:    opts.CacheSizeBytes,
		MaxOpenFiles: opts.MaxOpenFiles,
		Logger:       opts.EngineLogger,
	}
	if o.MemTableSize == 0 {
		o.MemTableSize = DefaultMemTableSizeBytes
	}
	if o.CacheSize == 0 {
		o.CacheSize = DefaultCacheSizeBytes
	}
	if o.MaxOpenFiles == 0 {
		o.MaxOpenFiles = DefaultMaxOpenFiles
	}
	if o.Logger == nil {
		o.Logger = quietLogger{}
	}
	// Bloom filters on every level, as Kafka Streams configures RocksDB:
	// a point read then skips the tables that lack its key, for about
	// 1.25 bytes of cache a key.
	o.Levels[0].FilterPolicy = bloom.FilterPolicy(10)
	return o
}

// quietLogger is pebble's logger by default: see PebbleOptions.EngineLogger.
type quietLogger struct{}

func (quietLogger) Infof(string, ...any) {}

func (quietLogger) Errorf(format string, args ...any) {
	log.Printf("fjord streams store: pebble: "+format, args...)
}

func (quietLogger) Fatalf(format string, args ...any) {
	panic(fmt.Sprintf("fjord streams store: pebble: "+format, args...))
}

// markCorrupt adds ErrCorrupt to pebble's own corruption errors, so that
// callers test one sentinel.
func markCorrupt(err error) error {
	if err != nil && pebble.IsCorruptionError(err) && !errors.Is(err, ErrCorrupt) {
		return fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	return err
}

// load checks the layout version, writing it into a new store, and reads
// the checkpoint.
func (p *pebbleStore) load() error {
	format, err := p.getRaw(formatKey)
	if err != nil {
		return errorf(p.name, "open", err)
	}
	switch {
	case format == nil:
		if err := p.db.Set(formatKey, []byte{pebbleFormat}, pebble.Sync); err != nil {
			return errorf(p.name, "open", err)
		}
	case len(format) != 1 || format[0] != pebbleFormat:
		return errorf(p.name, "open", fmt.Errorf("%w: layout version %x, this code reads %d", ErrCorrupt, format, pebbleFormat))
	}
	encoded, err := p.getRaw(checkpointKey)
	if err != nil {
		return errorf(p.name, "open", err)
	}
	if p.checkpoint, err = decodeCheckpoint(encoded); err != nil {
		return errorf(p.name, "open", err)
	}
	return nil
}

// getRaw reads a key of the committed data, copied; nil if absent.
func (p *pebbleStore) getRaw(key []byte) ([]byte, error) {
	v, closer, err := p.db.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, markCorrupt(err)
	}
	defer closer.Close()
	return bytes.Clone(v), nil
}

// A stored checkpoint is 9 bytes:
//
//	0  1  version (1)
//	1  8  offset, int64 BE
func encodeCheckpoint(cp Checkpoint) []byte {
	return binary.BigEndian.AppendUint64([]byte{checkpointVersion}, uint64(cp.Offset))
}

func decodeCheckpoint(b []byte) (Checkpoint, error) {
	if b == nil {
		return NoCheckpoint, nil
	}
	if len(b) != 9 || b[0] != checkpointVersion {
		return NoCheckpoint, fmt.Errorf("%w: checkpoint %x", ErrCorrupt, b)
	}
	return Checkpoint{Offset: int64(binary.BigEndian.Uint64(b[1:]))}, nil
}

// userKey returns key under userPrefix in the scratch buffer, for calls
// that do not keep it.
func (p *pebbleStore) userKey(key []byte) []byte {
	p.keyBuf = append(append(p.keyBuf[:0], userPrefix), key...)
	return p.keyBuf
}

// userBound returns a range bound under userPrefix in a new slice (pebble
// keeps iterator bounds); nil is the end of the user key space given.
func userBound(key, unbounded []byte) []byte {
	if key == nil {
		return unbounded
	}
	return append([]byte{userPrefix}, key...)
}

// check returns the error that any operation meets on a closed or failed
// store.
func (p *pebbleStore) check(op string) error {
	switch {
	case p.closed:
		return errorf(p.name, op, ErrClosed)
	case p.failed != nil:
		return errorf(p.name, op, fmt.Errorf("%w: %w", ErrFailed, p.failed))
	}
	return nil
}

func (p *pebbleStore) Name() string { return p.name }

func (p *pebbleStore) Get(key []byte) ([]byte, error) {
	if err := p.check("get"); err != nil {
		return nil, err
	}
	v, closer, err := p.batch.Get(p.userKey(key))
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, errorf(p.name, "get", markCorrupt(err))
	}
	// Copied: pebble's slice is valid only until closer.Close.
	out := make([]byte, len(v))
	copy(out, v)
	return out, closer.Close()
}

func (p *pebbleStore) Put(key, value []byte) error {
	if value == nil {
		return p.Delete(key)
	}
	if err := p.check("put"); err != nil {
		return err
	}
	if size := p.batch.Len() + len(key) + len(value); size > maxUncommittedBytes {
		return errorf(p.name, "put", fmt.Errorf("%d uncommitted bytes, over the limit of %d: commit first", size, maxUncommittedBytes))
	}
	if err := p.batch.Set(p.userKey(key), value, nil); err != nil {
		return errorf(p.name, "put", err)
	}
	return nil
}

func (p *pebbleStore) Delete(key []byte) error {
	if err := p.check("delete"); err != nil {
		return err
	}
	if err := p.batch.Delete(p.userKey(key), nil); err != nil {
		return errorf(p.name, "delete", err)
	}
	return nil
}

func (p *pebbleStore) DeleteRange(from, to []byte) error {
	if err := p.check("delete range"); err != nil {
		return err
	}
	if err := p.batch.DeleteRange(userBound(from, userLower), userBound(to, userUpper), nil); err != nil {
		return errorf(p.name, "delete range", err)
	}
	return nil
}

func (p *pebbleStore) Commit(cp Checkpoint) error {
	if err := p.check("commit"); err != nil {
		return err
	}
	if len(p.iterators) > 0 {
		return errorf(p.name, "commit", ErrIteratorsOpen)
	}
	if p.batch.Empty() && cp == p.checkpoint {
		return nil // nothing to make durable: spare the fsync
	}
	if err := p.batch.Set(checkpointKey, encodeCheckpoint(cp), nil); err != nil {
		return errorf(p.name, "commit", err)
	}
	if err := p.db.Apply(p.batch, pebble.Sync); err != nil {
		p.failed = err
		return errorf(p.name, "commit", fmt.Errorf("%w: %w", ErrFailed, err))
	}
	p.unflushed.Add(int64(p.batch.Count()) - 1) // the checkpoint is no entry
	p.batch.Reset()
	p.checkpoint = cp
	return nil
}

func (p *pebbleStore) Abort() error {
	if err := p.check("abort"); err != nil {
		return err
	}
	if len(p.iterators) > 0 {
		return errorf(p.name, "abort", ErrIteratorsOpen)
	}
	p.batch.Reset()
	return nil
}

func (p *pebbleStore) Checkpoint() (Checkpoint, error) {
	if err := p.check("checkpoint"); err != nil {
		return NoCheckpoint, err
	}
	return p.checkpoint, nil
}

// ApproximateNumEntries adds up, as RocksDB's estimate-num-keys does, the
// entries of the tables less twice their deletions, the writes committed
// since the last flush and the uncommitted ones. Overwritten keys count
// until compaction merges them, and writes that reached the memtable while
// an older one was flushing are missed: at most one memtable's worth. The
// tables' properties are cached by pebble, so asking costs no I/O once warm.
func (p *pebbleStore) ApproximateNumEntries() int64 {
	if p.check("count") != nil {
		return 0
	}
	n := int64(p.batch.Count()) + p.unflushed.Load()
	levels, err := p.db.SSTables(pebble.WithProperties())
	if err != nil {
		return n
	}
	for _, level := range levels {
		for _, table := range level {
			if props := table.Properties; props != nil {
				n += int64(props.NumEntries) - 2*int64(props.NumDeletions)
			}
		}
	}
	return max(n, 0)
}

func (p *pebbleStore) UncommittedBytes() int64 {
	if p.check("uncommitted bytes") != nil {
		return 0
	}
	return int64(p.batch.Len() - batchHeaderBytes) // Len counts the batch's header
}

func (p *pebbleStore) Close() error {
	if p.closed {
		return nil
	}
	p.closed = true
	for it := range p.iterators {
		_ = it.release() // its error was the iteration's to report
	}
	err := p.batch.Close()
	if dbErr := p.db.Close(); dbErr != nil {
		err = dbErr
	}
	if err != nil {
		return errorf(p.name, "close", err)
	}
	return nil
}

func (p *pebbleStore) Range(from, to []byte) (Iterator, error) {
	return p.newIterator(from, to, false)
}

func (p *pebbleStore) ReverseRange(from, to []byte) (Iterator, error) {
	return p.newIterator(from, to, true)
}

func (p *pebbleStore) newIterator(from, to []byte, reverse bool) (Iterator, error) {
	if err := p.check("range"); err != nil {
		return nil, err
	}
	it, err := p.batch.NewIter(&pebble.IterOptions{
		LowerBound: userBound(from, userLower),
		UpperBound: userBound(to, userUpper),
	})
	if err != nil {
		return nil, errorf(p.name, "range", err)
	}
	pi := &pebbleIterator{store: p, it: it, reverse: reverse}
	p.iterators[pi] = struct{}{}
	return pi, nil
}

// pebbleIterator reads an indexed batch through to the database: it sees
// the batch as it was when opened.
type pebbleIterator struct {
	store   *pebbleStore
	it      *pebble.Iterator // nil once released
	reverse bool
	started bool
	value   []byte
	err     error
}

func (it *pebbleIterator) Next() bool {
	if it.it == nil {
		if it.err == nil && it.store.closed {
			it.err = errorf(it.store.name, "iterate", ErrClosed)
		}
		return false
	}
	var ok bool
	switch {
	case !it.started && it.reverse:
		ok = it.it.Last()
	case !it.started:
		ok = it.it.First()
	case it.reverse:
		ok = it.it.Prev()
	default:
		ok = it.it.Next()
	}
	it.started = true
	if !ok {
		if err := it.it.Error(); err != nil {
			it.err = errorf(it.store.name, "iterate", markCorrupt(err))
		}
		return false
	}
	v, err := it.it.ValueAndErr()
	if err != nil {
		it.err = errorf(it.store.name, "iterate", markCorrupt(err))
		return false
	}
	if v == nil {
		v = emptyValue // a present key has a value, if an empty one
	}
	it.value = v
	return true
}

func (it *pebbleIterator) Key() []byte {
	if it.it == nil || !it.it.Valid() {
		return nil
	}
	return it.it.Key()[1:]
}

func (it *pebbleIterator) Value() []byte {
	if it.it == nil {
		return nil
	}
	return it.value
}

func (it *pebbleIterator) Err() error { return it.err }

func (it *pebbleIterator) Close() error {
	if it.it == nil {
		return nil
	}
	if err := it.release(); err != nil && it.err == nil {
		return errorf(it.store.name, "iterate", markCorrupt(err))
	}
	return nil
}

// release closes the pebble iterator and forgets it.
func (it *pebbleIterator) release() error {
	err := it.it.Close()
	it.it, it.value = nil, nil
	delete(it.store.iterators, it)
	return err
}
