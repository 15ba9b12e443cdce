// Package postgres holds fjord's PostgreSQL connectors, a sink and a
// query-based source, configured with the names of Confluent's JDBC
// connectors so that configurations and habits carry over. Register adds
// them to a connect.Registry: PostgresSinkConnector
// (io.fjord.connect.postgres.PostgresSinkConnector, alias PostgresSink) and
// PostgresSourceConnector (io.fjord.connect.postgres.PostgresSourceConnector,
// alias PostgresSource). They use only the public connect API and pgx.
//
// # Sink
//
// The sink writes each record as a row of the table named by
// table.name.format (${topic} by default). Values must be Structs with
// schemas; their fields are the columns. Keys depend on pk.mode: none
// (rows are appended), record_key (the key, a primitive written to the
// column pk.fields names, __connect_key by default, or a Struct whose
// fields, or those of pk.fields, are the key columns) or record_value
// (fields of the value). insert.mode=upsert writes with INSERT ... ON
// CONFLICT (key) DO UPDATE, so that a record written twice does no harm;
// delete.enabled=true (with pk.mode=record_key) makes a tombstone delete
// its key's row. auto.create creates a missing table from the value's
// schema, the key as its primary key; auto.evolve adds missing columns.
//
//	connector.class=PostgresSink
//	topics=orders
//	connection.url=postgres://app@db.example.com:5432/shop?sslmode=require
//	connection.password=${file:/etc/fjord/secrets.properties:pg.password}
//	table.name.format=kafka_${topic}
//	insert.mode=upsert
//	pk.mode=record_key
//	delete.enabled=true
//	auto.create=true
//
// Put buffers records; Flush writes them in one transaction, with
// statements of up to batch.size rows sent together in one round trip.
// Once batch.size records wait, Put writes them without waiting for the
// flush, which bounds a task's memory; those rows are committed before the
// worker commits their offsets, so a crash writes them again (at least
// once, harmless with upsert). Within a transaction a key's operations
// keep their order: with upsert only the last operation on each key is
// written (an upsert then a tombstone of one key deletes the row); with
// insert, runs of consecutive rows share statements. When the server
// refuses the data (a constraint, a value out of range), the task writes
// the rows one at a time to find the record at fault and fails with an
// error naming its topic, partition and offset (wrapping
// connect.ErrInvalidData), or reports it to the dead letter queue when the
// worker has one and goes on. Lost connections, timeouts, deadlocks and
// serialization failures are connect.Retriable.
//
// # Source
//
// The source copies the tables of table.include.list to topics named
// topic.prefix plus the table's name as listed (without SQL's double
// quotes: "Order Lines" gives Order Lines), querying each table every
// poll.interval.ms for rows past the last it read, in one of three modes:
//
//   - incrementing: rows whose incrementing.column.name (an integer
//     column) is above the last one read. It sees new rows only, not
//     updates or deletes.
//
//   - timestamp: rows whose timestamp.column.name is past the last one
//     read, ordered by timestamp, so it sees inserts and updates if the
//     column is set on each. Rows of one timestamp are paged by their
//     physical location, and the offset moves only past a timestamp all of
//     whose rows were read, so a restart reads an unfinished timestamp's
//     rows again.
//
//   - timestamp+incrementing: the same, ordered by timestamp then the
//     incrementing column, which makes the offset of every row exact.
//
//     connector.class=PostgresSource
//     connection.url=host=db.example.com dbname=shop user=reader
//     table.include.list=orders,sales.refunds
//     mode=timestamp+incrementing
//     timestamp.column.name=updated_at
//     incrementing.column.name=id
//     timestamp.delay.interval.ms=60000
//     topic.prefix=pg-
//
// Each record's value is a Struct of the row's columns, named after the
// table, with a schema from the column types (read again every round, so
// a new column shows up); its key is the primary key's single column, or a
// Struct of its columns (named table.Key), or nil for a table without one.
// The source partition is {"table": "<schema>.<table>"}, with the schema
// and name as the catalog spells them; the source offset has the JDBC
// source connector's fields: {"incrementing": id},
// {"timestamp": milliseconds since the epoch, "timestamp_nanos":
// nanoseconds within that second}, or all three. (The JDBC connector's
// partitions name the database too; offsets do not carry over between the
// two connectors.) A Poll returns at most batch.max.rows rows of one
// table; when a round found nothing new it waits for the next, a second
// at most per call, and returns promptly when its context is canceled.
// TaskConfigs deals the tables out to at most tasks.max tasks.
//
// # Known limits of the query modes
//
// Like the JDBC source connector, the query modes see a row when its
// transaction has committed by the time a query runs. A row committed
// after a query that read past it is missed: in the incrementing mode, a
// row whose sequence value was taken before another's but committed after
// that other was read; in the timestamp modes, a row whose timestamp is
// earlier than one already read, as with a timestamp set to now() (the
// transaction's start) by a long transaction. timestamp.delay.interval.ms
// makes the source read only rows older than that delay: set it above the
// longest transaction. Deleted rows are never seen, nor rows whose
// incrementing or timestamp column is null. Change data capture from the
// write-ahead log is the complete answer, and a connector of its own.
// Values PostgreSQL has but Connect does not (infinite dates and
// timestamps, NaN in a numeric(p,s)) fail the task with an error naming
// the table. Timestamps and times are read with Connect's milliseconds;
// offsets keep PostgreSQL's microseconds.
//
// # Type mapping
//
//	Connect      sink creates             source reads
//	int8         smallint                 -
//	int16        smallint                 smallint
//	int32        integer                  integer
//	int64        bigint                   bigint
//	float32      real                     real
//	float64      double precision         double precision, numeric without typmod
//	boolean      boolean                  boolean
//	string       text                     text, varchar, char; any other type as its text
//	bytes        bytea                    bytea
//	Decimal(s)   numeric(p,s)             numeric(p,s)
//	Date         date                     date
//	Time         time                     time
//	Timestamp    timestamptz              timestamptz, timestamp
//
// The sink declares a Decimal's column with the schema's scale and its
// connect.decimal.precision parameter, or PostgreSQL's largest precision,
// 1000, so that the source reads it back as the same Decimal; the source
// sets that parameter. An optional field is a nullable column; a required
// one is NOT NULL. Arrays, maps and nested structs cannot be written.
//
// # Concurrency
//
// The worker calls each connector and task from one goroutine; a task owns
// one connection, opened on first use and again after it broke, and starts
// no goroutines. Connectors share nothing with their tasks but
// configurations.
package postgres
