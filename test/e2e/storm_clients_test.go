package e2e

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/fjordhq/fjord/internal/fjordtest"
)

// This file holds the attackers of the connection-storm tests and the probes
// that read the broker process from outside: its memory from /proc, its
// goroutines from the --pprof endpoint.

// stormMix is how many connections of each kind a storm holds open, and the
// rates of the ones that come and go.
type stormMix struct {
	// silent connections connect and send nothing.
	silent int
	// stalled connections announce a frame of stallFrameBytes, send
	// stallPrefixBytes of it, and stop. With stallHold > 0 each one
	// closes after that long and dials again (the pool changes hands);
	// with 0 it is held until the storm ends.
	stalled          int
	stallFrameBytes  int
	stallPrefixBytes int
	stallHold        time.Duration
	// senders each send whole frames of sendFrameBytes, fast but more
	// than the pool holds together, as fast as the broker reads them; the
	// broker closes the connection after each (its api key is unknown)
	// and the sender dials again.
	senders        int
	sendFrameBytes int
	// drip connections announce a dripFrameBytes frame and send one byte
	// of it every dripInterval (a slow-loris).
	drip         int
	dripInterval time.Duration
	// churnPerSecond connections are opened and closed at once each second.
	churnPerSecond int
	// floodConns connections each send floodPerSecond acks=0 Produce
	// requests of floodRecords records a second to partition 0 of
	// floodTopic.
	floodConns     int
	floodPerSecond int
	floodRecords   int
	floodTopic     string
}

// held is the number of connections the storm keeps open.
func (m stormMix) held() int { return m.silent + m.stalled + m.senders + m.drip + m.floodConns }

// storm is a running set of attackers. stop ends every goroutine and closes
// every connection it started.
type storm struct {
	mix    stormMix
	addr   string
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once

	mu struct {
		sync.Mutex
		conns map[net.Conn]struct{}
		// errs are unexpected failures (a dial refused, a flood write
		// failing), reported by stop.
		errs []string
	}

	churned      atomic.Int64 // connections opened and closed by churn
	stallDials   atomic.Int64 // dials of stalled connections, first and again
	sentFrames   atomic.Int64 // senders' frames the broker read in full
	dripClosed   atomic.Int64 // drip connections the broker closed
	floodFrames  atomic.Int64 // acks=0 Produce requests written in full
	floodRecords atomic.Int64 // records in them
}

// stormDialTimeout bounds one dial of an attacker; a listener that stops
// accepting fails the test rather than hanging it.
const stormDialTimeout = 10 * time.Second

// startStorm opens the storm's held connections, several dials at a time,
// and returns once all are open and have sent what they send up front; the
// churn, drip and flood loops then run until stop.
func startStorm(t *testing.T, addr string, mix stormMix) *storm {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &storm{mix: mix, addr: addr, cancel: cancel}
	s.mu.conns = map[net.Conn]struct{}{}
	t.Cleanup(func() { s.stop() })

	s.dialMany(ctx, mix.silent) // held open, nothing to send
	drips := s.dialMany(ctx, mix.drip)
	header := binary.BigEndian.AppendUint32(nil, uint32(mix.dripFrameBytes()))
	for _, c := range drips {
		s.write(c, header)
	}
	ready := make(chan struct{}, mix.stalled+mix.senders)
	for range mix.stalled {
		s.goFunc(func() { s.stallLoop(ctx, ready) })
	}
	for range mix.stalled {
		select {
		case <-ready:
		case <-time.After(stormDialTimeout):
			t.Fatalf("stalled connections not all open after %v", stormDialTimeout)
		}
	}
	for range mix.senders {
		s.goFunc(func() { s.sendLoop(ctx, ready) })
	}
	for range mix.senders {
		select {
		case <-ready:
		case <-time.After(stormDialTimeout):
			t.Fatalf("sending connections not all open after %v", stormDialTimeout)
		}
	}
	s.goFunc(func() { s.dripLoop(ctx, drips) })
	if mix.churnPerSecond > 0 {
		s.goFunc(func() { s.churnLoop(ctx) })
	}
	if mix.floodConns > 0 {
		frame := floodFrame(mix.floodTopic, mix.floodRecords)
		for _, c := range s.dialMany(ctx, mix.floodConns) {
			s.goFunc(func() { s.floodLoop(ctx, c, frame) })
		}
	}
	return s
}

// dripFrameBytes is the size a drip connection announces: small, so that
// it is the slowness and not the size that holds the broker.
func (m stormMix) dripFrameBytes() int { return 1 << 10 }

func (s *storm) goFunc(f func()) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		f()
	}()
}

func (s *storm) fail(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.mu.errs) < 20 {
		s.mu.errs = append(s.mu.errs, fmt.Sprintf(format, args...))
	}
}

// dial opens a connection and tracks it so stop closes it.
func (s *storm) dial(ctx context.Context) (net.Conn, error) {
	d := net.Dialer{Timeout: stormDialTimeout}
	c, err := d.DialContext(ctx, "tcp", s.addr)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mu.conns == nil { // stopped meanwhile
		c.Close()
		return nil, net.ErrClosed
	}
	s.mu.conns[c] = struct{}{}
	return c, nil
}

func (s *storm) closeConn(c net.Conn) {
	s.mu.Lock()
	delete(s.mu.conns, c)
	s.mu.Unlock()
	c.Close()
}

// dialMany opens n connections, eight dials at a time.
func (s *storm) dialMany(ctx context.Context, n int) []net.Conn {
	out := make([]net.Conn, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(8, n) {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				c, err := s.dial(ctx)
				if err != nil {
					s.fail("dial: %v", err)
					continue
				}
				out[i] = c
			}
		})
	}
	wg.Wait()
	return slicesCompact(out)
}

func slicesCompact(conns []net.Conn) []net.Conn {
	out := conns[:0]
	for _, c := range conns {
		if c != nil {
			out = append(out, c)
		}
	}
	return out
}

// write writes b to c, where the socket has room: a failure is a broker
// that closed the connection, which is reported.
func (s *storm) write(c net.Conn, b []byte) {
	_ = c.SetWriteDeadline(time.Now().Add(stormDialTimeout))
	if _, err := c.Write(b); err != nil {
		s.fail("write %d bytes: %v", len(b), err)
	}
}

// stallLoop keeps one stalled connection: it announces a large frame,
// sends its prefix and stops; with a hold time it then closes the
// connection and starts over until the storm ends. The first connection
// signals ready once its prefix was handed to the socket, or could not be
// (the broker stopped reading: the pool ran dry, which the tiny-pool test
// wants).
func (s *storm) stallLoop(ctx context.Context, ready chan<- struct{}) {
	prefix := make([]byte, 4+s.mix.stallPrefixBytes)
	binary.BigEndian.PutUint32(prefix, uint32(s.mix.stallFrameBytes))
	first := true
	for ctx.Err() == nil {
		c, err := s.dial(ctx)
		if err != nil {
			if ctx.Err() == nil {
				s.fail("dial stalled connection: %v", err)
			}
			return
		}
		s.stallDials.Add(1)
		// A write the broker does not read (its pool is dry) blocks
		// until the hold ends and the connection is closed under it.
		wrote := make(chan struct{})
		go func() {
			defer close(wrote)
			_, _ = c.Write(prefix)
		}()
		if first {
			first = false
			select {
			case <-wrote:
			case <-time.After(100 * time.Millisecond):
			}
			ready <- struct{}{}
		}
		if s.mix.stallHold <= 0 {
			<-ctx.Done()
			s.closeConn(c)
			<-wrote
			return
		}
		// Spread the holds so that the pool changes hands all the time
		// rather than in waves.
		hold := s.mix.stallHold/2 + rand.N(s.mix.stallHold)
		select {
		case <-time.After(hold):
		case <-ctx.Done():
		}
		// Reset rather than close: a closed socket would still owe the
		// broker the rest of its prefix, and deliver it only as the
		// broker's zero window opens, while the broker reads only the
		// oldest frame (see TestConnectionStormTinyPool).
		_ = c.(*net.TCPConn).SetLinger(0)
		s.closeConn(c)
		<-wrote
	}
}

// sendLoop sends whole frames of an unknown api key, one per connection:
// the broker reads each in full, as its pool lets it, then closes the
// connection, which the sender sees as the end of its read.
func (s *storm) sendLoop(ctx context.Context, ready chan<- struct{}) {
	frame := make([]byte, 4+s.mix.sendFrameBytes)
	binary.BigEndian.PutUint32(frame, uint32(s.mix.sendFrameBytes))
	binary.BigEndian.PutUint16(frame[4:], 0x7fff) // no such api key
	first := true
	for ctx.Err() == nil {
		c, err := s.dial(ctx)
		if err != nil {
			if ctx.Err() == nil {
				s.fail("dial sending connection: %v", err)
			}
			return
		}
		if first {
			first = false
			ready <- struct{}{}
		}
		// The broker may take long to read a frame while its pool is
		// dry, but never longer than its frame timeout.
		_ = c.SetDeadline(time.Now().Add(90 * time.Second))
		if _, err := c.Write(frame); err == nil {
			var one [1]byte
			if _, err := c.Read(one[:]); errors.Is(err, io.EOF) {
				s.sentFrames.Add(1)
			} else if ctx.Err() == nil {
				s.fail("sending connection after its frame: %v, want the broker to close it", err)
			}
		} else if ctx.Err() == nil {
			s.fail("write a %d byte frame: %v", len(frame), err)
		}
		s.closeConn(c)
	}
}

// dripLoop sends one more byte of each drip connection's frame every
// dripInterval. The broker closes one whose frame takes longer than its
// frame timeout; those are counted, not reported.
func (s *storm) dripLoop(ctx context.Context, drips []net.Conn) {
	if len(drips) == 0 {
		return
	}
	tick := time.NewTicker(s.mix.dripInterval)
	defer tick.Stop()
	open := drips
	one := []byte{0}
	for sent := 0; sent < s.mix.dripFrameBytes()-1; sent++ {
		select {
		case <-tick.C:
		case <-ctx.Done():
			return
		}
		kept := open[:0]
		for _, c := range open {
			_ = c.SetWriteDeadline(time.Now().Add(time.Second))
			if _, err := c.Write(one); err != nil {
				s.dripClosed.Add(1)
				continue
			}
			kept = append(kept, c)
		}
		open = kept
	}
}

// churnLoop opens and closes churnPerSecond connections a second, as
// clients that reconnect in a loop.
func (s *storm) churnLoop(ctx context.Context) {
	tick := time.NewTicker(time.Second / time.Duration(s.mix.churnPerSecond))
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
		case <-ctx.Done():
			return
		}
		c, err := s.dial(ctx)
		if err != nil {
			if ctx.Err() == nil {
				s.fail("churn dial: %v", err)
			}
			continue
		}
		s.closeConn(c)
		s.churned.Add(1)
	}
}

// floodFrame is one acks=0 Produce v7 request of n records of 100 bytes,
// with its size prefix. The same bytes are sent again and again: the
// broker answers nothing, so the correlation id does not matter.
func floodFrame(topic string, n int) []byte {
	values := make([]string, n)
	for i := range values {
		values[i] = strings.Repeat(strconv.Itoa(i%10), 100)
	}
	w := &wireConn{}
	req := produceRequest(topic, 0, encodeBatch(values...))
	payload := req.AppendTo(w.header(req.Key(), req.Version, req.IsFlexible()))
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(payload))), payload...)
}

// floodLoop writes floodPerSecond frames a second on c, in bursts every
// 10ms. A write the broker's in-flight bound holds back delays the next
// burst: the flood is paced by the broker, as it should be.
func (s *storm) floodLoop(ctx context.Context, c net.Conn, frame []byte) {
	const burstEvery = 10 * time.Millisecond
	perBurst := max(1, s.mix.floodPerSecond*int(burstEvery)/int(time.Second))
	burst := make([]byte, 0, perBurst*len(frame))
	for range perBurst {
		burst = append(burst, frame...)
	}
	tick := time.NewTicker(burstEvery)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
		case <-ctx.Done():
			return
		}
		_ = c.SetWriteDeadline(time.Now().Add(stormDialTimeout))
		if _, err := c.Write(burst); err != nil {
			if ctx.Err() == nil {
				s.fail("acks=0 flood write: %v", err)
			}
			return
		}
		s.floodFrames.Add(int64(perBurst))
		s.floodRecords.Add(int64(perBurst * s.mix.floodRecords))
	}
}

// stop ends the storm: every loop returns and every connection is closed.
// It reports the failures seen, once.
func (s *storm) stop() []string {
	var errs []string
	s.once.Do(func() {
		s.cancel()
		// Close first: it unblocks writes the broker does not read.
		s.mu.Lock()
		conns := s.mu.conns
		s.mu.conns = nil
		s.mu.Unlock()
		for c := range conns {
			c.Close()
		}
		s.wg.Wait()
		s.mu.Lock()
		errs = s.mu.errs
		s.mu.Unlock()
	})
	return errs
}

// raiseFileLimit makes sure this process and the broker it starts may open
// need files. Go raises its own soft limit to the hard one at start-up but
// gives children the original; setting the limit explicitly makes children
// inherit it too.
func raiseFileLimit(t *testing.T, need uint64) {
	t.Helper()
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatalf("getrlimit: %v", err)
	}
	if lim.Max < need {
		t.Fatalf("open-file hard limit %d is below the %d this storm needs; lower FJORD_STORM_CONNS or raise ulimit -Hn", lim.Max, need)
	}
	lim.Cur = max(lim.Cur, need)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatalf("setrlimit(%d): %v", lim.Cur, err)
	}
}

// brokerProbe reads a broker process from outside.
type brokerProbe struct {
	pid       int
	pprofAddr string
}

var pprofAddrRE = regexp.MustCompile(`msg="pprof endpoints" addr=(\S+)`)

// newBrokerProbe finds srv's pprof address in its log (the server was
// started with --pprof 127.0.0.1:0).
func newBrokerProbe(t *testing.T, ctx context.Context, srv *fjordtest.Server) *brokerProbe {
	t.Helper()
	p := &brokerProbe{pid: srv.PID()}
	eventually(t, ctx, "pprof address in the broker log", func() (bool, string) {
		m := pprofAddrRE.FindStringSubmatch(srv.Log())
		if m == nil {
			return false, "not logged yet"
		}
		p.pprofAddr = m[1]
		return true, ""
	})
	return p
}

// brokerSample is one reading of the broker process.
type brokerSample struct {
	rssBytes, hwmBytes int64 // VmRSS and VmHWM
	goroutines         int
	poolWaiters        int // goroutines waiting for request pool memory
	fds                int
}

func (b brokerSample) String() string {
	return fmt.Sprintf("rss %s (peak %s), %d goroutines (%d waiting for pool memory), %d fds",
		mib(b.rssBytes), mib(b.hwmBytes), b.goroutines, b.poolWaiters, b.fds)
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// memory reads VmRSS and VmHWM from /proc/PID/status.
func (p *brokerProbe) memory() (rss, hwm int64, err error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", p.pid))
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) != 3 || fields[2] != "kB" {
			continue
		}
		kib, err := strconv.ParseInt(fields[1], 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("%s: %w", sc.Text(), err)
		}
		switch fields[0] {
		case "VmRSS:":
			rss = kib << 10
		case "VmHWM:":
			hwm = kib << 10
		}
	}
	if rss == 0 || hwm == 0 {
		return 0, 0, fmt.Errorf("no VmRSS or VmHWM in /proc/%d/status", p.pid)
	}
	return rss, hwm, sc.Err()
}

// goroutines counts the broker's goroutines, and those waiting in the
// request pool, from the pprof goroutine profile (debug=1: stacks grouped,
// each group opening with its count).
func (p *brokerProbe) goroutines() (total, poolWaiters int, err error) {
	cl := http.Client{Timeout: 10 * time.Second}
	resp, err := cl.Get("http://" + p.pprofAddr + "/debug/pprof/goroutine?debug=1")
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return 0, 0, err
	}
	groups := strings.Split(string(body), "\n\n")
	if _, err := fmt.Sscanf(groups[0], "goroutine profile: total %d", &total); err != nil {
		return 0, 0, fmt.Errorf("goroutine profile header %.60q: %w", groups[0], err)
	}
	for _, g := range groups {
		if !strings.Contains(g, "(*requestPool).admit") && !strings.Contains(g, "(*requestPool).grow") {
			continue
		}
		var n int
		if _, err := fmt.Sscanf(g, "%d @", &n); err == nil {
			poolWaiters += n
		}
	}
	return total, poolWaiters, nil
}

func (p *brokerProbe) fds() (int, error) {
	entries, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", p.pid))
	return len(entries), err
}

// sample takes one reading of everything.
func (p *brokerProbe) sample(t *testing.T) brokerSample {
	t.Helper()
	var s brokerSample
	var err error
	if s.rssBytes, s.hwmBytes, err = p.memory(); err != nil {
		t.Fatalf("broker memory: %v", err)
	}
	if s.goroutines, s.poolWaiters, err = p.goroutines(); err != nil {
		t.Fatalf("broker goroutines: %v", err)
	}
	if s.fds, err = p.fds(); err != nil {
		t.Fatalf("broker fds: %v", err)
	}
	return s
}

// rssSampler records the broker's largest VmRSS seen every 50ms until
// stopped; VmHWM then gives the true peak, which sampling may miss.
type rssSampler struct {
	peak atomic.Int64
	stop func()
}

func startRSSSampler(p *brokerProbe) *rssSampler {
	r := &rssSampler{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			if rss, _, err := p.memory(); err == nil && rss > r.peak.Load() {
				r.peak.Store(rss)
			}
			select {
			case <-tick.C:
			case <-ctx.Done():
				return
			}
		}
	}()
	r.stop = func() {
		cancel()
		<-done
	}
	return r
}
