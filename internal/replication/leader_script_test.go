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
//	commit replicas= isr= pe= [t=]  the controller applied a change
//	fail                      the pending AlterPartition failed
//	produce acks= minisr=     CheckProduce before appending
//	ack offset= acks= minisr= AckReady for a produce ending before offset
func TestLeaderScripts(t *testing.T) {
	runScripts(t, "leader_*.txt", func() func(string, map[string]string) []string {
		var s *LeaderState
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
			case "commit":
				u, err = s.OnPartitionChange(argIDs(args, "replicas"), argIDs(args, "isr"), int32(argInt(args, "pe")), at(args))
			case "fail":
				s.OnISRChangeFailed()
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
				out = append(out, fmt.Sprintf("propose isr=%v pe=%d", u.Proposal.NewISR, u.Proposal.PartitionEpoch))
			}
			pending := "none"
			if p := s.Pending(); p != nil {
				pending = fmt.Sprint(p.NewISR)
			}
			out = append(out, fmt.Sprintf("hw=%d isr=%v pending=%s maximal=%v", s.HighWatermark(), s.ISR(), pending, s.MaximalISR()))
			return out
		}
	})
}
