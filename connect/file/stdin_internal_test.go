package file

import (
	"context"
	"io"
	"testing"
	"time"
)

func TestSourceReadsStandardInput(t *testing.T) {
	r, w := io.Pipe()
	task := &SourceTask{stdin: r}
	if err := task.Start(nil, map[string]string{"topic": "t"}); err != nil {
		t.Fatal(err)
	}
	go func() {
		_, _ = w.Write([]byte("one\ntw"))
		_, _ = w.Write([]byte("o\n"))
	}()
	var got []string
	for len(got) < 2 {
		records, err := task.Poll(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, rec := range records {
			if rec.SourcePartition != nil || rec.SourceOffset != nil {
				t.Errorf("standard input has no offsets: %+v", rec)
			}
			got = append(got, rec.Value.(string))
		}
	}
	if got[0] != "one" || got[1] != "two" {
		t.Fatalf("lines %q", got)
	}
	// With nothing to read, Poll returns when its context ends.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if records, err := task.Poll(ctx); records != nil || err != nil {
		t.Fatalf("idle poll: %v %v", records, err)
	}
	feeder := task.stdinReader
	if err := task.Stop(); err != nil {
		t.Fatal(err)
	}
	_ = w.Close() // the pending read returns: the reader goroutine ends
	for range feeder.chunks {
	}
}

func TestStandardInputEnds(t *testing.T) {
	r, w := io.Pipe()
	task := &SourceTask{stdin: r}
	if err := task.Start(nil, map[string]string{"topic": "t"}); err != nil {
		t.Fatal(err)
	}
	defer task.Stop()
	go func() {
		_, _ = w.Write([]byte("last\n"))
		_ = w.Close()
	}()
	records, err := task.Poll(context.Background())
	if err != nil || len(records) != 1 || records[0].Value != "last" {
		t.Fatalf("%v %v", records, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if records, err := task.Poll(ctx); records != nil || err != nil {
		t.Fatalf("after the end: %v %v", records, err)
	}
}
