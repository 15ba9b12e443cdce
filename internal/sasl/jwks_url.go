package sasl

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"
)

// URLKeySourceOptions tunes a URLKeySource. Start from
// DefaultURLKeySourceOptions.
type URLKeySourceOptions struct {
	// RefreshInterval (sasl.oauthbearer.jwks.endpoint.refresh.ms, default
	// one hour) is the time between scheduled fetches.
	RefreshInterval time.Duration
	// RetryBackoff and RetryBackoffMax
	// (sasl.oauthbearer.jwks.endpoint.retry.backoff.ms and .max.ms,
	// defaults 100 ms and 10 s) space the retries of a failed fetch,
	// doubling from the first to the second.
	RetryBackoff    time.Duration
	RetryBackoffMax time.Duration
	// UnknownKeyRefreshInterval (default 10 s) is the least time between
	// fetches triggered by tokens naming an unknown kid, so that junk
	// tokens cannot make the broker hammer the identity provider.
	UnknownKeyRefreshInterval time.Duration
	// FetchTimeout (default 10 s) bounds one fetch.
	FetchTimeout time.Duration
	// OnRefresh, when set, is called after each fetch with its outcome,
	// from the goroutine that fetched; the broker logs failures with it.
	OnRefresh func(err error)
	// Now is the clock for the unknown-kid rate limit; nil means time.Now.
	Now func() time.Time
}

// DefaultURLKeySourceOptions returns Kafka's defaults.
func DefaultURLKeySourceOptions() URLKeySourceOptions {
	return URLKeySourceOptions{
		RefreshInterval:           time.Hour,
		RetryBackoff:              100 * time.Millisecond,
		RetryBackoffMax:           10 * time.Second,
		UnknownKeyRefreshInterval: 10 * time.Second,
		FetchTimeout:              10 * time.Second,
	}
}

// URLKeySource is a KeySource fetched over HTTPS, as Kafka fetches
// sasl.oauthbearer.jwks.endpoint.url. Whether the URL may be fetched at all
// (Kafka 4's org.apache.kafka.sasl.oauthbearer.allowed.urls) is the caller's
// decision, made before calling NewURLKeySource.
//
// Lookups never touch the network: they read the last fetched keys. Fetches
// happen in Refresh, called by the owner, and in Run, which the owner runs on
// its own goroutine. A failed fetch keeps the previous keys.
type URLKeySource struct {
	url     string
	client  *http.Client
	options URLKeySourceOptions

	keys atomic.Pointer[KeySet]
	// expedite asks Run for an early fetch; its buffer of one coalesces
	// requests made while a fetch is pending.
	expedite       chan struct{}
	lastExpediteAt atomic.Int64 // Unix nanoseconds.
}

// NewURLKeySource returns a source for the JWKS at rawURL, which must be
// https, fetched with client. It fetches nothing until Refresh or Run.
func NewURLKeySource(rawURL string, client *http.Client, options URLKeySourceOptions) (*URLKeySource, error) {
	parsed, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("new JWKS URL source: %w", err)
	}
	if parsed.Scheme != "https" || parsed.Host == "" {
		return nil, fmt.Errorf("new JWKS URL source: %q is not an https URL", rawURL)
	}
	if client == nil {
		return nil, errors.New("new JWKS URL source: nil HTTP client")
	}
	if options.RefreshInterval <= 0 || options.RetryBackoff <= 0 || options.RetryBackoffMax < options.RetryBackoff ||
		options.UnknownKeyRefreshInterval <= 0 || options.FetchTimeout <= 0 {
		return nil, fmt.Errorf("new JWKS URL source: invalid options %+v", options)
	}
	if options.Now == nil {
		options.Now = time.Now
	}
	return &URLKeySource{url: rawURL, client: client, options: options, expedite: make(chan struct{}, 1)}, nil
}

// VerificationKey implements KeySource. An unknown kid asks Run for an early
// fetch, at most once per UnknownKeyRefreshInterval, and fails at once: the
// client retries and finds the key once the fetch is done, as with Kafka.
func (s *URLKeySource) VerificationKey(kid, alg string) (crypto.PublicKey, error) {
	keys := s.keys.Load()
	if keys == nil {
		s.requestRefresh(kid)
		return nil, fmt.Errorf("JWKS %s: %w: keys not fetched yet", s.url, ErrKeyNotFound)
	}
	key, err := keys.VerificationKey(kid, alg)
	if err != nil {
		s.requestRefresh(kid)
		return nil, fmt.Errorf("JWKS %s: %w", s.url, err)
	}
	return key, nil
}

func (s *URLKeySource) requestRefresh(kid string) {
	if len(kid) > maxKeyIDBytes {
		return
	}
	now := s.options.Now().UnixNano()
	last := s.lastExpediteAt.Load()
	if now-last < int64(s.options.UnknownKeyRefreshInterval) || !s.lastExpediteAt.CompareAndSwap(last, now) {
		return
	}
	select {
	case s.expedite <- struct{}{}:
	default:
	}
}

// Refresh fetches the JWKS now and, if it is valid, uses it from then on.
func (s *URLKeySource) Refresh(ctx context.Context) error {
	err := s.fetch(ctx)
	if err != nil {
		err = fmt.Errorf("refresh JWKS %s: %w", s.url, err)
	}
	if s.options.OnRefresh != nil {
		s.options.OnRefresh(err)
	}
	return err
}

func (s *URLKeySource) fetch(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.options.FetchTimeout)
	defer cancel()
	request, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	if err != nil {
		return err
	}
	request.Header.Set("Accept", "application/json")
	response, err := s.client.Do(request)
	if err != nil {
		return err
	}
	defer response.Body.Close()
	if response.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP status %s", response.Status)
	}
	document, err := io.ReadAll(io.LimitReader(response.Body, MaxJWKSBytes+1))
	if err != nil {
		return err
	}
	if len(document) > MaxJWKSBytes {
		return fmt.Errorf("response exceeds %d bytes", MaxJWKSBytes)
	}
	keys, err := ParseJWKS(document)
	if err != nil {
		return err
	}
	s.keys.Store(keys)
	return nil
}

// Run keeps the keys fresh until ctx is cancelled, then returns ctx's
// error. It fetches at once unless keys were already fetched, then every
// RefreshInterval, early when a lookup met an unknown kid, and after a
// failure again with a doubling backoff. The caller runs it on a goroutine
// it owns and waits for it on shutdown.
func (s *URLKeySource) Run(ctx context.Context) error {
	wait := time.Duration(0)
	if s.keys.Load() != nil {
		wait = s.options.RefreshInterval
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	backoff := time.Duration(0)
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
		case <-s.expedite:
			timer.Stop()
		}
		if err := s.Refresh(ctx); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			backoff = min(max(backoff*2, s.options.RetryBackoff), s.options.RetryBackoffMax)
			timer.Reset(backoff)
			continue
		}
		backoff = 0
		timer.Reset(s.options.RefreshInterval)
	}
}
