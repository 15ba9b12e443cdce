package group

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestCheckGroupMetadataValue: every version kmsg encodes passes the
// guard, and values whose counts outrun their bytes fail it, where kmsg
// alone would loop for minutes on a tagged-field count of 2^32.
func TestCheckGroupMetadataValue(t *testing.T) {
	for version := int16(0); version <= 4; version++ {
		v := kmsg.NewGroupMetadataValue()
		v.Version = version
		v.ProtocolType, v.Generation = "consumer", 3
		protocol, leader, instance := "range", "m1", "i1"
		v.Protocol, v.Leader = &protocol, &leader
		for _, id := range []string{"m1", "m2"} {
			m := kmsg.NewGroupMetadataValueMember()
			m.MemberID, m.InstanceID, m.ClientID, m.ClientHost = id, &instance, "c", "/127.0.0.1"
			m.Subscription, m.Assignment = []byte{1, 2}, nil
			v.Members = append(v.Members, m)
		}
		value := v.AppendTo(nil)
		if err := checkGroupMetadataValue(value); err != nil {
			t.Errorf("version %d: %v", version, err)
		}
		if err := checkGroupMetadataValue(value[:len(value)-1]); err == nil {
			t.Errorf("version %d cut short by a byte passed", version)
		}
	}
	manyTags := []byte{0, 4, 1, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 0x0f}
	key := groupMetadataKey("g")
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
