package cli

import (
	"context"
	"errors"
	"io"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

func TestParseResetArgs(t *testing.T) {
	may1 := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC).UnixMilli()
	tests := []struct {
		name    string
		args    []string
		want    resetOptions
		wantErr string // fragment of stderr; empty for success
	}{
		{
			name: "earliest on one topic, dry run",
			args: []string{"g", "--topic", "orders", "--to-earliest"},
			want: resetOptions{group: "g", spec: resetSpec{kind: resetToEarliest}, topics: []topicSelection{{topic: "orders"}}},
		},
		{
			name: "latest on all topics, executed, flags before the group",
			args: []string{"--all-topics", "--to-latest", "--execute", "g"},
			want: resetOptions{group: "g", spec: resetSpec{kind: resetToLatest}, allTopics: true, execute: true},
		},
		{
			name: "to-offset with partitions, sorted and deduplicated",
			args: []string{"g", "--topic", "orders:2,0,2", "--to-offset", "42"},
			want: resetOptions{group: "g", spec: resetSpec{kind: resetToOffset, offset: 42}, topics: []topicSelection{{topic: "orders", partitions: []int32{0, 2}}}},
		},
		{
			name: "to-offset zero counts as given",
			args: []string{"g", "--all-topics", "--to-offset", "0"},
			want: resetOptions{group: "g", spec: resetSpec{kind: resetToOffset}, allTopics: true},
		},
		{
			name: "to-datetime RFC 3339",
			args: []string{"g", "--all-topics", "--to-datetime", "2024-05-01T12:00:00Z"},
			want: resetOptions{group: "g", spec: resetSpec{kind: resetToDatetime, timestampMs: may1}, allTopics: true},
		},
		{
			name: "to-datetime milliseconds",
			args: []string{"g", "--all-topics", "--to-datetime", "@1700000000000"},
			want: resetOptions{group: "g", spec: resetSpec{kind: resetToDatetime, timestampMs: 1700000000000}, allTopics: true},
		},
		{
			name: "shift back, dry run explicit",
			args: []string{"g", "--topic", "a", "--topic", "b:1", "--shift-by", "-10", "--dry-run"},
			want: resetOptions{group: "g", spec: resetSpec{kind: resetShiftBy, shift: -10}, topics: []topicSelection{{topic: "a"}, {topic: "b", partitions: []int32{1}}}},
		},
		{"no group", []string{"--all-topics", "--to-earliest"}, resetOptions{}, "exactly one GROUP"},
		{"two groups", []string{"g", "h", "--all-topics", "--to-earliest"}, resetOptions{}, "exactly one GROUP"},
		{"no scenario", []string{"g", "--all-topics"}, resetOptions{}, "exactly one of --to-earliest"},
		{"two scenarios", []string{"g", "--all-topics", "--to-earliest", "--shift-by", "1"}, resetOptions{}, `got 2 ["--to-earliest" "--shift-by"]`},
		{"no topics", []string{"g", "--to-earliest"}, resetOptions{}, "exactly one of --topic"},
		{"topics and all-topics", []string{"g", "--topic", "a", "--all-topics", "--to-earliest"}, resetOptions{}, "exactly one of --topic"},
		{"negative to-offset", []string{"g", "--all-topics", "--to-offset", "-1"}, resetOptions{}, "must not be negative"},
		{"bad datetime", []string{"g", "--all-topics", "--to-datetime", "yesterday"}, resetOptions{}, "not an RFC 3339 time"},
		{"bad datetime millis", []string{"g", "--all-topics", "--to-datetime", "@-5"}, resetOptions{}, "non-negative milliseconds"},
		{"non-numeric shift", []string{"g", "--all-topics", "--shift-by", "x"}, resetOptions{}, "invalid value"},
		{"bad partition", []string{"g", "--topic", "a:1,x", "--to-earliest"}, resetOptions{}, `partition "x"`},
		{"negative partition", []string{"g", "--topic", "a:-1", "--to-earliest"}, resetOptions{}, `partition "-1"`},
		{"empty topic", []string{"g", "--topic", ":1", "--to-earliest"}, resetOptions{}, "no topic name"},
		{"execute and dry run", []string{"g", "--all-topics", "--to-earliest", "--execute", "--dry-run"}, resetOptions{}, "contradict"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr strings.Builder
			got, _, err := parseResetArgs(tt.args, &stderr)
			if tt.wantErr != "" {
				if !errors.Is(err, ErrUsage) {
					t.Fatalf("err = %v, want ErrUsage", err)
				}
				if !strings.Contains(stderr.String(), tt.wantErr) {
					t.Errorf("stderr lacks %q:\n%s", tt.wantErr, stderr.String())
				}
				return
			}
			if err != nil {
				t.Fatalf("err = %v; stderr:\n%s", err, stderr.String())
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseTopicSelectionsMerges(t *testing.T) {
	got, err := parseTopicSelections([]string{"a:3,1", "b:0", "a:2", "b", "b:5"})
	if err != nil {
		t.Fatal(err)
	}
	want := []topicSelection{{topic: "a", partitions: []int32{1, 2, 3}}, {topic: "b"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestParseGroupStates(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		wantErr bool
	}{
		{"", nil, false},
		{"stable", []string{"Stable"}, false},
		{"Empty, preparingrebalance,EMPTY", []string{"Empty", "PreparingRebalance"}, false},
		{"Stable,Sleeping", nil, true},
	}
	for _, tt := range tests {
		got, err := parseGroupStates(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("parseGroupStates(%q) err = %v, want error %v", tt.in, err, tt.wantErr)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("parseGroupStates(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestPlanReset(t *testing.T) {
	// Partition 0: log [10, 100), committed 50. Partition 1: log [0, 20),
	// no commit. The time lookup found offset 60 and 20 (the end).
	parts := []resetPartition{
		{topic: "t", partition: 0, committed: 50, logStart: 10, logEnd: 100, atTime: 60},
		{topic: "t", partition: 1, committed: -1, logStart: 0, logEnd: 20, atTime: 20},
	}
	committedOnly := parts[:1]
	tests := []struct {
		name    string
		spec    resetSpec
		parts   []resetPartition
		want    []int64 // new offsets in order
		wantErr string
	}{
		{"earliest", resetSpec{kind: resetToEarliest}, parts, []int64{10, 0}, ""},
		{"latest", resetSpec{kind: resetToLatest}, parts, []int64{100, 20}, ""},
		{"to-offset inside", resetSpec{kind: resetToOffset, offset: 15}, parts, []int64{15, 15}, ""},
		{"to-offset clamped both ways", resetSpec{kind: resetToOffset, offset: 5}, parts, []int64{10, 5}, ""},
		{"to-offset past the end", resetSpec{kind: resetToOffset, offset: 1000}, parts, []int64{100, 20}, ""},
		{"to-datetime", resetSpec{kind: resetToDatetime, timestampMs: 1}, parts, []int64{60, 20}, ""},
		{"shift back", resetSpec{kind: resetShiftBy, shift: -30}, committedOnly, []int64{20}, ""},
		{"shift back below the log start", resetSpec{kind: resetShiftBy, shift: -45}, committedOnly, []int64{10}, ""},
		{"shift forward past the end", resetSpec{kind: resetShiftBy, shift: 51}, committedOnly, []int64{100}, ""},
		{"shift by the largest delta", resetSpec{kind: resetShiftBy, shift: math.MaxInt64}, committedOnly, []int64{100}, ""},
		{"shift by the smallest delta", resetSpec{kind: resetShiftBy, shift: math.MinInt64}, committedOnly, []int64{10}, ""},
		{"shift without a commit", resetSpec{kind: resetShiftBy, shift: 1}, parts, nil, "none for t/1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan, err := planReset(tt.spec, tt.parts)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []int64
			for i, r := range plan {
				got = append(got, r.next)
				if r.current != tt.parts[i].committed || r.partition != tt.parts[i].partition {
					t.Errorf("row %d = %+v, does not match its partition %+v", i, r, tt.parts[i])
				}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("new offsets %v, want %v", got, tt.want)
			}
		})
	}
}

func TestWriteResetPlan(t *testing.T) {
	var b strings.Builder
	err := writeResetPlan(&b, []resetPlanRow{{topic: "orders", partition: 0, current: 7, next: 0}, {topic: "orders", partition: 1, current: -1, next: 3}})
	if err != nil {
		t.Fatal(err)
	}
	want := "TOPIC   PARTITION  CURRENT-OFFSET  NEW-OFFSET\n" +
		"orders  0          7               0\n" +
		"orders  1          -               3\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

// testGroupView is a group with one member (no assignment: kadm decodes
// those from the wire only), commits on two of three partitions of
// "orders" and one of "gone", a topic whose offsets cannot be listed.
func testGroupView() groupView {
	instance := "i-1"
	committed := kadm.OffsetResponses{
		"orders": {
			0: {Offset: kadm.Offset{Topic: "orders", Partition: 0, At: 40}},
			2: {Offset: kadm.Offset{Topic: "orders", Partition: 2, At: 5}},
		},
		"gone": {0: {Offset: kadm.Offset{Topic: "gone", Partition: 0, At: 3}}},
	}
	ends := kadm.ListedOffsets{
		"orders": {
			0: {Topic: "orders", Partition: 0, Offset: 100},
			1: {Topic: "orders", Partition: 1, Offset: 9},
			2: {Topic: "orders", Partition: 2, Offset: 5},
		},
		"gone": {-1: {Topic: "gone", Partition: -1, Err: kerr.UnknownTopicOrPartition}},
	}
	return groupView{
		group: kadm.DescribedGroup{
			Group: "app", State: "Stable", ProtocolType: "consumer", Protocol: "range",
			Coordinator: kadm.BrokerDetail{NodeID: 1, Host: "127.0.0.1", Port: 9092},
			Members:     []kadm.DescribedGroupMember{{MemberID: "m-1", InstanceID: &instance, ClientID: "c", ClientHost: "/127.0.0.1"}},
		},
		committed:  committed,
		endOffsets: ends,
	}
}

func TestGroupLag(t *testing.T) {
	rows, total := groupLag(testGroupView())
	type row struct {
		topic               string
		partition           int32
		committed, end, lag int64
	}
	var got []row
	for _, r := range rows {
		lag, ok := r.lag()
		if !ok {
			lag = -1
		}
		got = append(got, row{r.topic, r.partition, r.committed, r.logEnd, lag})
	}
	want := []row{
		{"gone", 0, 3, -1, -1},
		{"orders", 0, 40, 100, 60},
		{"orders", 1, -1, 9, -1},
		{"orders", 2, 5, 5, 0},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("rows %+v, want %+v", got, want)
	}
	if total != 60 {
		t.Errorf("total lag %d, want 60", total)
	}
}

func TestWriteGroupDescription(t *testing.T) {
	var b strings.Builder
	writeGroupDescription(&b, testGroupView())
	want := "Group: app\tState: Stable\tProtocol: consumer/range\tCoordinator: 1 (127.0.0.1:9092)\n" +
		"Members: 1\n" +
		"  MEMBER-ID  INSTANCE-ID  CLIENT-ID  HOST        ASSIGNMENT\n" +
		"  m-1        i-1          c          /127.0.0.1  -\n" +
		"  TOPIC   PARTITION  CURRENT-OFFSET  LOG-END-OFFSET  LAG  CONSUMER-ID  HOST  CLIENT-ID  LAG-TIME\n" +
		"  gone    0          3               -               -    -            -     -          -\n" +
		"  orders  0          40              100             60   -            -     -          -\n" +
		"  orders  1          -               9               -    -            -     -          -\n" +
		"  orders  2          5               5               0    -            -     -          -\n" +
		"Total lag: 60\n" +
		"Status: UNKNOWN (lag in time could not be read)\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

func TestGroupViewExists(t *testing.T) {
	dead := groupView{group: kadm.DescribedGroup{Group: "x", State: "Dead"}}
	if dead.exists() {
		t.Error("a Dead group without members or offsets exists")
	}
	dead.committed = kadm.OffsetResponses{"t": {0: {}}}
	if !dead.exists() {
		t.Error("a Dead group with offsets does not exist")
	}
	if !(groupView{group: kadm.DescribedGroup{State: "Empty"}}).exists() {
		t.Error("an Empty group does not exist")
	}
}

func TestWriteGroupList(t *testing.T) {
	var b strings.Builder
	groups := []kadm.ListedGroup{
		{Group: "a", State: "Stable", ProtocolType: "consumer"},
		{Group: "b", State: "Empty"},
	}
	if err := writeGroupList(&b, groups, map[string]int{"a": 2}); err != nil {
		t.Fatal(err)
	}
	want := "GROUP  STATE   PROTOCOL-TYPE  MEMBERS\n" +
		"a      Stable  consumer       2\n" +
		"b      Empty   -              ?\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

func TestDeleteGroupFailure(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{kerr.NonEmptyGroup, `group "g" still has active members; stop its consumers first (NON_EMPTY_GROUP)`},
		{kerr.GroupIDNotFound, `group "g" does not exist (GROUP_ID_NOT_FOUND)`},
		{kerr.GroupAuthorizationFailed, `deleting group "g": GROUP_AUTHORIZATION_FAILED`},
	}
	for _, tt := range tests {
		if got := deleteGroupFailure("g", kadm.DeleteGroupResponse{Group: "g", Err: tt.err}); got != tt.want {
			t.Errorf("got %q, want %q", got, tt.want)
		}
	}
}

func TestGroupUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{nil, "usage: fjord group SUBCOMMAND"},
		{[]string{"rebalance"}, `unknown subcommand "rebalance"`},
		{[]string{"describe"}, "between 1 and 1000 group names"},
		{[]string{"delete"}, "between 1 and 1000 group names"},
		{[]string{"list", "extra"}, "unexpected arguments"},
		{[]string{"list", "--state", "Sleeping"}, `unknown group state "Sleeping"`},
		{[]string{"reset-offsets", "g", "--all-topics"}, "exactly one of --to-earliest"},
	}
	for _, tt := range tests {
		var stderr strings.Builder
		err := Group(context.Background(), tt.args, nil, io.Discard, &stderr)
		if !errors.Is(err, ErrUsage) {
			t.Errorf("%q: err = %v, want ErrUsage", tt.args, err)
		}
		if !strings.Contains(stderr.String(), tt.want) {
			t.Errorf("%q: stderr lacks %q:\n%s", tt.args, tt.want, stderr.String())
		}
	}
}
