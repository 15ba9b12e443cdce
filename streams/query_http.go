package streams

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// ForwardedHeader marks a query that one instance's handler forwarded to
// the instance hosting the key. The receiver answers from its own stores
// or fails; it never forwards again, so a disagreement between instances
// about who hosts a key (during a rebalance) cannot loop.
const ForwardedHeader = "X-Streams-Forwarded"

// defaultForwardTimeout bounds a forwarded query when the handler's client
// sets no timeout of its own: a point lookup answers in milliseconds, and
// a caller waiting longer is better told to retry.
const defaultForwardTimeout = 5 * time.Second

// maxForwardedBodyBytes bounds the answer copied back from a forwarded
// query: one key and one value.
const maxForwardedBodyBytes = 16 << 20

// QueryHandlerOption configures NewKeyValueQueryHandler.
type QueryHandlerOption func(*queryHandlerConfig)

type queryHandlerConfig struct {
	client *http.Client
	opts   []QueryOption
}

// WithForwardClient sets the client that forwards queries to the instance
// hosting the key (TLS, proxies, timeouts). A forwarded query gives up
// after the client's Timeout, or after 5 seconds if it has none.
func WithForwardClient(client *http.Client) QueryHandlerOption {
	return func(c *queryHandlerConfig) { c.client = client }
}

// WithHandlerQueryOptions sets the QueryOptions of the handler's local
// queries, WithStaleStores for instance.
func WithHandlerQueryOptions(opts ...QueryOption) QueryHandlerOption {
	return func(c *queryHandlerConfig) { c.opts = append(c.opts, opts...) }
}

// KeyQueryResponse is the JSON answer of a key lookup.
type KeyQueryResponse[K, V any] struct {
	Key   K `json:"key"`
	Value V `json:"value"`
	// Host is the application.server of the instance that read the store.
	Host string `json:"host"`
}

// NewKeyValueQueryHandler serves interactive queries of key-value store
// name over HTTP, from any instance of the application (the pattern of
// Kafka Streams' interactive query examples):
//
//	GET /stores/{name}/keys/{key}   {"key": ..., "value": ..., "host": ...}
//	GET /stores/{name}/metadata     the StoreMetadata, as JSON
//
// parseKey reads the path segment of the key (unescaped). A key hosted by
// another instance is fetched from that instance's application.server, once
// (see ForwardedHeader), and its answer passed on. An absent key gets 404;
// a key that cannot be answered now (rebalancing, restoring, moving) gets
// 503 with Retry-After; an instance that cannot be reached gets 502.
//
// Serve it on Config.ApplicationServer's address, which the other instances
// forward to, for instance with
//
//	mux.Handle("/stores/counts/", handler)
//	http.ListenAndServe(cfg.ApplicationServer, mux)
//
// Keys and values are written with encoding/json.
func NewKeyValueQueryHandler[K, V any](a *App, name string, parseKey func(string) (K, error), opts ...QueryHandlerOption) (http.Handler, error) {
	var cfg queryHandlerConfig
	for _, opt := range opts {
		opt(&cfg)
	}
	if cfg.client == nil {
		cfg.client = &http.Client{Timeout: defaultForwardTimeout}
	}
	store, err := QueryKeyValueStore[K, V](a, name, cfg.opts...)
	if err != nil {
		return nil, err
	}
	h := &kvHandler[K, V]{app: a, name: name, store: store, parseKey: parseKey, client: cfg.client, mux: http.NewServeMux()}
	h.mux.HandleFunc("GET /stores/{store}/keys/{key}", h.serveKey)
	h.mux.HandleFunc("GET /stores/{store}/metadata", h.serveMetadata)
	return h, nil
}

type kvHandler[K, V any] struct {
	app      *App
	name     string
	store    ReadOnlyKeyValueStore[K, V]
	parseKey func(string) (K, error)
	client   *http.Client
	mux      *http.ServeMux
}

func (h *kvHandler[K, V]) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

func (h *kvHandler[K, V]) serveKey(w http.ResponseWriter, r *http.Request) {
	if r.PathValue("store") != h.name {
		writeQueryError(w, fmt.Errorf("%w: %q", ErrUnknownStore, r.PathValue("store")))
		return
	}
	rawKey := r.PathValue("key")
	key, err := h.parseKey(rawKey)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": fmt.Sprintf("bad key %q: %v", rawKey, err)})
		return
	}
	value, ok, err := h.store.Get(key)
	var elsewhere *NotHostedError
	if errors.As(err, &elsewhere) && elsewhere.ActiveHost != "" && r.Header.Get(ForwardedHeader) == "" {
		h.forward(w, r, elsewhere.ActiveHost, rawKey)
		return
	}
	if err != nil {
		writeQueryError(w, err)
		return
	}
	self := h.app.cfg.ApplicationServer
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]any{"error": "key not found", "key": key, "host": self})
		return
	}
	writeJSON(w, http.StatusOK, KeyQueryResponse[K, V]{Key: key, Value: value, Host: self})
}

// forward asks host for the key and copies its answer back.
func (h *kvHandler[K, V]) forward(w http.ResponseWriter, r *http.Request, host, rawKey string) {
	ctx := r.Context()
	if h.client.Timeout <= 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, defaultForwardTimeout)
		defer cancel()
	}
	target := "http://" + host + "/stores/" + url.PathEscape(h.name) + "/keys/" + url.PathEscape(rawKey)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
		return
	}
	req.Header.Set(ForwardedHeader, h.app.cfg.ApplicationServer)
	resp, err := h.client.Do(req)
	if err != nil {
		writeJSON(w, http.StatusBadGateway, map[string]string{"error": fmt.Sprintf("forward to %s: %v", host, err)})
		return
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxForwardedBodyBytes+1))
	if err == nil && len(body) > maxForwardedBodyBytes {
		err = fmt.Errorf("answer longer than %d bytes", maxForwardedBodyBytes)
	}
	if err != nil {
		writeJSON(w, http.StatusBadGateway, map[string]string{"error": fmt.Sprintf("forward to %s: %v", host, err)})
		return
	}
	for _, name := range []string{"Content-Type", "Retry-After"} {
		if v := resp.Header.Get(name); v != "" {
			w.Header().Set(name, v)
		}
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(body)
}

func (h *kvHandler[K, V]) serveMetadata(w http.ResponseWriter, r *http.Request) {
	if r.PathValue("store") != h.name {
		writeQueryError(w, fmt.Errorf("%w: %q", ErrUnknownStore, r.PathValue("store")))
		return
	}
	md, err := h.app.StoreMetadata(h.name)
	if err != nil {
		writeQueryError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, md)
}

// writeQueryError answers a failed query: 503 for what a retry may cure,
// 404 for an unknown store, 500 otherwise.
func writeQueryError(w http.ResponseWriter, err error) {
	status := http.StatusInternalServerError
	switch {
	case errors.Is(err, ErrStoreNotReady), errors.Is(err, ErrNotHostedHere), errors.Is(err, ErrClosed), errors.Is(err, errNotStarted):
		status = http.StatusServiceUnavailable
		w.Header().Set("Retry-After", "1")
	case errors.Is(err, ErrUnknownStore):
		status = http.StatusNotFound
	}
	writeJSON(w, status, map[string]string{"error": err.Error()})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		body, _ = json.Marshal(map[string]string{"error": "encode answer: " + err.Error()})
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}
