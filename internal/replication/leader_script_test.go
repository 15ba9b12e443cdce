package replication

import (
	"fmt"
	"testing"
	"time"
)

// TestLeaderScripts runs testdata/leader_*.txt. Commands:
//
//	new leader= epoch= replicas= isr= leo= hw= [lag=] [pe=]
//	append leo=               the leader's LEO moved
//	fetch replica= offset= t= a follower fetched at time t (since start)
//	tick t=
//	image replicas= isr= pe= [t=]   a metadata image brings the partition's state
//	answer isr= pe= [p=] [replicas=] the controller answered proposal p
//	refuse outcome= [p=]      proposal p was refused: unknown, rejected or stale
//	produce acks= minisr=     CheckProduce before appending
//	ack offset= acks= minisr= AckReady for a produce ending before offset
func TestLeaderScripts(t *testing.T) {
	runScripts(t, "leader_*.txt", func() func(string, map[string]string) []string {
		var s *LeaderState
		// proposals are the proposals made so far; p=N names the Nth,
		// and the latest is the default.
		var proposals []ISRChange
		proposal := func(args map[string]string) ISRChange {
			if args["p"] != "" {
				return proposals[argInt(args, "p")-1]
			}
			return proposals[len(proposals)-1]
		}
		state := func(args map[string]string) PartitionState {
			ps := PartitionState{LeaderEpoch: s.leaderEpoch, PartitionEpoch: int32(argInt(args, "pe")), Replicas: s.replicas, ISR: argIDs(args, "isr")}
			if args["replicas"] != "" {
				ps.Replicas = argIDs(args, "replicas")
			}
			return ps
		}
		start := time.Unix(1000, 0)
		at := func(args map[string]string) time.Time {
			if args["t"] == "" {
				return start
			}
			return start.Add(argDuration(args, "t"))
		}
		return func(cmd string, args map[string]string) []string {
			var out []string
			var u Update
			var err error
			switch cmd {
			case "new":
				cfg := LeaderConfig{LeaderID: BrokerID(argInt(args, "leader")), LeaderEpoch: LeaderEpoch(argInt(args, "epoch")),
					Replicas: argIDs(args, "replicas"), ISR: argIDs(args, "isr"),
					LogEndOffset: Offset(argInt(args, "leo")), HighWatermark: Offset(argInt(args, "hw")), Now: start}
				if args["lag"] != "" {
					cfg.ReplicaLagTime = argDuration(args, "lag")
				}
				if args["pe"] != "" {
					cfg.PartitionEpoch = int32(argInt(args, "pe"))
				}
				s, err = NewLeaderState(cfg)
				if err != nil {
					return []string{"error: " + err.Error()}
				}
			case "append":
				u = s.OnLeaderAppend(Offset(argInt(args, "leo")))
			case "fetch":
				u, err = s.OnFollowerFetch(BrokerID(argInt(args, "replica")), Offset(argInt(args, "offset")), at(args))
			case "tick":
				u = s.Tick(at(args))
			case "image":
				u, err = s.OnPartitionChange(state(args), at(args))
			case "answer":
				u, err = s.OnISRChangeAnswered(proposal(args), state(args))
			case "refuse":
				outcomes := map[string]ISRChangeOutcome{"unknown": ISRChangeUnknown, "rejected": ISRChangeRejected, "stale": ISRChangeStale}
				outcome, ok := outcomes[args["outcome"]]
				if !ok {
					panic("unknown outcome " + args["outcome"])
				}
				u = s.OnISRChangeRefused(proposal(args), outcome)
			case "produce":
				if err := s.CheckProduce(int16(argInt(args, "acks")), int(argInt(args, "minisr"))); err != nil {
					return []string{"refused: " + errName(err)}
				}
				return []string{"accepted"}
			case "ack":
				d := s.AckReady(Offset(argInt(args, "offset")), int16(argInt(args, "acks")), int(argInt(args, "minisr")))
				switch {
				case !d.Done:
					return []string{"wait"}
				case d.Err != nil:
					return []string{"done: " + errName(d.Err)}
				default:
					return []string{"done"}
				}
			default:
				panic("unknown command " + cmd)
			}
			if err != nil {
				out = append(out, "error: "+err.Error())
			}
			if u.HighWatermarkAdvanced {
				out = append(out, fmt.Sprintf("hw advanced to %d", u.HighWatermark))
			}
			if u.Proposal != nil {
				if len(proposals) == 0 || proposals[len(proposals)-1].seq != u.Proposal.seq {
					proposals = append(proposals, *u.Proposal)
					out = append(out, fmt.Sprintf("propose p=%d isr=%v pe=%d", len(proposals), u.Proposal.NewISR, u.Proposal.PartitionEpoch))
				} else {
					out = append(out, fmt.Sprintf("send again p=%d", len(proposals)))
				}
			}
			pending := "none"
			if p := s.Pending(); p != nil {
				pending = fmt.Sprint(p.NewISR)
				if s.AwaitingMetadata() {
					pending += " (awaiting metadata)"
				}
			}
			out = append(out, fmt.Sprintf("hw=%d isr=%v pe=%d pending=%s maximal=%v", s.HighWatermark(), s.ISR(), s.PartitionEpoch(), pending, s.MaximalISR()))
			return out
		}
	})
}
