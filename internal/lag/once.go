package lag

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrUnknownGroup is returned for a group the sample did not report.
var ErrUnknownGroup = errors.New("unknown group")

// SampleGroup rates one group, described by the caller, from a single
// sample, as a command line does that cannot watch a trend: a partition is
// ERROR, OK (no lag), STOPPED (lag and no members) or else UNKNOWN, since
// STALLED and WARNING need a window.
func SampleGroup(ctx context.Context, src Source, info GroupInfo, now time.Time) (GroupLag, error) {
	m := NewMonitor(oneGroup{Source: src, info: info}, Options{Now: func() time.Time { return now }})
	if err := m.Poll(ctx); err != nil {
		return GroupLag{}, err
	}
	g, ok := m.Group(info.Group)
	if !ok {
		return GroupLag{}, fmt.Errorf("group %s: %w", info.Group, ErrUnknownGroup)
	}
	return g, nil
}

// oneGroup narrows a source to one group the caller described.
type oneGroup struct {
	Source
	info GroupInfo
}

func (o oneGroup) Groups(context.Context) ([]GroupInfo, error) { return []GroupInfo{o.info}, nil }
