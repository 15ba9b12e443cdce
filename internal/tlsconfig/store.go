package tlsconfig

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// ReloadCheckInterval is how often a handshake may look at the store files.
// One stat per file per second is negligible, and a rotated certificate is
// in use within a second of being renamed into place.
const ReloadCheckInterval = time.Second

// Options are the hooks a Server or Client is built with.
type Options struct {
	// Now is the clock for ReloadCheckInterval; time.Now when nil. Tests
	// pass a fake clock instead of sleeping.
	Now func() time.Time
	// OnReloadError is told when changed store files fail to load; the old
	// material stays in use. It is called once per change, with no lock
	// held, on the goroutine of the handshake that noticed the change. Nil
	// drops the error (Reload still returns it).
	OnReloadError func(error)
}

// keySource is where a key store or trust store comes from: a file
// (reloadable) or an inline property value (fixed).
type keySource struct {
	property string // the property the value came from, for errors
	path     string // set for a file
	inline   string // set for an inline value
}

func (s keySource) set() bool { return s.path != "" || s.inline != "" }

func (s keySource) read() ([]byte, error) {
	if s.path == "" {
		return []byte(s.inline), nil
	}
	f, err := os.Open(s.path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxStoreBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", s.path, err)
	}
	return data, nil
}

// material is one immutable generation of key material.
type material struct {
	certificate *tls.Certificate // nil when there is no key store
	roots       *x509.CertPool   // nil means the system roots
	server      *tls.Config      // the server's full config; nil for a client
}

// sources says how to build a generation.
type sources struct {
	keystore    keySource
	chain       keySource // inline certificate chain when keystore is inline
	keyPassword string
	hasPassword bool
	truststore  keySource
}

// load reads and checks every source. It never touches the current
// generation, so a failure leaves the store as it was.
func (s sources) load() (*material, error) {
	m := &material{}
	if s.keystore.set() {
		cert, err := s.loadKeystore()
		if err != nil {
			return nil, err
		}
		m.certificate = cert
	}
	if s.truststore.set() {
		data, err := s.truststore.read()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.truststore.property, err)
		}
		blocks, err := decodePEM(data)
		if err == nil {
			var certs []*x509.Certificate
			certs, _, err = certificatesFrom(blocks)
			m.roots = x509.NewCertPool()
			for _, c := range certs {
				m.roots.AddCert(c)
			}
		}
		if err != nil {
			return nil, configError(s.truststore.property, "%v", err)
		}
	}
	return m, nil
}

func (s sources) loadKeystore() (*tls.Certificate, error) {
	data, err := s.keystore.read()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.keystore.property, err)
	}
	keyBlocks, err := decodePEM(data)
	if err != nil {
		return nil, configError(s.keystore.property, "%v", err)
	}
	certBlocks := keyBlocks
	certProperty := s.keystore.property
	if s.chain.set() {
		certProperty = s.chain.property
		if certBlocks, err = decodePEM([]byte(s.chain.inline)); err != nil {
			return nil, configError(certProperty, "%v", err)
		}
	}
	certs, raw, err := certificatesFrom(certBlocks)
	if err != nil {
		return nil, configError(certProperty, "%v", err)
	}
	key, err := privateKeyFrom(keyBlocks, s.keyPassword, s.hasPassword)
	if err != nil {
		return nil, configError(s.keystore.property, "%v", err)
	}
	if err := checkKeyMatches(certs[0], key); err != nil {
		return nil, configError(s.keystore.property, "%v", err)
	}
	return &tls.Certificate{Certificate: raw, PrivateKey: key, Leaf: certs[0]}, nil
}

// fileStamp identifies one version of a file: a rename over it changes the
// inode, an in-place write the size or modification time.
type fileStamp struct {
	info os.FileInfo
}

func (a fileStamp) same(b fileStamp) bool {
	if a.info == nil || b.info == nil {
		return a.info == nil && b.info == nil
	}
	return os.SameFile(a.info, b.info) && a.info.Size() == b.info.Size() && a.info.ModTime().Equal(b.info.ModTime())
}

// store owns the current generation and the reload check.
type store struct {
	sources sources
	now     func() time.Time
	onError func(error)
	finish  func(*material) // fills derived fields (the server config)
	current atomic.Pointer[material]
	files   []string
	mu      struct {
		sync.Mutex
		lastCheck time.Time
		stamps    []fileStamp // of the last load attempted, good or bad
	}
}

func newStore(src sources, opts Options, finish func(*material)) (*store, error) {
	s := &store{sources: src, now: opts.Now, onError: opts.OnReloadError, finish: finish}
	if s.now == nil {
		s.now = time.Now
	}
	for _, source := range []keySource{src.keystore, src.chain, src.truststore} {
		if source.path != "" {
			s.files = append(s.files, source.path)
		}
	}
	stamps := s.stat()
	m, err := src.load()
	if err != nil {
		return nil, err
	}
	finish(m)
	s.current.Store(m)
	s.mu.lastCheck = s.now()
	s.mu.stamps = stamps
	return s, nil
}

// stat stamps every file; a missing file gets a nil stamp, so its return is
// a change too.
func (s *store) stat() []fileStamp {
	stamps := make([]fileStamp, len(s.files))
	for i, path := range s.files {
		if info, err := os.Stat(path); err == nil {
			stamps[i] = fileStamp{info: info}
		}
	}
	return stamps
}

// material returns the generation for a new handshake, first reloading if
// the files changed and the last check is ReloadCheckInterval old. A
// handshake never waits for another goroutine's check.
func (s *store) material() *material {
	if len(s.files) > 0 && s.mu.TryLock() {
		now := s.now()
		var err error
		if now.Sub(s.mu.lastCheck) >= ReloadCheckInterval {
			s.mu.lastCheck = now
			err = s.reloadLocked(false)
		}
		s.mu.Unlock()
		if err != nil && s.onError != nil {
			s.onError(err)
		}
	}
	return s.current.Load()
}

// reload re-reads the files if they changed (or always, when force is set)
// and returns the load error; the old generation stays on error.
func (s *store) reload(force bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mu.lastCheck = s.now()
	return s.reloadLocked(force)
}

func (s *store) reloadLocked(force bool) error {
	stamps := s.stat()
	if !force && stampsEqual(stamps, s.mu.stamps) {
		return nil
	}
	// Remember the attempt even if it fails, so a broken file is reported
	// once rather than on every check.
	s.mu.stamps = stamps
	m, err := s.sources.load()
	if err != nil {
		return fmt.Errorf("TLS reload failed, keeping the previous certificates: %w", err)
	}
	s.finish(m)
	s.current.Store(m)
	return nil
}

func stampsEqual(a, b []fileStamp) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !a[i].same(b[i]) {
			return false
		}
	}
	return true
}
