package console

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Bounds of the message browser: each browse opens a consumer client and
// holds what it read in memory until it answers.
const (
	maxConcurrentBrowses = 4
	maxBrowseRecords     = 500
	defaultBrowseRecords = 50
	// maxBrowseBytes is fetch.max.bytes of the browser's consumer.
	maxBrowseBytes = 8 << 20
	// maxScanRecords bounds how many records one browse reads when
	// filters drop most of them.
	maxScanRecords = 20000
	// filterScanWindow is how far back "newest" reads per partition
	// when filters are given, so matches can be found among older ones.
	filterScanWindow = 2000
	// maxShownBytes truncates a key, value or header shown on the page.
	maxShownBytes  = 64 << 10
	maxFilterBytes = 256
	// browseIdle ends a browse when no record arrived for this long:
	// the partitions have nothing more below their end offsets (the last
	// ones may be transaction markers, which a consumer never sees).
	browseIdle = 1500 * time.Millisecond
	// Produce limits: a console message is typed by a person.
	maxProduceValueBytes = 1 << 20
	maxProduceHeaders    = 64
)

type browseQuery struct {
	topic     string
	partition int32 // -1: all
	mode      string
	offset    int64
	timestamp int64
	count     int
	key       string
	value     string
	header    string
}

func (q browseQuery) filtered() bool { return q.key != "" || q.value != "" || q.header != "" }

func parseBrowseQuery(r *http.Request) (browseQuery, error) {
	v := r.URL.Query()
	q := browseQuery{topic: r.PathValue("topic"), mode: v.Get("mode"), key: v.Get("key"), value: v.Get("value"), header: v.Get("header")}
	if err := validTopic(q.topic); err != nil {
		return q, err
	}
	if q.mode == "" {
		q.mode = "newest"
	}
	if q.mode != "newest" && q.mode != "offset" && q.mode != "timestamp" {
		return q, badRequest("mode must be newest, offset or timestamp, got %q", q.mode)
	}
	p, err := parseInt(v.Get("partition"), "partition", -1, -1, 1<<31-1)
	if err != nil {
		return q, err
	}
	q.partition = int32(p)
	if q.offset, err = parseInt(v.Get("offset"), "offset", 0, 0, 1<<62); err != nil {
		return q, err
	}
	if q.timestamp, err = parseInt(v.Get("timestamp"), "timestamp", 0, 0, 1<<50); err != nil {
		return q, err
	}
	n, err := parseInt(v.Get("count"), "count", defaultBrowseRecords, 1, maxBrowseRecords)
	if err != nil {
		return q, err
	}
	q.count = int(n)
	for _, f := range []string{q.key, q.value, q.header} {
		if len(f) > maxFilterBytes {
			return q, badRequest("filters are at most %d bytes", maxFilterBytes)
		}
	}
	return q, nil
}

type headerView struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

type messageView struct {
	Partition   int32        `json:"partition"`
	Offset      int64        `json:"offset"`
	TimestampMs int64        `json:"timestamp"`
	Key         *string      `json:"key"`
	Value       *string      `json:"value"`
	KeyBase64   bool         `json:"keyBase64,omitempty"`
	ValueBase64 bool         `json:"valueBase64,omitempty"`
	ValueJSON   string       `json:"valueJson,omitempty"`
	Truncated   bool         `json:"truncated,omitempty"`
	Headers     []headerView `json:"headers"`
	ValueBytes  int          `json:"valueBytes"`
}

type partitionRange struct {
	Partition int32 `json:"partition"`
	Start     int64 `json:"start"`
	End       int64 `json:"end"`
	From      int64 `json:"from"`
}

type browseResult struct {
	Messages   []messageView    `json:"messages"`
	Partitions []partitionRange `json:"partitions"`
	Scanned    int              `json:"scanned"`
	Limited    bool             `json:"limited"`
}

func (c *Console) browse(r *http.Request) (any, error) {
	q, err := parseBrowseQuery(r)
	if err != nil {
		return nil, err
	}
	ctx := r.Context()
	select {
	case c.browses <- struct{}{}:
		defer func() { <-c.browses }()
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	ranges, err := c.browseRanges(ctx, q)
	if err != nil {
		return nil, err
	}
	recs, scanned, limited, err := c.readRanges(ctx, q, ranges)
	if err != nil {
		return nil, err
	}
	if q.mode == "newest" {
		slices.SortFunc(recs, func(a, b *kgo.Record) int { return compareRecords(b, a) })
	} else {
		slices.SortFunc(recs, compareRecords)
	}
	out := browseResult{Messages: []messageView{}, Partitions: ranges, Scanned: scanned, Limited: limited}
	for _, rec := range recs[:min(len(recs), q.count)] {
		out.Messages = append(out.Messages, viewRecord(rec))
	}
	return out, nil
}

func compareRecords(a, b *kgo.Record) int {
	if c := a.Timestamp.Compare(b.Timestamp); c != 0 {
		return c
	}
	if a.Partition != b.Partition {
		return int(a.Partition - b.Partition)
	}
	return int(min(max(a.Offset-b.Offset, -1), 1))
}

// browseRanges picks, per partition, the offset to read from and the end
// offset to read up to (the high watermark when asked).
func (c *Console) browseRanges(ctx context.Context, q browseQuery) ([]partitionRange, error) {
	starts, err := c.adm.ListStartOffsets(ctx, q.topic)
	if err != nil {
		return nil, err
	}
	if err := starts.Error(); err != nil {
		return nil, err
	}
	ends, err := c.adm.ListEndOffsets(ctx, q.topic)
	if err != nil {
		return nil, err
	}
	var after kadm.ListedOffsets
	if q.mode == "timestamp" {
		if after, err = c.adm.ListOffsetsAfterMilli(ctx, q.timestamp, q.topic); err != nil {
			return nil, err
		}
	}
	var ranges []partitionRange
	for _, s := range starts[q.topic] {
		if q.partition >= 0 && s.Partition != q.partition {
			continue
		}
		e, ok := ends.Lookup(q.topic, s.Partition)
		if !ok || e.Err != nil {
			return nil, kerr.UnknownTopicOrPartition
		}
		pr := partitionRange{Partition: s.Partition, Start: s.Offset, End: e.Offset}
		switch q.mode {
		case "newest":
			window := int64(q.count)
			if q.filtered() {
				window = max(window, filterScanWindow)
			}
			pr.From = pr.End - window
		case "offset":
			pr.From = q.offset
		case "timestamp":
			pr.From = pr.End
			if a, ok := after.Lookup(q.topic, s.Partition); ok && a.Err == nil && a.Offset >= 0 {
				pr.From = a.Offset
			}
		}
		pr.From = min(max(pr.From, pr.Start), pr.End)
		ranges = append(ranges, pr)
	}
	if len(ranges) == 0 {
		return nil, kafkaError(kerr.UnknownTopicOrPartition, "no such partition")
	}
	slices.SortFunc(ranges, func(a, b partitionRange) int { return int(a.Partition - b.Partition) })
	return ranges, nil
}

// readRanges consumes each range up to its end offset with a consumer
// client of its own, keeping the records that pass the filters: per
// partition at most count (the last count for "newest").
func (c *Console) readRanges(ctx context.Context, q browseQuery, ranges []partitionRange) (recs []*kgo.Record, scanned int, limited bool, err error) {
	offsets := map[int32]kgo.Offset{}
	pending := map[int32]int64{} // partition -> end offset still to reach
	for _, pr := range ranges {
		if pr.From < pr.End {
			offsets[pr.Partition] = kgo.NewOffset().At(pr.From)
			pending[pr.Partition] = pr.End
		}
	}
	if len(pending) == 0 {
		return nil, 0, false, nil
	}
	opts := append([]kgo.Opt{kgo.SeedBrokers(c.opts.Brokers...), kgo.ClientID("fjord-console")}, c.opts.ClientOpts...)
	opts = append(opts, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{q.topic: offsets}),
		kgo.FetchMaxBytes(maxBrowseBytes), kgo.FetchMaxPartitionBytes(maxBrowseBytes), kgo.FetchMaxWait(500*time.Millisecond))
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, 0, false, err
	}
	defer cl.Close()
	kept := map[int32][]*kgo.Record{}
	for len(pending) > 0 && scanned < maxScanRecords {
		pollCtx, cancel := context.WithTimeout(ctx, browseIdle)
		fetches := cl.PollFetches(pollCtx)
		cancel()
		if ctx.Err() != nil {
			return nil, 0, false, ctx.Err()
		}
		if fetches.IsClientClosed() || fetches.Empty() {
			break // idle: nothing more is readable below the ends
		}
		for _, fe := range fetches.Errors() {
			if !errors.Is(fe.Err, context.DeadlineExceeded) {
				return nil, 0, false, fe.Err
			}
		}
		fetches.EachRecord(func(rec *kgo.Record) {
			end, ok := pending[rec.Partition]
			if !ok || rec.Offset >= end {
				return
			}
			scanned++
			if rec.Offset+1 >= end {
				delete(pending, rec.Partition)
			}
			if !q.matches(rec) {
				return
			}
			k := append(kept[rec.Partition], rec)
			if len(k) > q.count {
				if q.mode != "newest" {
					delete(pending, rec.Partition)
					return
				}
				k = k[1:]
			}
			kept[rec.Partition] = k
		})
	}
	for _, k := range kept {
		recs = append(recs, k...)
	}
	return recs, scanned, scanned >= maxScanRecords, nil
}

// matches applies the substring filters; a header filter matches a
// header's key or value.
func (q browseQuery) matches(rec *kgo.Record) bool {
	if q.key != "" && !bytes.Contains(rec.Key, []byte(q.key)) {
		return false
	}
	if q.value != "" && !bytes.Contains(rec.Value, []byte(q.value)) {
		return false
	}
	if q.header == "" {
		return true
	}
	for _, h := range rec.Headers {
		if strings.Contains(h.Key, q.header) || bytes.Contains(h.Value, []byte(q.header)) {
			return true
		}
	}
	return false
}

func viewRecord(rec *kgo.Record) messageView {
	m := messageView{Partition: rec.Partition, Offset: rec.Offset, TimestampMs: rec.Timestamp.UnixMilli(),
		Headers: []headerView{}, ValueBytes: len(rec.Value)}
	var cut bool
	m.Key, m.KeyBase64, cut = showBytes(rec.Key)
	m.Truncated = m.Truncated || cut
	m.Value, m.ValueBase64, cut = showBytes(rec.Value)
	m.Truncated = m.Truncated || cut
	if !cut && !m.ValueBase64 && json.Valid(rec.Value) {
		var pretty bytes.Buffer
		if json.Indent(&pretty, rec.Value, "", "  ") == nil {
			m.ValueJSON = pretty.String()
		}
	}
	for _, h := range rec.Headers {
		v, isBase64, cut := showBytes(h.Value)
		m.Truncated = m.Truncated || cut
		hv := headerView{Key: h.Key}
		if v != nil {
			hv.Value = *v
			if isBase64 {
				hv.Value = "base64:" + hv.Value
			}
		}
		m.Headers = append(m.Headers, hv)
	}
	return m
}

// showBytes returns b as text when it is UTF-8, else as base64, cut to
// maxShownBytes; nil stays nil (a null key is not an empty one).
func showBytes(b []byte) (s *string, isBase64, cut bool) {
	if b == nil {
		return nil, false, false
	}
	if len(b) > maxShownBytes {
		b, cut = b[:maxShownBytes], true
	}
	var out string
	if utf8.Valid(b) {
		out = string(b)
	} else {
		out, isBase64 = base64.StdEncoding.EncodeToString(b), true
	}
	return &out, isBase64, cut
}

type produceRequest struct {
	Key       *string      `json:"key"`
	Value     *string      `json:"value"`
	Headers   []headerView `json:"headers"`
	Partition *int32       `json:"partition"`
}

type produceResult struct {
	Partition int32 `json:"partition"`
	Offset    int64 `json:"offset"`
}

func (c *Console) produce(r *http.Request) (any, error) {
	topic := r.PathValue("topic")
	if err := validTopic(topic); err != nil {
		return nil, err
	}
	var req produceRequest
	if err := decodeBody(r, &req); err != nil {
		return nil, err
	}
	if (req.Value != nil && len(*req.Value) > maxProduceValueBytes) || (req.Key != nil && len(*req.Key) > maxProduceValueBytes) {
		return nil, badRequest("key and value are at most %d bytes each", maxProduceValueBytes)
	}
	if len(req.Headers) > maxProduceHeaders {
		return nil, badRequest("at most %d headers", maxProduceHeaders)
	}
	partition, err := c.producePartition(r.Context(), topic, req)
	if err != nil {
		return nil, err
	}
	rec := &kgo.Record{Topic: topic, Partition: partition}
	if req.Key != nil {
		rec.Key = []byte(*req.Key)
	}
	if req.Value != nil {
		rec.Value = []byte(*req.Value)
	}
	for _, h := range req.Headers {
		if h.Key == "" {
			return nil, badRequest("a header needs a key")
		}
		rec.Headers = append(rec.Headers, kgo.RecordHeader{Key: h.Key, Value: []byte(h.Value)})
	}
	res := c.client.ProduceSync(r.Context(), rec)
	if err := res.FirstErr(); err != nil {
		return nil, err
	}
	return produceResult{Partition: rec.Partition, Offset: rec.Offset}, nil
}

// producePartition checks the partition asked for, or picks one as Java's
// default partitioner does: murmur2 of the key, else round robin.
func (c *Console) producePartition(ctx context.Context, topic string, req produceRequest) (int32, error) {
	md, err := c.adm.Metadata(ctx, topic)
	if err != nil {
		return 0, err
	}
	td, ok := md.Topics[topic]
	if !ok || td.Err != nil {
		return 0, kafkaError(kerr.UnknownTopicOrPartition, topic)
	}
	n := int32(len(td.Partitions))
	switch {
	case n == 0:
		return 0, kafkaError(kerr.UnknownTopicOrPartition, topic)
	case req.Partition != nil && *req.Partition >= 0:
		if *req.Partition >= n {
			return 0, kafkaError(kerr.UnknownTopicOrPartition, "the topic has no such partition")
		}
		return *req.Partition, nil
	case req.Key != nil:
		return int32(murmur2([]byte(*req.Key))&0x7fffffff) % n, nil
	default:
		return int32(c.roundRobin.Add(1) % uint32(n)), nil
	}
}

// murmur2 is the hash of Kafka's default partitioner (Utils.murmur2), so
// that a keyed message lands where a Java producer would put it.
func murmur2(data []byte) uint32 {
	const seed, m, r = uint32(0x9747b28c), uint32(0x5bd1e995), 24
	n := len(data)
	h := seed ^ uint32(n)
	for i := 0; i+4 <= n; i += 4 {
		k := uint32(data[i]) | uint32(data[i+1])<<8 | uint32(data[i+2])<<16 | uint32(data[i+3])<<24
		k *= m
		k ^= k >> r
		k *= m
		h *= m
		h ^= k
	}
	tail := data[n&^3:]
	switch len(tail) {
	case 3:
		h ^= uint32(tail[2]) << 16
		fallthrough
	case 2:
		h ^= uint32(tail[1]) << 8
		fallthrough
	case 1:
		h ^= uint32(tail[0])
		h *= m
	}
	h ^= h >> 13
	h *= m
	h ^= h >> 15
	return h
}
