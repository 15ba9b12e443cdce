package postgres

import (
	"errors"
	"testing"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/fjordhq/fjord/connect"
)

func textTuple(values ...any) *pglogrepl.TupleData {
	t := &pglogrepl.TupleData{}
	for _, v := range values {
		switch v := v.(type) {
		case nil:
			t.Columns = append(t.Columns, &pglogrepl.TupleDataColumn{DataType: pglogrepl.TupleDataTypeNull})
		case byte:
			t.Columns = append(t.Columns, &pglogrepl.TupleDataColumn{DataType: v})
		case string:
			t.Columns = append(t.Columns, &pglogrepl.TupleDataColumn{DataType: pglogrepl.TupleDataTypeText,
				Data: []byte(v)})
		}
	}
	return t
}

var testRelation = &pglogrepl.RelationMessage{RelationID: 7, Namespace: "public", RelationName: "items",
	Columns: []*pglogrepl.RelationMessageColumn{
		{Flags: 1, Name: "id", DataType: pgtype.Int4OID, TypeModifier: -1},
		{Name: "name", DataType: pgtype.TextOID, TypeModifier: -1},
		{Name: "price", DataType: pgtype.NumericOID, TypeModifier: (10<<16 | 2) + 4},
		{Name: "tags", DataType: pgtype.TextArrayOID, TypeModifier: -1},
	}}

// describe is a record as "op key value offset".
func describe(r connect.SourceRecord) []any {
	op, _ := r.Headers.Last(headerOp)
	var value any
	if s, ok := r.Value.(*connect.Struct); ok {
		value = s.Get("name")
	}
	return []any{op.Value, r.Key, value, r.SourceOffset[offsetLSN]}
}

func TestCdcDecoder(t *testing.T) {
	d := newCdcDecoder("pg-", "s", 100, 10)
	feed := func(msgs ...pglogrepl.Message) {
		t.Helper()
		for _, m := range msgs {
			if err := d.apply(m); err != nil {
				t.Fatal(err)
			}
		}
	}
	feed(testRelation, &pglogrepl.BeginMessage{},
		&pglogrepl.InsertMessage{RelationID: 7, Tuple: textTuple("1", "a", "1.50", "{x,y}")},
		&pglogrepl.InsertMessage{RelationID: 7, Tuple: textTuple("2", nil, nil, nil)})
	if len(d.take(10)) != 0 || d.idle(1000) {
		t.Fatal("records of an open transaction were released")
	}
	feed(&pglogrepl.CommitMessage{TransactionEndLSN: 20}, &pglogrepl.BeginMessage{},
		&pglogrepl.UpdateMessage{RelationID: 7, NewTuple: textTuple("1", "b", "2", nil)},
		&pglogrepl.UpdateMessage{RelationID: 7, OldTuple: textTuple("2", nil, nil, nil),
			NewTuple: textTuple("3", "c", nil, nil)},
		&pglogrepl.DeleteMessage{RelationID: 7, OldTuple: textTuple("1", nil, nil, nil)},
		&pglogrepl.CommitMessage{TransactionEndLSN: 30})
	got := d.take(100)
	want := [][]any{{"c", int32(1), "a", int64(20)}, {"c", int32(2), nil, int64(20)},
		{"u", int32(1), "b", int64(30)}, {"d", int32(2), nil, int64(30)}, {"u", int32(3), "c", int64(30)},
		{"d", int32(1), nil, int64(30)}}
	if len(got) != len(want) {
		t.Fatalf("%d records, want %d", len(got), len(want))
	}
	for i, r := range got {
		if g := describe(r); !equalAny(g, want[i]) {
			t.Errorf("record %d: %v, want %v", i, g, want[i])
		}
		if r.Topic != "pg-public.items" || r.SourcePartition[partitionSlot] != "s" {
			t.Errorf("record %d: topic %q, partition %v", i, r.Topic, r.SourcePartition)
		}
	}
	v := got[0].Value.(*connect.Struct)
	if price := v.Get("price").(connect.Decimal); price.Scale != 2 || price.Unscaled.Int64() != 150 ||
		v.Get("tags") != "{x,y}" || got[3].Value != nil || got[3].ValueSchema != nil {
		t.Fatalf("values: %v, tombstone %v", v, got[3].Value)
	}
	if !d.idle(30) || d.idle(29) {
		t.Fatal("idle")
	}
}

func equalAny(a, b []any) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestCdcDecoderBatches checks that a batch ends at a transaction's end,
// and that a long transaction spilled or cut carries an earlier offset
// until its last record.
func TestCdcDecoderBatches(t *testing.T) {
	d := newCdcDecoder("", "s", 3, 5)
	insert := func(id string) pglogrepl.Message {
		return &pglogrepl.InsertMessage{RelationID: 7, Tuple: textTuple(id, "n", nil, nil)}
	}
	msgs := []pglogrepl.Message{testRelation,
		&pglogrepl.BeginMessage{}, insert("1"), insert("2"), &pglogrepl.CommitMessage{TransactionEndLSN: 10},
		&pglogrepl.BeginMessage{}, insert("3"), insert("4"), insert("5"), insert("6"),
		&pglogrepl.CommitMessage{TransactionEndLSN: 20}}
	for _, m := range msgs {
		if err := d.apply(m); err != nil {
			t.Fatal(err)
		}
	}
	var offsets []any
	for _, n := range []int{3, 3, 3} {
		for _, r := range d.take(n) {
			offsets = append(offsets, r.SourceOffset[offsetLSN])
		}
		offsets = append(offsets, "|")
	}
	// 3, 4, 5 were spilled at the limit of 3 with the last commit's offset,
	// 10, which makes 1 to 5 look like one transaction: the first batch,
	// cut inside it, gets the start's offset. Both are conservative: a
	// restart from them replays, and skips nothing.
	want := []any{int64(5), int64(5), int64(5), "|", int64(10), int64(10), int64(20), "|", "|"}
	if !equalAny(offsets, want) {
		t.Fatalf("offsets %v, want %v", offsets, want)
	}

	d = newCdcDecoder("", "s", 100, 5)
	for _, m := range msgs {
		if err := d.apply(m); err != nil {
			t.Fatal(err)
		}
	}
	offsets = nil
	for _, n := range []int{3, 3, 3} {
		for _, r := range d.take(n) {
			offsets = append(offsets, r.SourceOffset[offsetLSN])
		}
		offsets = append(offsets, "|")
	}
	want = []any{int64(10), int64(10), "|", int64(10), int64(10), int64(10), "|", int64(20), "|"}
	if !equalAny(offsets, want) {
		t.Fatalf("cut offsets %v, want %v", offsets, want)
	}
}

func TestCdcDecoderErrors(t *testing.T) {
	d := newCdcDecoder("", "s", 100, 0)
	if err := d.apply(&pglogrepl.InsertMessage{RelationID: 7, Tuple: textTuple("1")}); err == nil {
		t.Fatal("a change before its relation was accepted")
	}
	if err := d.apply(testRelation); err != nil {
		t.Fatal(err)
	}
	for name, m := range map[string]pglogrepl.Message{
		"short row":   &pglogrepl.InsertMessage{RelationID: 7, Tuple: textTuple("1")},
		"bad integer": &pglogrepl.InsertMessage{RelationID: 7, Tuple: textTuple("x", nil, nil, nil)},
		"no old row":  &pglogrepl.DeleteMessage{RelationID: 7},
	} {
		if err := d.apply(m); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	err := d.apply(&pglogrepl.UpdateMessage{RelationID: 7,
		NewTuple: textTuple("1", pglogrepl.TupleDataTypeToast, nil, nil)})
	if !errors.Is(err, errUnchangedToast) {
		t.Fatalf("unchanged TOAST value: %v", err)
	}
	err = d.apply(&pglogrepl.UpdateMessage{RelationID: 7, OldTuple: textTuple("1", "old", nil, nil),
		NewTuple: textTuple("1", pglogrepl.TupleDataTypeToast, nil, nil)})
	if err != nil {
		t.Fatalf("unchanged TOAST value with the old row: %v", err)
	}
}

// FuzzCdcDecoder feeds rows of any text to the decoder: it must fail or
// succeed, never panic.
func FuzzCdcDecoder(f *testing.F) {
	f.Add("1", "a", "1.50", "{x}")
	f.Add("x", "", "NaN", "")
	f.Add("-2147483649", "b", "1e400", "{")
	f.Fuzz(func(t *testing.T, id, name, price, tags string) {
		d := newCdcDecoder("", "s", 2, 0)
		msgs := []pglogrepl.Message{testRelation, &pglogrepl.BeginMessage{},
			&pglogrepl.InsertMessage{RelationID: 7, Tuple: textTuple(id, name, price, tags)},
			&pglogrepl.UpdateMessage{RelationID: 7, OldTuple: textTuple(id, nil, nil, nil),
				NewTuple: textTuple(name, price, tags, id)},
			&pglogrepl.DeleteMessage{RelationID: 7, OldTuple: textTuple(price, nil, nil, nil)},
			&pglogrepl.CommitMessage{TransactionEndLSN: 9}}
		for _, m := range msgs {
			_ = d.apply(m)
		}
		d.take(1)
		d.take(5)
	})
}
