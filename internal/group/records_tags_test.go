package group

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestDecodeRecordHugeTagCount: a group metadata value announcing 2^32
// tagged fields fails at once (kmsg before v1.15.1 looped for minutes on
// it), and every version kmsg encodes decodes.
func TestDecodeRecordHugeTagCount(t *testing.T) {
	key := groupMetadataKey("g")
	for version := int16(0); version <= 4; version++ {
		v := kmsg.NewGroupMetadataValue()
		v.Version = version
		v.ProtocolType, v.Generation = "consumer", 3
		protocol, leader, instance := "range", "m1", "i1"
		v.Protocol, v.Leader = &protocol, &leader
		for _, id := range []string{"m1", "m2"} {
			m := kmsg.NewGroupMetadataValueMember()
			m.MemberID, m.InstanceID, m.ClientID, m.ClientHost = id, &instance, "c", "/127.0.0.1"
			m.Subscription = []byte{1, 2}
			v.Members = append(v.Members, m)
		}
		if _, err := decodeRecord(key, v.AppendTo(nil)); err != nil {
			t.Errorf("version %d: %v", version, err)
		}
	}
	manyTags := []byte{0, 4, 1, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 0x0f}
	done := make(chan error, 1)
	go func() { _, err := decodeRecord(key, manyTags); done <- err }()
	select {
	case err := <-done:
		if err == nil {
			t.Error("a value announcing 2^32 tagged fields decoded")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("decoding a value announcing 2^32 tagged fields did not end")
	}
}
