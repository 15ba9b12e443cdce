package cli

import (
	"slices"
	"testing"
)

func TestParseReassignment(t *testing.T) {
	for _, tc := range []struct {
		in        string
		topic     string
		partition int32
		brokers   []int32
		bad       bool
	}{
		{in: "orders:3=4,1,2", topic: "orders", partition: 3, brokers: []int32{4, 1, 2}},
		{in: "a:b:0=1", topic: "a:b", partition: 0, brokers: []int32{1}},
		{in: "orders:3=", topic: "orders", partition: 3},
		{in: "orders=1", bad: true},
		{in: "orders:x=1", bad: true},
		{in: "orders:1=1,x", bad: true},
		{in: "orders:1", bad: true},
		{in: ":1=2", bad: true},
	} {
		topic, p, brokers, err := parseReassignment(tc.in)
		if tc.bad {
			if err == nil {
				t.Errorf("%q accepted", tc.in)
			}
			continue
		}
		if err != nil || topic != tc.topic || p != tc.partition || !slices.Equal(brokers, tc.brokers) {
			t.Errorf("%q: got %q %d %v %v", tc.in, topic, p, brokers, err)
		}
	}
}
