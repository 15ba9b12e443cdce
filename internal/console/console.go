package console

import (
	"context"
	"crypto/subtle"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// The page, its styles and scripts, served as they are.
//
//go:embed static
var staticFiles embed.FS

// Defaults of Options.
const (
	// DefaultSampleInterval is how often Run samples end offsets and log
	// sizes for the throughput charts: the page polls every 3 s, and one
	// sample every 5 s keeps a quiet cluster's load negligible.
	DefaultSampleInterval = 5 * time.Second
	// DefaultRequestTimeout bounds each API call's Kafka requests, so that
	// an unreachable broker yields an error on the page, not a hung tab.
	DefaultRequestTimeout = 15 * time.Second
)

// maxBodyBytes bounds a request body: the largest legitimate one is a
// produced message, bounded by maxProduceValueBytes.
const maxBodyBytes = 2 << 20

// APIPrefix is where the JSON API lives; everything else is the page.
const APIPrefix = "/console/api/"

// LagSource supplies consumer lag computed elsewhere (a lag monitor,
// which also rates groups as Burrow does). The console computes lag itself
// when no source is given or the source does not know a group. Handlers
// call it from HTTP goroutines, so it must be safe for concurrent use.
type LagSource interface {
	// GroupLag returns the group's lag, or false when the source does not
	// track the group.
	GroupLag(group string) (GroupLag, bool)
}

// GroupLag is a group's lag as a LagSource knows it.
type GroupLag struct {
	// Status is a Burrow-style rating (OK, WARNING, STALLED, STOPPED,
	// ERROR), empty when the source does not rate.
	Status     string
	Partitions []PartitionLag
}

// PartitionLag is one partition's lag in a group.
type PartitionLag struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	Committed int64  `json:"committed"`
	End       int64  `json:"end"`
	Lag       int64  `json:"lag"`
	// LagSeconds is the age of the first record not yet consumed; -1
	// when unknown, 0 when the group is caught up.
	LagSeconds float64 `json:"lagSeconds"`
	// Status is the partition's rating, when the source rates.
	Status string `json:"status,omitempty"`
}

// Options configure a Console.
type Options struct {
	// Brokers are the seed brokers, HOST:PORT.
	Brokers []string
	// ClientOpts are applied to every client the console makes (TLS,
	// SASL, timeouts): they decide whose identity the console acts with.
	ClientOpts []kgo.Opt
	// Lag, when set, supplies lag (see LagSource).
	Lag LagSource
	// AskCoordinators has the group page ask a group's coordinator for
	// the lag its monitor computed (fjord's /api/v1/groups/{group}/lag,
	// found through the coordinator's http.listener) when Lag does not
	// know the group.
	AskCoordinators bool
	// Quorum, when set, describes the metadata quorum (see QuorumSource).
	Quorum QuorumSource
	// Logger receives errors of background sampling; nil discards them.
	Logger *slog.Logger
	// Now is the clock, required: charts are stamped with it.
	Now func() time.Time
	// BasicAuth, when "user:password", makes every request carry those
	// HTTP basic credentials.
	BasicAuth string
	// SampleInterval is how often Run samples (DefaultSampleInterval).
	SampleInterval time.Duration
	// RequestTimeout bounds each API call (DefaultRequestTimeout).
	RequestTimeout time.Duration
}

// Console serves the page and its API.
type Console struct {
	opts    Options
	client  *kgo.Client
	adm     *kadm.Client
	browses chan struct{} // semaphore of concurrent message browses
	// roundRobin spreads keyless messages produced from the page.
	roundRobin atomic.Uint32
	handler    http.Handler

	mu struct {
		sync.Mutex
		samples   []clusterSample // oldest first, at most maxSamples
		lagCharts map[string][]lagPoint
	}
}

// New checks opts and connects a client (lazily: no request is sent
// until a page asks).
func New(opts Options) (*Console, error) {
	if len(opts.Brokers) == 0 {
		return nil, errors.New("console: no brokers given")
	}
	if opts.Now == nil {
		return nil, errors.New("console: Options.Now is required")
	}
	if opts.BasicAuth != "" && !strings.Contains(opts.BasicAuth, ":") {
		return nil, errors.New("console: BasicAuth must be user:password")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.SampleInterval <= 0 {
		opts.SampleInterval = DefaultSampleInterval
	}
	if opts.RequestTimeout <= 0 {
		opts.RequestTimeout = DefaultRequestTimeout
	}
	client, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(opts.Brokers...), kgo.ClientID("fjord-console")}, append(opts.ClientOpts,
		// The page chooses partitions (producePartition).
		kgo.RecordPartitioner(kgo.ManualPartitioner()))...)...)
	if err != nil {
		return nil, fmt.Errorf("console: creating client for %s: %w", strings.Join(opts.Brokers, ","), err)
	}
	c := &Console{opts: opts, client: client, adm: kadm.NewClient(client), browses: make(chan struct{}, maxConcurrentBrowses)}
	c.mu.lagCharts = map[string][]lagPoint{}
	c.handler = c.routes()
	return c, nil
}

// Handler serves the page at / and the API under APIPrefix.
func (c *Console) Handler() http.Handler { return c.handler }

// Close releases the client. Call it after Run has returned.
func (c *Console) Close() { c.client.Close() }

// Run samples throughput every SampleInterval until ctx ends.
func (c *Console) Run(ctx context.Context) error {
	ticker := time.NewTicker(c.opts.SampleInterval)
	defer ticker.Stop()
	for {
		c.sample(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
	}
}

func (c *Console) routes() http.Handler {
	mux := http.NewServeMux()
	api := func(pattern string, h func(r *http.Request) (any, error)) {
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) { c.serveAPI(w, r, h) })
	}
	api("GET /console/api/overview", c.overview)
	api("GET /console/api/topics", c.listTopics)
	api("POST /console/api/topics", c.createTopic)
	api("GET /console/api/topics/{topic}", c.describeTopic)
	api("DELETE /console/api/topics/{topic}", c.deleteTopic)
	api("POST /console/api/topics/{topic}/configs", c.alterTopicConfigs)
	api("GET /console/api/topics/{topic}/messages", c.browse)
	api("POST /console/api/topics/{topic}/messages", c.produce)
	api("GET /console/api/groups", c.listGroups)
	api("GET /console/api/groups/{group}", c.describeGroup)
	api("POST /console/api/groups/{group}/reset", c.resetGroup)
	api("GET /console/api/brokers/{broker}/configs", c.brokerConfigs)
	api("GET /console/api/security", c.security)
	api("POST /console/api/acls", c.createACL)
	api("POST /console/api/acls/delete", c.deleteACL)
	mux.HandleFunc("/console/api/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, apiError{Error: "NOT_FOUND", Message: "no API at " + r.Method + " " + r.URL.Path})
	})
	static, err := fs.Sub(staticFiles, "static")
	if err != nil {
		panic(err) // the embedded tree always has static/
	}
	mux.Handle("/", noCache(http.FileServerFS(static)))
	return c.guard(mux)
}

// guard applies BasicAuth and headers that keep the page from being framed
// or fed scripts from elsewhere.
func (c *Console) guard(next http.Handler) http.Handler {
	user, password, _ := strings.Cut(c.opts.BasicAuth, ":")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; frame-ancestors 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		if c.opts.BasicAuth != "" {
			u, p, ok := r.BasicAuth()
			if !ok || subtle.ConstantTimeCompare([]byte(u), []byte(user)) != 1 ||
				subtle.ConstantTimeCompare([]byte(p), []byte(password)) != 1 {
				h.Set("WWW-Authenticate", `Basic realm="fjord console"`)
				http.Error(w, "authentication required", http.StatusUnauthorized)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// noCache makes a browser revalidate the page after an upgrade.
func noCache(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		next.ServeHTTP(w, r)
	})
}

// serveAPI runs h under RequestTimeout and writes its result or error as
// JSON. A state-changing request must come from the page itself (a
// custom header a cross-site form cannot set), so that another site open
// in the same browser cannot act through the console.
func (c *Console) serveAPI(w http.ResponseWriter, r *http.Request, h func(r *http.Request) (any, error)) {
	if r.Method != http.MethodGet && r.Header.Get("X-Fjord-Console") != "1" {
		writeJSON(w, http.StatusForbidden, apiError{Error: "FORBIDDEN", Message: "missing X-Fjord-Console header"})
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
	ctx, cancel := context.WithTimeout(r.Context(), c.opts.RequestTimeout)
	defer cancel()
	out, err := h(r.WithContext(ctx))
	if err != nil {
		status, body := toAPIError(err)
		writeJSON(w, status, body)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the client went away: nothing to do
}

// decodeBody reads a JSON body into v, refusing unknown fields so that a
// typo is an error rather than a silent default.
func decodeBody(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return badRequest("invalid JSON body: %v", err)
	}
	return nil
}
