package metadata

import (
	"errors"
	"reflect"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
)

// decisionImage has brokers 1-4 (fenced as listed) and topic "t" (idA)
// with the given partitions.
func decisionImage(t *testing.T, fenced []int32, parts ...PartitionRecord) *Image {
	t.Helper()
	img := mustApply(t, NewImage("c"), TopicRecord{Name: "t", ID: idA})
	for id := int32(1); id <= 4; id++ {
		img = mustApply(t, img, RegisterBrokerRecord{NodeID: id, Host: "h", Port: id})
	}
	for _, id := range fenced {
		img = mustApply(t, img, BrokerFenceRecord{NodeID: id, Fenced: true})
	}
	for _, p := range parts {
		p.TopicID = idA
		img = mustApply(t, img, p)
	}
	return img
}

func prec(p int32, replicas, isr []int32, leader, leaderEpoch, partitionEpoch int32) PartitionRecord {
	return PartitionRecord{TopicID: idA, Partition: p, Replicas: replicas, ISR: isr, Leader: leader,
		LeaderEpoch: leaderEpoch, PartitionEpoch: partitionEpoch}
}

func ids(v ...int32) []int32 { return v }

func TestDecideLeadership(t *testing.T) {
	tests := []struct {
		name    string
		fenced  []int32
		part    PartitionRecord
		unclean bool
		want    []PartitionRecord
	}{
		{name: "all live", part: prec(0, ids(1, 2, 3), ids(1, 2, 3), 1, 4, 7)},
		{name: "leader fenced: first live ISR member in assignment order", fenced: ids(1),
			part: prec(0, ids(1, 2, 3), ids(3, 2, 1), 1, 4, 7),
			want: []PartitionRecord{prec(0, ids(1, 2, 3), ids(3, 2), 2, 5, 8)}},
		{name: "follower fenced: leaves the ISR, leader epoch kept", fenced: ids(3),
			part: prec(0, ids(1, 2, 3), ids(1, 2, 3), 1, 4, 7),
			want: []PartitionRecord{prec(0, ids(1, 2, 3), ids(1, 2), 1, 4, 8)}},
		{name: "fenced replica outside the ISR: nothing", fenced: ids(3),
			part: prec(0, ids(1, 2, 3), ids(1, 2), 1, 4, 7)},
		{name: "last ISR member fenced: offline, ISR keeps it", fenced: ids(1),
			part: prec(0, ids(1, 2), ids(1), 1, 4, 7),
			want: []PartitionRecord{prec(0, ids(1, 2), ids(1), -1, 5, 8)}},
		{name: "whole ISR fenced at once: ISR keeps the leader", fenced: ids(1, 2),
			part: prec(0, ids(1, 2, 3), ids(1, 2), 2, 4, 7),
			want: []PartitionRecord{prec(0, ids(1, 2, 3), ids(2), -1, 5, 8)}},
		{name: "offline stays offline", fenced: ids(1),
			part: prec(0, ids(1, 2), ids(1), -1, 5, 8)},
		{name: "offline returns when its ISR member is live",
			part: prec(0, ids(1, 2), ids(1), -1, 5, 8),
			want: []PartitionRecord{prec(0, ids(1, 2), ids(1), 1, 6, 9)}},
		{name: "unclean: any live replica, marked", fenced: ids(1), unclean: true,
			part: prec(0, ids(1, 2, 3), ids(1), 1, 4, 7),
			want: []PartitionRecord{{TopicID: idA, Replicas: ids(1, 2, 3), ISR: ids(2), Leader: 2, LeaderEpoch: 5, PartitionEpoch: 8, Unclean: true}}},
		{name: "unclean for an offline partition", fenced: ids(1), unclean: true,
			part: prec(0, ids(1, 3), ids(1), -1, 5, 8),
			want: []PartitionRecord{{TopicID: idA, Replicas: ids(1, 3), ISR: ids(3), Leader: 3, LeaderEpoch: 6, PartitionEpoch: 9, Unclean: true}}},
		{name: "unclean allowed but a clean leader exists", fenced: ids(1), unclean: true,
			part: prec(0, ids(1, 2, 3), ids(1, 3), 1, 4, 7),
			want: []PartitionRecord{prec(0, ids(1, 2, 3), ids(3), 3, 5, 8)}},
		{name: "unclean allowed, no replica live", fenced: ids(1, 2), unclean: true,
			part: prec(0, ids(1, 2), ids(1), 1, 4, 7),
			want: []PartitionRecord{prec(0, ids(1, 2), ids(1), -1, 5, 8)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img := decisionImage(t, tt.fenced, tt.part)
			asked := false
			got := DecideLeadership(img, func(TopicImage) bool { asked = true; return tt.unclean })
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %+v\nwant %+v", got, tt.want)
			}
			// The decision applies, and applying it leaves nothing to decide.
			for _, r := range got {
				img = mustApply(t, img, r)
			}
			if again := DecideLeadership(img, func(TopicImage) bool { return tt.unclean }); len(again) != 0 {
				t.Fatalf("not a fixed point: %+v", again)
			}
			if asked && len(tt.want) > 0 && tt.want[0].Leader != -1 && !tt.want[0].Unclean && !tt.unclean {
				t.Fatal("unclean config consulted for a clean election")
			}
		})
	}
}

func TestDecideAlterPartition(t *testing.T) {
	img := decisionImage(t, ids(4), prec(0, ids(1, 2, 3, 4), ids(1, 2), 1, 4, 7))
	epoch := func(id int32) int64 {
		br, found := img.Broker(id)
		if !found {
			t.Fatalf("broker %d not registered", id)
		}
		return br.Epoch
	}
	ok := AlterPartitionRequest{TopicID: idA, Partition: 0, LeaderID: 1, LeaderEpoch: 4, PartitionEpoch: 7, NewISR: ids(1, 2, 3)}
	with := func(f func(*AlterPartitionRequest)) AlterPartitionRequest {
		r := ok
		f(&r)
		return r
	}
	tests := []struct {
		name    string
		req     AlterPartitionRequest
		want    *kerr.Error
		wantISR []int32
		noWrite bool
	}{
		{name: "expand", req: ok, wantISR: ids(1, 2, 3)},
		{name: "shrink", req: with(func(r *AlterPartitionRequest) { r.NewISR = ids(1) }), wantISR: ids(1)},
		{name: "unchanged", req: with(func(r *AlterPartitionRequest) { r.NewISR = ids(2, 1) }), wantISR: ids(1, 2), noWrite: true},
		{name: "unknown topic", req: with(func(r *AlterPartitionRequest) { r.TopicID = idB }), want: kerr.UnknownTopicID},
		{name: "unknown partition", req: with(func(r *AlterPartitionRequest) { r.Partition = 1 }), want: kerr.UnknownTopicOrPartition},
		{name: "newer leader epoch", req: with(func(r *AlterPartitionRequest) { r.LeaderEpoch = 5 }), want: kerr.NotController},
		{name: "newer partition epoch", req: with(func(r *AlterPartitionRequest) { r.PartitionEpoch = 8 }), want: kerr.NotController},
		{name: "stale leader epoch", req: with(func(r *AlterPartitionRequest) { r.LeaderEpoch = 3 }), want: kerr.FencedLeaderEpoch},
		{name: "not the leader", req: with(func(r *AlterPartitionRequest) { r.LeaderID = 2 }), want: kerr.InvalidRequest},
		{name: "stale partition epoch", req: with(func(r *AlterPartitionRequest) { r.PartitionEpoch = 6 }), want: kerr.InvalidUpdateVersion},
		{name: "not a replica", req: with(func(r *AlterPartitionRequest) { r.NewISR = ids(1, 5) }), want: kerr.InvalidRequest},
		{name: "without the leader", req: with(func(r *AlterPartitionRequest) { r.NewISR = ids(2, 3) }), want: kerr.InvalidRequest},
		{name: "repeated", req: with(func(r *AlterPartitionRequest) { r.NewISR = ids(1, 1) }), want: kerr.InvalidRequest},
		{name: "empty", req: with(func(r *AlterPartitionRequest) { r.NewISR = nil }), want: kerr.InvalidRequest},
		{name: "fenced member", req: with(func(r *AlterPartitionRequest) { r.NewISR = ids(1, 4) }), want: kerr.IneligibleReplica},
		{name: "broker epochs as registered", req: with(func(r *AlterPartitionRequest) { r.NewISRBrokerEpochs = []int64{-1, epoch(2), epoch(3)} }),
			wantISR: ids(1, 2, 3)},
		// The leader saw broker 3 fetch under another registration than
		// the current one: a previous incarnation's fetch (KIP-903).
		{name: "other broker epoch", req: with(func(r *AlterPartitionRequest) { r.NewISRBrokerEpochs = []int64{-1, epoch(2), epoch(3) + 1} }),
			want: kerr.IneligibleReplica},
		{name: "other broker epoch of a member already in", req: with(func(r *AlterPartitionRequest) {
			r.NewISRBrokerEpochs = []int64{-1, epoch(2) + 1, epoch(3)}
		}), wantISR: ids(1, 2, 3)},
		{name: "broker epochs not parallel", req: with(func(r *AlterPartitionRequest) { r.NewISRBrokerEpochs = []int64{-1} }), want: kerr.InvalidRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, got, err := DecideAlterPartition(img, tt.req)
			if tt.want != nil {
				if !errors.Is(err, tt.want) || rec != nil {
					t.Fatalf("err = %v, rec %v; want %v", err, rec, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.noWrite != (rec == nil) {
				t.Fatalf("record %+v, noWrite %v", rec, tt.noWrite)
			}
			wantEpoch := int32(8)
			if tt.noWrite {
				wantEpoch = 7
			}
			if !reflect.DeepEqual(got.ISR, tt.wantISR) || got.LeaderEpoch != 4 || got.PartitionEpoch != wantEpoch || got.Leader != 1 {
				t.Fatalf("partition %+v", got)
			}
			if rec != nil {
				next := mustApply(t, img, *rec)
				top, _ := next.Topic("t")
				if !reflect.DeepEqual(top.Partitions[0], got) {
					t.Fatalf("applied %+v, returned %+v", top.Partitions[0], got)
				}
			}
		})
	}
}

func TestDecidePreferredElections(t *testing.T) {
	img := decisionImage(t, ids(3),
		prec(0, ids(1, 2), ids(1, 2), 2, 4, 7), // preferred in ISR and live: elected
		prec(1, ids(1, 2), ids(2), 2, 4, 7),    // preferred not in the ISR
		prec(2, ids(3, 1), ids(3, 1), 1, 4, 7), // preferred fenced (kept for the test)
		prec(3, ids(2, 1), ids(2, 1), 2, 4, 7), // preferred leads
	)
	got := DecidePreferredElections(img)
	want := []PartitionRecord{prec(0, ids(1, 2), ids(1, 2), 1, 5, 8)}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
}

func TestDecideElectLeaders(t *testing.T) {
	img := decisionImage(t, ids(4),
		prec(0, ids(1, 2), ids(1, 2), 2, 4, 7), // preferred election possible
		prec(1, ids(1, 2), ids(1, 2), 1, 4, 7), // preferred leads
		prec(2, ids(2, 1), ids(1), 1, 4, 7),    // preferred out of sync
		prec(3, ids(4, 3), ids(4), -1, 4, 7),   // offline; 3 live outside the ISR
		prec(4, ids(4), ids(4), -1, 4, 7),      // offline, nothing live
		prec(5, ids(3, 4), ids(3, 4), 3, 4, 7), // has a leader
	)
	one := func(p int32) []TopicPartitions { return []TopicPartitions{{Topic: "t", Partitions: ids(p)}} }
	tests := []struct {
		name       string
		typ        ElectionType
		partitions []TopicPartitions
		wantCodes  map[int32]int16
		wantLeader map[int32]int32
	}{
		{"preferred", ElectPreferred, one(0), map[int32]int16{0: 0}, map[int32]int32{0: 1}},
		{"preferred not needed", ElectPreferred, one(1), map[int32]int16{1: kerr.ElectionNotNeeded.Code}, nil},
		{"preferred not available", ElectPreferred, one(2), map[int32]int16{2: kerr.PreferredLeaderNotAvailable.Code}, nil},
		{"unclean", ElectUnclean, one(3), map[int32]int16{3: 0}, map[int32]int32{3: 3}},
		{"unclean nothing live", ElectUnclean, one(4), map[int32]int16{4: kerr.EligibleLeadersNotAvailable.Code}, nil},
		{"unclean not needed", ElectUnclean, one(5), map[int32]int16{5: kerr.ElectionNotNeeded.Code}, nil},
		{"unknown partition", ElectPreferred, one(9), map[int32]int16{9: kerr.UnknownTopicOrPartition.Code}, nil},
		{"all preferred omits not needed", ElectPreferred, nil,
			map[int32]int16{0: 0, 2: kerr.PreferredLeaderNotAvailable.Code, 3: kerr.PreferredLeaderNotAvailable.Code, 4: kerr.PreferredLeaderNotAvailable.Code},
			map[int32]int32{0: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			records, results, err := DecideElectLeaders(img, tt.typ, tt.partitions)
			if err != nil {
				t.Fatal(err)
			}
			codes := map[int32]int16{}
			for _, r := range results {
				codes[r.Partition] = r.ErrorCode
				if (r.ErrorCode != 0) != (r.Err() != nil) {
					t.Fatalf("result %+v: Err %v", r, r.Err())
				}
			}
			if !reflect.DeepEqual(codes, tt.wantCodes) {
				t.Fatalf("codes %v, want %v", codes, tt.wantCodes)
			}
			leaders := map[int32]int32{}
			for _, r := range records {
				leaders[r.Partition] = r.Leader
				if r.LeaderEpoch != 5 || r.PartitionEpoch != 8 {
					t.Fatalf("epochs not bumped: %+v", r)
				}
				mustApply(t, img, r)
			}
			if len(leaders) == 0 {
				leaders = nil
			}
			if !reflect.DeepEqual(leaders, tt.wantLeader) {
				t.Fatalf("leaders %v, want %v", leaders, tt.wantLeader)
			}
		})
	}
	if _, _, err := DecideElectLeaders(img, 7, nil); !errors.Is(err, kerr.InvalidRequest) {
		t.Fatalf("unknown election type: %v", err)
	}
}
