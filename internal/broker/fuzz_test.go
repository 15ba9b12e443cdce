package broker_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/fjordhq/fjord/internal/broker"
	"github.com/fjordhq/fjord/internal/config"
	"github.com/fjordhq/fjord/internal/metadata"
	"github.com/fjordhq/fjord/internal/server"
	"github.com/fjordhq/fjord/internal/vfs"
)

// fuzzTopic exists on the fuzzed broker, so that seeds naming it reach
// past the unknown-topic checks into the partition code.
const fuzzTopic = "fuzz"

// FuzzRequest sends arbitrary frames to a real broker: the request
// handlers of this package behind the network server, over a loopback
// connection. Whatever the bytes, the broker must not panic, must answer
// or close the connection, and must go on serving other connections.
func FuzzRequest(f *testing.F) {
	addr := startInProcessBroker(f)
	for key, route := range broker.New(broker.Options{}).Routes() {
		// Versions answered with a refusal are decoded too.
		from := route.MinVersion
		if route.Refuse != nil {
			from = 0
		}
		for v := from; v <= route.MaxVersion; v++ {
			for _, req := range seedRequests(key) {
				req.SetVersion(v)
				f.Add(requestFrame(req, 7))
			}
		}
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		if len(frame) > 1<<16 {
			return
		}
		exchangeFuzzedFrame(t, addr, frame)
		// Whatever that connection did, a new one is served.
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("broker stopped accepting after %x: %v", frame, err)
		}
		defer conn.Close()
		apiVersions := kmsg.NewPtrApiVersionsRequest()
		if got := sendAndRead(t, conn, requestFrame(apiVersions, 1), 10*time.Second); got != answered {
			t.Fatalf("broker stopped answering ApiVersions after %x: %v", frame, got)
		}
	})
}

// seedRequests are, per API, a request of zero values and one naming the
// fuzz topic's partition, the two shapes the mutator starts from.
func seedRequests(key int16) []kmsg.Request {
	zero := kmsg.RequestForKey(key)
	named := kmsg.RequestForKey(key)
	switch r := named.(type) {
	case *kmsg.ProduceRequest:
		r.Acks, r.TimeoutMillis = -1, 100
		r.Topics = []kmsg.ProduceRequestTopic{{Topic: fuzzTopic, Partitions: []kmsg.ProduceRequestTopicPartition{{Partition: 0}}}}
	case *kmsg.FetchRequest:
		r.MaxBytes = 1 << 20
		r.Topics = []kmsg.FetchRequestTopic{{Topic: fuzzTopic, Partitions: []kmsg.FetchRequestTopicPartition{{Partition: 0, PartitionMaxBytes: 1 << 20}}}}
	case *kmsg.ListOffsetsRequest:
		r.Topics = []kmsg.ListOffsetsRequestTopic{{Topic: fuzzTopic, Partitions: []kmsg.ListOffsetsRequestTopicPartition{{Partition: 0, Timestamp: -1}}}}
	case *kmsg.MetadataRequest:
		name := fuzzTopic
		r.Topics = []kmsg.MetadataRequestTopic{{Topic: &name}}
	case *kmsg.OffsetCommitRequest:
		r.Group = "fuzz-group"
		r.Topics = []kmsg.OffsetCommitRequestTopic{{Topic: fuzzTopic, Partitions: []kmsg.OffsetCommitRequestTopicPartition{{Partition: 0, Offset: 1}}}}
	case *kmsg.OffsetFetchRequest:
		r.Group = "fuzz-group"
	case *kmsg.DeleteRecordsRequest:
		r.TimeoutMillis = 100
		r.Topics = []kmsg.DeleteRecordsRequestTopic{{Topic: fuzzTopic, Partitions: []kmsg.DeleteRecordsRequestTopicPartition{{Partition: 0, Offset: 0}}}}
	case *kmsg.OffsetForLeaderEpochRequest:
		r.ReplicaID = -1
		r.Topics = []kmsg.OffsetForLeaderEpochRequestTopic{{Topic: fuzzTopic, Partitions: []kmsg.OffsetForLeaderEpochRequestTopicPartition{{Partition: 0}}}}
	case *kmsg.DescribeConfigsRequest:
		r.Resources = []kmsg.DescribeConfigsRequestResource{{ResourceType: kmsg.ConfigResourceTypeTopic, ResourceName: fuzzTopic}}
	default:
		return []kmsg.Request{zero}
	}
	return []kmsg.Request{zero, named}
}

// requestFrame is a request as a client sends it, without the length
// prefix: header v1 (v2 for flexible versions) and body.
func requestFrame(req kmsg.Request, correlationID int32) []byte {
	frame := binary.BigEndian.AppendUint16(nil, uint16(req.Key()))
	frame = binary.BigEndian.AppendUint16(frame, uint16(req.GetVersion()))
	frame = binary.BigEndian.AppendUint32(frame, uint32(correlationID))
	frame = binary.BigEndian.AppendUint16(frame, 0xffff) // null client id
	if req.IsFlexible() {
		frame = append(frame, 0) // no tagged fields
	}
	return req.AppendTo(frame)
}

type exchangeOutcome int

const (
	answered exchangeOutcome = iota
	closed
	stillWaiting
)

func (o exchangeOutcome) String() string {
	return [...]string{"answered", "closed", "still waiting"}[o]
}

// exchangeFuzzedFrame sends frame, then an ApiVersions request behind it
// on the same connection: responses come in request order, so the
// ApiVersions answer means the fuzzed request was answered (or, for
// acks=0, needed none). A request may legitimately wait (a long-poll
// Fetch, a JoinGroup with a long rebalance timeout); the caller then
// only checks that the broker still serves others.
func exchangeFuzzedFrame(t *testing.T, addr string, frame []byte) {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	probe := requestFrame(kmsg.NewPtrApiVersionsRequest(), 1<<30)
	msg := binary.BigEndian.AppendUint32(nil, uint32(len(frame)))
	msg = append(msg, frame...)
	msg = binary.BigEndian.AppendUint32(msg, uint32(len(probe)))
	msg = append(msg, probe...)
	if _, err := conn.Write(msg); err != nil {
		return // closed before the whole frame went in
	}
	_ = readUntilCorrelation(t, conn, 1<<30, 2*time.Second)
}

func sendAndRead(t *testing.T, conn net.Conn, frame []byte, wait time.Duration) exchangeOutcome {
	msg := binary.BigEndian.AppendUint32(nil, uint32(len(frame)))
	if _, err := conn.Write(append(msg, frame...)); err != nil {
		return closed
	}
	return readUntilCorrelation(t, conn, int32(binary.BigEndian.Uint32(frame[4:8])), wait)
}

// readUntilCorrelation reads responses until the one for correlationID.
// Every response must be a well-formed frame of a bounded size.
func readUntilCorrelation(t *testing.T, conn net.Conn, correlationID int32, wait time.Duration) exchangeOutcome {
	if err := conn.SetReadDeadline(time.Now().Add(wait)); err != nil {
		t.Fatal(err)
	}
	var size [4]byte
	for {
		if _, err := io.ReadFull(conn, size[:]); err != nil {
			var netErr net.Error
			if errors.As(err, &netErr) && netErr.Timeout() {
				return stillWaiting
			}
			return closed
		}
		n := binary.BigEndian.Uint32(size[:])
		if n < 4 || n > 64<<20 {
			t.Fatalf("response frame of %d bytes", n)
		}
		body := make([]byte, n)
		if _, err := io.ReadFull(conn, body); err != nil {
			return closed
		}
		if int32(binary.BigEndian.Uint32(body)) == correlationID {
			return answered
		}
	}
}

// startInProcessBroker runs a one-node cluster in this process, as
// `fjord server` does, with a fuzz topic of two partitions holding a few
// records, and returns its address.
func startInProcessBroker(tb testing.TB) string {
	return startInProcessBrokerWith(tb, nil)
}

// startInProcessBrokerWith is startInProcessBroker with extra broker
// properties.
func startInProcessBrokerWith(tb testing.TB, props map[string]string) string {
	dir := tb.TempDir()
	all := map[string]string{"log.dirs": dir, "node.id": "1"}
	maps.Copy(all, props)
	cfg, err := config.ParseBroker(all)
	if err != nil {
		tb.Fatal(err)
	}
	logger := slog.New(slog.DiscardHandler)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	tb.Cleanup(func() { cancel(); wg.Wait() })

	raftAddr, transport := raft.NewInmemTransport("fuzz-node-1")
	tb.Cleanup(func() { transport.Close() })
	meta, err := metadata.Start(ctx, metadata.Options{Dir: dir, NodeID: cfg.NodeID, Logger: logger, Broker: cfg,
		Transport: transport, LocalAddr: raftAddr})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { meta.Close() })
	if err := meta.WaitReady(ctx); err != nil {
		tb.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tcp := ln.Addr().(*net.TCPAddr)
	if err := meta.RegisterBroker(ctx, metadata.BrokerRegistration{NodeID: cfg.NodeID, Host: "127.0.0.1", Port: int32(tcp.Port)}); err != nil {
		tb.Fatal(err)
	}
	for {
		if br, ok := meta.Image().Broker(cfg.NodeID); ok && !br.Fenced {
			break
		}
		time.Sleep(10 * time.Millisecond) // polling the image: metadata offers no change wait
	}
	wg.Go(func() { meta.RunBrokerHeartbeats(ctx, cfg.NodeID) })
	b := broker.New(broker.Options{NodeID: cfg.NodeID, AdvertiseHost: "127.0.0.1", AdvertisePort: int32(tcp.Port),
		DataDir: dir, Config: cfg, FS: vfs.Default(), Meta: meta, Logger: logger})
	if err := b.Start(ctx); err != nil {
		tb.Fatal(err)
	}
	srv := server.New(b.Routes(), server.DefaultLimits(), logger)
	wg.Go(func() { _ = srv.Serve(ctx, ln) })
	wg.Go(func() { b.Run(ctx) })
	tb.Cleanup(func() { cancel(); wg.Wait(); b.Close() })

	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(tcp.Port))
	seedFuzzTopic(tb, addr)
	return addr
}

func seedFuzzTopic(tb testing.TB, addr string) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.DefaultProduceTopic(fuzzTopic))
	if err != nil {
		tb.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := kadm.NewClient(cl).CreateTopic(ctx, 2, 1, nil, fuzzTopic); err != nil {
		tb.Fatal(err)
	}
	for i := range 10 {
		rec := &kgo.Record{Key: []byte(strconv.Itoa(i)), Value: []byte(fmt.Sprintf("value %d", i))}
		if err := cl.ProduceSync(ctx, rec).FirstErr(); err != nil {
			tb.Fatal(err)
		}
	}
}
