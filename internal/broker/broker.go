// Package broker holds the Kafka API handlers, one file per API, each
// opening with the versions it serves and registering itself in one line
// (api.go), and their wiring: the replica manager (internal/replicas), the
// group coordinator (groups.go) and producer ids.
//
// Data flows one way: a connection hands a decoded request to a handler; the
// handler reads the metadata image (lock-free, immutable), asks the
// controller to change metadata, or reads and writes partitions through the
// replica manager, which opens and removes them as images are published,
// so a handler that returns after a controller write already sees the
// partitions it created.
//
// Goroutines: Run owns the background work (the replica manager's loops,
// the group coordinator); it stops when its context is cancelled. Handlers
// run on connection goroutines and only take short locks; work that waits
// (fsync, long polls, group rebalances) is returned as a pending response
// that the connection runs and joins.
package broker

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/fjordhq/fjord/internal/config"
	"github.com/fjordhq/fjord/internal/group"
	"github.com/fjordhq/fjord/internal/interbroker"
	"github.com/fjordhq/fjord/internal/metadata"
	"github.com/fjordhq/fjord/internal/metrics"
	"github.com/fjordhq/fjord/internal/replicas"
	"github.com/fjordhq/fjord/internal/server"
	"github.com/fjordhq/fjord/internal/txn"
	"github.com/fjordhq/fjord/internal/vfs"
)

// Options configure a broker.
type Options struct {
	NodeID        int32
	AdvertiseHost string
	AdvertisePort int32
	DataDir       string
	// Config is the typed broker configuration; StaticProps are the raw
	// properties it came from, which topic configs fall back to.
	Config      config.Broker
	StaticProps map[string]string
	FS          vfs.FS
	Meta        *metadata.Node
	Logger      *slog.Logger
	Now         func() time.Time
	// InterBroker is how this broker connects to the others (TLS, SASL).
	InterBroker interbroker.Security
	// Metrics are the node's traffic metrics; nil records none.
	Metrics *metrics.Metrics
}

// Broker serves client APIs for the partitions this node hosts.
type Broker struct {
	opts   Options
	logger *slog.Logger
	meta   *metadata.Node
	now    func() time.Time

	// replicas are the partition replicas this node hosts.
	replicas *replicas.Manager

	// routes are the served APIs, for ApiVersions; set once by Routes.
	routes server.Routes

	// producerIDs hands out ids from blocks allocated by the controller.
	producerIDs producerIDAllocator

	// groups is the group coordinator; set by Start, run by Run.
	groups *group.Coordinator

	// txns is the transaction coordinator; set by Start, run by Run.
	txns *txn.Coordinator
	// peers are connections to the other brokers, for requests between
	// coordinators and leaders (transaction markers).
	peers *interbroker.Pool

	// quotas are the client quotas and their usage (quotas.go).
	quotas *clientQuotas

	// authz decides what each principal may do (authz.go).
	authz *authz
}

// New creates a broker. Call Start before serving requests.
func New(opts Options) *Broker {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	b := &Broker{opts: opts, logger: opts.Logger, meta: opts.Meta, now: opts.Now}
	b.replicas = replicas.New(replicas.Options{NodeID: opts.NodeID, DataDir: opts.DataDir, Config: opts.Config,
		StaticProps: opts.StaticProps, FS: opts.FS, Meta: opts.Meta, Logger: opts.Logger, Now: opts.Now,
		InterBroker: opts.InterBroker, FlushObserver: opts.Metrics.FlushObserver(),
		ReplicationBytesIn: opts.Metrics.ReplicationBytesIn()})
	b.producerIDs.meta = opts.Meta
	b.quotas = newClientQuotas(opts.StaticProps, opts.Logger)
	b.authz = newAuthz(opts.Config, opts.Meta)
	return b
}

// Start opens the replicas of the current metadata image, follows later
// images, and starts the group coordinator.
func (b *Broker) Start(ctx context.Context) error {
	b.meta.Subscribe(b.quotas.noteImage)
	if b.opts.Metrics != nil {
		b.meta.Subscribe(b.dropDeletedTopicMetrics)
	}
	if err := b.replicas.Start(ctx); err != nil {
		return err
	}
	if err := b.startGroups(ctx); err != nil {
		return err
	}
	b.startTxns()
	return nil
}

// Run runs background maintenance until ctx is cancelled.
func (b *Broker) Run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Go(func() { b.replicas.Run(ctx) })
	wg.Go(func() { b.groups.Run(ctx) })
	wg.Go(func() { b.txns.Run(ctx) })
	wg.Go(func() { b.runQuotas(ctx) })
	wg.Wait()
}

// awaitLocalApply waits until this broker's replicas reflect the metadata
// as it is now, so that an admin request answered after a controller write
// (a topic created, partitions added or moved, a topic deleted) finds its
// partitions opened, or gone, here. The write happened whatever the wait
// gives: a wait cut short only means the partitions open a moment later.
func (b *Broker) awaitLocalApply(ctx context.Context) {
	if err := b.replicas.WaitApplied(ctx, b.meta.Image().Offset()); err != nil {
		b.logger.Debug("answering before this broker applied the change", "err", err)
	}
}

// LogDirFailed is closed once the log directory failed: every replica here
// is offline (internal/replicas, logdir.go) until the broker restarts.
func (b *Broker) LogDirFailed() <-chan struct{} { return b.replicas.LogDirFailed() }

// Close closes every partition's log. Requests must have stopped.
func (b *Broker) Close() error {
	if b.peers != nil {
		_ = b.peers.Close()
	}
	return b.replicas.Close()
}

// Routes lists every API this broker serves, with its versions: those the
// handler files registered (api.go).
func (b *Broker) Routes() server.Routes {
	routes := server.Routes{}
	for _, a := range apis {
		route := server.Route{MinVersion: a.minVersion, MaxVersion: a.maxVersion, LargeRequests: a.largeRequests,
			FrameReusable: a.frameReusable, Handle: func(ctx context.Context, rc *server.RequestContext, req kmsg.Request) server.Result {
				return b.serveWithQuotas(a, ctx, rc, req)
			}}
		if a.refuse != nil {
			// A refusal does no work, so it is not metered by quotas.
			route.Refuse = func(ctx context.Context, rc *server.RequestContext, req kmsg.Request) server.Result {
				return a.refuse(b, ctx, rc, req)
			}
		}
		routes[a.key] = route
	}
	server.AddConnectionRoutes(routes)
	b.routes = routes
	return routes
}
