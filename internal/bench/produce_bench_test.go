package bench

import (
	"context"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/fjordhq/fjord/internal/cli"
	"github.com/fjordhq/fjord/internal/fjordtest"
)

// BenchmarkProduceToAck measures the broker's produce path from a kgo client
// on loopback: "sync" is one record at a time (round trip plus fsync, the
// latency floor), "async-1KiB" pipelines records and waits for all acks
// (throughput). Allocations are the client's, not the broker's, which runs
// in its own process.
func BenchmarkProduceToAck(b *testing.B) {
	if testing.Short() {
		b.Skip("starts a server")
	}
	srv := fjordtest.Start(b, fjordtest.Options{})
	o := Options{Brokers: []string{srv.Addr}, Timeout: cli.DefaultTimeout, Topic: "bench", Partitions: 1, ReplicationFactor: -1}
	if err := ensureTopic(context.Background(), o); err != nil {
		b.Fatal(err)
	}
	value := payload(1024)
	newProducer := func(b *testing.B) *kgo.Client {
		cl, err := kgo.NewClient(kgo.SeedBrokers(srv.Addr), kgo.DefaultProduceTopic("bench"), kgo.ProducerLinger(0))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(cl.Close)
		if err := cl.ProduceSync(context.Background(), &kgo.Record{Value: value}).FirstErr(); err != nil {
			b.Fatal(err)
		}
		return cl
	}
	b.Run("sync", func(b *testing.B) {
		cl := newProducer(b)
		b.ReportAllocs()
		b.SetBytes(int64(len(value)))
		for b.Loop() {
			if err := cl.ProduceSync(context.Background(), &kgo.Record{Value: value}).FirstErr(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("async-1KiB", func(b *testing.B) {
		cl := newProducer(b)
		failure := &firstError{cancel: func() {}}
		promise := func(_ *kgo.Record, err error) {
			if err != nil {
				failure.set(err)
			}
		}
		b.ReportAllocs()
		b.SetBytes(int64(len(value)))
		b.ResetTimer()
		// A counted loop rather than b.Loop: the timer must keep running
		// through the Flush that waits for the acknowledgements.
		for range b.N {
			cl.Produce(context.Background(), &kgo.Record{Value: value}, promise)
		}
		if err := cl.Flush(context.Background()); err != nil {
			b.Fatal(err)
		}
		if err := failure.get(); err != nil {
			b.Fatal(err)
		}
	})
}
