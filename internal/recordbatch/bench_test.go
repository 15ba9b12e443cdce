package recordbatch

import "testing"

// BenchmarkValidate measures the produce hot path on a 16 x 1 KiB batch. It
// must report 0 allocs/op.
func BenchmarkValidate(b *testing.B) {
	for _, codec := range []Codec{CodecNone, CodecZstd} {
		batch := testBatch(codec, 16, 1024)
		b.Run(codec.String(), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(batch)))
			for range b.N {
				if _, err := Validate(batch, Limits{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkRecords(b *testing.B) {
	for _, codec := range allCodecs {
		batch := testBatch(codec, 16, 1024)
		b.Run(codec.String(), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(batch)))
			for range b.N {
				if _, err := Records(batch, 1<<20); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func TestValidateDoesNotAllocate(t *testing.T) {
	for _, codec := range []Codec{CodecNone, CodecZstd} {
		batch := testBatch(codec, 16, 1024)
		if n := testing.AllocsPerRun(100, func() { Validate(batch, Limits{}) }); n != 0 {
			t.Fatalf("%s: Validate allocated %v times", codec, n)
		}
	}
}
