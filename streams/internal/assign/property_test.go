package assign

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
)

// randomInput draws a group and topology from seed: a few clients of a few
// threads, tasks of several sub-topologies, some stateful, with state
// scattered at random lags and previous owners that may conflict.
func randomInput(seed uint64) Input {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	var in Input
	for sub := range 1 + rng.IntN(4) {
		stateful := rng.IntN(3) > 0
		for part := range 1 + rng.IntN(12) {
			in.Tasks = append(in.Tasks, TaskInfo{ID: TaskID{sub, int32(part)}, Stateful: stateful})
		}
	}
	in.EndOffsetSums = map[TaskID]int64{}
	for _, t := range in.Tasks {
		if t.Stateful {
			in.EndOffsetSums[t.ID] = rng.Int64N(50000)
		}
	}
	lags := []int64{0, 100, 10000, math.MaxInt64}
	in.Config = Config{NumStandbyReplicas: rng.IntN(4), AcceptableRecoveryLag: lags[rng.IntN(len(lags))],
		MaxWarmupReplicas: 1 + rng.IntN(3)}
	for c := range 1 + rng.IntN(8) {
		cl := Client{ProcessID: fmt.Sprintf("p%02d", c), TaskOffsetSums: map[TaskID]int64{}}
		for m := range 1 + rng.IntN(4) {
			cl.Members = append(cl.Members, Member{ID: fmt.Sprintf("p%02d-m%d", c, m)})
		}
		for _, t := range in.Tasks {
			m := &cl.Members[rng.IntN(len(cl.Members))]
			switch rng.IntN(6) {
			case 0:
				m.PrevActive = append(m.PrevActive, t.ID)
				if t.Stateful {
					cl.TaskOffsetSums[t.ID] = LatestOffset
				}
			case 1:
				end := in.EndOffsetSums[t.ID]
				cl.TaskOffsetSums[t.ID] = end - rng.Int64N(end+1) + rng.Int64N(2)*rng.Int64N(100) // sometimes ahead: corrupt
				m.PrevStandby = append(m.PrevStandby, t.ID)
			}
		}
		in.Clients = append(in.Clients, cl)
	}
	return in
}

// shuffled returns in with its slices reordered, which must not change
// the result.
func shuffled(in Input, seed uint64) Input {
	rng := rand.New(rand.NewPCG(seed, 1))
	out := in
	out.Tasks = slices.Clone(in.Tasks)
	rng.Shuffle(len(out.Tasks), func(i, j int) { out.Tasks[i], out.Tasks[j] = out.Tasks[j], out.Tasks[i] })
	out.Clients = slices.Clone(in.Clients)
	rng.Shuffle(len(out.Clients), func(i, j int) { out.Clients[i], out.Clients[j] = out.Clients[j], out.Clients[i] })
	for i := range out.Clients {
		ms := slices.Clone(out.Clients[i].Members)
		rng.Shuffle(len(ms), func(a, b int) { ms[a], ms[b] = ms[b], ms[a] })
		out.Clients[i].Members = ms
	}
	return out
}

func TestAssignProperties(t *testing.T) {
	for seed := range uint64(2000) {
		in := randomInput(seed)
		res, err := Assign(in)
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		if err := checkInvariants(in, res); err != nil {
			t.Fatalf("seed %d: %v\ninput: %+v\nresult: %+v", seed, err, in, res)
		}
		again, err := Assign(shuffled(in, seed))
		if err != nil || !reflect.DeepEqual(res, again) {
			t.Fatalf("seed %d: not deterministic: %v\n%+v\n%+v", seed, err, res, again)
		}
	}
}

// TestAssignBalancedWhenCaughtUp checks that with every client caught up
// on everything nothing moves or warms up, so that (balanced-unless-
// probing) active tasks per thread differ by at most one.
func TestAssignBalancedWhenCaughtUp(t *testing.T) {
	for seed := range uint64(2000) {
		in := randomInput(seed)
		in.Config.AcceptableRecoveryLag = math.MaxInt64
		res, err := Assign(in)
		if err != nil {
			t.Fatal(err)
		}
		if err := checkInvariants(in, res); err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		if low, high := threadLoads(res); res.ProbingRebalance || high-low > 1 {
			t.Fatalf("seed %d: probing %v, actives per thread in [%d, %d]", seed, res.ProbingRebalance, low, high)
		}
		for _, c := range res.Clients {
			if len(c.Warmup) > 0 {
				t.Fatalf("seed %d: warm-ups with every client caught up", seed)
			}
		}
	}
}

// TestAssignConverges replays rebalances in which every standby and
// warm-up catches up in between: probing must stop within a bound, and
// the assignment it stops at must be a fixpoint, rebalancing again moving
// nothing (converged-fixpoint).
func TestAssignConverges(t *testing.T) {
	for seed := range uint64(1000) {
		in := randomInput(seed)
		stateful := 0
		for _, task := range in.Tasks {
			if task.Stateful {
				stateful++
			}
		}
		limit := stateful/in.Config.MaxWarmupReplicas + 3
		var res Result
		for round := 0; ; round++ {
			var err error
			if res, err = Assign(in); err != nil {
				t.Fatal(err)
			}
			in = nextGeneration(in, res)
			if !res.ProbingRebalance {
				break
			}
			if round == limit {
				t.Fatalf("seed %d: still probing after %d rounds", seed, round)
			}
		}
		again, err := Assign(in)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(res, again) {
			t.Fatalf("seed %d: converged assignment moves when rebalanced again:\n%+v\n%+v", seed, res, again)
		}
	}
}

// nextGeneration is the input of the rebalance after res once every
// replica has restored: actives report LatestOffset, standbys and
// warm-ups the end offset sum, and each member its tasks.
func nextGeneration(in Input, res Result) Input {
	next := in
	next.Clients = nil
	for _, c := range in.Clients {
		got := res.Clients[c.ProcessID]
		nc := Client{ProcessID: c.ProcessID, TaskOffsetSums: map[TaskID]int64{}}
		for id, m := range got.Members {
			nc.Members = append(nc.Members, Member{ID: id, PrevActive: m.Active, PrevStandby: append(slices.Clone(m.Standby), m.Warmup...)})
		}
		for _, t := range got.Active {
			if _, ok := in.EndOffsetSums[t]; ok {
				nc.TaskOffsetSums[t] = LatestOffset
			}
		}
		for _, t := range append(slices.Clone(got.Standby), got.Warmup...) {
			nc.TaskOffsetSums[t] = in.EndOffsetSums[t]
		}
		next.Clients = append(next.Clients, nc)
	}
	return next
}
