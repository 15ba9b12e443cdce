package bench

import (
	"math"
	"math/bits"
	"time"
)

// The histogram keeps HDR's layout: values below 2^subBucketBits each have
// their own bucket, and every power of two above that is split into
// 2^subBucketBits linear sub-buckets. A recorded value therefore lands in a
// bucket no wider than value/2^subBucketBits: with 7 bits the reported
// percentiles are within 1/128 (0.8%) of the exact ones, which is far finer
// than the run-to-run noise of a benchmark, in 35 KiB per histogram.
const (
	subBucketBits  = 7
	subBucketCount = 1 << subBucketBits
	// maxValueBits bounds the trackable value: 2^40 ns is about 18 minutes,
	// longer than any delivery timeout. Larger values are counted in the
	// last bucket; Max still reports them exactly.
	maxValueBits = 40
	bucketCount  = (maxValueBits - subBucketBits + 1) * subBucketCount
	maxTrackable = 1<<maxValueBits - 1
)

// Histogram counts latencies in log-linear buckets. The zero value is not
// usable: call NewHistogram. A Histogram is not safe for concurrent use;
// goroutines keep one each and Merge them, which is exact because every
// histogram shares one bucket layout.
type Histogram struct {
	counts [bucketCount]uint64
	total  uint64
	min    int64
	max    int64
	sum    float64 // nanoseconds; float so a long run cannot overflow
}

// NewHistogram returns an empty histogram.
func NewHistogram() *Histogram {
	return &Histogram{min: math.MaxInt64}
}

// bucketIndex maps a non-negative value to its bucket.
func bucketIndex(v int64) int {
	if v < subBucketCount {
		return int(v)
	}
	if v > maxTrackable {
		v = maxTrackable
	}
	shift := bits.Len64(uint64(v)) - 1 - subBucketBits
	sub := int(v >> shift) // in [subBucketCount, 2*subBucketCount)
	return (shift+1)*subBucketCount + sub - subBucketCount
}

// bucketHighest is the largest value that maps to bucket i.
func bucketHighest(i int) int64 {
	if i < 2*subBucketCount {
		return int64(i)
	}
	shift := i/subBucketCount - 1
	sub := int64(i%subBucketCount + subBucketCount)
	return (sub+1)<<shift - 1
}

// Record adds one latency. Negative durations (a clock step backwards
// between two readings on different hosts) are counted as zero rather than
// dropped, so the count stays equal to the records measured.
func (h *Histogram) Record(d time.Duration) {
	v := max(int64(d), 0)
	h.counts[bucketIndex(v)]++
	h.total++
	h.sum += float64(v)
	h.min = min(h.min, v)
	h.max = max(h.max, v)
}

// Merge adds every count of other into h.
func (h *Histogram) Merge(other *Histogram) {
	if other.total == 0 {
		return
	}
	for i, c := range other.counts {
		h.counts[i] += c
	}
	h.total += other.total
	h.sum += other.sum
	h.min = min(h.min, other.min)
	h.max = max(h.max, other.max)
}

// Reset empties h for reuse.
func (h *Histogram) Reset() {
	*h = Histogram{min: math.MaxInt64}
}

// Count is the number of recorded values.
func (h *Histogram) Count() uint64 { return h.total }

// Max is the largest recorded value, exactly; zero when empty.
func (h *Histogram) Max() time.Duration {
	if h.total == 0 {
		return 0
	}
	return time.Duration(h.max)
}

// Min is the smallest recorded value, exactly; zero when empty.
func (h *Histogram) Min() time.Duration {
	if h.total == 0 {
		return 0
	}
	return time.Duration(h.min)
}

// Mean is the average recorded value; zero when empty.
func (h *Histogram) Mean() time.Duration {
	if h.total == 0 {
		return 0
	}
	return time.Duration(h.sum / float64(h.total))
}

// Percentile returns the value at or below which q percent of the recorded
// values lie (the nearest-rank definition: the value of rank
// ceil(q/100*count) in sorted order), reported as the top of its bucket and
// never above Max. It returns zero when h is empty; q is clamped to [0, 100].
func (h *Histogram) Percentile(q float64) time.Duration {
	if h.total == 0 {
		return 0
	}
	q = min(max(q, 0), 100)
	rank := percentileRank(q, h.total)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank && i < bucketCount-1 {
			return time.Duration(min(bucketHighest(i), h.max))
		}
	}
	return time.Duration(h.max)
}

// percentileRank is the 1-based nearest rank of percentile q among n values.
// The small tolerance keeps 99.9% of 1000 at rank 999: q/100*n is computed
// in binary floating point and lands a hair above the integer.
func percentileRank(q float64, n uint64) uint64 {
	rank := uint64(math.Ceil(q/100*float64(n) - 1e-9))
	return min(max(rank, 1), n)
}
