package replicas

// The high watermark checkpoint: Kafka's replication-offset-checkpoint in
// the data directory, one "topic partition offset" line per replica under a
// version and a count line. A restarted replica resumes its high watermark
// from it instead of from the log start, so consumers of a cluster that
// restarted see committed records again at once rather than after the ISR
// has fetched a round.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/fjordhq/fjord/internal/storage"
)

const (
	hwCheckpointName    = "replication-offset-checkpoint"
	hwCheckpointTmpName = hwCheckpointName + ".tmp"
	hwCheckpointVersion = 0
	// maxHWCheckpointBytes bounds what is read: far more than 100,000
	// partitions with long topic names.
	maxHWCheckpointBytes = 64 << 20
)

var errBadHWCheckpoint = errors.New("malformed " + hwCheckpointName)

// replicaKey names a partition in the checkpoint.
type replicaKey struct {
	topic     string
	partition int32
}

func encodeHWCheckpoint(hws map[replicaKey]storage.Offset) []byte {
	keys := make([]replicaKey, 0, len(hws))
	for k := range hws {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b replicaKey) int {
		if c := strings.Compare(a.topic, b.topic); c != 0 {
			return c
		}
		return int(a.partition - b.partition)
	})
	var b bytes.Buffer
	fmt.Fprintf(&b, "%d\n%d\n", hwCheckpointVersion, len(keys))
	for _, k := range keys {
		fmt.Fprintf(&b, "%s %d %d\n", k.topic, k.partition, hws[k])
	}
	return b.Bytes()
}

// decodeHWCheckpoint parses the file. Whatever the count line claims, it
// allocates no more entries than lines present.
func decodeHWCheckpoint(b []byte) (map[replicaKey]storage.Offset, error) {
	lines := bytes.Split(bytes.TrimSuffix(b, []byte("\n")), []byte("\n"))
	if len(lines) < 2 || string(lines[0]) != strconv.Itoa(hwCheckpointVersion) {
		return nil, fmt.Errorf("%w: missing or unknown version", errBadHWCheckpoint)
	}
	n, err := strconv.Atoi(string(lines[1]))
	if err != nil || n < 0 || n != len(lines)-2 {
		return nil, fmt.Errorf("%w: count %q for %d entries", errBadHWCheckpoint, lines[1], len(lines)-2)
	}
	out := make(map[replicaKey]storage.Offset, n)
	for i, line := range lines[2:] {
		fields := bytes.Fields(line)
		if len(fields) != 3 {
			return nil, fmt.Errorf("%w: line %d %q", errBadHWCheckpoint, i+3, line)
		}
		partition, err1 := strconv.ParseInt(string(fields[1]), 10, 32)
		offset, err2 := strconv.ParseInt(string(fields[2]), 10, 64)
		if err1 != nil || err2 != nil || partition < 0 || offset < 0 {
			return nil, fmt.Errorf("%w: line %d %q", errBadHWCheckpoint, i+3, line)
		}
		out[replicaKey{string(fields[0]), int32(partition)}] = storage.Offset(offset)
	}
	return out, nil
}

// loadHWCheckpoint reads the checkpoint once at start. A missing file is
// an empty checkpoint; a malformed one is logged and ignored, which only
// costs the restarted replicas their head start.
func (m *Manager) loadHWCheckpoint() map[replicaKey]storage.Offset {
	f, err := m.opts.FS.OpenFile(filepath.Join(m.opts.DataDir, hwCheckpointName), os.O_RDONLY, 0)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		m.logger.Warn("reading the high watermark checkpoint", "err", err)
		return nil
	}
	defer f.Close()
	buf := make([]byte, 0, 4096)
	for len(buf) <= maxHWCheckpointBytes {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, len(buf))
		}
		n, err := f.ReadAt(buf[len(buf):cap(buf)], int64(len(buf)))
		buf = buf[:len(buf)+n]
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			m.logger.Warn("reading the high watermark checkpoint", "err", err)
			return nil
		}
	}
	hws, err := decodeHWCheckpoint(buf)
	if err != nil {
		m.logger.Warn("ignoring the high watermark checkpoint", "err", err)
		return nil
	}
	return hws
}

// writeHWCheckpoint saves every replicated partition's high watermark,
// atomically (temporary file, fsync, rename, directory fsync).
func (m *Manager) writeHWCheckpoint() error {
	hws := map[replicaKey]storage.Offset{}
	for _, p := range m.All() {
		hws[replicaKey{p.Topic, p.Index}] = p.HighWatermark()
	}
	if len(hws) == 0 {
		// A single node's high watermarks follow its log; nothing to save.
		return nil
	}
	dir := m.opts.DataDir
	tmp := filepath.Join(dir, hwCheckpointTmpName)
	f, err := m.opts.FS.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("create %s: %w", hwCheckpointTmpName, err)
	}
	if _, err := f.Write(encodeHWCheckpoint(hws)); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", hwCheckpointTmpName, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("sync %s: %w", hwCheckpointTmpName, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", hwCheckpointTmpName, err)
	}
	if err := m.opts.FS.Rename(tmp, filepath.Join(dir, hwCheckpointName)); err != nil {
		return fmt.Errorf("rename %s: %w", hwCheckpointName, err)
	}
	return m.opts.FS.SyncDir(dir)
}

// hwCheckpointLoop saves the checkpoint every
// replica.high.watermark.checkpoint.interval.ms; Close saves it once more.
func (m *Manager) hwCheckpointLoop(ctx context.Context) {
	interval := m.opts.Config.HighWatermarkCheckpointEvery
	if interval <= 0 {
		interval = defaultHWCheckpointInterval
	}
	every(ctx, interval, m.checkpointHighWatermarks)
}

// checkpointHighWatermarks saves the checkpoint; failing to fails the log
// directory (logdir.go), whose last checkpoint then stands.
func (m *Manager) checkpointHighWatermarks() {
	if m.logDirOffline() {
		return
	}
	if err := m.writeHWCheckpoint(); err != nil {
		m.failLogDir(fmt.Errorf("saving the high watermark checkpoint: %w", err))
	}
}

const defaultHWCheckpointInterval = 5 * time.Second
