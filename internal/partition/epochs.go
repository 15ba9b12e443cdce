package partition

import "github.com/fjordhq/fjord/internal/storage"

// The leader epoch history (Kafka's leader epoch cache): where each epoch's
// batches begin. Appends extend it; BecomeLeader starts an epoch at the log
// end; a truncation cuts it (follower.go); the checkpoint file keeps the
// epochs the log's batches do not show (epochcheckpoint.go).

// BecomeLeader starts leader epoch epoch at the current log end, as Kafka's
// leader does on election, so that OffsetForLeaderEpoch answers for the
// previous epoch end where the new one began even before the first append.
func (p *Partition) BecomeLeader(epoch int32) {
	p.appendMu.Lock()
	defer p.appendMu.Unlock()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mu.leaderEpoch = epoch
	p.noteEpochLocked(epoch, p.log.LogEndOffset())
}

// EpochStart is one entry of the leader epoch history: epoch's records
// start at StartOffset.
type EpochStart struct {
	Epoch       int32
	StartOffset storage.Offset
}

// LeaderEpochs is the leader epoch history, oldest first (a copy).
func (p *Partition) LeaderEpochs() []EpochStart {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]EpochStart, len(p.mu.epochs))
	for i, e := range p.mu.epochs {
		out[i] = EpochStart{Epoch: e.epoch, StartOffset: e.start}
	}
	return out
}

// LatestEpoch is the newest epoch in the history, or -1.
func (p *Partition) LatestEpoch() int32 {
	p.mu.Lock()
	defer p.mu.Unlock()
	if n := len(p.mu.epochs); n > 0 {
		return p.mu.epochs[n-1].epoch
	}
	return -1
}

type epochStart struct {
	epoch int32
	start storage.Offset
}

// noteEpochLocked records that epoch's batches begin at start, if epoch is
// newer than every known one.
func (p *Partition) noteEpochLocked(epoch int32, start storage.Offset) {
	if n := len(p.mu.epochs); n > 0 && p.mu.epochs[n-1].epoch >= epoch {
		return
	}
	p.mu.epochs = append(p.mu.epochs, epochStart{epoch: epoch, start: start})
}

// EndOffsetForEpoch answers OffsetForLeaderEpoch: the largest known epoch
// not above the requested one, and the offset where the next epoch starts
// (the log end offset for the latest epoch). An epoch older than every known
// one gives -1, -1.
func (p *Partition) EndOffsetForEpoch(requested int32) (epoch int32, endOffset int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := len(p.mu.epochs) - 1; i >= 0; i-- {
		e := p.mu.epochs[i]
		if e.epoch > requested {
			continue
		}
		if i == len(p.mu.epochs)-1 {
			return e.epoch, int64(p.log.LogEndOffset())
		}
		return e.epoch, int64(p.mu.epochs[i+1].start)
	}
	if len(p.mu.epochs) == 0 && requested <= p.mu.leaderEpoch {
		return p.mu.leaderEpoch, int64(p.log.LogEndOffset())
	}
	return -1, -1
}
