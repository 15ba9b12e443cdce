package streams

import (
	"context"
	"errors"
	"fmt"
	"log"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/fjordhq/fjord/streams/internal/assign"
	"github.com/fjordhq/fjord/streams/internal/store"
)

// App runs a topology as one instance of a Streams application (Kafka's
// KafkaStreams): its stream threads join the consumer group named by
// application.id, share the tasks with the other instances, and process
// them until Close.
//
// An App's methods are safe for concurrent use.
type App struct {
	cfg      Config
	topology *Topology
	subs     []*subtopology
	// topicSubtopology and extractors are by resolved input topic.
	topicSubtopology map[string]*subtopology
	extractors       map[string]TimestampExtractor
	inputTopics      []string
	tasksPerSub      map[int]int32
	clientOpts       []kgo.Opt
	roleOpts         map[clientRole][]kgo.Opt // what Properties set per kind of client
	adminClient      *kgo.Client
	admin            *kadm.Client
	stateDir         *store.StateDir
	env              *taskEnv
	logf             func(format string, args ...any)
	onError          func(err error) ErrorAction
	onState          func(old, new State)
	taskLocks        *taskLocks

	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu struct {
		sync.Mutex
		state      State
		threads    map[int]*streamThread
		hosts      assign.Assignment
		offsetSums map[TaskID]int64
		err        error
	}
}

// State is an application instance's state, as Kafka Streams names them.
type State string

// The states of an App.
const (
	Created         State = "CREATED"
	Rebalancing     State = "REBALANCING"
	Running         State = "RUNNING"
	PendingShutdown State = "PENDING_SHUTDOWN"
	NotRunning      State = "NOT_RUNNING"
	Error           State = "ERROR"
)

// ErrorAction is what an uncaught error handler decides for a stream thread
// that failed (Kafka's StreamThreadExceptionResponse).
type ErrorAction int

const (
	// ShutdownClient stops this instance; the group moves its tasks to the
	// other instances. It is the default.
	ShutdownClient ErrorAction = iota
	// ReplaceThread starts a new thread in place of the failed one; its
	// tasks restart from the last commit.
	ReplaceThread
)

// AppOption configures an App beyond its Config.
type AppOption func(*App)

// WithLogger sends the application's log lines to logf instead of the
// standard logger.
func WithLogger(logf func(format string, args ...any)) AppOption {
	return func(a *App) { a.logf = logf }
}

// WithErrorHandler decides what happens when a stream thread fails
// (Kafka's setUncaughtExceptionHandler).
func WithErrorHandler(fn func(err error) ErrorAction) AppOption {
	return func(a *App) { a.onError = fn }
}

// WithStateListener is called on every state change, from the goroutine
// that made it (Kafka's setStateListener).
func WithStateListener(fn func(old, new State)) AppOption {
	return func(a *App) { a.onState = fn }
}

// WithClientOptions adds franz-go options to every client the application
// makes, after its own: an escape hatch for settings Config does not name.
func WithClientOptions(opts ...kgo.Opt) AppOption {
	return func(a *App) { a.clientOpts = append(a.clientOpts, opts...) }
}

// NewApp checks the topology and the configuration and returns an App that
// Start runs.
func NewApp(t *Topology, cfg Config, opts ...AppOption) (*App, error) {
	if err := t.validate(); err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	base, err := cfg.kgoOpts()
	if err != nil {
		return nil, err
	}
	roles := make(map[clientRole][]kgo.Opt)
	for _, role := range clientRoles {
		opts, err := cfg.clientOpts(role)
		if err != nil {
			return nil, err
		}
		roles[role] = opts
	}
	a := &App{
		cfg:              cfg,
		topology:         t,
		subs:             t.subtopologies(),
		topicSubtopology: make(map[string]*subtopology),
		extractors:       make(map[string]TimestampExtractor),
		tasksPerSub:      make(map[int]int32),
		taskLocks:        newTaskLocks(),
		logf:             log.Printf,
		onError:          func(error) ErrorAction { return ShutdownClient },
	}
	a.clientOpts = base
	a.roleOpts = roles
	for _, opt := range opts {
		opt(a)
	}
	a.mu.state = Created
	a.mu.threads = make(map[int]*streamThread)
	a.mu.offsetSums = make(map[TaskID]int64)
	a.env = &taskEnv{
		applicationID:     cfg.ApplicationID,
		topology:          t,
		wallClock:         a.now,
		logf:              a.logf,
		cacheBytesPerTask: cfg.CacheMaxBytes,
		counters:          &recordCounters{},
	}
	for _, s := range a.subs {
		for _, src := range s.sources {
			for _, topic := range src.topics {
				resolved := a.env.resolve(topic, src.internal)
				a.topicSubtopology[resolved] = s
				a.inputTopics = append(a.inputTopics, resolved)
				if src.extract != nil {
					a.extractors[resolved] = src.extract
				}
			}
		}
	}
	return a, nil
}

// optsFor returns the options of a client of the given roles: the
// application's common ones, then what Properties set for each role.
func (a *App) optsFor(roles ...clientRole) []kgo.Opt {
	opts := append([]kgo.Opt(nil), a.clientOpts...)
	for _, role := range roles {
		opts = append(opts, a.roleOpts[role]...)
	}
	return opts
}

// Metrics returns the record counts of this instance's tasks since Start.
func (a *App) Metrics() Metrics { return a.env.counters.metrics() }

// now is the wall clock of punctuators and commit intervals.
func (a *App) now() time.Time { return wallClock() }

// Start creates the internal topics, opens the state directory and starts
// the stream threads. It returns once they run; processing goes on until
// Close.
func (a *App) Start(ctx context.Context) error {
	a.mu.Lock()
	if a.mu.state != Created {
		a.mu.Unlock()
		return fmt.Errorf("streams: Start on an application in state %s", a.mu.state)
	}
	a.mu.Unlock()
	adminClient, err := kgo.NewClient(a.optsFor(roleAdmin)...)
	if err != nil {
		return fmt.Errorf("streams: admin client: %w", err)
	}
	a.adminClient, a.admin = adminClient, kadm.NewClient(adminClient)
	if err := a.setupTopics(ctx); err != nil {
		a.adminClient.Close()
		return err
	}
	dir, err := store.OpenStateDir(a.cfg.StateDir, a.cfg.ApplicationID)
	if err != nil {
		a.adminClient.Close()
		return fmt.Errorf("streams: state directory: %w", err)
	}
	a.stateDir = dir
	a.loadOffsetSums()
	a.env.stateDir = func(id TaskID) (string, error) { return dir.TaskDir(id.String()) }
	// a.cancel is set before the global thread starts: a failing global
	// thread stops the stream threads with it.
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	a.cancel = cancel
	if err := a.startGlobal(ctx); err != nil {
		cancel()
		a.release()
		return err
	}
	a.setState(Rebalancing)
	for i := range a.cfg.NumStreamThreads {
		if err := a.startThread(runCtx, i); err != nil {
			cancel()
			a.wg.Wait()
			a.release()
			return err
		}
	}
	return nil
}

// startThread starts stream thread index; a failed thread is replaced or
// shuts the instance down, as the error handler decides.
func (a *App) startThread(ctx context.Context, index int) error {
	th, err := a.newThread(ctx, index)
	if err != nil {
		return err
	}
	a.mu.Lock()
	a.mu.threads[index] = th
	a.mu.Unlock()
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		err := th.run(ctx)
		th.close()
		a.mu.Lock()
		delete(a.mu.threads, index)
		a.mu.Unlock()
		if err == nil || ctx.Err() != nil {
			return
		}
		if taskMigrated(err) {
			// As Kafka Streams' TaskMigratedException: the thread's
			// tasks went elsewhere while it worked, its uncommitted work
			// is thrown away, and a new thread (with a new producer
			// epoch) rejoins. Not an application error, so the handler
			// is not asked.
			a.logf("streams: %s was fenced, its tasks migrated; starting it again: %v", th.name(), err)
			if err := a.startThread(ctx, index); err == nil {
				return
			}
		}
		a.logf("streams: %s failed: %v", th.name(), err)
		if a.onError(err) == ReplaceThread {
			if err := a.startThread(ctx, index); err == nil {
				return
			}
		}
		a.mu.Lock()
		if a.mu.err == nil {
			a.mu.err = err
		}
		a.mu.Unlock()
		a.setState(Error)
		a.cancel()
	}()
	return nil
}

// Close stops the threads after a last commit, leaves the group and
// releases the state directory. ctx bounds the wait.
func (a *App) Close(ctx context.Context) error {
	a.mu.Lock()
	state := a.mu.state
	a.mu.Unlock()
	if state == Created || state == NotRunning {
		a.setState(NotRunning)
		return nil
	}
	a.setState(PendingShutdown)
	a.cancel()
	done := make(chan struct{})
	go func() {
		a.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		return fmt.Errorf("streams: close: %w", ctx.Err())
	}
	a.release()
	a.mu.Lock()
	err := a.mu.err
	a.mu.Unlock()
	if err == nil {
		a.setState(NotRunning)
	}
	return err
}

func (a *App) release() {
	a.closeGlobal()
	if a.stateDir != nil {
		if err := a.stateDir.Close(); err != nil {
			a.logf("streams: release state directory: %v", err)
		}
	}
	if a.adminClient != nil {
		a.adminClient.Close()
	}
}

// State is the instance's current state.
func (a *App) State() State {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.mu.state
}

func (a *App) setState(s State) {
	a.mu.Lock()
	old := a.mu.state
	if old == s || old == Error && s != NotRunning {
		a.mu.Unlock()
		return
	}
	a.mu.state = s
	a.mu.Unlock()
	if a.onState != nil {
		a.onState(old, s)
	}
}

func (a *App) subtopology(id TaskID) (*subtopology, error) {
	if id.Subtopology < 0 || id.Subtopology >= len(a.subs) || id.Partition < 0 || id.Partition >= a.tasksPerSub[id.Subtopology] {
		return nil, fmt.Errorf("streams: assigned unknown task %s", id)
	}
	return a.subs[id.Subtopology], nil
}

// stateful says whether a sub-topology's tasks have logged stores, which
// standbys keep warm.
func (a *App) stateful(s *subtopology) bool {
	for _, name := range s.stores {
		if a.topology.stores[name].logged {
			return true
		}
	}
	return false
}

// timestampOf is a polled record's event time: the source's extractor's, or
// the record's own.
func (a *App) timestampOf(rec *kgo.Record) int64 {
	if extract, ok := a.extractors[rec.Topic]; ok {
		return extract(RawRecord{Topic: rec.Topic, Partition: rec.Partition, Offset: rec.Offset, Key: rec.Key, Value: rec.Value, Timestamp: rec.Timestamp}).UnixMilli()
	}
	return rec.Timestamp.UnixMilli()
}

// recordOffsetSums remembers the changelog offsets a thread's tasks reached,
// for the lags the assignor weighs.
func (a *App) recordOffsetSums(tasks map[TaskID]*task) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for id, tk := range tasks {
		a.mu.offsetSums[id] = tk.offsetSum()
	}
}

// noteHosts keeps the latest assignment's map of which instance hosts which
// partitions, for interactive queries.
func (a *App) noteHosts(as assign.Assignment) {
	a.mu.Lock()
	a.mu.hosts = as
	a.mu.Unlock()
	a.setState(Running)
}

var errNotStarted = errors.New("streams: the application is not running")
