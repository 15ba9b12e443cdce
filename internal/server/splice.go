package server

import (
	"errors"
	"io"
	"net"
	"os"
	"syscall"
)

// Splice is a file range that belongs at a position of an encoded
// response: the bytes come from the file, not from memory.
type Splice struct {
	// At is the position in the encoded buffer where the file bytes go.
	At   int
	File *os.File
	Pos  int64
	Size int64
}

// SplicedResponse is a response whose large byte fields (record batches
// read from segment files) are sent from the file to the socket by the
// kernel (sendfile), never copied through user space.
type SplicedResponse interface {
	// AppendSpliced appends the response's encoding without the spliced
	// bytes to dst, and says where each file range goes.
	AppendSpliced(dst []byte) ([]byte, []Splice)
	// Release frees what the response holds (segment references); it is
	// called once the response is written or dropped.
	Release()
}

// writeSpliced writes a frame whose body is buf with the splices inserted.
// buf starts with the 4-byte size prefix, which is filled in here.
func writeSpliced(w io.Writer, flush func() error, conn net.Conn, buf []byte, splices []Splice) error {
	total := int64(len(buf) - 4)
	for _, s := range splices {
		total += s.Size
	}
	buf[0], buf[1], buf[2], buf[3] = byte(total>>24), byte(total>>16), byte(total>>8), byte(total)
	prev := 0
	for _, s := range splices {
		if _, err := w.Write(buf[prev:s.At]); err != nil {
			return err
		}
		prev = s.At
		if err := flush(); err != nil {
			return err
		}
		if err := sendFile(conn, s.File, s.Pos, s.Size); err != nil {
			return err
		}
	}
	_, err := w.Write(buf[prev:])
	return err
}

// sendFile copies size bytes at pos of f to conn with sendfile(2), which
// moves page-cache pages to the socket without a copy through user space.
// It passes its own offset, so concurrent sends from one file never share
// the file's position.
func sendFile(conn net.Conn, f *os.File, pos, size int64) error {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		_, err := io.Copy(conn, io.NewSectionReader(f, pos, size))
		return err
	}
	dst, err := sc.SyscallConn()
	if err != nil {
		return err
	}
	src, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var sendErr error
	ctrlErr := src.Control(func(srcFD uintptr) {
		for size > 0 && sendErr == nil {
			writeErr := dst.Write(func(dstFD uintptr) bool {
				chunk := min(size, 1<<30)
				n, err := syscall.Sendfile(int(dstFD), int(srcFD), &pos, int(chunk))
				if n > 0 {
					size -= int64(n)
				}
				switch {
				case errors.Is(err, syscall.EAGAIN):
					return false // wait until the socket is writable
				case err != nil:
					sendErr = err
				case n == 0:
					sendErr = io.ErrUnexpectedEOF // the file is shorter than the slice
				}
				return true
			})
			if writeErr != nil && sendErr == nil {
				sendErr = writeErr
			}
		}
	})
	if ctrlErr != nil {
		return ctrlErr
	}
	return sendErr
}
