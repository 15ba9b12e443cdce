package cli

import (
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
)

func testMetadata(replicas map[string][][]int32) kadm.Metadata {
	md := kadm.Metadata{Topics: kadm.TopicDetails{}}
	for topic, parts := range replicas {
		td := kadm.TopicDetail{Topic: topic, Partitions: kadm.PartitionDetails{}}
		for i, r := range parts {
			td.Partitions[int32(i)] = kadm.PartitionDetail{Topic: topic, Partition: int32(i), Replicas: r}
		}
		md.Topics[topic] = td
	}
	return md
}

func TestPlanThrottle(t *testing.T) {
	md := testMetadata(map[string][][]int32{"a": {{1, 2, 3}, {2, 3, 1}}, "b": {{3, 1}}})
	plan, err := planThrottle([]move{
		{topic: "a", partition: 0, brokers: []int32{4, 2, 3}},
		{topic: "a", partition: 1, brokers: []int32{2, 3, 1}}, // a no-op move
		{topic: "b", partition: 0},                            // a cancellation
	}, md)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(plan.brokers, []int32{1, 2, 3, 4}) {
		t.Errorf("brokers %v", plan.brokers)
	}
	if got := plan.leaders["a"]; !slices.Equal(got, []string{"0:1", "0:2", "0:3", "1:2", "1:3", "1:1"}) {
		t.Errorf("leader replicas %v", got)
	}
	if got := plan.followers["a"]; !slices.Equal(got, []string{"0:4"}) {
		t.Errorf("follower replicas %v", got)
	}
	if len(plan.leaders["b"])+len(plan.followers["b"]) != 0 {
		t.Errorf("a cancellation was throttled: %v %v", plan.leaders["b"], plan.followers["b"])
	}
	if _, err := planThrottle([]move{{topic: "a", partition: 7, brokers: []int32{1}}}, md); err == nil {
		t.Error("an unknown partition was planned")
	}
}

func TestMoveStatus(t *testing.T) {
	md := testMetadata(map[string][][]int32{"a": {{4, 2, 3}, {1, 2}}})
	ongoing := kadm.ListPartitionReassignmentsResponses{"a": {1: {Topic: "a", Partition: 1}}}
	for _, tc := range []struct {
		m    move
		want string
	}{
		{move{"a", 0, []int32{4, 2, 3}}, "reassignment of a-0 is complete"},
		{move{"a", 0, []int32{5, 2, 3}}, "no reassignment of a-0 in progress, but its replicas are 4,2,3 rather than 5,2,3"},
		{move{"a", 1, []int32{3, 2}}, "reassignment of a-1 is still in progress"},
		{move{"a", 0, nil}, "reassignment of a-0 is complete"},
		{move{"x", 0, []int32{1}}, "partition x-0 not found"},
	} {
		if got := moveStatus(tc.m, md, ongoing); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.m, got, tc.want)
		}
	}
}
