package group

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// Consumer group records in __consumer_offsets.
//
// Keys are Kafka's: an int16 key version, the group id and, for member
// records, the member id, each string as an int16 length and its bytes:
//
//	3 ConsumerGroupMetadataKey          group            -> group epoch
//	5 ConsumerGroupMemberMetadataKey    group, member    -> subscription
//	6 ConsumerGroupTargetAssignmentMetadataKey group     -> assignment epoch
//	7 ConsumerGroupTargetAssignmentMemberKey   group, member -> target
//	8 ConsumerGroupCurrentMemberAssignmentKey  group, member -> current
//
// kmsg has no codec for the values, so they use fjord's own compact
// encoding, value version consumerValueVersion (chosen far above Kafka's
// versions so that Kafka's tools reject these values instead of misreading
// them). After the int16 version, fields are big-endian int32s, strings as
// a uvarint length and bytes, lists as a uvarint count and elements:
//
//	group epoch:       epoch int32, metadataHash int64 (the digest of the
//	                   subscribed topics' metadata at that epoch, as Kafka
//	                   4.1's ConsumerGroupMetadataValue.MetadataHash)
//	member metadata:   instanceID, rackID, clientID, clientHost string,
//	                   subscribedNames []string, regex string,
//	                   rebalanceTimeoutMs int32, serverAssignor string
//	assignment epoch:  epoch int32
//	target:            assignment
//	current:           memberEpoch, previousEpoch int32, state int8,
//	                   assigned, revoking assignment
//	assignment:        []{topicID [16]byte, partitions []int32}
//
// A null value (tombstone) deletes the key, as for every record here.
const (
	consumerGroupKeyVersion        = 3
	consumerMemberKeyVersion       = 5
	consumerTargetEpochKeyVersion  = 6
	consumerTargetMemberKeyVersion = 7
	consumerCurrentKeyVersion      = 8
	consumerValueVersion           = 0x4000
)

func consumerKey(version int16, groupID, memberID string) []byte {
	b := binary.BigEndian.AppendUint16(nil, uint16(version))
	b = binary.BigEndian.AppendUint16(b, uint16(len(groupID)))
	b = append(b, groupID...)
	if version == consumerMemberKeyVersion || version == consumerTargetMemberKeyVersion || version == consumerCurrentKeyVersion {
		b = binary.BigEndian.AppendUint16(b, uint16(len(memberID)))
		b = append(b, memberID...)
	}
	return b
}

type valueWriter struct{ b []byte }

func newValueWriter() *valueWriter {
	return &valueWriter{b: binary.BigEndian.AppendUint16(nil, consumerValueVersion)}
}
func (w *valueWriter) int32(v int32) { w.b = binary.BigEndian.AppendUint32(w.b, uint32(v)) }
func (w *valueWriter) int64(v int64) { w.b = binary.BigEndian.AppendUint64(w.b, uint64(v)) }
func (w *valueWriter) int8(v int8)   { w.b = append(w.b, byte(v)) }
func (w *valueWriter) string(s string) {
	w.b = binary.AppendUvarint(w.b, uint64(len(s)))
	w.b = append(w.b, s...)
}
func (w *valueWriter) strings(ss []string) {
	w.b = binary.AppendUvarint(w.b, uint64(len(ss)))
	for _, s := range ss {
		w.string(s)
	}
}
func (w *valueWriter) assignment(a assignment) {
	w.b = binary.AppendUvarint(w.b, uint64(len(a)))
	for _, t := range a.sortedTopics() {
		w.b = append(w.b, t[:]...)
		w.b = binary.AppendUvarint(w.b, uint64(len(a[t])))
		for _, p := range a[t] {
			w.int32(p)
		}
	}
}

// valueReader decodes a value with a sticky error; every length is checked
// against the bytes left before anything is allocated.
type valueReader struct {
	b   []byte
	err error
}

var errShortValue = errors.New("value too short")

func newValueReader(b []byte) *valueReader {
	r := &valueReader{b: b}
	if len(b) < 2 {
		r.err = errShortValue
		return r
	}
	if v := int16(binary.BigEndian.Uint16(b)); v != consumerValueVersion {
		r.err = fmt.Errorf("unknown consumer group value version %d", v)
	}
	r.b = b[2:]
	return r
}

func (r *valueReader) int32() int32 {
	if r.err != nil || len(r.b) < 4 {
		r.fail()
		return 0
	}
	v := int32(binary.BigEndian.Uint32(r.b))
	r.b = r.b[4:]
	return v
}

func (r *valueReader) int64() int64 {
	if r.err != nil || len(r.b) < 8 {
		r.fail()
		return 0
	}
	v := int64(binary.BigEndian.Uint64(r.b))
	r.b = r.b[8:]
	return v
}

func (r *valueReader) int8() int8 {
	if r.err != nil || len(r.b) < 1 {
		r.fail()
		return 0
	}
	v := int8(r.b[0])
	r.b = r.b[1:]
	return v
}

// count reads a length of elements at least minBytes long each.
func (r *valueReader) count(minBytes int) int {
	if r.err != nil {
		return 0
	}
	n, k := binary.Uvarint(r.b)
	if k <= 0 || n > uint64(len(r.b)-k)/uint64(max(minBytes, 1)) {
		r.fail()
		return 0
	}
	r.b = r.b[k:]
	return int(n)
}

func (r *valueReader) string() string {
	n := r.count(1)
	if r.err != nil {
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

func (r *valueReader) strings() []string {
	n := r.count(1)
	out := make([]string, 0, n)
	for i := 0; i < n && r.err == nil; i++ {
		out = append(out, r.string())
	}
	return out
}

func (r *valueReader) assignment() assignment {
	n := r.count(17)
	out := make(assignment, n)
	for i := 0; i < n && r.err == nil; i++ {
		if len(r.b) < 16 {
			r.fail()
			break
		}
		var t topicID
		copy(t[:], r.b[:16])
		r.b = r.b[16:]
		ps := r.count(4)
		for j := 0; j < ps && r.err == nil; j++ {
			out.add(t, r.int32())
		}
	}
	return out
}

func (r *valueReader) fail() {
	if r.err == nil {
		r.err = errShortValue
	}
}

func (r *valueReader) done() error {
	if r.err == nil && len(r.b) > 0 {
		r.err = fmt.Errorf("%d trailing bytes", len(r.b))
	}
	return r.err
}

func consumerGroupEpochRecord(groupID string, cg *consumerGroup) Record {
	w := newValueWriter()
	w.int32(cg.epoch)
	w.int64(int64(cg.subscriptionHash))
	return Record{Key: consumerKey(consumerGroupKeyVersion, groupID, ""), Value: w.b}
}

func consumerTargetEpochRecord(groupID string, epoch int32) Record {
	w := newValueWriter()
	w.int32(epoch)
	return Record{Key: consumerKey(consumerTargetEpochKeyVersion, groupID, ""), Value: w.b}
}

func consumerMemberRecord(groupID string, m *consumerMember) Record {
	w := newValueWriter()
	w.string(m.instanceID)
	w.string(m.rackID)
	w.string(m.clientID)
	w.string(m.clientHost)
	w.strings(m.subscribedNames)
	w.string(m.regex)
	w.int32(int32(m.rebalanceTimeout.Milliseconds()))
	w.string(m.serverAssignor)
	return Record{Key: consumerKey(consumerMemberKeyVersion, groupID, m.id), Value: w.b}
}

func consumerTargetRecord(groupID, memberID string, a assignment) Record {
	w := newValueWriter()
	w.assignment(a)
	return Record{Key: consumerKey(consumerTargetMemberKeyVersion, groupID, memberID), Value: w.b}
}

func consumerCurrentRecord(groupID string, m *consumerMember) Record {
	w := newValueWriter()
	w.int32(m.memberEpoch)
	w.int32(m.previousEpoch)
	w.int8(int8(m.state))
	w.assignment(m.assigned)
	w.assignment(m.revoking)
	return Record{Key: consumerKey(consumerCurrentKeyVersion, groupID, m.id), Value: w.b}
}

// consumerMemberTombstones delete a member's records, current assignment
// first as Kafka orders them.
func consumerMemberTombstones(groupID, memberID string) []Record {
	return []Record{
		{Key: consumerKey(consumerCurrentKeyVersion, groupID, memberID)},
		{Key: consumerKey(consumerTargetMemberKeyVersion, groupID, memberID)},
		{Key: consumerKey(consumerMemberKeyVersion, groupID, memberID)},
	}
}

// consumerGroupTombstones delete an empty consumer group's own records.
func consumerGroupTombstones(groupID string) []Record {
	return []Record{
		{Key: consumerKey(consumerTargetEpochKeyVersion, groupID, "")},
		{Key: consumerKey(consumerGroupKeyVersion, groupID, "")},
	}
}

// consumerRecord is a decoded consumer group record.
type consumerRecord struct {
	keyVersion int16
	memberID   string
	tombstone  bool
	epoch      int32 // group or assignment epoch
	hash       uint64
	member     *consumerMember
	target     assignment
}

// decodeConsumerKey reads the group and member id of a consumer record key.
func decodeConsumerKey(version int16, key []byte) (groupID, memberID string, err error) {
	rest := key[2:]
	read := func() (string, bool) {
		if len(rest) < 2 {
			return "", false
		}
		n := int(binary.BigEndian.Uint16(rest))
		if len(rest)-2 < n {
			return "", false
		}
		s := string(rest[2 : 2+n])
		rest = rest[2+n:]
		return s, true
	}
	var ok bool
	if groupID, ok = read(); !ok {
		return "", "", fmt.Errorf("%w: consumer group key %d", ErrBadRecord, version)
	}
	if version == consumerMemberKeyVersion || version == consumerTargetMemberKeyVersion || version == consumerCurrentKeyVersion {
		if memberID, ok = read(); !ok || memberID == "" {
			// Every member record names its member; replaying one without
			// would have no member to apply it to.
			return "", "", fmt.Errorf("%w: consumer group key %d without a member id", ErrBadRecord, version)
		}
	}
	if len(rest) > 0 {
		return "", "", fmt.Errorf("%w: consumer group key %d has trailing bytes", ErrBadRecord, version)
	}
	return groupID, memberID, nil
}

func decodeConsumerValue(version int16, memberID string, value []byte) (*consumerRecord, error) {
	rec := &consumerRecord{keyVersion: version, memberID: memberID}
	if value == nil {
		rec.tombstone = true
		return rec, nil
	}
	r := newValueReader(value)
	switch version {
	case consumerGroupKeyVersion:
		rec.epoch, rec.hash = r.int32(), uint64(r.int64())
	case consumerTargetEpochKeyVersion:
		rec.epoch = r.int32()
	case consumerMemberKeyVersion:
		m := &consumerMember{id: memberID, hasMetadata: true}
		m.instanceID, m.rackID, m.clientID, m.clientHost = r.string(), r.string(), r.string(), r.string()
		m.subscribedNames, m.regex = r.strings(), r.string()
		m.rebalanceTimeout = time.Duration(r.int32()) * time.Millisecond
		m.serverAssignor = r.string()
		rec.member = m
	case consumerTargetMemberKeyVersion:
		rec.target = r.assignment()
	case consumerCurrentKeyVersion:
		m := &consumerMember{id: memberID}
		m.memberEpoch, m.previousEpoch, m.state = r.int32(), r.int32(), memberState(r.int8())
		m.assigned, m.revoking = r.assignment(), r.assignment()
		if m.state < memberStable || m.state > memberUnreleased {
			r.err = fmt.Errorf("unknown member state %d", m.state)
		}
		rec.member = m
	}
	if err := r.done(); err != nil {
		return nil, fmt.Errorf("%w: consumer group value of key version %d: %v", ErrBadRecord, version, err)
	}
	return rec, nil
}

// loadConsumerRecord replays one consumer group record.
func (c *core) loadConsumerRecord(partition int32, groupID string, rec *consumerRecord, now time.Time) {
	g := c.groups[groupID]
	if rec.tombstone && (g == nil || g.consumer == nil) {
		return
	}
	if g == nil {
		g = newGroup(groupID, partition, now)
		c.groups[groupID] = g
	}
	if g.consumer == nil {
		// The group became a consumer group: its classic generation,
		// necessarily empty, is gone.
		g.consumer = newConsumerGroup()
		g.members, g.order, g.instances = map[string]*member{}, nil, map[string]string{}
		g.state, g.protocolType, g.protocol, g.leader = StateEmpty, "consumer", "", ""
	}
	cg := g.consumer
	m := cg.members[rec.memberID]
	if m == nil && rec.memberID != "" && !rec.tombstone {
		m = &consumerMember{id: rec.memberID, assigned: assignment{}, revoking: assignment{}}
		cg.members[rec.memberID] = m
	}
	switch rec.keyVersion {
	case consumerGroupKeyVersion:
		if rec.tombstone {
			delete(c.groups, groupID)
			return
		}
		cg.epoch, cg.subscriptionHash, cg.hashKnown = rec.epoch, rec.hash, true
	case consumerTargetEpochKeyVersion:
		cg.assignmentEpoch = 0
		if !rec.tombstone {
			cg.assignmentEpoch = rec.epoch
		}
	case consumerMemberKeyVersion:
		if rec.tombstone {
			delete(cg.members, rec.memberID)
			return
		}
		m.instanceID, m.rackID, m.clientID, m.clientHost = rec.member.instanceID, rec.member.rackID, rec.member.clientID, rec.member.clientHost
		m.subscribedNames, m.regex, m.rebalanceTimeout = rec.member.subscribedNames, rec.member.regex, rec.member.rebalanceTimeout
		m.serverAssignor, m.hasMetadata = rec.member.serverAssignor, true
	case consumerTargetMemberKeyVersion:
		if rec.tombstone {
			delete(cg.target, rec.memberID)
			return
		}
		cg.target[rec.memberID] = rec.target
	case consumerCurrentKeyVersion:
		if rec.tombstone {
			return
		}
		m.memberEpoch, m.previousEpoch, m.state = rec.member.memberEpoch, rec.member.previousEpoch, rec.member.state
		m.assigned, m.revoking = rec.member.assigned, rec.member.revoking
	}
}

// finishConsumerLoad rebuilds what a loaded consumer group derives from its
// records and starts its members' timers from now, as Kafka does on load.
func finishConsumerLoad(g *group, now time.Time, session time.Duration) {
	cg := g.consumer
	cg.instances, cg.owners = map[string]string{}, map[topicID]map[int32]int32{}
	for id, m := range cg.members {
		if !m.hasMetadata {
			// Its subscription was deleted after its assignment.
			delete(cg.members, id)
			delete(cg.target, id)
			continue
		}
		if m.instanceID != "" {
			cg.instances[m.instanceID] = id
		}
		cg.hold(m)
		m.sessionDeadline = now.Add(session)
		if m.state == memberUnrevoked {
			m.revocationDeadline = now.Add(m.rebalanceTimeout)
		}
	}
	for id := range cg.target {
		if cg.members[id] == nil {
			delete(cg.target, id)
		}
	}
	// The hash was stored at a topics version of another process.
	cg.topicsVersion = 0
}
