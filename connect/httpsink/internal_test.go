package httpsink

import (
	"errors"
	"math"
	"math/big"
	"net/http"
	"testing"
	"time"

	"github.com/fjordhq/fjord/connect"
)

func TestBackoff(t *testing.T) {
	lowest := func(int64) int64 { return 0 }
	highest := func(n int64) int64 { return n - 1 }
	base, limit := 3*time.Second, 60*time.Second
	for _, tc := range []struct {
		attempt  int
		low, top time.Duration
	}{
		{0, 1500 * time.Millisecond, 3 * time.Second},
		{1, 3 * time.Second, 6 * time.Second},
		{4, 24 * time.Second, 48 * time.Second},
		{5, 30 * time.Second, 60 * time.Second}, // 96s capped at 60s
		{1000, 30 * time.Second, 60 * time.Second},
	} {
		if got := backoff(tc.attempt, base, limit, lowest); got != tc.low {
			t.Errorf("backoff(%d) with the least jitter = %v, want %v", tc.attempt, got, tc.low)
		}
		if got := backoff(tc.attempt, base, limit, highest); got != tc.top {
			t.Errorf("backoff(%d) with the most jitter = %v, want %v", tc.attempt, got, tc.top)
		}
	}
	if got := backoff(3, 0, limit, highest); got != 0 {
		t.Errorf("backoff with retry.backoff.ms=0 = %v", got)
	}
	if got := backoff(3, base, time.Second, highest); got != time.Second {
		t.Errorf("backoff capped below its base = %v", got)
	}
}

func TestRetryAfter(t *testing.T) {
	date := "Fri, 01 Mar 2024 13:45:30 GMT"
	for _, tc := range []struct {
		header map[string]string
		want   time.Duration
		ok     bool
	}{
		{map[string]string{}, 0, false},
		{map[string]string{"Retry-After": "2"}, 2 * time.Second, true},
		{map[string]string{"Retry-After": " 0 "}, 0, true},
		{map[string]string{"Retry-After": "-1"}, 0, false},
		{map[string]string{"Retry-After": "soon"}, 0, false},
		{map[string]string{"Retry-After": "99999999999999999"}, maxRetryAfterSeconds * time.Second, true},
		{map[string]string{"Retry-After": "Fri, 01 Mar 2024 13:46:00 GMT", "Date": date}, 30 * time.Second, true},
		{map[string]string{"Retry-After": "Fri, 01 Mar 2024 13:00:00 GMT", "Date": date}, 0, true},
		{map[string]string{"Retry-After": "Fri, 01 Mar 2024 13:46:00 GMT"}, 0, false}, // no Date to measure from
	} {
		h := http.Header{}
		for k, v := range tc.header {
			h.Set(k, v)
		}
		if got, ok := retryAfter(h); got != tc.want || ok != tc.ok {
			t.Errorf("retryAfter(%v) = %v, %v; want %v, %v", tc.header, got, ok, tc.want, tc.ok)
		}
	}
}

func TestJSONValues(t *testing.T) {
	cyclic := []any{nil}
	cyclic[0] = cyclic
	for _, tc := range []struct {
		schema *connect.Schema
		value  any
		want   string
	}{
		{nil, int8(-1), `-1`},
		{nil, float32(0.1), `0.1`},
		{nil, 1e21, `1e+21`},
		{nil, 2.0, `2`},
		{nil, math.NaN(), `"NaN"`},
		{nil, math.Inf(-1), `"-Infinity"`},
		{nil, "tab\t\"q\" \\ \x01 <&> é \u2028 \xff", `"tab\t\"q\" \\ \u0001 <&> é \u2028 \ufffd"`},
		{nil, connect.Decimal{}, `0`},
		{nil, connect.Decimal{Unscaled: big.NewInt(-15), Scale: -2}, `-1.5E+3`},
		{nil, time.Date(2024, 3, 1, 14, 45, 30, 0, time.FixedZone("CET", 3600)), `"2024-03-01T13:45:30.000Z"`},
		{nil, map[any]any{}, `{}`},
		{nil, map[any]any{"b": nil, "a": []any{}}, `{"a":[],"b":null}`},
		{nil, map[any]any{int32(2): "two", int32(1): "one"}, `[[1,"one"],[2,"two"]]`},
		{nil, map[any]any{"s": 1.5, int64(1): true}, `[["s",1.5],[1,true]]`},
		{connect.MapOf(connect.Int64Schema, connect.StringSchema).MustBuild(), map[any]any{int64(1): "x"}, `[[1,"x"]]`},
		{connect.ArrayOf(connect.DateSchema).MustBuild(), []any{time.Unix(0, 0)}, `["1970-01-01"]`},
	} {
		got, err := appendJSON(nil, tc.schema, tc.value, 0)
		if err != nil || string(got) != tc.want {
			t.Errorf("JSON of %#v = %s, %v; want %s", tc.value, got, err, tc.want)
		}
	}
	for _, bad := range []any{cyclic, struct{}{}, map[any]any{"k": uint(1)}, connect.NewStruct(nil)} {
		if got, err := appendJSON(nil, nil, bad, 0); !errors.Is(err, connect.ErrInvalidData) {
			t.Errorf("JSON of %T = %s, %v; want an ErrInvalidData", bad, got, err)
		}
	}
}

func TestStructDefaultsAndNulls(t *testing.T) {
	schema := connect.NewSchemaBuilder(connect.TypeStruct).
		Field("n", connect.NewSchemaBuilder(connect.TypeInt32).Default(int32(5)).MustBuild()).
		Field("o", connect.OptionalStringSchema).
		Field("nested", connect.NewSchemaBuilder(connect.TypeStruct).Optional().Field("x", connect.Float64Schema).MustBuild()).
		MustBuild()
	got, err := appendJSON(nil, schema, connect.NewStruct(schema), 0)
	if want := `{"n":5,"o":null,"nested":null}`; err != nil || string(got) != want {
		t.Errorf("JSON %s, %v; want %s", got, err, want)
	}
	got, err = appendValue(nil, false, connect.TimestampSchema, time.Date(2024, 3, 1, 13, 45, 30, 0, time.UTC))
	if want := `2024-03-01T13:45:30.000Z`; err != nil || string(got) != want {
		t.Errorf("string form %s, %v; want %s", got, err, want)
	}
}
