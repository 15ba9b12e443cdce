package bench

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// exactPercentile is the model: nearest rank over the sorted values.
func exactPercentile(sorted []time.Duration, q float64) time.Duration {
	return sorted[percentileRank(q, uint64(len(sorted)))-1]
}

func TestBucketIndexRoundTrip(t *testing.T) {
	values := []int64{0, 1, 127, 128, 129, 255, 256, 257, 1000, 1 << 20, 1<<20 + 12345, maxTrackable}
	for _, v := range values {
		i := bucketIndex(v)
		if i < 0 || i >= bucketCount {
			t.Fatalf("bucketIndex(%d) = %d out of [0,%d)", v, i, bucketCount)
		}
		hi := bucketHighest(i)
		if hi < v {
			t.Errorf("bucketHighest(bucketIndex(%d)) = %d, below the value", v, hi)
		}
		if float64(hi-v) > float64(v)/subBucketCount {
			t.Errorf("bucket of %d reaches %d: wider than 1/%d", v, hi, subBucketCount)
		}
		if i > 0 && bucketHighest(i-1) >= v {
			t.Errorf("value %d also fits the previous bucket (top %d)", v, bucketHighest(i-1))
		}
	}
	if got := bucketIndex(maxTrackable * 4); got != bucketCount-1 {
		t.Errorf("an untrackable value goes to bucket %d, want the last (%d)", got, bucketCount-1)
	}
}

func TestHistogramPercentilesMatchSortedModel(t *testing.T) {
	quantiles := []float64{0, 1, 10, 50, 90, 99, 99.9, 99.99, 100}
	distributions := []struct {
		name string
		gen  func(r *rand.Rand) time.Duration
	}{
		{"uniform microseconds", func(r *rand.Rand) time.Duration { return time.Duration(r.IntN(1000)) * time.Microsecond }},
		{"exponential milliseconds", func(r *rand.Rand) time.Duration { return time.Duration(r.ExpFloat64() * float64(3*time.Millisecond)) }},
		{"small integers", func(r *rand.Rand) time.Duration { return time.Duration(r.IntN(300)) }},
		{"bimodal with a tail", func(r *rand.Rand) time.Duration {
			if r.IntN(1000) == 0 {
				return time.Duration(r.IntN(10)) * time.Second
			}
			return 2*time.Millisecond + time.Duration(r.IntN(500))*time.Microsecond
		}},
	}
	for _, d := range distributions {
		for _, n := range []int{1, 2, 7, 1000, 100000} {
			r := rand.New(rand.NewPCG(uint64(n), 42))
			h := NewHistogram()
			values := make([]time.Duration, n)
			for i := range values {
				values[i] = d.gen(r)
				h.Record(values[i])
			}
			slices.Sort(values)
			for _, q := range quantiles {
				want := exactPercentile(values, q)
				got := h.Percentile(q)
				if got < want || float64(got-want) > float64(want)/subBucketCount {
					t.Errorf("%s n=%d p%v = %v, model %v (allowed +1/%d)", d.name, n, q, got, want, subBucketCount)
				}
			}
			if h.Max() != values[n-1] || h.Min() != values[0] || h.Count() != uint64(n) {
				t.Errorf("%s n=%d: min %v max %v count %d, want %v %v %d", d.name, n, h.Min(), h.Max(), h.Count(), values[0], values[n-1], n)
			}
		}
	}
}

func TestHistogramMergeEqualsSingle(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	whole, parts := NewHistogram(), []*Histogram{NewHistogram(), NewHistogram(), NewHistogram()}
	for i := range 30000 {
		v := time.Duration(r.ExpFloat64() * float64(time.Millisecond))
		whole.Record(v)
		parts[i%len(parts)].Record(v)
	}
	merged := NewHistogram()
	merged.Merge(NewHistogram()) // an empty histogram must not disturb min
	for _, p := range parts {
		merged.Merge(p)
	}
	if merged.counts != whole.counts || merged.Count() != whole.Count() || merged.Min() != whole.Min() || merged.Max() != whole.Max() {
		t.Fatal("merging parts differs from recording everything in one histogram")
	}
	merged.Reset()
	if merged.Count() != 0 || merged.Percentile(50) != 0 || merged.Max() != 0 || merged.Mean() != 0 {
		t.Fatal("Reset left values behind")
	}
}

func TestPercentileRank(t *testing.T) {
	tests := []struct {
		q    float64
		n    uint64
		want uint64
	}{
		{0, 10, 1}, {50, 10, 5}, {50, 11, 6}, {99.9, 1000, 999}, {99.9, 1001, 1000},
		{99, 100, 99}, {100, 7, 7}, {1, 1, 1},
	}
	for _, tt := range tests {
		if got := percentileRank(tt.q, tt.n); got != tt.want {
			t.Errorf("percentileRank(%v, %d) = %d, want %d", tt.q, tt.n, got, tt.want)
		}
	}
}

func TestHistogramEdgeValues(t *testing.T) {
	h := NewHistogram()
	h.Record(-time.Second)
	h.Record(time.Hour)
	if h.Min() != 0 || h.Max() != time.Hour || h.Count() != 2 {
		t.Fatalf("min %v max %v count %d", h.Min(), h.Max(), h.Count())
	}
	if got := h.Percentile(100); got != time.Hour {
		t.Errorf("p100 of a value past the trackable range = %v, want the exact max", got)
	}
	if got := h.Percentile(-5); got != 0 {
		t.Errorf("p-5 = %v, want the minimum 0", got)
	}
}

func BenchmarkHistogramRecord(b *testing.B) {
	h := NewHistogram()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		h.Record(time.Duration(i&0xfffff) * time.Microsecond)
	}
}
