package clustertest_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/fjordhq/fjord/internal/clustertest"
)

// TestClientsGetTheAddressesOfTheirListener: brokers with an EXTERNAL
// listener on 127.0.0.2 and the inter-broker PLAINTEXT one on 127.0.0.1
// answer Metadata and FindCoordinator with the addresses of the listener
// the client came in on, and a replicated topic and a consumer group work
// through EXTERNAL while the brokers replicate over PLAINTEXT.
func TestClientsGetTheAddressesOfTheirListener(t *testing.T) {
	c := clustertest.Start(t, 2, map[string]string{
		"listeners":                      "EXTERNAL://127.0.0.2:0,PLAINTEXT://127.0.0.1:0",
		"listener.security.protocol.map": "EXTERNAL:PLAINTEXT,PLAINTEXT:PLAINTEXT",
		"inter.broker.listener.name":     "PLAINTEXT",
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cl := newClient(t, c.Addrs()...) // the first listener: EXTERNAL
	adm := kadm.NewClient(cl)
	meta, err := adm.BrokerMetadata(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(meta.Brokers) != 2 {
		t.Fatalf("brokers %+v, want 2", meta.Brokers)
	}
	for _, b := range meta.Brokers {
		if b.Host != "127.0.0.2" {
			t.Fatalf("broker %d advertised at %s:%d to an EXTERNAL client, want 127.0.0.2", b.NodeID, b.Host, b.Port)
		}
	}
	if _, err := adm.CreateTopic(ctx, 1, 2, nil, "via-external"); err != nil {
		t.Fatal(err)
	}
	produceNumbered(ctx, t, cl, "via-external", 0, 20)
	for _, co := range adm.FindGroupCoordinators(ctx, "g-external") {
		if co.Err != nil || co.Host != "127.0.0.2" {
			t.Fatalf("group coordinator %+v, want one on 127.0.0.2", co)
		}
	}
	consumer, err := kgo.NewClient(kgo.SeedBrokers(c.Addrs()...), kgo.ConsumeTopics("via-external"),
		kgo.ConsumerGroup("g-external"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer consumer.Close()
	got := 0
	for got < 20 {
		fs := consumer.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			t.Fatal(err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			got++
		})
	}
	if err := consumer.CommitUncommittedOffsets(ctx); err != nil {
		t.Fatal(err)
	}
	for _, nd := range c.Nodes {
		if host, _, _ := net.SplitHostPort(nd.Addr()); host != "127.0.0.2" {
			t.Fatalf("node %d ready at %s, want its first listener on 127.0.0.2", nd.ID, nd.Addr())
		}
	}
}
