package metadata

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

var (
	idA = [16]byte{0xa}
	idB = [16]byte{0xb}
)

func mustApply(t *testing.T, img *Image, records ...Record) *Image {
	t.Helper()
	for _, r := range records {
		next, err := Apply(img, r)
		if err != nil {
			t.Fatal(err)
		}
		img = next
	}
	return img
}

func partition(id [16]byte, p int32, replicas ...int32) PartitionRecord {
	return PartitionRecord{TopicID: id, Partition: p, Replicas: replicas, ISR: replicas, Leader: replicas[0]}
}

func TestApply(t *testing.T) {
	base := mustApply(t, NewImage("c"),
		RegisterBrokerRecord{NodeID: 1, Host: "h1", Port: 1},
		TopicRecord{Name: "a.b", ID: idA},
		partition(idA, 0, 1),
	)
	tests := []struct {
		name    string
		records []Record
		wantErr bool
		check   func(t *testing.T, img *Image)
	}{
		{"add partition", []Record{partition(idA, 1, 1)}, false, func(t *testing.T, img *Image) {
			if top, _ := img.Topic("a.b"); len(top.Partitions) != 2 || top.Partitions[1].Partition != 1 {
				t.Fatalf("partitions %+v", top.Partitions)
			}
		}},
		{"replace partition", []Record{PartitionRecord{TopicID: idA, Partition: 0, Replicas: []int32{1}, ISR: []int32{1}, Leader: 1, LeaderEpoch: 5}}, false,
			func(t *testing.T, img *Image) {
				if top, _ := img.Topic("a.b"); top.Partitions[0].LeaderEpoch != 5 {
					t.Fatalf("partition %+v", top.Partitions[0])
				}
			}},
		{"partition gap", []Record{partition(idA, 2, 1)}, true, nil},
		{"partition of unknown topic", []Record{partition(idB, 0, 1)}, true, nil},
		{"duplicate name", []Record{TopicRecord{Name: "a.b", ID: idB}}, true, nil},
		{"duplicate id", []Record{TopicRecord{Name: "other", ID: idA}}, true, nil},
		{"colliding name", []Record{TopicRecord{Name: "a_b", ID: idB}}, true, nil},
		{"remove", []Record{RemoveTopicRecord{ID: idA}}, false, func(t *testing.T, img *Image) {
			if _, ok := img.Topic("a.b"); ok {
				t.Fatal("topic still there")
			}
			if _, ok := img.TopicByID(idA); ok {
				t.Fatal("topic id still there")
			}
		}},
		{"remove then recreate colliding", []Record{RemoveTopicRecord{ID: idA}, TopicRecord{Name: "a_b", ID: idB}}, false, nil},
		{"remove unknown", []Record{RemoveTopicRecord{ID: idB}}, true, nil},
		{"topic config", []Record{ConfigRecord{ResourceType: ResourceTopic, ResourceName: "a.b", Name: "retention.ms", Value: strptr("5")}}, false,
			func(t *testing.T, img *Image) {
				if top, _ := img.Topic("a.b"); top.Configs["retention.ms"] != "5" {
					t.Fatalf("configs %v", top.Configs)
				}
			}},
		{"config of unknown topic", []Record{ConfigRecord{ResourceType: ResourceTopic, ResourceName: "x", Name: "retention.ms", Value: strptr("5")}}, true, nil},
		{"broker config set and delete", []Record{
			ConfigRecord{ResourceType: ResourceBroker, ResourceName: "", Name: "log.retention.ms", Value: strptr("5")},
			ConfigRecord{ResourceType: ResourceBroker, ResourceName: "1", Name: "max.connections", Value: strptr("9")},
			ConfigRecord{ResourceType: ResourceBroker, ResourceName: "", Name: "log.retention.ms", Value: nil},
		}, false, func(t *testing.T, img *Image) {
			if img.BrokerConfigs("") != nil || img.BrokerConfigs("1")["max.connections"] != "9" {
				t.Fatalf("broker configs %v %v", img.BrokerConfigs(""), img.BrokerConfigs("1"))
			}
		}},
		{"producer ids advance", []Record{ProducerIDsRecord{NextProducerID: 10}, ProducerIDsRecord{NextProducerID: 20}}, false,
			func(t *testing.T, img *Image) {
				if img.NextProducerID() != 20 {
					t.Fatal(img.NextProducerID())
				}
			}},
		{"producer ids go back", []Record{ProducerIDsRecord{NextProducerID: 10}, ProducerIDsRecord{NextProducerID: 10}}, true, nil},
		{"re-register broker", []Record{RegisterBrokerRecord{NodeID: 1, Host: "h2", Port: 2}}, false,
			func(t *testing.T, img *Image) {
				if b, _ := img.Broker(1); b.Host != "h2" || len(img.Brokers()) != 1 {
					t.Fatalf("brokers %+v", img.Brokers())
				}
			}},
		{"fence broker", []Record{BrokerFenceRecord{NodeID: 1, Fenced: true}}, false,
			func(t *testing.T, img *Image) {
				if b, _ := img.Broker(1); !b.Fenced || len(img.Brokers()) != 1 {
					t.Fatalf("brokers %+v", img.Brokers())
				}
			}},
		{"re-registration unfences", []Record{BrokerFenceRecord{NodeID: 1, Fenced: true}, RegisterBrokerRecord{NodeID: 1, Host: "h1", Port: 1}}, false,
			func(t *testing.T, img *Image) {
				if b, _ := img.Broker(1); b.Fenced {
					t.Fatalf("brokers %+v", img.Brokers())
				}
			}},
		{"fence unknown broker", []Record{BrokerFenceRecord{NodeID: 9, Fenced: true}}, true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, _ := base.MarshalSnapshot()
			got, err := applyBatch(base, tt.records, base.offset+1)
			after, _ := base.MarshalSnapshot()
			if !bytes.Equal(before, after) {
				t.Fatal("applying mutated the input image")
			}
			if tt.wantErr {
				if !errors.Is(err, ErrInconsistentRecord) || got != base {
					t.Fatalf("err = %v, image replaced %v", err, got != base)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.check != nil {
				tt.check(t, got)
			}
		})
	}
}

// Unchanged topics are shared between images; a changed one is copied.
func TestApplySharesUnchangedTopics(t *testing.T) {
	img := mustApply(t, NewImage("c"),
		TopicRecord{Name: "a", ID: idA}, partition(idA, 0, 1),
		TopicRecord{Name: "b", ID: idB}, partition(idB, 0, 1))
	next := mustApply(t, img, partition(idA, 1, 1))
	if img.topics["b"] != next.topics["b"] {
		t.Fatal("unchanged topic copied")
	}
	if img.topics["a"] == next.topics["a"] || len(img.topics["a"].Partitions) != 1 {
		t.Fatal("changed topic shared or old one mutated")
	}
}

func TestSnapshotRoundTrip(t *testing.T) {
	img := mustApply(t, NewImage("cluster"),
		RegisterBrokerRecord{NodeID: 1, Host: "h1", Port: 1},
		TopicRecord{Name: "a", ID: idA}, partition(idA, 0, 1), partition(idA, 1, 1),
		ConfigRecord{ResourceType: ResourceTopic, ResourceName: "a", Name: "cleanup.policy", Value: strptr("compact")},
		ConfigRecord{ResourceType: ResourceBroker, ResourceName: "1", Name: "max.connections", Value: strptr("9")},
		ProducerIDsRecord{NextProducerID: 77},
		ScramCredentialRecord{User: "alice", Mechanism: ScramSHA256, Salt: []byte("s"), StoredKey: make([]byte, 32),
			ServerKey: make([]byte, 32), Iterations: 8192},
		ACLRecord{ID: [16]byte{3}, ResourceType: 3, ResourceName: "g", PatternType: 3, Principal: "User:*", Host: "*",
			Operation: 3, Permission: 3},
		ClientQuotaRecord{Entity: []QuotaEntityPart{{Type: "client-id", Name: strptr("c")}}, Key: "consumer_byte_rate",
			Value: float64ptr(5e6)})
	b, err := img.MarshalSnapshot()
	if err != nil {
		t.Fatal(err)
	}
	restored, err := readSnapshot(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(img, restored) {
		t.Fatalf("restored image differs:\n%+v\n%+v", img, restored)
	}
	if _, err := readSnapshot(bytes.NewReader(b[:len(b)/2])); !errors.Is(err, ErrCorruptRecord) {
		t.Fatalf("truncated snapshot: %v", err)
	}
}

// TestSecurityRecords: credentials, ACLs and quotas are set, replaced and
// removed; removing what is not there is inconsistent; earlier images are
// not changed by later records.
func TestSecurityRecords(t *testing.T) {
	cred := func(iter int32) ScramCredentialRecord {
		return ScramCredentialRecord{User: "bob", Mechanism: ScramSHA512, Salt: []byte("x"), StoredKey: make([]byte, 64),
			ServerKey: make([]byte, 64), Iterations: iter}
	}
	acl := ACLRecord{ID: [16]byte{9}, ResourceType: 2, ResourceName: "t", PatternType: 3, Principal: "User:bob", Host: "*",
		Operation: 4, Permission: 3}
	quota := func(v *float64) ClientQuotaRecord {
		return ClientQuotaRecord{Entity: []QuotaEntityPart{{Type: "user", Name: strptr("bob")}}, Key: "producer_byte_rate", Value: v}
	}
	base := NewImage("c")
	img := mustApply(t, base, cred(4096), cred(10000), acl, quota(float64ptr(100)))
	if c, ok := img.ScramCredential("bob", ScramSHA512); !ok || c.Iterations != 10000 {
		t.Fatalf("credential %+v %v, want the replacing one", c, ok)
	}
	if acls, v := img.ACLs(); len(acls) != 1 || acls[0] != acl || v == 0 {
		t.Fatalf("acls %+v version %d", acls, v)
	}
	if q := img.ClientQuotas(); len(q) != 1 || q[0].Values["producer_byte_rate"] != 100 {
		t.Fatalf("quotas %+v", q)
	}
	before := img.ACLVersion()
	img2 := mustApply(t, img, RemoveScramCredentialRecord{User: "bob", Mechanism: ScramSHA512}, RemoveACLRecord{ID: acl.ID},
		quota(nil))
	if _, ok := img2.ScramCredential("bob", ScramSHA512); ok || len(img2.ScramUsers()) != 0 {
		t.Fatal("credential not removed")
	}
	if acls, v := img2.ACLs(); len(acls) != 0 || v == before {
		t.Fatalf("acls %+v version %d (was %d)", acls, v, before)
	}
	if q := img2.ClientQuotas(); len(q) != 0 {
		t.Fatalf("quotas %+v after removal", q)
	}
	if _, ok := img.ScramCredential("bob", ScramSHA512); !ok || len(base.ScramUsers()) != 0 {
		t.Fatal("an earlier image changed")
	}
	for _, r := range []Record{RemoveScramCredentialRecord{User: "bob", Mechanism: ScramSHA512}, RemoveACLRecord{ID: acl.ID}} {
		if _, err := Apply(img2, r); !errors.Is(err, ErrInconsistentRecord) {
			t.Errorf("%T of nothing: err %v", r, err)
		}
	}
	if _, err := Apply(img, acl); !errors.Is(err, ErrInconsistentRecord) {
		t.Errorf("duplicate acl id: err %v", err)
	}
}
