package assign

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Defaults of the assignor's settings, Kafka Streams' own.
const (
	// DefaultAcceptableRecoveryLag is acceptable.recovery.lag: a client
	// whose state of a task lags the changelog by at most this many
	// records can take the task active at once, restoring the rest in
	// about a second at typical restore rates.
	DefaultAcceptableRecoveryLag int64 = 10000
	// DefaultMaxWarmupReplicas is max.warmup.replicas: how many warm-up
	// replicas may restore at once across the application, which bounds
	// the extra load a scale-out puts on brokers and disks.
	DefaultMaxWarmupReplicas = 2
)

// maxStandbyReplicas bounds num.standby.replicas. Copies beyond the number
// of instances are dropped anyway; the bound only keeps arithmetic small.
const maxStandbyReplicas = 1 << 10

// ErrInvalidInput is wrapped by the errors of Assign, the encoders and
// the Balancer's assignment: the input breaks the contract written on its
// type (Input, Subscription, Assignment, PlanFunc).
var ErrInvalidInput = errors.New("assign: invalid input")

// Config holds the assignor's settings, named after Kafka's.
type Config struct {
	// NumStandbyReplicas is num.standby.replicas: hot copies of each
	// stateful task's state kept on other instances, default 0.
	NumStandbyReplicas int
	// AcceptableRecoveryLag is acceptable.recovery.lag.
	AcceptableRecoveryLag int64
	// MaxWarmupReplicas is max.warmup.replicas, at least 1.
	MaxWarmupReplicas int
}

// DefaultConfig returns Kafka's defaults.
func DefaultConfig() Config {
	return Config{AcceptableRecoveryLag: DefaultAcceptableRecoveryLag, MaxWarmupReplicas: DefaultMaxWarmupReplicas}
}

// Validate checks the settings' ranges (Kafka's, where it has them).
func (c Config) Validate() error {
	switch {
	case c.NumStandbyReplicas < 0 || c.NumStandbyReplicas > maxStandbyReplicas:
		return fmt.Errorf("%w: num standby replicas %d not in [0, %d]", ErrInvalidInput, c.NumStandbyReplicas, maxStandbyReplicas)
	case c.AcceptableRecoveryLag < 0:
		return fmt.Errorf("%w: negative acceptable recovery lag %d", ErrInvalidInput, c.AcceptableRecoveryLag)
	case c.MaxWarmupReplicas < 1:
		return fmt.Errorf("%w: max warmup replicas %d, want at least 1", ErrInvalidInput, c.MaxWarmupReplicas)
	}
	return nil
}

// Member is one group member (a stream thread) of a client.
type Member struct {
	ID string
	// PrevActive and PrevStandby are the tasks the member ran in the last
	// generation; tasks unknown to the topology are ignored.
	PrevActive  []TaskID
	PrevStandby []TaskID
}

// Client is one instance of the application: a process and its threads.
type Client struct {
	ProcessID string
	// Members are the client's threads, at least one. Their order does not
	// matter: the assignor sorts them by ID.
	Members []Member
	// TaskOffsetSums is the client's Subscription.TaskOffsetSums: the
	// restored offset sum of each task with local state, or LatestOffset.
	TaskOffsetSums map[TaskID]int64
}

// Input is everything the assignor decides from.
type Input struct {
	// Tasks are all tasks of the topology, each once.
	Tasks []TaskInfo
	// Clients are the instances in the group, each process id once, with
	// member ids distinct across all clients.
	Clients []Client
	// EndOffsetSums holds each stateful task's sum of its changelog
	// partitions' end offsets. A missing task has sum 0: no state to lose.
	EndOffsetSums map[TaskID]int64
	Config        Config
}

// MemberTasks is what one member runs. Warm-ups go on the wire as
// standbys; they are apart here so that callers and tests can tell them.
type MemberTasks struct {
	Active  []TaskID
	Standby []TaskID
	Warmup  []TaskID
}

// ClientTasks is what one client runs, in all and per member.
type ClientTasks struct {
	Active  []TaskID
	Standby []TaskID
	Warmup  []TaskID
	Members map[string]MemberTasks
}

// Result is the assignment: for each process id, its tasks.
type Result struct {
	Clients map[string]ClientTasks
	// ProbingRebalance is set when some task runs away from where balance
	// wants it because the balanced client is not caught up yet: the group
	// should rebalance again once warm-ups may have caught up (Kafka's
	// probing.rebalance.interval.ms).
	ProbingRebalance bool
}

// Assign computes the assignment. It is a pure function: the same input
// gives the same result, whatever the order of its slices and maps.
func Assign(in Input) (Result, error) {
	p, err := newPlanner(in)
	if err != nil {
		return Result{}, err
	}
	p.assignStatefulActives()
	moves := p.moveActivesToCaughtUp()
	p.assignStatelessActives()
	p.assignStandbys(moves)
	p.assignWarmups(moves)
	return p.result(), nil
}

// planner is the state of one Assign call. Tasks and clients are referred
// to by their index in the sorted tasks and clients.
type planner struct {
	cfg     Config
	tasks   []TaskInfo     // sorted by ID
	index   map[TaskID]int // position of each task in tasks
	end     []int64        // end offset sum per task
	clients []*client      // sorted by process id
	threads int            // members across all clients
	stateOn [][]int        // per task, clients with state of it or that ran it, ascending
	active  []int          // client running each task active, -1 until placed
	copies  [][]replica    // per task, its standbys and warm-up
	probing bool
}

// replica is a copy of a task's state kept on a client beside the active.
type replica struct {
	client int
	warmup bool // a warm-up: an extra copy restoring ahead of a move
}

// client is one Client during planning.
type client struct {
	index       int
	id          string
	members     []Member // sorted by ID
	capacity    int      // len(members): load is counted per thread
	offsetSums  map[int]int64
	prevActive  map[int]bool // tasks some member ran active, by task index
	prevStandby map[int]bool // tasks some member kept as standby
	actives     int          // tasks placed active here so far
	standbys    int          // standbys and warm-ups placed here so far
}

func newPlanner(in Input) (*planner, error) {
	if err := in.Config.Validate(); err != nil {
		return nil, err
	}
	p := &planner{cfg: in.Config}
	if err := p.setTasks(in.Tasks, in.EndOffsetSums); err != nil {
		return nil, err
	}
	if err := p.setClients(in.Clients); err != nil {
		return nil, err
	}
	p.stateOn = make([][]int, len(p.tasks))
	for _, c := range p.clients { // in index order, so each list ascends
		for t := range c.offsetSums {
			p.stateOn[t] = append(p.stateOn[t], c.index)
		}
		for t := range c.prevActive {
			if !p.hasState(c, t) {
				p.stateOn[t] = append(p.stateOn[t], c.index)
			}
		}
		for t := range c.prevStandby {
			if !p.hasState(c, t) && !c.prevActive[t] {
				p.stateOn[t] = append(p.stateOn[t], c.index)
			}
		}
	}
	p.active = slices.Repeat([]int{-1}, len(p.tasks))
	p.copies = make([][]replica, len(p.tasks))
	return p, nil
}

func (p *planner) setTasks(tasks []TaskInfo, endOffsetSums map[TaskID]int64) error {
	if len(tasks) > maxTasks {
		return fmt.Errorf("%w: %d tasks, over the limit of %d", ErrInvalidInput, len(tasks), maxTasks)
	}
	p.tasks = slices.Clone(tasks)
	slices.SortFunc(p.tasks, func(a, b TaskInfo) int { return a.ID.Compare(b.ID) })
	p.index = make(map[TaskID]int, len(p.tasks))
	p.end = make([]int64, len(p.tasks))
	for i, t := range p.tasks {
		if !t.ID.valid() {
			return fmt.Errorf("%w: task id %s out of range", ErrInvalidInput, t.ID)
		}
		if _, dup := p.index[t.ID]; dup {
			return fmt.Errorf("%w: task %s listed twice", ErrInvalidInput, t.ID)
		}
		p.index[t.ID] = i
		if p.end[i] = endOffsetSums[t.ID]; p.end[i] < 0 {
			return fmt.Errorf("%w: negative end offset sum %d of task %s", ErrInvalidInput, p.end[i], t.ID)
		}
	}
	return nil
}

func (p *planner) setClients(clients []Client) error {
	if len(clients) == 0 {
		return fmt.Errorf("%w: no clients", ErrInvalidInput)
	}
	sorted := slices.Clone(clients)
	slices.SortFunc(sorted, func(a, b Client) int { return strings.Compare(a.ProcessID, b.ProcessID) })
	memberIDs := map[string]bool{}
	for i, in := range sorted {
		if in.ProcessID == "" || (i > 0 && sorted[i-1].ProcessID == in.ProcessID) {
			return fmt.Errorf("%w: process id %q empty or listed twice", ErrInvalidInput, in.ProcessID)
		}
		if len(in.Members) == 0 {
			return fmt.Errorf("%w: client %q has no members", ErrInvalidInput, in.ProcessID)
		}
		c := &client{index: i, id: in.ProcessID, members: slices.Clone(in.Members), capacity: len(in.Members),
			offsetSums: make(map[int]int64, len(in.TaskOffsetSums)), prevActive: map[int]bool{}, prevStandby: map[int]bool{}}
		slices.SortFunc(c.members, func(a, b Member) int { return strings.Compare(a.ID, b.ID) })
		for _, m := range c.members {
			if m.ID == "" || memberIDs[m.ID] {
				return fmt.Errorf("%w: member id %q empty or listed twice", ErrInvalidInput, m.ID)
			}
			memberIDs[m.ID] = true
			p.markTasks(c.prevActive, m.PrevActive)
			p.markTasks(c.prevStandby, m.PrevStandby)
		}
		for t, sum := range in.TaskOffsetSums {
			if sum < 0 && sum != LatestOffset {
				return fmt.Errorf("%w: client %q: offset sum %d of task %s", ErrInvalidInput, in.ProcessID, sum, t)
			}
			if ti, ok := p.index[t]; ok {
				c.offsetSums[ti] = sum
			}
		}
		p.clients = append(p.clients, c)
		p.threads += c.capacity
	}
	return nil
}

// markTasks sets set[i] for each known task of ids.
func (p *planner) markTasks(set map[int]bool, ids []TaskID) {
	for _, t := range ids {
		if i, ok := p.index[t]; ok {
			set[i] = true
		}
	}
}

// lag is how far client c's state of task t is behind the changelog:
// LatestOffset if c runs t caught up, the whole end offset sum if c has no
// state. State ahead of the changelog is corrupt and restores from
// scratch, as Kafka reads it.
func (p *planner) lag(c *client, t int) int64 {
	sum, ok := c.offsetSums[t]
	switch {
	case !ok || sum > p.end[t]:
		return p.end[t]
	case sum == LatestOffset:
		return LatestOffset
	default:
		return p.end[t] - sum
	}
}

// caughtUp reports whether c may take t active without a long restore.
func (p *planner) caughtUp(c *client, t int) bool {
	lag := p.lag(c, t)
	return lag == LatestOffset || lag <= p.cfg.AcceptableRecoveryLag
}

// ranRecently reports whether c ran t active in the last generation.
func (p *planner) ranRecently(c *client, t int) bool {
	sum, ok := c.offsetSums[t]
	return c.prevActive[t] || ok && sum == LatestOffset
}

func (p *planner) hasState(c *client, t int) bool {
	_, ok := c.offsetSums[t]
	return ok
}

// holds reports whether c has any copy of t.
func (p *planner) holds(c *client, t int) bool {
	return p.active[t] == c.index ||
		slices.ContainsFunc(p.copies[t], func(r replica) bool { return r.client == c.index })
}

// setActive makes c run t active.
func (p *planner) setActive(t int, c *client) {
	if old := p.active[t]; old >= 0 {
		p.clients[old].actives--
	}
	p.active[t] = c.index
	c.actives++
}

// addCopy places a standby or warm-up of t on c.
func (p *planner) addCopy(t int, c *client, warmup bool) {
	p.copies[t] = append(p.copies[t], replica{client: c.index, warmup: warmup})
	c.standbys++
}

// lessLoaded compares load a/ka with b/kb without division.
func lessLoaded(a, ka, b, kb int) bool { return int64(a)*int64(kb) < int64(b)*int64(ka) }

// taskIndices returns the indices of the stateful (or stateless) tasks.
func (p *planner) taskIndices(stateful bool) []int {
	var out []int
	for i, t := range p.tasks {
		if t.Stateful == stateful {
			out = append(out, i)
		}
	}
	return out
}
