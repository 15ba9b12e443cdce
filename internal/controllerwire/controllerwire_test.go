package controllerwire

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
)

// FuzzReadFrame: arbitrary bytes give a value or an error, never a panic,
// and a frame never reads past the length it declares.
func FuzzReadFrame(f *testing.F) {
	var seed bytes.Buffer
	if err := WriteFrame(&seed, describeQuorumResponse{LeaderAddr: "127.0.0.1:1", Quorum: &QuorumStatus{LeaderID: 1}}); err != nil {
		f.Fatal(err)
	}
	f.Add(seed.Bytes())
	f.Add(binary.BigEndian.AppendUint32(nil, 0xffffffff))
	f.Add(append(binary.BigEndian.AppendUint32(nil, 2), "{}"...))
	f.Fuzz(func(t *testing.T, b []byte) {
		r := bytes.NewReader(b)
		var resp describeQuorumResponse
		if err := ReadFrame(r, &resp); err == nil && len(b)-r.Len() > 4+MaxFrameBytes {
			t.Fatalf("read %d bytes for one frame", len(b)-r.Len())
		}
	})
}

func TestReadFrameRefuses(t *testing.T) {
	tooLarge := binary.BigEndian.AppendUint32(nil, MaxFrameBytes+1)
	if err := ReadFrame(bytes.NewReader(tooLarge), &describeQuorumResponse{}); !errors.Is(err, ErrFrameTooLarge) {
		t.Errorf("oversized frame: %v, want ErrFrameTooLarge", err)
	}
	unknownField := append(binary.BigEndian.AppendUint32(nil, 12), `{"nope":1}  `...)
	if err := ReadFrame(bytes.NewReader(unknownField), &describeQuorumResponse{}); err == nil {
		t.Error("a frame with an unknown field was accepted")
	}
	short := append(binary.BigEndian.AppendUint32(nil, 10), `{}`...)
	if err := ReadFrame(bytes.NewReader(short), &describeQuorumResponse{}); err == nil {
		t.Error("a frame shorter than its length was accepted")
	}
}

// TestDescribeQuorumFollowsTheLeader: a node that is not the controller
// answers NOT_CONTROLLER with the leader's address, which DescribeQuorum
// follows.
func TestDescribeQuorumFollowsTheLeader(t *testing.T) {
	leader := serveOne(t, describeQuorumResponse{Quorum: &QuorumStatus{ClusterID: "c", LeaderID: 2}})
	follower := serveOne(t, describeQuorumResponse{ErrorCode: kerr.NotController.Code, LeaderAddr: leader})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	q, err := DescribeQuorum(ctx, follower)
	if err != nil || q.ClusterID != "c" || q.LeaderID != 2 {
		t.Fatalf("DescribeQuorum: %+v, %v", q, err)
	}
}

// serveOne answers one forwarding request on a loopback listener with resp.
func serveOne(t *testing.T, resp describeQuorumResponse) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { ln.Close(); <-done })
	go func() {
		defer close(done)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		var kind [1]byte
		var req describeQuorumRequest
		if _, err := io.ReadFull(c, kind[:]); err != nil || kind[0] != StreamForward || ReadFrame(c, &req) != nil || req.Op != OpDescribeQuorum {
			return
		}
		_ = WriteFrame(c, resp)
	}()
	return ln.Addr().String()
}
