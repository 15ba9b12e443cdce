package interbroker

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// poolSoftwareName is the ClientSoftwareName a Pool sends in ApiVersions
// (KIP-511).
const poolSoftwareName = "fjord-broker"

// ErrPoolClosed is returned by a request to a closed Pool.
var ErrPoolClosed = errors.New("interbroker: pool is closed")

// Pool keeps one Conn per broker id, dialled on first use and dialled again
// after it broke; addresses come from a resolver (the metadata image) at
// each dial. Connections stay until Close: there is one per broker of the
// cluster at most.
type Pool struct {
	addressOf        func(id int32) (string, error)
	clientID         string
	maxResponseBytes int64
	requestTimeout   time.Duration
	security         Security

	mu struct {
		sync.Mutex
		closed  bool
		brokers map[int32]*brokerConn
	}
}

// brokerConn is the Pool's connection to one broker. turn admits one
// request at a time, dial included, and leaves a waiting caller when its
// context ends. conn is set holding both turn and Pool.mu, and read holding
// either: the request under way uses it, Close closes it.
type brokerConn struct {
	turn chan struct{}
	conn *Conn
}

// PoolOption sets an optional property of a Pool.
type PoolOption func(*Pool)

// WithSecurity connects with sec (TLS, SASL) instead of PLAINTEXT.
func WithSecurity(sec Security) PoolOption { return func(p *Pool) { p.security = sec } }

// WithRequestTimeout sets how long a broker may take to answer a request
// (request.timeout.ms; DefaultRequestTimeout unless set to more than
// zero).
func WithRequestTimeout(d time.Duration) PoolOption {
	return func(p *Pool) {
		if d > 0 {
			p.requestTimeout = d
		}
	}
}

// NewPool returns a Pool that finds brokers with addressOf, names itself
// clientID, and refuses response frames over maxResponseBytes.
func NewPool(addressOf func(id int32) (string, error), clientID string, maxResponseBytes int64, opts ...PoolOption) *Pool {
	p := &Pool{addressOf: addressOf, clientID: clientID, maxResponseBytes: maxResponseBytes,
		requestTimeout: DefaultRequestTimeout}
	p.mu.brokers = map[int32]*brokerConn{}
	for _, o := range opts {
		o(p)
	}
	return p
}

// Request sends req to broker, after the requests to it before, and
// returns its answer (of req.ResponseKind()). A connection that failed
// midway is closed and the next request dials again; Request does not
// retry, since the broker may have acted on the request.
func (p *Pool) Request(ctx context.Context, broker int32, req kmsg.Request) (kmsg.Response, error) {
	b, err := p.brokerConn(broker)
	if err != nil {
		return nil, err
	}
	select {
	case b.turn <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-b.turn }()
	conn, err := p.connect(ctx, broker, b)
	if err != nil {
		return nil, err
	}
	resp := req.ResponseKind()
	if err := conn.RoundTrip(ctx, req, resp, p.requestTimeout); err != nil {
		if errors.Is(err, ErrBroken) {
			p.drop(b, conn)
		}
		return nil, fmt.Errorf("%s to broker %d: %w", kmsg.NameForKey(req.Key()), broker, err)
	}
	return resp, nil
}

// brokerConn returns the entry of broker, adding it on first use.
func (p *Pool) brokerConn(broker int32) (*brokerConn, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mu.closed {
		return nil, ErrPoolClosed
	}
	b, ok := p.mu.brokers[broker]
	if !ok {
		b = &brokerConn{turn: make(chan struct{}, 1)}
		p.mu.brokers[broker] = b
	}
	return b, nil
}

// connect returns b's connection, dialling one at the address broker has
// now when there is none. The caller holds b's turn.
func (p *Pool) connect(ctx context.Context, broker int32, b *brokerConn) (*Conn, error) {
	p.mu.Lock()
	closed := p.mu.closed
	p.mu.Unlock()
	if closed {
		return nil, ErrPoolClosed
	}
	if b.conn != nil && b.conn.Expired() {
		p.drop(b, b.conn)
	}
	if b.conn != nil {
		return b.conn, nil
	}
	addr, err := p.addressOf(broker)
	if err != nil {
		return nil, fmt.Errorf("address of broker %d: %w", broker, err)
	}
	conn, err := Dial(ctx, addr, p.clientID, poolSoftwareName, p.maxResponseBytes, p.security)
	if err != nil {
		return nil, fmt.Errorf("broker %d: %w", broker, err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mu.closed {
		_ = conn.Close()
		return nil, ErrPoolClosed
	}
	b.conn = conn
	return conn, nil
}

// drop closes b's broken connection so that the next request dials again.
// The caller holds b's turn.
func (p *Pool) drop(b *brokerConn, conn *Conn) {
	_ = conn.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	b.conn = nil
}

// Close closes every connection, unblocking the requests in flight; later
// requests fail with ErrPoolClosed.
func (p *Pool) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mu.closed {
		return nil
	}
	p.mu.closed = true
	var errs []error
	for _, b := range p.mu.brokers {
		if b.conn != nil {
			errs = append(errs, b.conn.Close())
		}
	}
	return errors.Join(errs...)
}
