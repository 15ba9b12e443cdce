package broker_test

import (
	"encoding/binary"
	"io"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// The request versions Kafka 4 removed (KIP-896) that fjord serves for
// older clients, sent at exactly their version over a raw connection, and
// the Produce and Fetch versions of the old message formats it refuses.

// oldConn is a raw connection to the broker for requests of one version.
type oldConn struct {
	t           *testing.T
	nc          net.Conn
	correlation int32
}

func dialOld(t *testing.T, addr string) *oldConn {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return &oldConn{t: t, nc: nc}
}

// send writes req at its version and reads the response frame: its body
// after the correlation id, or the read error (a closed connection).
func (c *oldConn) send(req kmsg.Request) ([]byte, error) {
	c.t.Helper()
	if req.IsFlexible() {
		c.t.Fatalf("%s v%d is flexible: oldConn reads v0 response headers only", kmsg.NameForKey(req.Key()), req.GetVersion())
	}
	c.correlation++
	frame := requestFrame(req, c.correlation)
	if err := c.nc.SetDeadline(time.Now().Add(30 * time.Second)); err != nil {
		c.t.Fatal(err)
	}
	if _, err := c.nc.Write(append(binary.BigEndian.AppendUint32(nil, uint32(len(frame))), frame...)); err != nil {
		return nil, err
	}
	var size [4]byte
	if _, err := io.ReadFull(c.nc, size[:]); err != nil {
		return nil, err
	}
	body := make([]byte, binary.BigEndian.Uint32(size[:]))
	if _, err := io.ReadFull(c.nc, body); err != nil {
		return nil, err
	}
	if got := int32(binary.BigEndian.Uint32(body)); got != c.correlation {
		c.t.Fatalf("correlation id %d, want %d", got, c.correlation)
	}
	return body[4:], nil
}

// do sends req and decodes its response at the request's version.
func (c *oldConn) do(req kmsg.Request) kmsg.Response {
	c.t.Helper()
	body, err := c.send(req)
	if err != nil {
		c.t.Fatalf("%s v%d: %v", kmsg.NameForKey(req.Key()), req.GetVersion(), err)
	}
	resp := req.ResponseKind()
	resp.SetVersion(req.GetVersion())
	if err := resp.ReadFrom(body); err != nil {
		c.t.Fatalf("decoding %s v%d response: %v", kmsg.NameForKey(req.Key()), req.GetVersion(), err)
	}
	return resp
}

// listOffsetsV0 asks one partition of fuzzTopic for offsets before timestamp.
func (c *oldConn) listOffsetsV0(partition int32, timestamp int64, maxOffsets int32) kmsg.ListOffsetsResponseTopicPartition {
	req := kmsg.NewPtrListOffsetsRequest()
	req.Version = 0
	p := kmsg.NewListOffsetsRequestTopicPartition()
	p.Partition, p.Timestamp, p.MaxNumOffsets = partition, timestamp, maxOffsets
	req.Topics = []kmsg.ListOffsetsRequestTopic{{Topic: fuzzTopic, Partitions: []kmsg.ListOffsetsRequestTopicPartition{p}}}
	return c.do(req).(*kmsg.ListOffsetsResponse).Topics[0].Partitions[0]
}

// latestV4 is a partition's high watermark and leader epoch from ListOffsets v4.
func (c *oldConn) latestV4(partition int32) (int64, int32) {
	req := kmsg.NewPtrListOffsetsRequest()
	req.Version = 4
	p := kmsg.NewListOffsetsRequestTopicPartition()
	p.Partition, p.Timestamp = partition, -1
	req.Topics = []kmsg.ListOffsetsRequestTopic{{Topic: fuzzTopic, Partitions: []kmsg.ListOffsetsRequestTopicPartition{p}}}
	rp := c.do(req).(*kmsg.ListOffsetsResponse).Topics[0].Partitions[0]
	if rp.ErrorCode != 0 {
		c.t.Fatalf("ListOffsets v4: %v", kerr.ErrorForCode(rp.ErrorCode))
	}
	return rp.Offset, rp.LeaderEpoch
}

// nonEmptyPartition is a partition of fuzzTopic holding records, and its
// high watermark.
func (c *oldConn) nonEmptyPartition() (int32, int64) {
	for p := range int32(2) {
		if hw, _ := c.latestV4(p); hw > 0 {
			return p, hw
		}
	}
	c.t.Fatal("no partition of the fuzz topic holds records")
	return 0, 0
}

// TestListOffsetsV0 reads Kafka's "old style" offsets array: the log end
// (the high watermark) and the segment starts before a time, newest first,
// at most max_num_offsets of them.
func TestListOffsetsV0(t *testing.T) {
	c := dialOld(t, startInProcessBroker(t))
	p, hw := c.nonEmptyPartition()
	future := time.Now().Add(time.Hour).UnixMilli()
	tests := []struct {
		name       string
		timestamp  int64
		maxOffsets int32
		want       []int64
		code       int16
	}{
		{"latest", -1, 10, []int64{hw, 0}, 0},
		{"latest, one offset", -1, 1, []int64{hw}, 0},
		{"earliest", -2, 10, []int64{0}, 0},
		{"an hour from now", future, 10, []int64{hw, 0}, 0},
		{"before every record", 0, 10, []int64{}, 0},
		{"max timestamp is v7+", -3, 1, nil, kerr.UnsupportedVersion.Code},
		{"negative max_num_offsets", -1, -1, nil, kerr.InvalidRequest.Code},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := c.listOffsetsV0(p, tc.timestamp, tc.maxOffsets)
			if got.ErrorCode != tc.code || (tc.code == 0 && !slices.Equal(got.OldStyleOffsets, tc.want)) {
				t.Fatalf("offsets %v error %v, want %v error %v", got.OldStyleOffsets, kerr.ErrorForCode(got.ErrorCode), tc.want, kerr.ErrorForCode(tc.code))
			}
		})
	}
	if got := c.listOffsetsV0(99, -1, 1); got.ErrorCode != kerr.UnknownTopicOrPartition.Code {
		t.Fatalf("unknown partition: %v", kerr.ErrorForCode(got.ErrorCode))
	}
}

// TestOldAdminVersions: CreateTopics v0 and v1, DescribeConfigs v0,
// DeleteTopics v0, DescribeLogDirs v0 and OffsetForLeaderEpoch v0 and v1,
// and ApiVersions v0 advertising them.
func TestOldAdminVersions(t *testing.T) {
	c := dialOld(t, startInProcessBroker(t))
	createTopic := func(version int16, name string, validateOnly bool) int16 {
		req := kmsg.NewPtrCreateTopicsRequest()
		req.Version, req.TimeoutMillis, req.ValidateOnly = version, 10_000, validateOnly
		rt := kmsg.NewCreateTopicsRequestTopic()
		rt.Topic, rt.NumPartitions, rt.ReplicationFactor = name, 1, 1
		retention := "100000"
		rt.Configs = []kmsg.CreateTopicsRequestTopicConfig{{Name: "retention.ms", Value: &retention}}
		req.Topics = append(req.Topics, rt)
		return c.do(req).(*kmsg.CreateTopicsResponse).Topics[0].ErrorCode
	}
	describeTopic := func(name string) kmsg.DescribeConfigsResponseResource {
		req := kmsg.NewPtrDescribeConfigsRequest()
		req.Version = 0
		req.Resources = []kmsg.DescribeConfigsRequestResource{{ResourceType: kmsg.ConfigResourceTypeTopic, ResourceName: name,
			ConfigNames: []string{"retention.ms", "cleanup.policy"}}}
		return c.do(req).(*kmsg.DescribeConfigsResponse).Resources[0]
	}
	if code := createTopic(0, "old-v0", false); code != 0 {
		t.Fatalf("CreateTopics v0: %v", kerr.ErrorForCode(code))
	}
	if code := createTopic(0, "old-v0", false); code != kerr.TopicAlreadyExists.Code {
		t.Fatalf("CreateTopics v0 again: %v", kerr.ErrorForCode(code))
	}
	if code := createTopic(1, "old-v1", true); code != 0 {
		t.Fatalf("CreateTopics v1 validate_only: %v", kerr.ErrorForCode(code))
	}
	if got := describeTopic("old-v1"); got.ErrorCode != kerr.UnknownTopicOrPartition.Code {
		t.Fatalf("validate_only created the topic: %+v", got)
	}
	// v0 tells is_default where later versions tell the source.
	got := describeTopic("old-v0")
	isDefault := map[string]bool{}
	for _, cfg := range got.Configs {
		isDefault[cfg.Name] = cfg.IsDefault
		if cfg.Name == "retention.ms" && (cfg.Value == nil || *cfg.Value != "100000") {
			t.Fatalf("retention.ms %v", cfg.Value)
		}
	}
	if got.ErrorCode != 0 || len(isDefault) != 2 || isDefault["retention.ms"] || !isDefault["cleanup.policy"] {
		t.Fatalf("DescribeConfigs v0: error %v, is_default %v", kerr.ErrorForCode(got.ErrorCode), isDefault)
	}

	del := kmsg.NewPtrDeleteTopicsRequest()
	del.Version, del.TimeoutMillis, del.TopicNames = 0, 10_000, []string{"old-v0"}
	if r := c.do(del).(*kmsg.DeleteTopicsResponse); len(r.Topics) != 1 || r.Topics[0].ErrorCode != 0 {
		t.Fatalf("DeleteTopics v0: %+v", r.Topics)
	}
	if r := c.do(del).(*kmsg.DeleteTopicsResponse); r.Topics[0].ErrorCode != kerr.UnknownTopicOrPartition.Code {
		t.Fatalf("DeleteTopics v0 again: %v", kerr.ErrorForCode(r.Topics[0].ErrorCode))
	}

	dirs := kmsg.NewPtrDescribeLogDirsRequest()
	dirs.Version = 0
	logDirs := c.do(dirs).(*kmsg.DescribeLogDirsResponse)
	if len(logDirs.Dirs) != 1 || logDirs.Dirs[0].ErrorCode != 0 || !slices.ContainsFunc(logDirs.Dirs[0].Topics,
		func(t kmsg.DescribeLogDirsResponseDirTopic) bool {
			return t.Topic == fuzzTopic && len(t.Partitions) == 2
		}) {
		t.Fatalf("DescribeLogDirs v0: %+v", logDirs.Dirs)
	}

	checkOffsetForLeaderEpoch(t, c)
	checkAdvertisedMinimums(t, c)
}

// checkOffsetForLeaderEpoch: v1 answers the end offset of the current
// epoch and the epoch; v0 the end offset alone.
func checkOffsetForLeaderEpoch(t *testing.T, c *oldConn) {
	t.Helper()
	p, hw := c.nonEmptyPartition()
	_, epoch := c.latestV4(p)
	for _, version := range []int16{0, 1} {
		req := kmsg.NewPtrOffsetForLeaderEpochRequest()
		req.Version = version
		rp := kmsg.NewOffsetForLeaderEpochRequestTopicPartition()
		rp.Partition, rp.LeaderEpoch = p, epoch
		req.Topics = []kmsg.OffsetForLeaderEpochRequestTopic{{Topic: fuzzTopic, Partitions: []kmsg.OffsetForLeaderEpochRequestTopicPartition{rp}}}
		got := c.do(req).(*kmsg.OffsetForLeaderEpochResponse).Topics[0].Partitions[0]
		wantEpoch := epoch
		if version == 0 {
			wantEpoch = -1 // not on the wire: the decoder's default
		}
		if got.ErrorCode != 0 || got.EndOffset != hw || got.LeaderEpoch != wantEpoch {
			t.Fatalf("OffsetForLeaderEpoch v%d: end offset %d epoch %d error %v, want %d and %d", version, got.EndOffset,
				got.LeaderEpoch, kerr.ErrorForCode(got.ErrorCode), hw, wantEpoch)
		}
	}
}

// checkAdvertisedMinimums: ApiVersions v0 lists every served API from v0,
// except Fetch, whose v0-v3 are refused (Produce's v0-v2 are refused too
// but listed, as Kafka 4 lists them for librdkafka, KAFKA-18659).
func checkAdvertisedMinimums(t *testing.T, c *oldConn) {
	t.Helper()
	req := kmsg.NewPtrApiVersionsRequest()
	req.Version = 0
	resp := c.do(req).(*kmsg.ApiVersionsResponse)
	if resp.ErrorCode != 0 || len(resp.ApiKeys) == 0 {
		t.Fatalf("ApiVersions v0: %v with %d keys", kerr.ErrorForCode(resp.ErrorCode), len(resp.ApiKeys))
	}
	for _, k := range resp.ApiKeys {
		want := int16(0)
		if k.ApiKey == int16(kmsg.Fetch) {
			want = 4
		}
		if k.MinVersion != want {
			t.Errorf("%s advertised from v%d, want v%d", kmsg.NameForKey(k.ApiKey), k.MinVersion, want)
		}
	}
}

// TestOldMessageFormatsRefused: Produce v0-v2 and Fetch v0-v3, whose
// records are message formats v0 and v1, are answered UNSUPPORTED_VERSION
// on each partition and append nothing; Produce with acks=0 closes the
// connection, which expected no answer.
func TestOldMessageFormatsRefused(t *testing.T) {
	addr := startInProcessBroker(t)
	c := dialOld(t, addr)
	p, hw := c.nonEmptyPartition()
	for version := range int16(3) {
		req := kmsg.NewPtrProduceRequest()
		req.Version, req.Acks, req.TimeoutMillis = version, -1, 10_000
		req.Topics = []kmsg.ProduceRequestTopic{{Topic: fuzzTopic, Partitions: []kmsg.ProduceRequestTopicPartition{
			{Partition: p, Records: oldMessageSet()}}}}
		got := c.do(req).(*kmsg.ProduceResponse).Topics[0].Partitions[0]
		if got.ErrorCode != kerr.UnsupportedVersion.Code || got.BaseOffset != -1 || got.Partition != p {
			t.Fatalf("Produce v%d: %+v", version, got)
		}
	}
	for version := range int16(4) {
		req := kmsg.NewPtrFetchRequest()
		req.Version, req.ReplicaID, req.MaxBytes = version, -1, 1<<20
		req.Topics = []kmsg.FetchRequestTopic{{Topic: fuzzTopic, Partitions: []kmsg.FetchRequestTopicPartition{
			{Partition: p, PartitionMaxBytes: 1 << 20}}}}
		got := c.do(req).(*kmsg.FetchResponse).Topics[0].Partitions[0]
		// An empty record set, not a null one, which sarama fails to read.
		if got.ErrorCode != kerr.UnsupportedVersion.Code || got.HighWatermark != -1 || got.RecordBatches == nil || len(got.RecordBatches) != 0 {
			t.Fatalf("Fetch v%d: %+v", version, got)
		}
	}
	if after, _ := c.latestV4(p); after != hw {
		t.Fatalf("high watermark moved from %d to %d", hw, after)
	}
	req := kmsg.NewPtrProduceRequest()
	req.Version, req.Acks, req.TimeoutMillis = 2, 0, 10_000
	req.Topics = []kmsg.ProduceRequestTopic{{Topic: fuzzTopic, Partitions: []kmsg.ProduceRequestTopicPartition{{Partition: p, Records: oldMessageSet()}}}}
	if _, err := c.send(req); err == nil {
		t.Fatal("Produce v2 with acks=0 was answered")
	}
	// The broker goes on serving.
	dialOld(t, addr).latestV4(p)
}

// oldMessageSet is one message of format v1 (magic 1), as Produce v2 sends.
func oldMessageSet() []byte {
	msg := []byte{1, 0}                                     // magic 1, attributes
	msg = binary.BigEndian.AppendUint64(msg, 1_700_000_000) // timestamp
	msg = binary.BigEndian.AppendUint32(msg, 0xffffffff)    // null key
	msg = binary.BigEndian.AppendUint32(msg, 1)
	msg = append(msg, 'v')
	set := binary.BigEndian.AppendUint64(nil, 0)                 // offset
	set = binary.BigEndian.AppendUint32(set, uint32(4+len(msg))) // size
	set = binary.BigEndian.AppendUint32(set, 0)                  // crc, not checked: refused first
	return append(set, msg...)
}

// TestOffsetFetchOldVersionsErrorOnPartitions: OffsetFetch v0 and v1 have
// no group-level error code, so a group's error (here NOT_COORDINATOR,
// before __consumer_offsets exists) is told on each partition asked for.
func TestOffsetFetchOldVersionsErrorOnPartitions(t *testing.T) {
	c := dialOld(t, startInProcessBroker(t))
	for _, version := range []int16{0, 1, 2} {
		req := kmsg.NewPtrOffsetFetchRequest()
		req.Version, req.Group = version, "old-group"
		req.Topics = []kmsg.OffsetFetchRequestTopic{{Topic: fuzzTopic, Partitions: []int32{0, 1}}}
		resp := c.do(req).(*kmsg.OffsetFetchResponse)
		if version >= 2 {
			if resp.ErrorCode == 0 || len(resp.Topics) != 0 {
				t.Fatalf("v2: group error %d with topics %+v", resp.ErrorCode, resp.Topics)
			}
			continue
		}
		if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 2 {
			t.Fatalf("v%d: topics %+v", version, resp.Topics)
		}
		for _, p := range resp.Topics[0].Partitions {
			if p.ErrorCode != kerr.NotCoordinator.Code || p.Offset != -1 {
				t.Fatalf("v%d partition %d: offset %d error %v, want NOT_COORDINATOR", version, p.Partition, p.Offset, kerr.ErrorForCode(p.ErrorCode))
			}
		}
	}
}
