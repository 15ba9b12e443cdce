package sasl

import (
	"crypto"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// fileCheckInterval is how often a lookup may stat the JWKS file: often
// enough that a rotated file is seen within a second, rarely enough that a
// login storm does not become a stat storm.
const fileCheckInterval = time.Second

// FileKeySource is a KeySource read from a local JWKS file, as Kafka reads a
// file: sasl.oauthbearer.jwks.endpoint.url. A lookup re-reads the file when
// its modification time or size changed, checking at most once per second;
// Refresh re-reads it at once. A file that fails to read or parse leaves
// the previous keys in use.
type FileKeySource struct {
	path string
	now  func() time.Time

	current   atomic.Pointer[fileKeys]
	lastCheck atomic.Int64 // Unix nanoseconds of the last stat.
	lastError atomic.Pointer[error]

	// reloadMu serialises stat and read of the file. Lookups only try it,
	// so they never wait for another goroutine's I/O.
	reloadMu sync.Mutex
}

// fileKeys is one loaded version of the file.
type fileKeys struct {
	keys    *KeySet
	modTime time.Time
	size    int64
}

// NewFileKeySource loads the JWKS at path; now is the clock (nil for
// time.Now). An unreadable or invalid file is an error here, so that a
// broker with a bad configuration fails at startup.
func NewFileKeySource(path string, now func() time.Time) (*FileKeySource, error) {
	if now == nil {
		now = time.Now
	}
	s := &FileKeySource{path: path, now: now}
	if err := s.Refresh(); err != nil {
		return nil, err
	}
	return s, nil
}

// Refresh re-reads the file now.
func (s *FileKeySource) Refresh() error {
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	s.lastCheck.Store(s.now().UnixNano())
	return s.reloadLocked(true)
}

// Err returns the error of the last failed reload, nil once one succeeds.
func (s *FileKeySource) Err() error {
	if p := s.lastError.Load(); p != nil {
		return *p
	}
	return nil
}

// VerificationKey implements KeySource.
func (s *FileKeySource) VerificationKey(kid, alg string) (crypto.PublicKey, error) {
	s.maybeReload()
	current := s.current.Load()
	key, err := current.keys.VerificationKey(kid, alg)
	if err != nil {
		return nil, fmt.Errorf("JWKS file %s: %w", s.path, err)
	}
	return key, nil
}

func (s *FileKeySource) maybeReload() {
	now := s.now().UnixNano()
	if now-s.lastCheck.Load() < int64(fileCheckInterval) || !s.reloadMu.TryLock() {
		return
	}
	defer s.reloadMu.Unlock()
	if now-s.lastCheck.Load() < int64(fileCheckInterval) {
		return // Another goroutine checked while this one took the lock.
	}
	s.lastCheck.Store(now)
	_ = s.reloadLocked(false) // Recorded for Err; the old keys stay.
}

// reloadLocked reads the file if force or if it changed since the last
// load. reloadMu is held.
func (s *FileKeySource) reloadLocked(force bool) error {
	err := s.load(force)
	if err != nil {
		err = fmt.Errorf("load JWKS file %s: %w", s.path, err)
		s.lastError.Store(&err)
		return err
	}
	s.lastError.Store(nil)
	return nil
}

func (s *FileKeySource) load(force bool) error {
	file, err := os.Open(s.path)
	if err != nil {
		return err
	}
	defer file.Close()
	info, err := file.Stat()
	if err != nil {
		return err
	}
	if current := s.current.Load(); !force && current != nil &&
		info.ModTime().Equal(current.modTime) && info.Size() == current.size {
		return nil
	}
	if info.Size() > MaxJWKSBytes {
		return fmt.Errorf("%d bytes exceeds %d", info.Size(), MaxJWKSBytes)
	}
	// The size can change between Stat and read; the limit holds anyway.
	document, err := io.ReadAll(io.LimitReader(file, MaxJWKSBytes+1))
	if err != nil {
		return err
	}
	if len(document) > MaxJWKSBytes {
		return errors.New("file grew beyond the JWKS size limit while being read")
	}
	keys, err := ParseJWKS(document)
	if err != nil {
		return err
	}
	s.current.Store(&fileKeys{keys: keys, modTime: info.ModTime(), size: info.Size()})
	return nil
}
