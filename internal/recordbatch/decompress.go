package recordbatch

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

// zstdMaxWindowBytes bounds the history a zstd frame may ask the decoder to
// keep. Java clients stream zstd with a 2 MiB window at the default level;
// 32 MiB leaves room for higher levels while refusing a frame that claims
// gigabytes before it has produced a byte.
const zstdMaxWindowBytes = 32 << 20

// xerialMagic opens snappy data framed the way snappy-java (and so the Java
// client) writes it: the magic, a version and a compatible version (4 bytes
// each), then chunks of a 4-byte big-endian length and a raw snappy block.
var xerialMagic = [8]byte{0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0}

const xerialHeaderBytes = 16

// Decompress inflates a batch payload compressed with codec. The output is
// capped at maxBytes: a payload inflating past it (a decompression bomb) is
// ErrCorruptMessage, and no buffer larger than maxBytes+1 is allocated on
// the way. Snappy is accepted raw (librdkafka, franz-go, sarama) or
// xerial-framed (the Java client); lz4 must be in the frame format.
func Decompress(codec Codec, src []byte, maxBytes int64) ([]byte, error) {
	maxBytes = max(maxBytes, 0)
	var out []byte
	var err error
	switch codec {
	case CodecNone:
		if int64(len(src)) > maxBytes {
			return nil, tooLarge(codec, maxBytes)
		}
		return src, nil
	case CodecGzip:
		out, err = decompressGzip(src, maxBytes)
	case CodecSnappy:
		out, err = decompressSnappy(src, maxBytes)
	case CodecLZ4:
		out, err = readCapped(lz4.NewReader(bytes.NewReader(src)), len(src), maxBytes)
	case CodecZstd:
		out, err = decompressZstd(src, maxBytes)
	default:
		return nil, fmt.Errorf("%w: unknown compression codec %d", ErrCorruptMessage, codec)
	}
	if err != nil {
		if errors.Is(err, errOverCap) {
			return nil, tooLarge(codec, maxBytes)
		}
		return nil, fmt.Errorf("%w: %s payload: %w", ErrCorruptMessage, codec, err)
	}
	return out, nil
}

var errOverCap = errors.New("output over the cap")

func tooLarge(codec Codec, maxBytes int64) error {
	return fmt.Errorf("%w: %s payload inflates past %d bytes", ErrCorruptMessage, codec, maxBytes)
}

func decompressGzip(src []byte, maxBytes int64) ([]byte, error) {
	r, err := gzip.NewReader(bytes.NewReader(src))
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return readCapped(r, len(src), maxBytes)
}

func decompressZstd(src []byte, maxBytes int64) ([]byte, error) {
	// Concurrency 1 decodes synchronously in the caller's goroutine, so
	// nothing outlives this call.
	d, err := zstd.NewReader(bytes.NewReader(src),
		zstd.WithDecoderConcurrency(1),
		zstd.WithDecoderLowmem(true),
		zstd.WithDecoderMaxWindow(zstdMaxWindowBytes),
		zstd.WithDecoderMaxMemory(uint64(maxBytes)+1),
	)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	return readCapped(d, len(src), maxBytes)
}

// readCapped reads r to its end into a buffer that never grows past
// maxBytes+1; reaching that size means the output is over the cap.
func readCapped(r io.Reader, sizeHint int, maxBytes int64) ([]byte, error) {
	limit := maxBytes + 1
	buf := make([]byte, 0, min(max(int64(sizeHint)*4, 512), limit))
	for {
		if len(buf) == cap(buf) {
			if int64(cap(buf)) >= limit {
				return nil, errOverCap
			}
			grown := make([]byte, len(buf), min(int64(cap(buf))*2, limit))
			copy(grown, buf)
			buf = grown
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			if int64(len(buf)) > maxBytes {
				return nil, errOverCap
			}
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

func decompressSnappy(src []byte, maxBytes int64) ([]byte, error) {
	if len(src) < len(xerialMagic) || !bytes.Equal(src[:len(xerialMagic)], xerialMagic[:]) {
		return decodeSnappyBlocks([][]byte{src}, maxBytes)
	}
	if len(src) < xerialHeaderBytes {
		return nil, errors.New("xerial header cut short")
	}
	var blocks [][]byte
	for rest := src[xerialHeaderBytes:]; len(rest) > 0; {
		if len(rest) < 4 {
			return nil, errors.New("xerial chunk length cut short")
		}
		size := int64(binary.BigEndian.Uint32(rest))
		if size > int64(len(rest)-4) {
			return nil, fmt.Errorf("xerial chunk of %d bytes with %d left", size, len(rest)-4)
		}
		blocks = append(blocks, rest[4:4+size])
		rest = rest[4+size:]
	}
	return decodeSnappyBlocks(blocks, maxBytes)
}

// decodeSnappyBlocks sums the decoded lengths each block declares, checks
// the total against the cap, and only then allocates once and decodes.
func decodeSnappyBlocks(blocks [][]byte, maxBytes int64) ([]byte, error) {
	var total int64
	for _, b := range blocks {
		n, err := snappy.DecodedLen(b)
		if err != nil {
			return nil, err
		}
		total += int64(n)
		if total > maxBytes {
			return nil, errOverCap
		}
	}
	out := make([]byte, total)
	pos := 0
	for _, b := range blocks {
		n, _ := snappy.DecodedLen(b)
		decoded, err := snappy.Decode(out[pos:pos+n], b)
		if err != nil {
			return nil, err
		}
		if len(decoded) != n {
			return nil, fmt.Errorf("snappy block decoded to %d bytes, declared %d", len(decoded), n)
		}
		pos += n
	}
	return out, nil
}

// String names the codec as Kafka's compression.type does.
func (c Codec) String() string {
	switch c {
	case CodecNone:
		return "none"
	case CodecGzip:
		return "gzip"
	case CodecSnappy:
		return "snappy"
	case CodecLZ4:
		return "lz4"
	case CodecZstd:
		return "zstd"
	default:
		return fmt.Sprintf("codec(%d)", int8(c))
	}
}
