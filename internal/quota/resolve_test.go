package quota

import (
	"testing"
)

// levelEntities are the eight KIP-55 levels for user u1 and client c1, each
// configured with quota level*100 so the answer names the level.
var levelEntities = []Entity{
	{User: Name("u1"), ClientID: Name("c1")},
	{User: Name("u1"), ClientID: DefaultComponent()},
	{User: Name("u1")},
	{User: DefaultComponent(), ClientID: Name("c1")},
	{User: DefaultComponent(), ClientID: DefaultComponent()},
	{User: DefaultComponent()},
	{ClientID: Name("c1")},
	{ClientID: DefaultComponent()},
}

func TestPrecedence(t *testing.T) {
	// For each level l, configure levels l..8 and expect level l to win, with
	// Kafka's quota entity for that level.
	wantEntity := []SensorEntity{
		{"u1", "c1"}, {"u1", "c1"}, {"u1", ""}, {"u1", "c1"}, {"u1", "c1"}, {"u1", ""}, {"", "c1"}, {"", "c1"},
	}
	for l := range levelEntities {
		s := NewStore(nil)
		var records []Record
		for m := l; m < len(levelEntities); m++ {
			records = append(records, Record{Entity: levelEntities[m], Key: ProducerByteRate, Value: float64((m + 1) * 100)})
		}
		s.Apply(records...)
		got := s.table.Load().resolve(idxProducer, "u1", "c1")
		want := Resolution{Limited: true, Quota: float64((l + 1) * 100), Entity: wantEntity[l]}
		if got != want {
			t.Errorf("levels %d..8: got %+v, want %+v", l+1, got, want)
		}
		// Only level l configured: it still applies on its own.
		only := NewStore(nil)
		only.Apply(Record{Entity: levelEntities[l], Key: ProducerByteRate, Value: 7})
		if got := only.table.Load().resolve(idxProducer, "u1", "c1"); !got.Limited || got.Quota != 7 || got.Entity != wantEntity[l] {
			t.Errorf("only level %d: got %+v", l+1, got)
		}
	}
}

func TestPrecedenceOtherClients(t *testing.T) {
	s := NewStore(nil)
	for l, e := range levelEntities {
		s.Apply(Record{Entity: e, Key: ProducerByteRate, Value: float64((l + 1) * 100)})
	}
	tests := []struct {
		user, client string
		want         Resolution
	}{
		{"u1", "c1", Resolution{true, 100, SensorEntity{"u1", "c1"}}},
		{"u1", "c2", Resolution{true, 200, SensorEntity{"u1", "c2"}}}, // <u1, default>
		{"u2", "c1", Resolution{true, 400, SensorEntity{"u2", "c1"}}}, // <default, c1>
		{"u2", "c2", Resolution{true, 500, SensorEntity{"u2", "c2"}}}, // <default, default>
		{"u1", "", Resolution{true, 300, SensorEntity{"u1", ""}}},     // empty client id: Kafka's tags quirk
		{"", "c1", Resolution{true, 700, SensorEntity{"", "c1"}}},     // empty principal
		{"", "", Resolution{false, 0, SensorEntity{"", ""}}},          // nothing to key on
		{"u3", "c3", Resolution{true, 500, SensorEntity{"u3", "c3"}}}, // defaults give each client its own rate
		{"u1", "c9", Resolution{true, 200, SensorEntity{"u1", "c9"}}}, // ...
		{"u9", "c1", Resolution{true, 400, SensorEntity{"u9", "c1"}}}, // ...
		{"u1", "c1", Resolution{true, 100, SensorEntity{"u1", "c1"}}}, // repeat is stable
		{"u4", "c1", Resolution{true, 400, SensorEntity{"u4", "c1"}}}, // ...
		{"u4", "c4", Resolution{true, 500, SensorEntity{"u4", "c4"}}}, // ...
		{"u1", "c2", Resolution{true, 200, SensorEntity{"u1", "c2"}}}, // ...
		{"u5", "", Resolution{true, 600, SensorEntity{"u5", ""}}},     // <default> user
		{"", "c5", Resolution{true, 800, SensorEntity{"", "c5"}}},     // <default> client
	}
	for _, tt := range tests {
		if got := s.table.Load().resolve(idxProducer, tt.user, tt.client); got != tt.want {
			t.Errorf("(%q,%q): got %+v, want %+v", tt.user, tt.client, got, tt.want)
		}
	}
}

func TestPrecedenceIsPerKey(t *testing.T) {
	s := NewStore(nil)
	s.Apply(
		Record{Entity: Entity{User: Name("u1")}, Key: ConsumerByteRate, Value: 1},
		Record{Entity: Entity{ClientID: Name("c1")}, Key: ProducerByteRate, Value: 2},
	)
	m, _ := NewManager(Config{}, s)
	if r := m.Resolve(ProducerByteRate, "u1", "c1"); r.Quota != 2 || r.Entity != (SensorEntity{"", "c1"}) {
		t.Fatalf("producer: %+v", r)
	}
	if r := m.Resolve(ConsumerByteRate, "u1", "c1"); r.Quota != 1 || r.Entity != (SensorEntity{"u1", ""}) {
		t.Fatalf("consumer: %+v", r)
	}
	if r := m.Resolve(RequestPercentage, "u1", "c1"); r.Limited {
		t.Fatalf("request: %+v", r)
	}
}
