package group

import (
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// fakeTopics is a mutable topic set; each change bumps its version. The
// core gets a snapshot per call, as from the broker's immutable image.
type fakeTopics struct {
	version uint64
	topics  map[string]TopicInfo
}

func (f *fakeTopics) add(name string, partitions int32) topicID {
	var id topicID
	copy(id[:], fmt.Sprintf("%016s", name))
	f.version++
	f.topics[name] = TopicInfo{Name: name, ID: id, Partitions: partitions}
	return id
}

type topicsSnapshot struct {
	version uint64
	topics  map[string]TopicInfo
}

func (f *fakeTopics) snapshot() Topics {
	cp := map[string]TopicInfo{}
	for k, v := range f.topics {
		cp[k] = v
	}
	return topicsSnapshot{f.version, cp}
}

func (s topicsSnapshot) Version() uint64 { return s.version }
func (s topicsSnapshot) Topic(name string) (TopicInfo, bool) {
	t, ok := s.topics[name]
	return t, ok
}
func (s topicsSnapshot) TopicByID(id [16]byte) (TopicInfo, bool) {
	for _, t := range s.topics {
		if t.ID == id {
			return t, true
		}
	}
	return TopicInfo{}, false
}
func (s topicsSnapshot) Names() []string {
	var out []string
	for n := range s.topics {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func newConsumerHarness(t *testing.T) (*harness, *fakeTopics) {
	topics := &fakeTopics{topics: map[string]TopicInfo{}}
	h := newHarness(t, func(c *Config) {
		c.ConsumerSessionTimeout = 10 * time.Second
		c.ConsumerHeartbeatInterval = time.Second
		c.Topics = topics.snapshot
	})
	return h, topics
}

// cmember is a scripted consumer protocol member.
type cmember struct {
	h      *harness
	id     string
	group  string
	epoch  int32
	topics []string
	regex  *string
	// owned is what the member reports; nil sends no Topics.
	owned assignment
}

func (h *harness) member(group, id string, topics ...string) *cmember {
	return &cmember{h: h, id: id, group: group, topics: topics}
}

func (m *cmember) request(epoch int32) *kmsg.ConsumerGroupHeartbeatRequest {
	req := kmsg.NewPtrConsumerGroupHeartbeatRequest()
	req.Version = 1
	req.Group, req.MemberID, req.MemberEpoch = m.group, m.id, epoch
	req.RebalanceTimeoutMillis = 30000
	req.SubscribedTopicNames = m.topics
	if req.SubscribedTopicNames == nil && m.regex == nil {
		req.SubscribedTopicNames = []string{}
	}
	req.SubscribedTopicRegex = m.regex
	if m.owned != nil {
		req.Topics = []kmsg.ConsumerGroupHeartbeatRequestTopic{}
		for _, t := range m.owned.sortedTopics() {
			req.Topics = append(req.Topics, kmsg.ConsumerGroupHeartbeatRequestTopic{TopicID: t, Partitions: m.owned[t]})
		}
	}
	return req
}

// beat sends a heartbeat at the member's epoch; on success the member
// adopts the epoch and, when given, the assignment (it revokes at once).
func (m *cmember) beat() *kmsg.ConsumerGroupHeartbeatResponse {
	m.h.t.Helper()
	if m.owned == nil {
		m.owned = assignment{}
	}
	return m.send(m.request(m.epoch))
}

func (m *cmember) send(req *kmsg.ConsumerGroupHeartbeatRequest) *kmsg.ConsumerGroupHeartbeatResponse {
	m.h.t.Helper()
	resp := m.h.reply(m.h.send("client-"+m.id, req)).(*kmsg.ConsumerGroupHeartbeatResponse)
	if resp.ErrorCode != 0 {
		return resp
	}
	m.epoch = resp.MemberEpoch
	if resp.Assignment != nil {
		m.owned = assignment{}
		for _, t := range resp.Assignment.Topics {
			for _, p := range t.Partitions {
				m.owned.add(t.TopicID, p)
			}
		}
	}
	return resp
}

func mustOK(t *testing.T, resp *kmsg.ConsumerGroupHeartbeatResponse) {
	t.Helper()
	if resp.ErrorCode != 0 {
		t.Fatalf("heartbeat: %v (%s)", kerr.ErrorForCode(resp.ErrorCode), deref(resp.ErrorMessage))
	}
}

func TestConsumerRegexPicksUpNewTopic(t *testing.T) {
	h, topics := newConsumerHarness(t)
	first := topics.add("rx-first", 2)
	topics.add("other", 2)
	m := h.member("g", "m1")
	re := "rx-.*"
	m.regex = &re
	mustOK(t, m.beat())
	if got := m.owned.count(); got != 2 || len(m.owned[first]) != 2 {
		t.Fatalf("owned %v, want rx-first's 2 partitions", m.owned)
	}
	later := topics.add("rx-later", 3)
	mustOK(t, m.beat())
	if got := len(m.owned[later]); got != 3 {
		t.Fatalf("after rx-later was created, owned %v", m.owned)
	}
	if m.epoch != 2 {
		t.Errorf("epoch %d, want 2", m.epoch)
	}
}
