package cli

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// fromKind says where `fjord consume --from` starts in each partition.
type fromKind int

const (
	fromEnd       fromKind = iota // the log end offset: only new records
	fromBeginning                 // the log start offset
	fromOffset                    // an absolute offset
	fromTimestamp                 // the first record with a timestamp at or after a time
)

// fromSpec is a parsed --from value.
type fromSpec struct {
	kind        fromKind
	offset      int64 // for fromOffset
	timestampMs int64 // for fromTimestamp, milliseconds since the Unix epoch
}

// parseFrom reads --from: "beginning" (or "earliest"), "end" (or
// "latest"), an offset, "@" and milliseconds since the epoch, or an RFC 3339
// time with or without the "@".
func parseFrom(s string) (fromSpec, error) {
	switch s {
	case "beginning", "earliest":
		return fromSpec{kind: fromBeginning}, nil
	case "end", "latest":
		return fromSpec{kind: fromEnd}, nil
	case "":
		return fromSpec{}, errors.New("--from is empty")
	}
	if rest, ok := strings.CutPrefix(s, "@"); ok {
		ms, err := parseTimestamp(rest)
		if err != nil {
			return fromSpec{}, fmt.Errorf("--from %q: %w", s, err)
		}
		return fromSpec{kind: fromTimestamp, timestampMs: ms}, nil
	}
	if offset, err := strconv.ParseInt(s, 10, 64); err == nil {
		if offset < 0 {
			return fromSpec{}, fmt.Errorf("--from offset must not be negative, got %d", offset)
		}
		return fromSpec{kind: fromOffset, offset: offset}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return timestampSpec(t)
	}
	return fromSpec{}, fmt.Errorf("--from %q is not beginning, end, an offset, @MILLISECONDS or an RFC 3339 time", s)
}

func parseTimestamp(s string) (int64, error) {
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
		if ms < 0 {
			return 0, fmt.Errorf("timestamp must not be negative, got %d", ms)
		}
		return ms, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return 0, errors.New("not milliseconds since the epoch or an RFC 3339 time")
	}
	spec, err := timestampSpec(t)
	return spec.timestampMs, err
}

func timestampSpec(t time.Time) (fromSpec, error) {
	ms := t.UnixMilli()
	if ms < 0 {
		return fromSpec{}, fmt.Errorf("time %s is before the Unix epoch", t.Format(time.RFC3339))
	}
	return fromSpec{kind: fromTimestamp, timestampMs: ms}, nil
}

// offsetOption is the client's start offset for --from, used where the
// offset cannot be looked up beforehand (a partition created after start).
func (f fromSpec) offsetOption() kgo.Offset {
	switch f.kind {
	case fromBeginning:
		return kgo.NewOffset().AtStart()
	case fromOffset:
		return kgo.NewOffset().At(f.offset)
	case fromTimestamp:
		return kgo.NewOffset().AfterMilli(f.timestampMs)
	}
	return kgo.NewOffset().AtEnd()
}
