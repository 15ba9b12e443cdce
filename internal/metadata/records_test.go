package metadata

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func strptr(s string) *string { return &s }

func sampleRecords() []Record {
	id := [16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	return []Record{
		RegisterBrokerRecord{NodeID: 1, Host: "localhost", Port: 9092, Rack: "r1", Incarnation: [16]byte{9}},
		TopicRecord{Name: "orders", ID: id},
		PartitionRecord{TopicID: id, Partition: 0, Replicas: []int32{1, 2}, ISR: []int32{1}, Leader: 1, LeaderEpoch: 3, PartitionEpoch: 4},
		PartitionRecord{TopicID: id, Partition: 0, Replicas: []int32{1, 2}, ISR: []int32{2}, Leader: 2, LeaderEpoch: 4, PartitionEpoch: 5, Unclean: true},
		PartitionRecord{TopicID: id, Partition: 0, Replicas: []int32{1, 2}, ISR: []int32{2}, Leader: -1, LeaderEpoch: 5, PartitionEpoch: 6},
		RemoveTopicRecord{ID: id},
		ConfigRecord{ResourceType: ResourceTopic, ResourceName: "orders", Name: "retention.ms", Value: strptr("1000")},
		ConfigRecord{ResourceType: ResourceBroker, ResourceName: "", Name: "log.retention.ms", Value: nil},
		ProducerIDsRecord{NextProducerID: 1000},
		BrokerFenceRecord{NodeID: 1, Fenced: true},
		RegisterBrokerRecord{NodeID: 2, Host: "b2", Port: 9093, Endpoints: []BrokerEndpoint{
			{Name: "PLAINTEXT", Host: "b2", Port: 9093}, {Name: "SASL_SSL", Host: "b2.example", Port: 9094, SecurityProtocol: 3}}},
		ScramCredentialRecord{User: "alice", Mechanism: ScramSHA512, Salt: []byte("salt"),
			StoredKey: make([]byte, 64), ServerKey: make([]byte, 64), Iterations: 4096},
		RemoveScramCredentialRecord{User: "alice", Mechanism: ScramSHA512},
		ACLRecord{ID: [16]byte{7}, ResourceType: 2, ResourceName: "orders", PatternType: 4, Principal: "User:alice",
			Host: "*", Operation: 4, Permission: 3},
		RemoveACLRecord{ID: [16]byte{7}},
		ClientQuotaRecord{Entity: []QuotaEntityPart{{Type: "user", Name: strptr("alice")}, {Type: "client-id"}},
			Key: "producer_byte_rate", Value: float64ptr(1024)},
		ClientQuotaRecord{Entity: []QuotaEntityPart{{Type: "ip"}}, Key: "connection_creation_rate"},
	}
}

func float64ptr(v float64) *float64 { return &v }

func TestRecordRoundTrip(t *testing.T) {
	for _, r := range sampleRecords() {
		b, err := Encode(r)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Decode(b)
		if err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		if !reflect.DeepEqual(got, r) {
			t.Fatalf("round trip of %s: got %#v", b, got)
		}
	}
	batch, err := EncodeBatch(sampleRecords())
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeBatch(batch)
	if err != nil || !reflect.DeepEqual(got, sampleRecords()) {
		t.Fatalf("batch round trip: %v", err)
	}
}

func TestDecodeRejects(t *testing.T) {
	tests := []struct{ name, in string }{
		{"empty", ``},
		{"not json", `{`},
		{"unknown type", `{"type":"acl","version":0,"data":{}}`},
		{"future version", `{"type":"producerIds","version":1,"data":{"nextProducerId":1}}`},
		{"unknown field", `{"type":"producerIds","version":0,"data":{"nextProducerId":1,"extra":2}}`},
		{"trailing", `{"type":"producerIds","version":0,"data":{"nextProducerId":1}} {}`},
		{"bad topic name", `{"type":"topic","version":0,"data":{"name":"a/b","id":[1]}}`},
		{"zero topic id", `{"type":"topic","version":0,"data":{"name":"a","id":[]}}`},
		{"no replicas", `{"type":"partition","version":0,"data":{"topicId":[1],"partition":0,"replicas":[],"isr":[],"leader":-1}}`},
		{"isr not replica", `{"type":"partition","version":0,"data":{"topicId":[1],"partition":0,"replicas":[1],"isr":[2],"leader":-1}}`},
		{"leader not in isr", `{"type":"partition","version":0,"data":{"topicId":[1],"partition":0,"replicas":[1,2],"isr":[1],"leader":2}}`},
		{"duplicate replica", `{"type":"partition","version":0,"data":{"topicId":[1],"partition":0,"replicas":[1,1],"isr":[1],"leader":1}}`},
		{"negative partition", `{"type":"partition","version":0,"data":{"topicId":[1],"partition":-1,"replicas":[1],"isr":[1],"leader":1}}`},
		{"bad resource", `{"type":"config","version":0,"data":{"resourceType":"group","resourceName":"g","name":"x","value":null}}`},
		{"negative producer id", `{"type":"producerIds","version":0,"data":{"nextProducerId":-5}}`},
		{"bad port", `{"type":"registerBroker","version":0,"data":{"nodeId":1,"host":"h","port":70000,"incarnation":[]}}`},
		{"endpoint without name", `{"type":"registerBroker","version":0,"data":{"nodeId":1,"host":"h","port":7,"incarnation":[],"endpoints":[{"name":"","host":"h","port":7,"securityProtocol":0}]}}`},
		{"scram few iterations", `{"type":"scramCredential","version":0,"data":{"user":"a","mechanism":1,"salt":"c2FsdA==","storedKey":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=","serverKey":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=","iterations":4095}}`},
		{"scram short key", `{"type":"scramCredential","version":0,"data":{"user":"a","mechanism":2,"salt":"c2FsdA==","storedKey":"AAAA","serverKey":"AAAA","iterations":4096}}`},
		{"scram unknown mechanism", `{"type":"removeScramCredential","version":0,"data":{"user":"a","mechanism":3}}`},
		{"acl any resource", `{"type":"acl","version":0,"data":{"id":[1],"resourceType":1,"resourceName":"t","patternType":3,"principal":"User:a","host":"*","operation":3,"permission":3}}`},
		{"acl match pattern", `{"type":"acl","version":0,"data":{"id":[1],"resourceType":2,"resourceName":"t","patternType":2,"principal":"User:a","host":"*","operation":3,"permission":3}}`},
		{"acl zero id", `{"type":"acl","version":0,"data":{"id":[],"resourceType":2,"resourceName":"t","patternType":3,"principal":"User:a","host":"*","operation":3,"permission":3}}`},
		{"quota empty entity", `{"type":"clientQuota","version":0,"data":{"entity":[],"key":"producer_byte_rate","value":1}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Decode([]byte(tt.in)); !errors.Is(err, ErrCorruptRecord) {
				t.Fatalf("err = %v", err)
			}
		})
	}
	for _, in := range []string{`[]`, `{}`, `[{}]`, `[` + strings.Repeat(`1,`, MaxBatchRecords) + `1]`} {
		if _, err := DecodeBatch([]byte(in)); !errors.Is(err, ErrCorruptRecord) {
			t.Errorf("batch %.20s: err = %v", in, err)
		}
	}
}

func FuzzMetadataRecord(f *testing.F) {
	for _, r := range sampleRecords() {
		b, _ := Encode(r)
		f.Add(b)
	}
	batch, _ := EncodeBatch(sampleRecords())
	f.Add(batch)
	f.Fuzz(func(t *testing.T, b []byte) {
		if r, err := Decode(b); err == nil {
			again, err := Encode(r)
			if err != nil {
				t.Fatalf("re-encoding %#v: %v", r, err)
			}
			// Equal up to empty lists, which encode as absent.
			r2, err := Decode(again)
			third, _ := Encode(r2)
			if err != nil || !bytes.Equal(again, third) {
				t.Fatalf("round trip of %s: %#v vs %#v (%v)", b, r, r2, err)
			}
			// A decoded record must never make Apply panic.
			_, _ = Apply(NewImage("c"), r)
		}
		if records, err := DecodeBatch(b); err == nil {
			_, _ = applyBatch(NewImage("c"), records, 1)
		}
	})
}
