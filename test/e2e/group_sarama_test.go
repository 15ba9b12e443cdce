package e2e

// Acceptance 2 of the consumer group issue with sarama's ConsumerGroup:
// the scenarios of TestGroupFranzGoClassic, checked by outcome. A member
// that must die without leaving runs in a child process (this test binary
// re-executed as a helper, see TestMain) so that SIGKILL can take it away
// with its TCP connections and nothing else: sarama in-process always
// leaves the group cleanly when closed.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kgo"
)

// helperProcessEnv selects a helper main instead of the tests when this
// test binary is executed as a child process; its value names the helper.
const helperProcessEnv = "FJORD_E2E_HELPER_PROCESS"

// The sarama member helper reads what to join from these variables.
const (
	saramaHelperName  = "sarama-group-member"
	saramaHelperAddr  = "FJORD_E2E_SARAMA_ADDR"
	saramaHelperGroup = "FJORD_E2E_SARAMA_GROUP"
	saramaHelperTopic = "FJORD_E2E_SARAMA_TOPIC"
	saramaHelperID    = "FJORD_E2E_SARAMA_CLIENT_ID"
)

// saramaSessionTimeout is short so that a killed member is removed within
// a few seconds; saramaHeartbeat is well below it so a live member never
// misses one on a loaded two-core machine.
const (
	saramaSessionTimeout = 3 * time.Second
	saramaHeartbeat      = 200 * time.Millisecond
)

// TestMain runs a helper main when the binary was started as a helper
// process, and the tests otherwise.
func TestMain(m *testing.M) {
	switch os.Getenv(helperProcessEnv) {
	case "":
		os.Exit(m.Run())
	case saramaHelperName:
		os.Exit(saramaMemberMain())
	default:
		fmt.Fprintf(os.Stderr, "unknown %s=%q\n", helperProcessEnv, os.Getenv(helperProcessEnv))
		os.Exit(2)
	}
}

// saramaGroupConfig is the configuration of every sarama group member in
// these tests: offsets committed by hand after processing, the eager
// round-robin assignor, and quick failure detection.
func saramaGroupConfig(clientID string) *sarama.Config {
	cfg := saramaConfig()
	cfg.ClientID = clientID
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	cfg.Consumer.Offsets.AutoCommit.Enable = false
	cfg.Consumer.Group.Session.Timeout = saramaSessionTimeout
	cfg.Consumer.Group.Heartbeat.Interval = saramaHeartbeat
	cfg.Consumer.Group.Rebalance.Timeout = 10 * time.Second
	cfg.Consumer.Group.Rebalance.GroupStrategies = []sarama.BalanceStrategy{sarama.NewBalanceStrategyRoundRobin()}
	return cfg
}

// saramaHandler is a sarama ConsumerGroupHandler that reports its claims
// and every record, the latter only once its offset is committed: a record
// reported is one the group must never hand out again.
type saramaHandler struct {
	onAssign func(partitions []int32)
	onRevoke func()
	onRecord func(r rec)
}

func (h *saramaHandler) Setup(s sarama.ConsumerGroupSession) error {
	var partitions []int32
	for _, ps := range s.Claims() {
		partitions = append(partitions, ps...)
	}
	slices.Sort(partitions)
	h.onAssign(partitions)
	return nil
}

// Cleanup runs once every ConsumeClaim of the session has returned, so no
// record of the revoked partitions is reported after it.
func (h *saramaHandler) Cleanup(sarama.ConsumerGroupSession) error {
	h.onRevoke()
	return nil
}

func (h *saramaHandler) ConsumeClaim(s sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	for msg := range claim.Messages() {
		s.MarkMessage(msg, "")
		// Commit is synchronous: it returns once the broker answered. A
		// failure goes to the Errors channel, and the record then shows up
		// twice in the test's accounting instead of being hidden.
		s.Commit()
		h.onRecord(rec{Partition: msg.Partition, Offset: msg.Offset, Key: string(msg.Key), Value: string(msg.Value)})
	}
	return nil
}

// ownedPartitions is the partition set one group member holds, safe for
// concurrent use.
type ownedPartitions struct {
	name string

	mu    sync.Mutex
	owned []int32
}

func (o *ownedPartitions) set(partitions []int32) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.owned = slices.Clone(partitions)
}

func (o *ownedPartitions) ownerName() string { return o.name }

func (o *ownedPartitions) partitions() []int32 {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.owned)
}

// partitionOwner is a group member whose current assignment the test can
// observe, whatever client or process it runs in.
type partitionOwner interface {
	ownerName() string
	partitions() []int32
}

// waitOwnedSplit waits until the owners hold want partitions each (in any
// order), disjoint and together all of partitions.
func waitOwnedSplit(t *testing.T, ctx context.Context, partitions int, want []int, owners ...partitionOwner) {
	t.Helper()
	wantSorted := slices.Sorted(slices.Values(want))
	eventually(t, ctx, fmt.Sprintf("partitions split %v", want), func() (bool, string) {
		seen := map[int32]string{}
		var got []int
		desc := ""
		for _, o := range owners {
			ps := o.partitions()
			got = append(got, len(ps))
			desc += fmt.Sprintf("%s=%v ", o.ownerName(), ps)
			for _, p := range ps {
				if other, ok := seen[p]; ok {
					return false, desc + fmt.Sprintf("(partition %d held by %s and %s)", p, other, o.ownerName())
				}
				seen[p] = o.ownerName()
			}
		}
		slices.Sort(got)
		return slices.Equal(got, wantSorted) && len(seen) == partitions, desc
	})
}

// saramaMember is an in-process sarama consumer group member.
type saramaMember struct {
	*ownedPartitions
	stop func()
}

// startSaramaMember runs a sarama consumer group member that adds what it
// consumes to sink, until the test ends or stop is called; stop leaves the
// group (LeaveGroup) as a closed consumer does.
func startSaramaMember(t *testing.T, addr, groupID, topic, name string, sink *consumed) *saramaMember {
	t.Helper()
	cg, err := sarama.NewConsumerGroup([]string{addr}, groupID, saramaGroupConfig(name))
	if err != nil {
		t.Fatalf("sarama.NewConsumerGroup: %v", err)
	}
	m := &saramaMember{ownedPartitions: &ownedPartitions{name: name}}
	h := &saramaHandler{
		onAssign: m.set,
		onRevoke: func() { m.set(nil) },
		onRecord: func(r rec) { sink.add(name, []rec{r}) },
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		for ctx.Err() == nil {
			if err := cg.Consume(ctx, []string{topic}, h); err != nil && ctx.Err() == nil {
				t.Errorf("%s: Consume: %v", name, err)
				return
			}
		}
	})
	// Errors are logged rather than failed on: a commit refused during a
	// rebalance is legitimate, and its effect, a record consumed twice, is
	// what the test checks. The channel closes when cg is closed.
	wg.Go(func() {
		for err := range cg.Errors() {
			t.Logf("%s: sarama error: %v", name, err)
		}
	})
	var once sync.Once
	m.stop = func() {
		once.Do(func() {
			cancel()
			if err := cg.Close(); err != nil {
				t.Errorf("%s: Close: %v", name, err)
			}
			wg.Wait()
		})
	}
	t.Cleanup(m.stop)
	return m
}

// saramaChild is a sarama group member running in a child process, which
// reports on stdout, one line each:
//
//	assigned P P ...   after a SyncGroup, with its partitions
//	revoked            when the session ends
//	record P O KEY VALUE   once the record's offset is committed
type saramaChild struct {
	*ownedPartitions
	cmd  *exec.Cmd
	done chan struct{} // closed once stdout is drained and the process reaped
}

// startSaramaChild starts the helper process as a member of groupID named
// name, feeding its committed records into sink.
func startSaramaChild(t *testing.T, addr, groupID, topic, name string, sink *consumed) *saramaChild {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(),
		helperProcessEnv+"="+saramaHelperName,
		saramaHelperAddr+"="+addr,
		saramaHelperGroup+"="+groupID,
		saramaHelperTopic+"="+topic,
		saramaHelperID+"="+name)
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	// The child exits when its stdin closes, so it cannot outlive this
	// test process even if the test binary itself is killed.
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatalf("stdin pipe: %v", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("stdout pipe: %v", err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting sarama helper process: %v", err)
	}
	c := &saramaChild{ownedPartitions: &ownedPartitions{name: name}, cmd: cmd, done: make(chan struct{})}
	go func() {
		defer close(c.done)
		c.read(t, stdout, sink)
		err := cmd.Wait()
		t.Logf("%s: helper process exited: %v; stderr (last 2 KiB):\n%s", name, err, lastBytes(stderr.String(), 2048))
	}()
	t.Cleanup(func() {
		stdin.Close()
		c.kill(t)
	})
	return c
}

// read parses the child's report lines until its stdout closes.
func (c *saramaChild) read(t *testing.T, stdout io.Reader, sink *consumed) {
	scanner := bufio.NewScanner(stdout)
	for scanner.Scan() {
		fields := strings.Fields(scanner.Text())
		switch {
		case len(fields) >= 1 && fields[0] == "assigned":
			var ps []int32
			for _, f := range fields[1:] {
				p, err := strconv.ParseInt(f, 10, 32)
				if err != nil {
					t.Errorf("%s: bad line %q", c.name, scanner.Text())
				}
				ps = append(ps, int32(p))
			}
			c.set(ps)
		case len(fields) == 1 && fields[0] == "revoked":
			c.set(nil)
		case len(fields) == 5 && fields[0] == "record":
			p, err1 := strconv.ParseInt(fields[1], 10, 32)
			o, err2 := strconv.ParseInt(fields[2], 10, 64)
			if err1 != nil || err2 != nil {
				t.Errorf("%s: bad line %q", c.name, scanner.Text())
				continue
			}
			sink.add(c.name, []rec{{Partition: int32(p), Offset: o, Key: fields[3], Value: fields[4]}})
		default:
			t.Errorf("%s: unexpected line %q", c.name, scanner.Text())
		}
	}
}

// kill sends SIGKILL, so the member neither leaves the group nor commits,
// and waits for the process to be reaped.
func (c *saramaChild) kill(t *testing.T) {
	if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Errorf("%s: SIGKILL helper process: %v", c.name, err)
	}
	<-c.done
}

// saramaMemberMain is the helper process: one sarama group member that
// reports on stdout (see saramaChild) until stdin closes or it is killed.
func saramaMemberMain() int {
	addr, groupID := os.Getenv(saramaHelperAddr), os.Getenv(saramaHelperGroup)
	topic, name := os.Getenv(saramaHelperTopic), os.Getenv(saramaHelperID)
	cg, err := sarama.NewConsumerGroup([]string{addr}, groupID, saramaGroupConfig(name))
	if err != nil {
		fmt.Fprintf(os.Stderr, "sarama.NewConsumerGroup: %v\n", err)
		return 1
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		// Stdin closing means the parent is gone or done with us.
		_, _ = io.Copy(io.Discard, os.Stdin)
		cancel()
	}()
	go func() {
		for err := range cg.Errors() {
			fmt.Fprintf(os.Stderr, "sarama error: %v\n", err)
		}
	}()
	var mu sync.Mutex
	report := func(format string, args ...any) {
		// One unbuffered write per line, under a lock, so lines from
		// concurrent ConsumeClaim goroutines never interleave and a line
		// written is readable by the parent even after a SIGKILL.
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(os.Stdout, format, args...)
	}
	h := &saramaHandler{
		onAssign: func(ps []int32) {
			var b strings.Builder
			b.WriteString("assigned")
			for _, p := range ps {
				fmt.Fprintf(&b, " %d", p)
			}
			report("%s\n", b.String())
		},
		onRevoke: func() { report("revoked\n") },
		onRecord: func(r rec) { report("record %d %d %s %s\n", r.Partition, r.Offset, r.Key, r.Value) },
	}
	for ctx.Err() == nil {
		if err := cg.Consume(ctx, []string{topic}, h); err != nil && ctx.Err() == nil {
			fmt.Fprintf(os.Stderr, "Consume: %v\n", err)
			return 1
		}
	}
	if err := cg.Close(); err != nil {
		fmt.Fprintf(os.Stderr, "Close: %v\n", err)
		return 1
	}
	return 0
}

// TestGroupSarama is acceptance 2 with sarama's consumer group, committing
// each record synchronously after processing: two members split six
// partitions 3/3, a third (a child process) makes it 2/2/2, the child is
// SIGKILLed and its partitions move to the survivors only after its session
// timeout, then a closed member's partitions move to the last one. Every
// produced record is consumed exactly once, by count and content.
func TestGroupSarama(t *testing.T) {
	srv := startServer(t, groupBrokerConfig())
	ctx := testContext(t, testTimeout)
	adm := newAdmin(t, srv.Addr)
	topic := uniqueTopic(t, "sarama")
	createTopic(t, ctx, adm, topic, 6, nil)
	producer := newKgo(t, srv.Addr, kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	const groupID = "sarama-group"
	sink := &consumed{}
	allConsumed := func(produced []string) func() (bool, string) {
		return func() (bool, string) {
			return sink.distinct() >= len(produced), fmt.Sprintf("%d of %d", sink.distinct(), len(produced))
		}
	}

	a := startSaramaMember(t, srv.Addr, groupID, topic, "a", sink)
	b := startSaramaMember(t, srv.Addr, groupID, topic, "b", sink)
	waitOwnedSplit(t, ctx, 6, []int{3, 3}, a, b)
	produced := produceValues(t, ctx, producer, topic, "one", 120)
	eventually(t, ctx, "records consumed by a and b", allConsumed(produced))

	c := startSaramaChild(t, srv.Addr, groupID, topic, "c", sink)
	waitOwnedSplit(t, ctx, 6, []int{2, 2, 2}, a, b, c)
	produced = append(produced, produceValues(t, ctx, producer, topic, "two", 120)...)
	eventually(t, ctx, "records consumed by a, b and c", allConsumed(produced))

	// Every record c reported is committed and none is in flight: killing
	// it now must lose nothing and repeat nothing.
	killed := time.Now()
	c.kill(t)
	waitOwnedSplit(t, ctx, 6, []int{3, 3}, a, b)
	// A killed member sends no LeaveGroup; only its session timeout, counted
	// from its last heartbeat at most one interval before the kill, frees
	// its partitions. Half the timeout leaves room for clock granularity.
	if took := time.Since(killed); took < saramaSessionTimeout/2 {
		t.Errorf("partitions of the killed member moved after %v; a session timeout of %v should have held them", took, saramaSessionTimeout)
	} else {
		t.Logf("partitions of the killed member moved after %v (session timeout %v)", took, saramaSessionTimeout)
	}
	produced = append(produced, produceValues(t, ctx, producer, topic, "three", 120)...)
	eventually(t, ctx, "records consumed by a and b after the kill", allConsumed(produced))

	a.stop()
	waitOwnedSplit(t, ctx, 6, []int{6}, b)
	produced = append(produced, produceValues(t, ctx, producer, topic, "four", 120)...)
	eventually(t, ctx, "records consumed by b alone", allConsumed(produced))
	checkExactlyOnce(t, produced, sink.snapshot())
	if t.Failed() {
		sink.logDuplicates(t)
	}
}
