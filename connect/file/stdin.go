package file

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/fjordhq/fjord/connect"
)

// lineFeeder reads standard input on a goroutine of its own, so that Poll
// can give up waiting when its context ends: a read of a terminal or pipe
// cannot be interrupted without making the descriptor non-blocking for
// every process that shares it. The goroutine hands each chunk over and
// waits for the next Poll to take it, so at most one chunk is held; it
// ends at the end of input, at a read error, or, after stop, when its
// pending read returns.
type lineFeeder struct {
	chunks chan []byte // closed at the end of input
	err    error       // the read error, set before chunks is closed
	done   chan struct{}
}

func startLineFeeder(r io.Reader) *lineFeeder {
	f := &lineFeeder{chunks: make(chan []byte), done: make(chan struct{})}
	go f.run(r)
	return f
}

func (f *lineFeeder) run(r io.Reader) {
	defer close(f.chunks)
	for {
		buf := make([]byte, readChunkBytes)
		n, err := r.Read(buf)
		if n > 0 {
			select {
			case f.chunks <- buf[:n]:
			case <-f.done:
				return
			}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				f.err = err
			}
			return
		}
	}
}

func (f *lineFeeder) stop() { close(f.done) }

// pollStdin returns the complete lines read from standard input, without
// offsets, or waits for input up to pollWait.
func (t *SourceTask) pollStdin(ctx context.Context) ([]connect.SourceRecord, error) {
	timer := time.NewTimer(pollWait)
	defer timer.Stop()
	for {
		records := t.stdinLines()
		if len(records) > 0 {
			return records, nil
		}
		if len(t.pending) > maxLineBytes {
			return nil, fmt.Errorf("file source task: standard input: a line is longer than %d bytes", maxLineBytes)
		}
		select {
		case chunk, ok := <-t.stdinReader.chunks:
			if !ok {
				if t.stdinReader.err != nil {
					return nil, fmt.Errorf("file source task: read standard input: %w", t.stdinReader.err)
				}
				wait(ctx, pollWait) // end of input: nothing more will come
				return nil, nil
			}
			t.pending = append(t.pending, chunk...)
		case <-timer.C:
			return nil, nil
		case <-ctx.Done():
			return nil, nil
		}
	}
}

// stdinLines takes up to batch.size complete lines from what was read.
func (t *SourceTask) stdinLines() []connect.SourceRecord {
	var records []connect.SourceRecord
	for len(records) < t.batchSize {
		line, n, ok := extractLine(t.pending)
		if !ok {
			break
		}
		t.pending = t.pending[n:]
		records = append(records, t.record(line, nil))
	}
	return records
}
