package replication

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// TestLeaderStateProperties drives LeaderState with random appends, follower
// fetches, ticks and controller answers, against a naive model of each
// replica's log end, and checks after every step that the HW never goes down
// and never passes the smallest LEO of the maximal ISR (the leader included).
func TestLeaderStateProperties(t *testing.T) {
	for seed := uint64(1); seed <= 300; seed++ {
		rng := rand.New(rand.NewPCG(seed, seed*7919))
		checkLeaderRun(t, seed, rng)
	}
}

func checkLeaderRun(t *testing.T, seed uint64, rng *rand.Rand) {
	replicas := []BrokerID{1, 2, 3, 4}[:2+rng.IntN(3)]
	now := time.Unix(0, 0)
	leo := Offset(rng.IntN(50))
	s, err := NewLeaderState(LeaderConfig{LeaderID: 1, LeaderEpoch: 1, Replicas: replicas, ISR: replicas,
		LogEndOffset: leo, HighWatermark: Offset(rng.IntN(int(leo) + 1)), ReplicaLagTime: 5 * time.Second, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	// followerEnd is the model: what each follower really holds.
	followerEnd := map[BrokerID]Offset{}
	reported := map[BrokerID]Offset{}
	partitionEpoch := int32(0)
	prevHW := s.HighWatermark()
	for step := 0; step < 400; step++ {
		now = now.Add(time.Duration(rng.IntN(3000)) * time.Millisecond)
		switch op := rng.IntN(10); {
		case op < 3:
			leo += Offset(rng.IntN(5))
			s.OnLeaderAppend(leo)
		case op < 7:
			id := replicas[1+rng.IntN(len(replicas)-1)]
			// A follower fetches from somewhere up to the leader's end;
			// sometimes below what it had (it truncated).
			off := followerEnd[id] + Offset(rng.IntN(10))
			if rng.IntN(10) == 0 {
				off = Offset(rng.IntN(int(followerEnd[id]) + 1))
			}
			off = min(off, leo)
			followerEnd[id] = off
			if _, err := s.OnFollowerFetch(id, off, now); err != nil {
				t.Fatalf("seed %d: %v", seed, err)
			}
			reported[id] = off
		case op < 8:
			s.Tick(now)
		default:
			if p := s.Pending(); p != nil {
				if rng.IntN(3) == 0 {
					s.OnISRChangeFailed()
				} else {
					partitionEpoch++
					if _, err := s.OnPartitionChange(replicas, p.NewISR, partitionEpoch, now); err != nil {
						t.Fatalf("seed %d: %v", seed, err)
					}
				}
			}
		}
		hw := s.HighWatermark()
		if hw < prevHW {
			t.Fatalf("seed %d step %d: HW went down from %d to %d", seed, step, prevHW, hw)
		}
		bound := leo
		for _, id := range s.MaximalISR() {
			if id == 1 {
				continue
			}
			if off, ok := reported[id]; ok {
				bound = min(bound, off)
			} else {
				bound = -1
			}
		}
		if hw > prevHW && hw > bound {
			t.Fatalf("seed %d step %d: HW advanced to %d past the maximal ISR %v's smallest LEO %d", seed, step, hw, s.MaximalISR(), bound)
		}
		if !slices.Contains(s.ISR(), 1) {
			t.Fatalf("seed %d step %d: leader left the ISR %v", seed, step, s.ISR())
		}
		prevHW = hw
	}
}
