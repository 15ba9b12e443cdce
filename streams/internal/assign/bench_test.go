package assign

import (
	"fmt"
	"testing"
)

// benchInput is a large group in steady state: 1,000 tasks (ten
// sub-topologies of 100 partitions, seven stateful) on 30 clients of four
// threads, one standby each, everyone caught up on what it ran and kept.
// With newClient, a 31st client joins without state: a scale-out.
func benchInput(b *testing.B, newClient bool) Input {
	in := Input{Config: DefaultConfig(), EndOffsetSums: map[TaskID]int64{}}
	in.Config.NumStandbyReplicas = 1
	for sub := range 10 {
		for p := range int32(100) {
			id := TaskID{sub, p}
			in.Tasks = append(in.Tasks, TaskInfo{ID: id, Stateful: sub < 7})
			if sub < 7 {
				in.EndOffsetSums[id] = 1_000_000
			}
		}
	}
	for c := range 30 {
		cl := Client{ProcessID: fmt.Sprintf("process-%02d", c)}
		for m := range 4 {
			cl.Members = append(cl.Members, Member{ID: fmt.Sprintf("process-%02d-thread-%d", c, m)})
		}
		in.Clients = append(in.Clients, cl)
	}
	res, err := Assign(in)
	if err != nil {
		b.Fatal(err)
	}
	in = nextGeneration(in, res)
	if newClient {
		in.Clients = append(in.Clients, Client{ProcessID: "process-new", Members: []Member{{ID: "new-0"}, {ID: "new-1"}, {ID: "new-2"}, {ID: "new-3"}}})
	}
	return in
}

func BenchmarkAssign(b *testing.B) {
	for _, bc := range []struct {
		name      string
		newClient bool
	}{{"steady-1000tasks-30clients", false}, {"scaleout-1000tasks-31clients", true}} {
		b.Run(bc.name, func(b *testing.B) {
			in := benchInput(b, bc.newClient)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Assign(in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDecodeSubscription(b *testing.B) {
	s := Subscription{ProcessID: "process-00", Endpoint: "host-00:7070", TaskOffsetSums: map[TaskID]int64{}}
	for p := range int32(100) { // an instance holding state of 100 tasks
		s.TaskOffsetSums[TaskID{int(p % 7), p}] = int64(p) * 1000
	}
	buf, err := s.Encode()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		if _, err := DecodeSubscription(buf); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeAssignment(b *testing.B) {
	a := Assignment{PartitionsByHost: map[string][]TopicPartition{}}
	for h := range 30 { // 30 hosts of 1,000 tasks over ten topics
		host := fmt.Sprintf("host-%02d:7070", h)
		for p := int32(h); p < 1000; p += 30 {
			a.PartitionsByHost[host] = append(a.PartitionsByHost[host], TopicPartition{fmt.Sprintf("topic-%d", p%10), p})
		}
	}
	buf, err := a.Encode()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		if _, err := DecodeAssignment(buf); err != nil {
			b.Fatal(err)
		}
	}
}
