package metadata

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/fjordhq/fjord/internal/controllerwire"
)

// FuzzForwardFrame feeds arbitrary bytes to the controller port's
// forwarding decoder, for requests and for responses: it must return a
// value or an error, never panic, and never read more than the frame says.
func FuzzForwardFrame(f *testing.F) {
	var seed bytes.Buffer
	if err := controllerwire.WriteFrame(&seed, forwardRequest{Op: opCreateTopic, CreateTopic: &CreateTopicSpec{Name: "t", NumPartitions: 3, ReplicationFactor: 1}}); err != nil {
		f.Fatal(err)
	}
	f.Add(seed.Bytes())
	seed.Reset()
	if err := controllerwire.WriteFrame(&seed, forwardResponse{ErrorCode: 41, LeaderAddr: "127.0.0.1:1", Offset: 7}); err != nil {
		f.Fatal(err)
	}
	f.Add(seed.Bytes())
	f.Add(binary.BigEndian.AppendUint32(nil, 0xffffffff))
	f.Add(append(binary.BigEndian.AppendUint32(nil, 2), "{}"...))
	f.Fuzz(func(t *testing.T, b []byte) {
		var req forwardRequest
		r := bytes.NewReader(b)
		if err := controllerwire.ReadFrame(r, &req); err == nil && len(b)-r.Len() > 4+maxForwardFrameBytes {
			t.Fatalf("read %d bytes for one frame", len(b)-r.Len())
		}
		var resp forwardResponse
		_ = controllerwire.ReadFrame(bytes.NewReader(b), &resp)
		_ = resp.err()
	})
}
