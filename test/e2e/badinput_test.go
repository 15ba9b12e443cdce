package e2e

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// badInputTopic is the existing topic raw produce requests go to.
const badInputTopic = "bad-input"

// encodeBatch builds a valid magic v2 record batch of values, CRC-32C and
// length filled in, as a producer without idempotence sends it.
func encodeBatch(values ...string) []byte {
	var records []byte
	for i, v := range values {
		r := kmsg.Record{OffsetDelta: int32(i), Value: []byte(v)}
		// Length is everything after the length varint; 0 encodes in one byte.
		r.Length = int32(len(r.AppendTo(nil)) - 1)
		records = r.AppendTo(records)
	}
	now := time.Now().UnixMilli()
	batch := kmsg.RecordBatch{
		Magic: 2, LastOffsetDelta: int32(len(values) - 1),
		FirstTimestamp: now, MaxTimestamp: now,
		ProducerID: -1, ProducerEpoch: -1, FirstSequence: -1,
		NumRecords: int32(len(values)), Records: records,
	}
	raw := batch.AppendTo(nil)
	binary.BigEndian.PutUint32(raw[8:12], uint32(len(raw)-12))
	// The CRC covers everything from the attributes (offset 21) on.
	binary.BigEndian.PutUint32(raw[17:21], crc32.Checksum(raw[21:], crc32.MakeTable(crc32.Castagnoli)))
	return raw
}

// produceRequest is a Produce v7 of one batch to partition 0 of topic.
func produceRequest(topic string, acks int16, batch []byte) *kmsg.ProduceRequest {
	req := kmsg.NewPtrProduceRequest()
	req.Version = 7
	req.Acks = acks
	req.TimeoutMillis = 10_000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Partition = 0
	rp.Records = batch
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	return req
}

// producePartitionError sends req and returns partition 0's error code.
func producePartitionError(t *testing.T, c *wireConn, req *kmsg.ProduceRequest) int16 {
	t.Helper()
	resp := c.roundTrip(req).(*kmsg.ProduceResponse)
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		t.Fatalf("produce response has %d topics, want 1 with 1 partition", len(resp.Topics))
	}
	return resp.Topics[0].Partitions[0].ErrorCode
}

// createTopicsErrors sends CreateTopics v4 for topics with partitions each
// and returns each topic's error code.
func createTopicsErrors(t *testing.T, c *wireConn, partitions int32, topics ...string) map[string]int16 {
	t.Helper()
	req := kmsg.NewPtrCreateTopicsRequest()
	req.Version = 4
	req.TimeoutMillis = 10_000
	for _, name := range topics {
		rt := kmsg.NewCreateTopicsRequestTopic()
		rt.Topic = name
		rt.NumPartitions = partitions
		rt.ReplicationFactor = 1
		req.Topics = append(req.Topics, rt)
	}
	resp := c.roundTrip(req).(*kmsg.CreateTopicsResponse)
	out := map[string]int16{}
	for _, rt := range resp.Topics {
		out[rt.Topic] = rt.ErrorCode
	}
	return out
}

// wantCode compares a response's error code with a kerr error; nil wants 0.
func wantCode(t *testing.T, what string, got int16, want *kerr.Error) {
	t.Helper()
	var code int16
	if want != nil {
		code = want.Code
	}
	if got != code {
		t.Errorf("%s: error code %d (%v), want %d (%v)", what, got, kerr.ErrorForCode(got), code, want)
	}
}

// badInputCases are the malformed or refused requests; each runs on its own
// fresh raw connection.
var badInputCases = []struct {
	name string
	run  func(t *testing.T, c *wireConn)
}{
	{"oversized frame closes the connection", func(t *testing.T, c *wireConn) {
		// Only the size prefix and a few bytes: the broker must refuse on
		// the size alone, before reading (or allocating) the body.
		frame := binary.BigEndian.AppendUint32(nil, 2<<20)
		frame = append(frame, c.header(3, 12, true)...)
		if _, err := c.conn.Write(frame); err != nil {
			t.Fatalf("write: %v", err)
		}
		c.expectClosed("request of 2 MiB with socket.request.max.bytes=1048576")
	}},
	{"unknown api key closes the connection", func(t *testing.T, c *wireConn) {
		if err := c.writeFrame(c.header(9999, 0, false)); err != nil {
			t.Fatalf("write: %v", err)
		}
		c.expectClosed("api key 9999")
	}},
	{"valid batch is accepted (control)", func(t *testing.T, c *wireConn) {
		code := producePartitionError(t, c, produceRequest(badInputTopic, -1, encodeBatch("ok-1", "ok-2")))
		wantCode(t, "valid batch", code, nil)
	}},
	{"corrupt CRC gives CORRUPT_MESSAGE", func(t *testing.T, c *wireConn) {
		batch := encodeBatch("corrupt-1", "corrupt-2")
		batch[len(batch)-1] ^= 0xff // last byte of the last record, inside the CRC
		code := producePartitionError(t, c, produceRequest(badInputTopic, -1, batch))
		wantCode(t, "produce with a flipped byte", code, kerr.CorruptMessage)
	}},
	{"unknown topic gives UNKNOWN_TOPIC_OR_PARTITION", func(t *testing.T, c *wireConn) {
		code := producePartitionError(t, c, produceRequest("no-such-topic", -1, encodeBatch("x")))
		wantCode(t, "produce to a missing topic", code, kerr.UnknownTopicOrPartition)
	}},
	{"acks=5 gives INVALID_REQUIRED_ACKS", func(t *testing.T, c *wireConn) {
		code := producePartitionError(t, c, produceRequest(badInputTopic, 5, encodeBatch("acks-5")))
		wantCode(t, "produce with acks=5", code, kerr.InvalidRequiredAcks)
	}},
	{"CreateTopics with 0 or -5 partitions gives INVALID_PARTITIONS", func(t *testing.T, c *wireConn) {
		for _, n := range []int32{0, -5} {
			name := fmt.Sprintf("partitions%d", n)
			codes := createTopicsErrors(t, c, n, name)
			wantCode(t, fmt.Sprintf("CreateTopics with %d partitions", n), codes[name], kerr.InvalidPartitions)
		}
	}},
	{"invalid topic names give INVALID_TOPIC_EXCEPTION", func(t *testing.T, c *wireConn) {
		names := []string{"bad/name", "..", ".", "spa ce", strings.Repeat("a", 250)}
		codes := createTopicsErrors(t, c, 1, names...)
		for _, name := range names {
			wantCode(t, fmt.Sprintf("CreateTopics %.20q", name), codes[name], kerr.InvalidTopicException)
		}
	}},
	{"ApiVersions v99 gives a v0 response with UNSUPPORTED_VERSION and the api keys", func(t *testing.T, c *wireConn) {
		req := kmsg.NewPtrApiVersionsRequest()
		req.Version = 3
		req.ClientSoftwareName = "fjord-e2e"
		req.ClientSoftwareVersion = "1.0"
		payload := c.header(18, 99, true)
		payload = req.AppendTo(payload)
		if err := c.writeFrame(payload); err != nil {
			t.Fatalf("write: %v", err)
		}
		resp := c.readResponse(18, 0, false).(*kmsg.ApiVersionsResponse)
		wantCode(t, "ApiVersions v99", resp.ErrorCode, kerr.UnsupportedVersion)
		found := false
		for _, k := range resp.ApiKeys {
			if k.ApiKey == 18 {
				found = k.MinVersion == 0 && k.MaxVersion >= 3
			}
		}
		if !found {
			t.Errorf("ApiVersions v99 response lists %d api keys, without ApiVersions 0..3+: %+v", len(resp.ApiKeys), resp.ApiKeys)
		}
	}},
}

// TestBadInput sends each malformed request on its own raw connection to
// one broker, and after each checks that a healthy client on another
// connection still produces and consumes and that the broker is alive.
func TestBadInput(t *testing.T) {
	s := startServer(t, map[string]string{"socket.request.max.bytes": "1048576"})
	ctx := testContext(t, testTimeout)
	adm := newAdmin(t, s.Addr)
	createTopic(t, ctx, adm, badInputTopic, 1, nil)
	const canary = "canary"
	createTopic(t, ctx, adm, canary, 1, nil)
	healthy := newKgo(t, s.Addr, kgo.DefaultProduceTopic(canary))

	for i, tc := range badInputCases {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(t, dialWire(t, s.Addr))
			if s.Exited() {
				t.Fatalf("broker exited:\n%s", lastBytes(s.Log(), 4096))
			}
			value := fmt.Sprintf("after-%d", i)
			acked := produceKgo(t, ctx, healthy, canary, []rec{{Key: "k", Value: value}}, nil)
			got := consumePartitionKgo(t, ctx, s.Addr, canary, 0, acked[0].Offset, 1)
			if got[0].Value != value {
				t.Errorf("healthy client read %q at %d, wrote %q", got[0].Value, acked[0].Offset, value)
			}
		})
	}
}
