package group

import (
	"runtime"
	"testing"
	"time"
)

func TestConsumerRecordsRoundTrip(t *testing.T) {
	m := &consumerMember{
		id: "m", instanceID: "i", rackID: "r", clientID: "c", clientHost: "/h",
		subscribedNames: []string{"a", "b"}, regex: "x.*", rebalanceTimeout: 30 * time.Second, serverAssignor: "range",
		memberEpoch: 7, previousEpoch: 6, state: memberUnrevoked,
		assigned: assignment{tid("a"): {0, 2}}, revoking: assignment{tid("b"): {1}},
	}
	cg := newConsumerGroup()
	cg.epoch, cg.subscriptionHash = 9, 0xfeedface
	records := []Record{
		consumerGroupEpochRecord("g", cg), consumerMemberRecord("g", m),
		consumerTargetRecord("g", "m", assignment{tid("a"): {0, 2, 3}}), consumerTargetEpochRecord("g", 9), consumerCurrentRecord("g", m),
	}
	c := newCore(Config{})
	for _, r := range records {
		if err := c.loadRecord(0, plain(r.Key, r.Value), time.Unix(0, 0)); err != nil {
			t.Fatalf("load: %v", err)
		}
	}
	c.finishLoad(0, time.Unix(0, 0))
	got := c.groups["g"].consumer
	gm := got.members["m"]
	if got.epoch != 9 || got.subscriptionHash != 0xfeedface || got.assignmentEpoch != 9 || gm == nil {
		t.Fatalf("group %+v", got)
	}
	if gm.instanceID != "i" || gm.rackID != "r" || gm.clientHost != "/h" || gm.regex != "x.*" || gm.rebalanceTimeout != 30*time.Second ||
		gm.serverAssignor != "range" || gm.memberEpoch != 7 || gm.previousEpoch != 6 || gm.state != memberUnrevoked ||
		!gm.assigned.equal(m.assigned) || !gm.revoking.equal(m.revoking) || len(gm.subscribedNames) != 2 {
		t.Fatalf("member %+v", gm)
	}
	if got.instances["i"] != "m" || got.ownerEpoch(tid("b"), 1) != 7 || !got.target["m"].equal(assignment{tid("a"): {0, 2, 3}}) {
		t.Fatalf("derived state: %+v", got)
	}
	// Tombstones remove the member, then the group.
	for _, r := range append(consumerMemberTombstones("g", "m"), consumerGroupTombstones("g")...) {
		if err := c.loadRecord(0, plain(r.Key, r.Value), time.Unix(0, 0)); err != nil {
			t.Fatalf("load tombstone: %v", err)
		}
	}
	if c.groups["g"] != nil {
		t.Fatalf("group survived its tombstones")
	}
}

// FuzzConsumerRecord feeds arbitrary keys and values to the decoder: an
// error or a value, never a panic or an allocation past the input.
func FuzzConsumerRecord(f *testing.F) {
	m := &consumerMember{id: "m", subscribedNames: []string{"a"}, assigned: assignment{tid("a"): {1}}, revoking: assignment{}}
	cg := newConsumerGroup()
	for _, r := range []Record{consumerGroupEpochRecord("g", cg), consumerMemberRecord("g", m), consumerCurrentRecord("g", m),
		consumerTargetRecord("g", "m", m.assigned), consumerTargetEpochRecord("g", 1)} {
		f.Add(r.Key, r.Value)
	}
	f.Add([]byte{0, 7, 0, 1, 'g', 0, 1, 'm'}, []byte{0x40, 0, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, key, value []byte) {
		c := newCore(Config{})
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		if err := c.loadRecord(0, plain(key, value), time.Unix(0, 0)); err == nil {
			c.finishLoad(0, time.Unix(0, 0))
		}
		runtime.ReadMemStats(&after)
		if grown, budget := after.TotalAlloc-before.TotalAlloc, decodeAllocBudget(len(key)+len(value)); grown > budget {
			t.Fatalf("decoding %d bytes allocated %d bytes (budget %d): an allocation sized by a length field, not by the input", len(key)+len(value), grown, budget)
		}
	})
}

// decodeAllocBudget is what decoding n bytes of a record may allocate: a
// generous multiple of the input (each byte may become a field of a larger
// struct) and a fixed allowance for the runtime's own allocations meanwhile.
// An allocation sized by a length field claims far more.
func decodeAllocBudget(n int) uint64 { return 1<<20 + 512*uint64(n) }
