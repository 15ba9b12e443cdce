package file_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/fjordhq/fjord/connect"
	"github.com/fjordhq/fjord/connect/file"
)

// The source reads the lines of a file as records, with the position
// after each line as its offset; the sink appends record values to a
// file. A worker runs them; here they run by hand, with stand-ins for the
// worker's contexts.
func Example() {
	dir, err := os.MkdirTemp("", "filestream")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	in, out := filepath.Join(dir, "in.txt"), filepath.Join(dir, "out.txt")
	if err := os.WriteFile(in, []byte("hello\nworld\nincomplete"), 0o644); err != nil {
		log.Fatal(err)
	}

	source := (&file.SourceConnector{}).NewTask()
	if err := source.Start(sourceContext{offsets: &offsetStore{}}, map[string]string{"file": in, "topic": "lines"}); err != nil {
		log.Fatal(err)
	}
	defer source.Stop()
	records, err := source.Poll(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range records {
		fmt.Println(r.Topic, r.Value, r.SourceOffset)
	}

	sink := (&file.SinkConnector{}).NewTask()
	if err := sink.Start(sinkContext{}, map[string]string{"file": out}); err != nil {
		log.Fatal(err)
	}
	var sinkRecords []connect.SinkRecord
	for i, r := range records {
		sinkRecords = append(sinkRecords, connect.SinkRecord{Topic: r.Topic, Offset: int64(i), ValueSchema: r.ValueSchema, Value: r.Value})
	}
	if err := sink.Put(context.Background(), sinkRecords); err != nil {
		log.Fatal(err)
	}
	if err := sink.Flush(context.Background(), nil); err != nil {
		log.Fatal(err)
	}
	if err := sink.Stop(); err != nil {
		log.Fatal(err)
	}
	written, _ := os.ReadFile(out)
	fmt.Printf("%q\n", written)
	// Output:
	// lines hello map[position:6]
	// lines world map[position:12]
	// "hello\nworld\n"
}
