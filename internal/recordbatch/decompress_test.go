package recordbatch

import (
	"bytes"
	"errors"
	"runtime"
	"testing"

	"github.com/klauspost/compress/snappy/xerial"
)

func TestDecompressCap(t *testing.T) {
	bomb := make([]byte, 4<<20) // zeros compress to almost nothing
	for _, codec := range allCodecs {
		for _, xerialFraming := range []bool{false, true} {
			if xerialFraming && codec != CodecSnappy {
				continue
			}
			src := compress(codec, xerialFraming, bomb)
			t.Run(codec.String(), func(t *testing.T) {
				got, err := Decompress(codec, src, int64(len(bomb)))
				if err != nil || !bytes.Equal(got, bomb) {
					t.Fatalf("at the cap: %v", err)
				}
				if _, err := Decompress(codec, src, int64(len(bomb))-1); !errors.Is(err, ErrCorruptMessage) {
					t.Fatalf("one byte past the cap: %v", err)
				}
			})
		}
	}
}

// TestDecompressBombMemory checks that refusing a bomb does not allocate
// anywhere near its inflated size. lz4 needs the most: its reader keeps
// buffers for the frame's block size, at most 4 MiB, whatever the cap.
func TestDecompressBombMemory(t *testing.T) {
	bomb := make([]byte, 64<<20)
	for _, codec := range []Codec{CodecGzip, CodecSnappy, CodecLZ4, CodecZstd} {
		src := compress(codec, false, bomb)
		t.Run(codec.String(), func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			if _, err := Decompress(codec, src, 1<<20); !errors.Is(err, ErrCorruptMessage) {
				t.Fatalf("bomb: %v", err)
			}
			runtime.ReadMemStats(&after)
			if allocated := after.TotalAlloc - before.TotalAlloc; allocated > 16<<20 {
				t.Fatalf("refusing a 64 MiB bomb with a 1 MiB cap allocated %d bytes", allocated)
			}
		})
	}
}

func TestDecompressGarbage(t *testing.T) {
	garbage := []byte("definitely not compressed data, whatever the codec says")
	tests := []struct {
		name  string
		codec Codec
		src   []byte
	}{
		{"gzip", CodecGzip, garbage},
		{"gzip truncated", CodecGzip, compress(CodecGzip, false, garbage)[:20]},
		{"snappy", CodecSnappy, garbage},
		{"snappy xerial header only cut", CodecSnappy, xerial.Encode(nil, garbage)[:12]},
		{"snappy xerial chunk past end", CodecSnappy, append(xerial.Encode(nil, garbage)[:16], 0, 0, 1, 0, 1)},
		{"lz4", CodecLZ4, garbage},
		{"zstd", CodecZstd, garbage},
		{"zstd truncated", CodecZstd, compress(CodecZstd, false, garbage)[:10]},
		{"unknown codec", Codec(6), garbage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Decompress(tt.codec, tt.src, 1<<20); !errors.Is(err, ErrCorruptMessage) {
				t.Fatalf("error %v, want ErrCorruptMessage", err)
			}
		})
	}
}
