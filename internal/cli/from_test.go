package cli

import "testing"

func TestParseFrom(t *testing.T) {
	tests := []struct {
		in      string
		want    fromSpec
		wantErr bool
	}{
		{"beginning", fromSpec{kind: fromBeginning}, false},
		{"earliest", fromSpec{kind: fromBeginning}, false},
		{"end", fromSpec{kind: fromEnd}, false},
		{"latest", fromSpec{kind: fromEnd}, false},
		{"0", fromSpec{kind: fromOffset, offset: 0}, false},
		{"1234", fromSpec{kind: fromOffset, offset: 1234}, false},
		{"@1700000000000", fromSpec{kind: fromTimestamp, timestampMs: 1700000000000}, false},
		{"@0", fromSpec{kind: fromTimestamp}, false},
		{"@2023-11-14T22:13:20Z", fromSpec{kind: fromTimestamp, timestampMs: 1700000000000}, false},
		{"2023-11-14T22:13:20.5Z", fromSpec{kind: fromTimestamp, timestampMs: 1700000000500}, false},
		{"2023-11-14T23:13:20+01:00", fromSpec{kind: fromTimestamp, timestampMs: 1700000000000}, false},
		{"", fromSpec{}, true},
		{"-1", fromSpec{}, true},
		{"@-5", fromSpec{}, true},
		{"@", fromSpec{}, true},
		{"@soon", fromSpec{}, true},
		{"1969-12-31T23:59:59Z", fromSpec{}, true},
		{"yesterday", fromSpec{}, true},
		{"99999999999999999999", fromSpec{}, true},
	}
	for _, tt := range tests {
		got, err := parseFrom(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("parseFrom(%q) err = %v, wantErr %v", tt.in, err, tt.wantErr)
			continue
		}
		if !tt.wantErr && got != tt.want {
			t.Errorf("parseFrom(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}
