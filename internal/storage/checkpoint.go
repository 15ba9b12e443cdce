package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/fjordhq/fjord/internal/recordbatch"
	"github.com/fjordhq/fjord/internal/vfs"
)

const (
	checkpointName    = "log-checkpoint"
	checkpointTmpName = "log-checkpoint.tmp"
	checkpointVersion = 1
	checkpointBytes   = 24
)

// checkpoint is the small durable state beside the segments.
type checkpoint struct {
	logStartOffset Offset
	// recoveryPoint: every segment whose base offset is below it was fully
	// fsynced (log and indexes) before the checkpoint was written, so Open
	// trusts it after a sanity check instead of scanning it.
	recoveryPoint Offset
}

func encodeCheckpoint(c checkpoint) []byte {
	b := make([]byte, checkpointBytes)
	binary.BigEndian.PutUint32(b[0:], checkpointVersion)
	binary.BigEndian.PutUint64(b[4:], uint64(c.logStartOffset))
	binary.BigEndian.PutUint64(b[12:], uint64(c.recoveryPoint))
	binary.BigEndian.PutUint32(b[20:], recordbatch.Checksum(b[:20]))
	return b
}

func decodeCheckpoint(b []byte) (checkpoint, error) {
	if len(b) != checkpointBytes {
		return checkpoint{}, fmt.Errorf("checkpoint size %d", len(b))
	}
	if v := binary.BigEndian.Uint32(b[0:]); v != checkpointVersion {
		return checkpoint{}, fmt.Errorf("checkpoint version %d", v)
	}
	if recordbatch.Checksum(b[:20]) != binary.BigEndian.Uint32(b[20:]) {
		return checkpoint{}, errors.New("checkpoint checksum mismatch")
	}
	c := checkpoint{
		logStartOffset: Offset(binary.BigEndian.Uint64(b[4:])),
		recoveryPoint:  Offset(binary.BigEndian.Uint64(b[12:])),
	}
	if c.logStartOffset < 0 || c.recoveryPoint < 0 {
		return checkpoint{}, errors.New("checkpoint holds a negative offset")
	}
	return c, nil
}

// readCheckpoint returns found=false when there is no checkpoint file.
func readCheckpoint(fs vfs.FS, dir string) (c checkpoint, found bool, err error) {
	f, err := fs.OpenFile(filepath.Join(dir, checkpointName), os.O_RDONLY, 0)
	if errors.Is(err, os.ErrNotExist) {
		return checkpoint{}, false, nil
	}
	if err != nil {
		return checkpoint{}, false, fmt.Errorf("open checkpoint: %w", err)
	}
	defer f.Close()
	b := make([]byte, checkpointBytes+1)
	n, err := f.ReadAt(b, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return checkpoint{}, false, fmt.Errorf("read checkpoint: %w", err)
	}
	c, err = decodeCheckpoint(b[:n])
	if err != nil {
		return checkpoint{}, false, corruptf(f.Name(), 0, "%v", err)
	}
	return c, true, nil
}

// writeCheckpoint replaces the checkpoint atomically: temp file, fsync,
// rename, fsync of the directory.
func writeCheckpoint(fs vfs.FS, dir string, c checkpoint) error {
	tmp := filepath.Join(dir, checkpointTmpName)
	f, err := fs.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("create checkpoint: %w", err)
	}
	if _, err := f.Write(encodeCheckpoint(c)); err != nil {
		f.Close()
		return fmt.Errorf("write checkpoint: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("sync checkpoint: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close checkpoint: %w", err)
	}
	if err := fs.Rename(tmp, filepath.Join(dir, checkpointName)); err != nil {
		return fmt.Errorf("rename checkpoint: %w", err)
	}
	if err := fs.SyncDir(dir); err != nil {
		return fmt.Errorf("sync dir after checkpoint: %w", err)
	}
	return nil
}
