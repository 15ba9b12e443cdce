package workergroup

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// TestAssignConvergesFromRandomHistories drives the simulated group
// through random histories (workers joining, leaving and coming back,
// connectors created, deleted and resized, rounds at random times) and
// checks after each that, once the members stop changing, the group
// settles with every connector and task running exactly once and counts
// balanced within one, and that a further round moves nothing. The group
// simulation itself checks throughout that no work starts while another
// member runs it.
func TestAssignConvergesFromRandomHistories(t *testing.T) {
	for seed := range uint64(300) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 7))
			g := newGroup(t, randomConfig(rng), "w0")
			next := 1
			for range 1 + rng.IntN(12) {
				switch rng.IntN(6) {
				case 0, 1:
					g.join(fmt.Sprintf("w%d", next))
					next++
				case 2:
					if len(g.owned) > 1 {
						g.leave(slices.Sorted(maps.Keys(g.owned))[rng.IntN(len(g.owned))])
					}
				case 3:
					g.configured = randomConfig(rng)
				case 4:
					g.now = g.now.Add(time.Duration(rng.IntN(15)) * time.Second)
				}
				g.rebalance()
			}
			g.settle()
			g.checkBalanced()
			if res := g.rebalance(); !quiet(res) {
				t.Fatalf("settled group moved work: %+v", res)
			}
		})
	}
}

func randomConfig(rng *rand.Rand) map[string]int {
	out := map[string]int{}
	for i := range rng.IntN(6) {
		out[fmt.Sprintf("c%d", i+rng.IntN(3))] = rng.IntN(7)
	}
	return out
}

// TestAssignMovesOnlyTheNewWorkersShare: when a worker joins a settled
// group, the work revoked is exactly what it will run: no more moves than
// balance requires, whatever the group's size and load.
func TestAssignMovesOnlyTheNewWorkersShare(t *testing.T) {
	for members := 1; members <= 6; members++ {
		for connectors := 0; connectors <= 7; connectors++ {
			config := map[string]int{}
			for i := range connectors {
				config[fmt.Sprintf("c%d", i)] = 1 + (i*5)%7
			}
			g := newGroup(t, config)
			for i := range members {
				g.join(fmt.Sprintf("w%d", i))
			}
			g.settle()
			g.join("new")
			revokedConnectors, revokedTasks := countOf(g.rebalance().Revoked)
			g.settle()
			g.checkBalanced()
			if got := len(g.owned["new"].connectors); got != revokedConnectors {
				t.Errorf("%d workers, %v: %d connectors revoked, the new worker runs %d",
					members, config, revokedConnectors, got)
			}
			if got := len(g.owned["new"].tasks); got != revokedTasks {
				t.Errorf("%d workers, %v: %d tasks revoked, the new worker runs %d", members, config, revokedTasks, got)
			}
		}
	}
}

// TestAssignIsDeterministic: the same input gives the same output.
func TestAssignIsDeterministic(t *testing.T) {
	in := AssignInput{Now: epoch, MaxDelay: time.Minute, Generation: 3, LastCompletedGeneration: 2,
		Configured: map[string]int{"a": 5, "b": 3, "c": 8},
		Members: map[string]ConnectorsAndTasks{
			"w1": {Connectors: []string{"a", "b", "c"}, Tasks: []TaskID{{"a", 0}, {"a", 1}, {"b", 0}, {"c", 4}}},
			"w2": {}, "w3": {Tasks: []TaskID{{"c", 0}}}, "w4": {},
		}}
	first := Assign(LeaderState{Generation: 2}, in)
	for range 20 {
		if again := Assign(LeaderState{Generation: 2}, in); fmt.Sprint(again) != fmt.Sprint(first) {
			t.Fatalf("different results:\n%v\n%v", first, again)
		}
	}
}
