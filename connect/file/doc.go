// Package file holds Kafka's example connectors, FileStreamSourceConnector
// and FileStreamSinkConnector, with their class names and configuration
// keys, written against the public connector API (package connect) only.
//
// The source reads lines from a file ("file"), or from standard input when
// it is not set, and writes each line to "topic" as a record with a string
// value (schema connect.StringSchema) and no key. A line ends at "\n",
// "\r\n" or "\r"; a last line without its end is held back until it is
// completed. Each record carries source partition {"filename": file} and
// source offset {"position": P}, P the byte offset just after the line, so
// that a restarted task resumes after the last line committed. The task
// follows the file as it grows, as tail -f does, and waits for a file that
// does not exist yet. Lines from standard input have no offsets.
//
// The sink appends each record's value to a file ("file"), or to standard
// output, as one line: a string as it is, bytes as they are, null as
// "null", any other value in the string form Kafka's StringConverter
// writes. Flush writes what Put buffered and fsyncs the file.
//
// # Differences from Kafka
//
//   - Positions count bytes. Kafka counts characters of the decoded text
//     but seeks by bytes, so it resumes at the wrong place after lines
//     with multibyte characters.
//   - Records carry no timestamp: the producer sets it when it writes
//     them, instead of the task when it reads them.
//   - A line is at most maxLineBytes long (8 MiB): a longer line fails the
//     task, where Kafka grows its buffer without bound.
//   - Reading standard input cannot be interrupted in Go without changing
//     the descriptor for other processes, so a goroutine reads it; after
//     Stop it ends when its pending read returns (at the next input or at
//     the end of input).
//
// # Concurrency
//
// As package connect says, the worker calls each connector and task from
// one goroutine at a time; they hold no locks.
package file

import (
	"fmt"

	"github.com/fjordhq/fjord/connect"
)

// Version is the version the connectors report: the Kafka release whose
// connectors of the same classes they follow.
const Version = "4.0.0"

// The connectors' class names, for connector.class (aliases
// FileStreamSource and FileStreamSink work too).
const (
	SourceConnectorClass = "org.apache.kafka.connect.file.FileStreamSourceConnector"
	SinkConnectorClass   = "org.apache.kafka.connect.file.FileStreamSinkConnector"
)

// Configuration keys and defaults, Kafka's.
const (
	// FileConfig is the file to read or append to; empty or unset means
	// standard input or output.
	FileConfig = "file"
	// TopicConfig is the topic the source writes to.
	TopicConfig = "topic"
	// BatchSizeConfig is the most records a source poll returns.
	BatchSizeConfig  = "batch.size"
	DefaultBatchSize = 2000
)

// The keys of the source's partitions and offsets.
const (
	FilenameField = "filename"
	PositionField = "position"
)

// Register adds both connectors to r.
func Register(r *connect.Registry) error {
	for _, p := range []connect.Plugin{
		{Class: SourceConnectorClass, New: func() connect.Connector { return &SourceConnector{} }},
		{Class: SinkConnectorClass, New: func() connect.Connector { return &SinkConnector{} }},
	} {
		if err := r.Register(p); err != nil {
			return fmt.Errorf("file connectors: %w", err)
		}
	}
	return nil
}
