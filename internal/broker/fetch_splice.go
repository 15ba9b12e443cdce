package broker

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/fjordhq/fjord/internal/server"
	"github.com/fjordhq/fjord/internal/storage"
	"github.com/fjordhq/fjord/internal/vfs"
)

// Zero-copy fetch. Record batches are sent from segment files to the
// socket by the kernel. The response is still encoded by kmsg, so no Fetch
// codec is written by hand: each partition's record bytes are replaced by
// a 16-byte placeholder (a random per-fetch prefix and the partition's
// index), and after encoding each placeholder and its length prefix are
// swapped for the real length and a splice of the file range. The random
// prefix makes a false match in the rest of the response practically
// impossible. A placeholder not found (never expected: it is what kmsg
// wrote for the partition) makes the whole response fall back to reading
// the bytes, so that no client ever gets a placeholder as records.

const placeholderSize = 16

// splice records slice as partition index's records if its file can be
// sent with sendfile, and puts the placeholder in the response.
func (f *fetch) splice(index int, slice storage.FileSlice, pr *kmsg.FetchResponseTopicPartition) bool {
	osf, ok := slice.File().(*vfs.OSFile)
	if !ok || osf.OSFile() == nil {
		return false
	}
	if f.slices == nil {
		f.slices = make([]storage.FileSlice, len(f.parts))
		binary.LittleEndian.PutUint64(f.marker[:], rand.Uint64())
	}
	f.slices[index] = slice
	pr.RecordBatches = f.placeholder(index)
	return true
}

func (f *fetch) placeholder(index int) []byte {
	p := make([]byte, placeholderSize)
	copy(p, f.marker[:])
	binary.BigEndian.PutUint64(p[8:], uint64(index))
	return p
}

func (f *fetch) releaseSlices() {
	for i := range f.slices {
		f.slices[i].Release()
		f.slices[i] = storage.FileSlice{}
	}
}

// response is the response to send: spliced when any records come from
// files.
func (f *fetch) response() kmsg.Response {
	for _, s := range f.slices {
		if s.Size > 0 {
			return &splicedFetch{FetchResponse: f.resp, f: f}
		}
	}
	return f.resp
}

// splicedFetch is a Fetch response whose records are spliced from files.
type splicedFetch struct {
	*kmsg.FetchResponse
	f *fetch
}

var _ server.SplicedResponse = (*splicedFetch)(nil)

func (s *splicedFetch) Release() { s.f.releaseSlices() }

func (s *splicedFetch) AppendSpliced(dst []byte) ([]byte, []server.Splice) {
	start := len(dst)
	encoded := s.FetchResponse.AppendTo(dst)
	body := bytes.Clone(encoded[start:])
	out := encoded[:start]
	flexible := s.FetchResponse.IsFlexible()
	var splices []server.Splice
	pos := 0
	for i, slice := range s.f.slices {
		if slice.Size == 0 {
			continue
		}
		ph := s.f.placeholder(i)
		at := bytes.Index(body[pos:], ph)
		if at < 0 {
			return s.unspliced(encoded[:start]), nil
		}
		at += pos
		prefixLen := 4
		if flexible {
			prefixLen = 1 // uvarint(16+1)
		}
		out = append(out, body[pos:at-prefixLen]...)
		if flexible {
			out = binary.AppendUvarint(out, uint64(slice.Size)+1)
		} else {
			out = binary.BigEndian.AppendUint32(out, uint32(slice.Size))
		}
		splices = append(splices, server.Splice{At: len(out), File: slice.File().(*vfs.OSFile).OSFile(), Pos: slice.Pos, Size: slice.Size})
		pos = at + placeholderSize
	}
	return append(out, body[pos:]...), splices
}

// unspliced appends the plain encoding of the response to dst, every file
// range read into its partition's records (a range that cannot be read
// answers KAFKA_STORAGE_ERROR for its partition).
func (s *splicedFetch) unspliced(dst []byte) []byte {
	i := 0
	for ti := range s.Topics {
		for pi := range s.Topics[ti].Partitions {
			if i < len(s.f.slices) && s.f.slices[i].Size > 0 {
				pr := &s.Topics[ti].Partitions[pi]
				data, err := s.f.slices[i].ReadAll(make([]byte, 0, s.f.slices[i].Size))
				if err != nil {
					pr.RecordBatches, pr.ErrorCode = []byte{}, kerr.KafkaStorageError.Code
				} else {
					pr.RecordBatches = data
				}
			}
			i++
		}
	}
	return s.FetchResponse.AppendTo(dst)
}
