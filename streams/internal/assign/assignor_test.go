package assign

import (
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
)

// ids parses "0_0 0_1" into task ids.
func ids(s string) []TaskID {
	var out []TaskID
	for _, f := range strings.Fields(s) {
		t, err := ParseTaskID(f)
		if err != nil {
			panic(err)
		}
		out = append(out, t)
	}
	return out
}

// text writes task ids as "0_0 0_1".
func text(ts []TaskID) string {
	s := make([]string, len(ts))
	for i, t := range ts {
		s[i] = t.String()
	}
	return strings.Join(s, " ")
}

// tasks returns the tasks "0_0".."0_<n-1>".
func tasks(n int, stateful bool) []TaskInfo {
	out := make([]TaskInfo, n)
	for i := range out {
		out[i] = TaskInfo{ID: TaskID{0, int32(i)}, Stateful: stateful}
	}
	return out
}

// ends gives every task of ts the end offset sum end.
func ends(ts []TaskInfo, end int64) map[TaskID]int64 {
	out := map[TaskID]int64{}
	for _, t := range ts {
		out[t.ID] = end
	}
	return out
}

// cl is a client of one thread that ran the tasks in running (active,
// caught up) and holds state of the tasks in sums.
func cl(id, running string, sums map[string]int64) Client {
	c := Client{ProcessID: id, Members: []Member{{ID: id + "-0", PrevActive: ids(running)}}, TaskOffsetSums: map[TaskID]int64{}}
	for _, t := range ids(running) {
		c.TaskOffsetSums[t] = LatestOffset
	}
	for t, sum := range sums {
		c.TaskOffsetSums[ids(t)[0]] = sum
	}
	return c
}

// want is one client's expected tasks, as text.
type want struct{ active, standby, warmup string }

func TestAssignScenarios(t *testing.T) {
	const end = 1_000_000 // far beyond acceptable.recovery.lag
	cases := []struct {
		name    string
		tasks   []TaskInfo
		clients []Client
		config  func(*Config)
		want    map[string]want
		probing bool
	}{{
		name:    "sticky when balanced",
		tasks:   tasks(4, true),
		clients: []Client{cl("a", "0_1 0_3", nil), cl("b", "0_0 0_2", nil)},
		want:    map[string]want{"a": {active: "0_1 0_3"}, "b": {active: "0_0 0_2"}},
	}, {
		name:    "new client gets warm-ups, not stateful actives",
		tasks:   tasks(4, true),
		clients: []Client{cl("a", "0_0 0_1 0_2 0_3", nil), cl("b", "", nil)},
		want:    map[string]want{"a": {active: "0_0 0_1 0_2 0_3"}, "b": {warmup: "0_2 0_3"}},
		probing: true,
	}, {
		name:    "warm-ups bounded by max.warmup.replicas",
		tasks:   tasks(6, true),
		clients: []Client{cl("a", "0_0 0_1 0_2 0_3 0_4 0_5", nil), cl("b", "", nil)},
		config:  func(c *Config) { c.MaxWarmupReplicas = 1 },
		want:    map[string]want{"a": {active: "0_0 0_1 0_2 0_3 0_4 0_5"}, "b": {warmup: "0_3"}},
		probing: true,
	}, {
		name:  "warmed-up client takes its tasks",
		tasks: tasks(4, true),
		clients: []Client{cl("a", "0_0 0_1 0_2 0_3", nil),
			cl("b", "", map[string]int64{"0_2": end - 100, "0_3": end})},
		want: map[string]want{"a": {active: "0_0 0_1"}, "b": {active: "0_2 0_3"}},
	}, {
		name:  "overloaded owner hands a task to a caught-up standby",
		tasks: tasks(4, true),
		clients: []Client{cl("a", "0_0 0_1 0_2", nil), cl("b", "0_3", map[string]int64{"0_1": end}),
			cl("c", "", nil)},
		config:  func(c *Config) { c.AcceptableRecoveryLag = 0 },
		want:    map[string]want{"a": {active: "0_0 0_2"}, "b": {active: "0_1 0_3"}, "c": {warmup: "0_2"}},
		probing: true,
	}, {
		name:  "nobody caught up: the most caught-up client runs it, target warms up",
		tasks: tasks(2, true),
		clients: []Client{cl("a", "", map[string]int64{"0_0": end / 2, "0_1": end / 2}),
			cl("b", "", nil)},
		want:    map[string]want{"a": {active: "0_0 0_1"}, "b": {warmup: "0_1"}},
		probing: true,
	}, {
		name:    "standbys apart and spread",
		tasks:   tasks(3, true),
		clients: []Client{cl("a", "0_0", nil), cl("b", "0_1", nil), cl("c", "0_2", nil)},
		config:  func(c *Config) { c.NumStandbyReplicas = 1; c.AcceptableRecoveryLag = end },
		want: map[string]want{"a": {active: "0_0", standby: "0_2"}, "b": {active: "0_1", standby: "0_0"},
			"c": {active: "0_2", standby: "0_1"}},
	}, {
		name:    "standbys capped at clients-1",
		tasks:   tasks(2, true),
		clients: []Client{cl("a", "0_0", nil), cl("b", "0_1", nil)},
		config:  func(c *Config) { c.NumStandbyReplicas = 3 },
		want:    map[string]want{"a": {active: "0_0", standby: "0_1"}, "b": {active: "0_1", standby: "0_0"}},
	}, {
		name:  "caught-up standby takes a task for balance; standbys stay where state is",
		tasks: tasks(2, true),
		clients: []Client{cl("a", "0_0 0_1", nil), cl("b", "", map[string]int64{"0_0": end, "0_1": end}),
			cl("c", "", nil)},
		config: func(c *Config) { c.NumStandbyReplicas = 1 },
		want: map[string]want{"a": {active: "0_0", standby: "0_1"}, "b": {active: "0_1", standby: "0_0"},
			"c": {}},
	}, {
		name:    "stateless tasks move freely",
		tasks:   tasks(4, false),
		clients: []Client{cl("a", "0_0 0_1 0_2 0_3", nil), cl("b", "", nil)},
		want:    map[string]want{"a": {active: "0_0 0_1"}, "b": {active: "0_2 0_3"}},
	}, {
		name:    "stateless tasks sticky when balanced",
		tasks:   tasks(4, false),
		clients: []Client{cl("a", "0_3 0_2", nil), cl("b", "0_0 0_1", nil)},
		want:    map[string]want{"a": {active: "0_2 0_3"}, "b": {active: "0_0 0_1"}},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			if tc.config != nil {
				tc.config(&cfg)
			}
			in := Input{Tasks: tc.tasks, Clients: tc.clients, EndOffsetSums: ends(tc.tasks, end), Config: cfg}
			res, err := Assign(in)
			if err != nil {
				t.Fatal(err)
			}
			if err := checkInvariants(in, res); err != nil {
				t.Fatal(err)
			}
			got := map[string]want{}
			for id, c := range res.Clients {
				got[id] = want{active: text(c.Active), standby: text(c.Standby), warmup: text(c.Warmup)}
			}
			if !maps.Equal(got, tc.want) || res.ProbingRebalance != tc.probing {
				t.Fatalf("got %+v probing %v\nwant %+v probing %v", got, res.ProbingRebalance, tc.want, tc.probing)
			}
		})
	}
}

func TestAssignThreads(t *testing.T) {
	// One client of three threads; each keeps what it ran while balanced.
	in := Input{Tasks: tasks(6, true), Config: DefaultConfig(), Clients: []Client{{ProcessID: "a",
		Members: []Member{
			{ID: "m2", PrevActive: ids("0_0 0_5")},
			{ID: "m1", PrevActive: ids("0_1 0_2 0_3 0_4"), PrevStandby: ids("0_0")},
			{ID: "m3"},
		}}}}
	res, err := Assign(in)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for id, m := range res.Clients["a"].Members {
		got[id] = text(m.Active)
	}
	want := map[string]string{"m1": "0_1 0_2", "m2": "0_0 0_5", "m3": "0_3 0_4"}
	if !maps.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestAssignWeightsClientsByThreads(t *testing.T) {
	// Nine tasks over a client of two threads and one of one: 6 and 3.
	big := Client{ProcessID: "big", Members: []Member{{ID: "b1"}, {ID: "b2"}}}
	in := Input{Tasks: tasks(9, false), Clients: []Client{big, cl("small", "", nil)}, Config: DefaultConfig()}
	res, err := Assign(in)
	if err != nil {
		t.Fatal(err)
	}
	if n, m := len(res.Clients["big"].Active), len(res.Clients["small"].Active); n != 6 || m != 3 {
		t.Fatalf("big runs %d, small %d; want 6 and 3", n, m)
	}
}

func TestAssignRejects(t *testing.T) {
	good := func() Input {
		return Input{Tasks: tasks(2, true), Clients: []Client{cl("a", "", nil)}, Config: DefaultConfig()}
	}
	cases := map[string]func(*Input){
		"no clients":         func(in *Input) { in.Clients = nil },
		"duplicate task":     func(in *Input) { in.Tasks = append(in.Tasks, in.Tasks[0]) },
		"negative task":      func(in *Input) { in.Tasks[0].ID.Partition = -1 },
		"duplicate process":  func(in *Input) { in.Clients = append(in.Clients, cl("a", "", nil)) },
		"empty process id":   func(in *Input) { in.Clients[0].ProcessID = "" },
		"no members":         func(in *Input) { in.Clients[0].Members = nil },
		"member in two":      func(in *Input) { c := cl("b", "", nil); c.Members[0].ID = "a-0"; in.Clients = append(in.Clients, c) },
		"bad offset sum":     func(in *Input) { in.Clients[0].TaskOffsetSums[TaskID{0, 0}] = -5 },
		"negative end sum":   func(in *Input) { in.EndOffsetSums = map[TaskID]int64{{0, 0}: -1} },
		"negative standbys":  func(in *Input) { in.Config.NumStandbyReplicas = -1 },
		"negative lag":       func(in *Input) { in.Config.AcceptableRecoveryLag = -1 },
		"no warmup replicas": func(in *Input) { in.Config.MaxWarmupReplicas = 0 },
	}
	for _, name := range slices.Sorted(maps.Keys(cases)) {
		in := good()
		cases[name](&in)
		if _, err := Assign(in); !errors.Is(err, ErrInvalidInput) {
			t.Errorf("%s: got %v, want ErrInvalidInput", name, err)
		}
	}
	if _, err := Assign(good()); err != nil {
		t.Fatalf("good input: %v", err)
	}
}

func TestAssignNoTasks(t *testing.T) {
	res, err := Assign(Input{Clients: []Client{cl("a", "", nil), cl("b", "0_0", nil)}, Config: DefaultConfig()})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Clients) != 2 || res.ProbingRebalance {
		t.Fatalf("got %+v", res)
	}
	for id, c := range res.Clients {
		if len(c.Active)+len(c.Standby)+len(c.Warmup) > 0 || len(c.Members) != 1 {
			t.Fatalf("%s: got %+v", id, c)
		}
	}
}
