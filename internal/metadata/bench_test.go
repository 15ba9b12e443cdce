package metadata

import (
	"fmt"
	"testing"
)

// BenchmarkApplyPartitionChange measures the copy-on-write cost of one
// partition change in a cluster of 1,000 topics of 10 partitions.
func BenchmarkApplyPartitionChange(b *testing.B) {
	img := NewImage("c")
	var err error
	var ids [][16]byte
	for i := range 1000 {
		id := [16]byte{byte(i >> 8), byte(i), 1}
		ids = append(ids, id)
		records := []Record{TopicRecord{Name: fmt.Sprintf("topic-%d", i), ID: id}}
		for p := range int32(10) {
			records = append(records, partition(id, p, 1, 2, 3))
		}
		if img, err = applyBatch(img, records, uint64(i+1)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		rec := PartitionRecord{TopicID: ids[i%len(ids)], Partition: int32(i % 10), Replicas: []int32{1, 2, 3},
			ISR: []int32{1, 2}, Leader: 1, LeaderEpoch: int32(i)}
		if _, err := Apply(img, rec); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeBatch(b *testing.B) {
	data, err := EncodeBatch(sampleRecords())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := DecodeBatch(data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecideLeadershipSteady measures the liveness loop's check of a
// healthy cluster of 1,000 topics of 10 partitions, which runs at every tick.
func BenchmarkDecideLeadershipSteady(b *testing.B) {
	img := NewImage("c")
	var err error
	for id := int32(1); id <= 3; id++ {
		if img, err = Apply(img, RegisterBrokerRecord{NodeID: id, Host: "h", Port: id}); err != nil {
			b.Fatal(err)
		}
	}
	for i := range 1000 {
		id := [16]byte{byte(i >> 8), byte(i), 1}
		records := []Record{TopicRecord{Name: fmt.Sprintf("topic-%d", i), ID: id}}
		for p := range int32(10) {
			records = append(records, partition(id, p, 1, 2, 3))
		}
		if img, err = applyBatch(img, records, uint64(i+1)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if got := DecideLeadership(img, func(TopicImage) bool { return false }); len(got) != 0 {
			b.Fatal(got)
		}
	}
}
