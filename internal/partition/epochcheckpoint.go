package partition

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"

	"github.com/fjordhq/fjord/internal/storage"
	"github.com/fjordhq/fjord/internal/vfs"
)

// The leader epoch checkpoint is Kafka's text file, one per partition
// directory:
//
//	0              version
//	2              number of entries
//	0 0            epoch startOffset
//	3 1200
//
// It keeps epochs that the log alone cannot show: an epoch begun by an
// election with no batch appended yet, and the order of epochs whose first
// batches were deleted by retention. It is replaced atomically (temp file,
// fsync, rename, directory fsync).
const (
	LeaderEpochCheckpointName = "leader-epoch-checkpoint"
	epochCheckpointTmpName    = "leader-epoch-checkpoint.tmp"
	epochCheckpointVersion    = 0
	// maxEpochCheckpointBytes bounds what is read: a leader epoch is one
	// election, so 64 KiB of lines is thousands of elections of history,
	// more than any cache keeps.
	maxEpochCheckpointBytes = 64 << 10
	maxEpochCheckpointLines = maxEpochCheckpointBytes / 4
)

// ErrBadEpochCheckpoint marks a leader-epoch-checkpoint that cannot be
// parsed; the caller rebuilds epochs from the log instead.
var ErrBadEpochCheckpoint = errors.New("partition: malformed leader-epoch-checkpoint")

func encodeEpochCheckpoint(entries []EpochStart) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%d\n%d\n", epochCheckpointVersion, len(entries))
	for _, e := range entries {
		fmt.Fprintf(&b, "%d %d\n", e.Epoch, e.StartOffset)
	}
	return b.Bytes()
}

// decodeEpochCheckpoint parses the file's bytes. It never allocates more
// than the number of lines present, whatever the count line claims, and
// requires epochs and start offsets to increase.
func decodeEpochCheckpoint(b []byte) ([]EpochStart, error) {
	if len(b) > maxEpochCheckpointBytes {
		return nil, fmt.Errorf("%w: %d bytes", ErrBadEpochCheckpoint, len(b))
	}
	lines := bytes.Split(bytes.TrimSuffix(b, []byte("\n")), []byte("\n"))
	if len(lines) < 2 || string(lines[0]) != strconv.Itoa(epochCheckpointVersion) {
		return nil, fmt.Errorf("%w: missing or unknown version", ErrBadEpochCheckpoint)
	}
	n, err := strconv.Atoi(string(lines[1]))
	if err != nil || n < 0 || n != len(lines)-2 {
		return nil, fmt.Errorf("%w: count %q for %d entries", ErrBadEpochCheckpoint, lines[1], len(lines)-2)
	}
	out := make([]EpochStart, 0, n)
	for i, line := range lines[2:] {
		epochText, offsetText, ok := bytes.Cut(line, []byte(" "))
		if !ok {
			return nil, fmt.Errorf("%w: line %d %q", ErrBadEpochCheckpoint, i+3, line)
		}
		epoch, err1 := strconv.ParseInt(string(epochText), 10, 32)
		offset, err2 := strconv.ParseInt(string(offsetText), 10, 64)
		if err1 != nil || err2 != nil || epoch < 0 || offset < 0 {
			return nil, fmt.Errorf("%w: line %d %q", ErrBadEpochCheckpoint, i+3, line)
		}
		e := EpochStart{Epoch: int32(epoch), StartOffset: storage.Offset(offset)}
		if k := len(out); k > 0 && (e.Epoch <= out[k-1].Epoch || e.StartOffset < out[k-1].StartOffset) {
			return nil, fmt.Errorf("%w: line %d %q does not follow %v", ErrBadEpochCheckpoint, i+3, line, out[k-1])
		}
		out = append(out, e)
	}
	return out, nil
}

// WriteLeaderEpochCheckpoint saves the epoch history in dir (the
// partition's directory). The broker calls it after an election and after a
// truncation, which are when the history changes in ways the log does not
// record.
func (p *Partition) WriteLeaderEpochCheckpoint(fs vfs.FS, dir string) error {
	tmp := filepath.Join(dir, epochCheckpointTmpName)
	f, err := fs.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("create leader epoch checkpoint: %w", err)
	}
	if _, err := f.Write(encodeEpochCheckpoint(p.LeaderEpochs())); err != nil {
		f.Close()
		return fmt.Errorf("write leader epoch checkpoint: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("sync leader epoch checkpoint: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close leader epoch checkpoint: %w", err)
	}
	if err := fs.Rename(tmp, filepath.Join(dir, LeaderEpochCheckpointName)); err != nil {
		return fmt.Errorf("rename leader epoch checkpoint: %w", err)
	}
	if err := fs.SyncDir(dir); err != nil {
		return fmt.Errorf("sync dir after leader epoch checkpoint: %w", err)
	}
	return nil
}

// LoadLeaderEpochCheckpoint merges the checkpoint in dir into the history
// rebuilt from the log: an epoch from either source is kept at its earliest
// start, entries past the log end are dropped (their records were lost or
// truncated), and the result keeps epochs and starts increasing. A missing
// file is not an error; a malformed one is ErrBadEpochCheckpoint and
// changes nothing.
func (p *Partition) LoadLeaderEpochCheckpoint(fs vfs.FS, dir string) error {
	f, err := fs.OpenFile(filepath.Join(dir, LeaderEpochCheckpointName), os.O_RDONLY, 0)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("open leader epoch checkpoint: %w", err)
	}
	defer f.Close()
	b := make([]byte, maxEpochCheckpointBytes+1)
	n, err := f.ReadAt(b, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read leader epoch checkpoint: %w", err)
	}
	saved, err := decodeEpochCheckpoint(b[:n])
	if err != nil {
		return fmt.Errorf("%s: %w", f.Name(), err)
	}
	p.appendMu.Lock()
	defer p.appendMu.Unlock()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mu.epochs = mergeEpochs(p.mu.epochs, saved, p.log.LogEndOffset())
	return nil
}

func mergeEpochs(scanned []epochStart, saved []EpochStart, logEnd storage.Offset) []epochStart {
	first := map[int32]storage.Offset{}
	note := func(epoch int32, start storage.Offset) {
		if start > logEnd {
			return
		}
		if s, ok := first[epoch]; !ok || start < s {
			first[epoch] = start
		}
	}
	for _, e := range scanned {
		note(e.epoch, e.start)
	}
	for _, e := range saved {
		note(e.Epoch, e.StartOffset)
	}
	all := make([]epochStart, 0, len(first))
	for epoch, start := range first {
		all = append(all, epochStart{epoch: epoch, start: start})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].epoch < all[j].epoch })
	out := all[:0]
	for _, e := range all {
		// A later epoch cannot start before an earlier one; such an entry
		// is stale (from before a truncation) and is dropped.
		if k := len(out); k > 0 && e.start < out[k-1].start {
			continue
		}
		out = append(out, e)
	}
	return out
}
