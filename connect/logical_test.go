package connect_test

import (
	"bytes"
	"errors"
	"math/big"
	"testing"
	"time"

	"github.com/fjordhq/fjord/connect"
)

func TestDecimalStringIsJavas(t *testing.T) {
	for _, tc := range []struct {
		unscaled int64
		scale    int32
		want     string
	}{
		{156, 2, "1.56"},
		{-156, 2, "-1.56"},
		{5, 3, "0.005"},
		{1, 6, "0.000001"},
		{1, 7, "1E-7"},
		{123, -2, "1.23E+4"},
		{0, 0, "0"},
		{0, 2, "0.00"},
		{0, -2, "0E+2"},
		{12345, 0, "12345"},
	} {
		d := connect.Decimal{Unscaled: big.NewInt(tc.unscaled), Scale: tc.scale}
		if got := d.String(); got != tc.want {
			t.Errorf("%d scale %d: %s, want %s", tc.unscaled, tc.scale, got, tc.want)
		}
		back, err := connect.ParseDecimal(tc.want)
		if err != nil || !back.Equal(d) {
			t.Errorf("ParseDecimal(%s) = %v, %v; want %v", tc.want, back, err, d)
		}
	}
	if (connect.Decimal{}).String() != "0" {
		t.Error("zero Decimal")
	}
}

func TestParseDecimalAndRescale(t *testing.T) {
	for _, bad := range []string{"", "-", "1.2.3", "1e", "0x10", "1e99999999999", "NaN"} {
		if d, err := connect.ParseDecimal(bad); err == nil {
			t.Errorf("ParseDecimal(%q) = %v", bad, d)
		}
	}
	d, err := connect.ParseDecimal("1.5")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		scale int32
		want  string
		ok    bool
	}{
		{3, "1.500", true},
		{1, "1.5", true},
		{0, "", false},
		{-5, "", false},
		{1 << 20, "", false}, // more digits than a decimal may have
	} {
		got, err := d.Rescale(tc.scale)
		if (err == nil) != tc.ok || tc.ok && got.String() != tc.want {
			t.Errorf("Rescale(%d) = %v, %v", tc.scale, got, err)
		}
	}
	if z, err := (connect.Decimal{}).Rescale(1 << 30); err != nil || z.Scale != 1<<30 {
		t.Errorf("zero rescales freely: %v %v", z, err)
	}
}

func TestLogicalEncodings(t *testing.T) {
	dec := connect.DecimalBuilder(2).MustBuild()
	for _, tc := range []struct {
		name    string
		schema  *connect.Schema
		logical any
		encoded any
	}{
		// Kafka's test value: 1.56 is the two's complement bytes 0x00 0x9c.
		{"decimal", dec, connect.Decimal{Unscaled: big.NewInt(156), Scale: 2}, []byte{0x00, 0x9c}},
		{"negative decimal", dec, connect.Decimal{Unscaled: big.NewInt(-129), Scale: 2}, []byte{0xff, 0x7f}},
		{"minus one", dec, connect.Decimal{Unscaled: big.NewInt(-1), Scale: 2}, []byte{0xff}},
		{"zero", dec, connect.Decimal{Unscaled: big.NewInt(0), Scale: 2}, []byte{0x00}},
		{"date", connect.DateSchema, time.Date(1997, 5, 19, 0, 0, 0, 0, time.UTC), int32(10000)},
		{"date before 1970", connect.DateSchema, time.Date(1969, 12, 31, 0, 0, 0, 0, time.UTC), int32(-1)},
		{"time", connect.TimeSchema, time.Date(1970, 1, 1, 4, 0, 0, 0, time.UTC), int32(14400000)},
		{"timestamp", connect.TimestampSchema, time.UnixMilli(4000000000).UTC(), int64(4000000000)},
		{"not logical", connect.Int32Schema, int32(5), int32(5)},
	} {
		got, err := connect.EncodeLogical(tc.schema, tc.logical)
		if err != nil || !equalEncoded(got, tc.encoded) {
			t.Errorf("%s: encoded %#v, %v; want %#v", tc.name, got, err, tc.encoded)
		}
		back, err := connect.DecodeLogical(tc.schema, tc.encoded)
		if err != nil || connect.ValidateValue(tc.schema, back) != nil {
			t.Errorf("%s: decoded %#v, %v", tc.name, back, err)
		}
	}
	for _, bad := range []struct {
		schema *connect.Schema
		value  any
	}{
		{connect.DateSchema, time.Date(2000, 1, 1, 12, 0, 0, 0, time.UTC)},
		{connect.TimeSchema, time.Date(2000, 1, 1, 12, 0, 0, 0, time.UTC)},
		{dec, connect.Decimal{Unscaled: big.NewInt(1), Scale: 3}},
		{dec, 1.5},
		{connect.NewSchemaBuilder(connect.TypeBytes).Name(connect.DecimalName).MustBuild(), connect.Decimal{}},
	} {
		if _, err := connect.EncodeLogical(bad.schema, bad.value); !errors.Is(err, connect.ErrInvalidData) {
			t.Errorf("EncodeLogical(%v, %v): %v", bad.schema, bad.value, err)
		}
	}
	if _, err := connect.DecodeLogical(connect.TimeSchema, int32(86400001)); err == nil {
		t.Error("a Time past the end of the day decoded")
	}
	if _, err := connect.DecodeLogical(dec, []byte{}); err == nil {
		t.Error("an empty Decimal decoded")
	}
}

func equalEncoded(a, b any) bool {
	if ab, ok := a.([]byte); ok {
		bb, ok := b.([]byte)
		return ok && bytes.Equal(ab, bb)
	}
	return a == b
}
