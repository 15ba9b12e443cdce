package config

import (
	"errors"
	"testing"
)

func TestThrottleConfigValidation(t *testing.T) {
	for _, tc := range []struct {
		name, value string
		topic       bool
		ok          bool
	}{
		{LeaderReplicationThrottledRate, "1048576", false, true},
		{LeaderReplicationThrottledRate, " 10 ", false, true},
		{FollowerReplicationThrottledRate, "0", false, true},
		{FollowerReplicationThrottledRate, maxLong, false, true},
		{LeaderReplicationThrottledRate, "-1", false, false},
		{LeaderReplicationThrottledRate, "1.5", false, false},
		{LeaderReplicationThrottledRate, "10MB", false, false},
		{LeaderReplicationThrottledRate, "9223372036854775808", false, false},
		{LeaderReplicationThrottledReplicas, "", true, true},
		{LeaderReplicationThrottledReplicas, "*", true, true},
		{LeaderReplicationThrottledReplicas, " * ", true, true},
		{LeaderReplicationThrottledReplicas, "0:1", true, true},
		{FollowerReplicationThrottledReplicas, "0:1,0:2, 1:3 ,", true, true},
		{FollowerReplicationThrottledReplicas, "0:1,*", true, false},
		{FollowerReplicationThrottledReplicas, "0-1", true, false},
		{FollowerReplicationThrottledReplicas, "0:", true, false},
		{FollowerReplicationThrottledReplicas, ":1", true, false},
		{FollowerReplicationThrottledReplicas, "a:1", true, false},
		{FollowerReplicationThrottledReplicas, "0:-1", true, false},
		{FollowerReplicationThrottledReplicas, "0:1:2", true, false},
		{FollowerReplicationThrottledReplicas, "+0:1", true, false},
	} {
		var err error
		if tc.topic {
			err = ValidateTopicConfig(tc.name, tc.value)
		} else {
			err = ValidateBrokerConfig(tc.name, tc.value, true)
		}
		if tc.ok != (err == nil) {
			t.Errorf("%s=%q: err %v, want ok %v", tc.name, tc.value, err, tc.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%s=%q: %v does not wrap ErrInvalidConfig", tc.name, tc.value, err)
		}
	}
}

func TestThrottleDefaults(t *testing.T) {
	b, err := ParseBroker(map[string]string{})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range DescribeBroker(b.Props, nil) {
		if e.Name == LeaderReplicationThrottledRate || e.Name == FollowerReplicationThrottledRate {
			if e.Value != maxLong || e.ReadOnly || e.Source != SourceDefault {
				t.Errorf("%s: %+v", e.Name, e)
			}
			if ParseThrottleRate(e.Value) != UnthrottledRate {
				t.Errorf("%s default is not unthrottled", e.Name)
			}
		}
	}
	topic, err := ResolveTopic(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{LeaderReplicationThrottledReplicas, FollowerReplicationThrottledReplicas} {
		if v, ok := topic.Values[name]; !ok || v != "" {
			t.Errorf("%s default %q (defined %v)", name, v, ok)
		}
	}
}

func TestThrottledReplicaListed(t *testing.T) {
	for _, tc := range []struct {
		value             string
		partition, broker int32
		want              bool
	}{
		{"", 0, 1, false},
		{"*", 7, 9, true},
		{"0:1,0:2", 0, 2, true},
		{"0:1,0:2", 0, 3, false},
		{"0:1,0:2", 1, 1, false},
		{" 3:4 , 12:40", 12, 40, true},
		{"1:12", 11, 2, false},
	} {
		if got := ThrottledReplicaListed(tc.value, tc.partition, tc.broker); got != tc.want {
			t.Errorf("%q has %d:%d = %v, want %v", tc.value, tc.partition, tc.broker, got, tc.want)
		}
	}
	if allocs := testing.AllocsPerRun(100, func() { ThrottledReplicaListed("0:1,0:2,1:3", 1, 3) }); allocs != 0 {
		t.Errorf("ThrottledReplicaListed allocates %v times", allocs)
	}
}

func TestParseThrottleRate(t *testing.T) {
	for in, want := range map[string]int64{"10": 10, " 0 ": 0, maxLong: UnthrottledRate, "-5": UnthrottledRate, "x": UnthrottledRate} {
		if got := ParseThrottleRate(in); got != want {
			t.Errorf("ParseThrottleRate(%q) = %d, want %d", in, got, want)
		}
	}
}
