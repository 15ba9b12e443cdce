package replicas

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/fjordhq/fjord/internal/metadata"
	"github.com/fjordhq/fjord/internal/partition"
	"github.com/fjordhq/fjord/internal/recordbatch"
	"github.com/fjordhq/fjord/internal/storage"
	"github.com/fjordhq/fjord/internal/vfs"
)

// TestFailedDiskTakesEveryReplicaOffline fails the disk in each way a
// broker meets it: an fsync of a partition's log, the leader epoch
// checkpoint, the high watermark checkpoint, the directory of a new
// partition. Each takes the whole log directory offline: requests on the
// replicas answer KAFKA_STORAGE_ERROR, the leader role ends (so a write
// waiting for the ISR ends), and a restart on a healthy disk brings every
// replica back with what was durable.
func TestFailedDiskTakesEveryReplicaOffline(t *testing.T) {
	cases := []struct {
		name string
		// fail fails the disk: it installs inj's rule and then does
		// what meets it.
		fail func(f *fixture, inj *diskFault)
	}{
		{"log fsync", func(f *fixture, inj *diskFault) {
			inj.failing(vfs.OpSync, f.topic+"-0/")
			p := f.partition()
			res := f.append(p)
			if err := p.WaitDurable(res.LastOffset); !errors.Is(err, storage.ErrLogFailed) {
				f.t.Fatalf("fsync on the failed disk: %v, want ErrLogFailed", err)
			}
		}},
		{"leader epoch checkpoint", func(f *fixture, inj *diskFault) {
			inj.failing(vfs.OpCreate, "leader-epoch-checkpoint")
			f.m.saveEpochs(f.partition())
		}},
		{"high watermark checkpoint", func(f *fixture, inj *diskFault) {
			inj.failing(vfs.OpRename, hwCheckpointName)
			f.m.checkpointHighWatermarks()
		}},
		{"new partition directory", func(f *fixture, inj *diskFault) {
			inj.failing(vfs.OpCreate, "other-0/")
			if _, err := f.meta.CreateTopic(f.ctx, metadata.CreateTopicSpec{Name: "other", NumPartitions: -1,
				ReplicationFactor: -1, Assignments: map[int32][]int32{0: {1}}}); err != nil {
				f.t.Fatal(err)
			}
			f.applied()
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			fs := f.m.opts.FS.(*vfs.MemFS)
			inj := &diskFault{}
			fs.SetInjector(inj.inject)
			p := f.partition()
			waiting, err := f.m.NewWrite(p)
			if err != nil {
				t.Fatal(err)
			}
			f.produce(1) // follower 2, in the ISR, does not fetch it
			durableEnd := p.LogEndOffset()
			waited := make(chan error, 1)
			go func() { waited <- waiting.Wait(context.Background(), durableEnd-1, -1, time.Hour) }()

			tc.fail(f, inj)
			select {
			case <-f.m.LogDirFailed():
			case <-f.ctx.Done():
				t.Fatal("the log directory was not failed")
			}
			if f.m.LogDirError() == nil {
				t.Fatal("no log directory error")
			}
			if _, perr := f.m.Leader(f.topic, 0); perr != kerr.KafkaStorageError {
				t.Fatalf("Leader on the failed disk: %v, want KAFKA_STORAGE_ERROR", perr)
			}
			select {
			case err := <-waited:
				// Either the leader role ended or the log itself failed.
				if !errors.Is(err, kerr.NotLeaderForPartition) && !errors.Is(err, storage.ErrLogFailed) {
					t.Fatalf("acks=all wait on the failed disk: %v, want NOT_LEADER_OR_FOLLOWER or a failed log", err)
				}
			case <-f.ctx.Done():
				t.Fatal("the acks=all wait did not end when the disk failed")
			}
			if _, err := f.m.NewWrite(p); !errors.Is(err, kerr.KafkaStorageError) {
				t.Fatalf("a write on the failed disk: %v, want KAFKA_STORAGE_ERROR", err)
			}

			// A healthy disk again: the restarted manager recovers the
			// logs and leads as before.
			inj.heal()
			f.restart()
			if f.m.LogDirError() != nil {
				t.Fatalf("failed after a restart on a healthy disk: %v", f.m.LogDirError())
			}
			if _, perr := f.m.Leader(f.topic, 0); perr != nil {
				t.Fatalf("Leader after the restart: %v", perr)
			}
			if end := f.partition().LogEndOffset(); end < durableEnd {
				t.Fatalf("log end %d after the restart, below the durable %d", end, durableEnd)
			}
			f.produce(1)
		})
	}
}

// diskFault fails the operations of one kind on files whose path contains
// a string, until healed.
type diskFault struct {
	mu   sync.Mutex
	op   vfs.Op
	path string
}

func (d *diskFault) failing(op vfs.Op, path string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.op, d.path = op, path
}

func (d *diskFault) heal() { d.failing("", "") }

// inject is the MemFS injector.
func (d *diskFault) inject(op vfs.Op, name string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.path != "" && op == d.op && strings.Contains(filepath.ToSlash(name)+"/", d.path) {
		return vfs.ErrInjected
	}
	return nil
}

// append appends one batch of records (one small record if none) on p
// without waiting for it to be durable.
func (f *fixture) append(p *Replica, records ...recordbatch.Record) partition.AppendResult {
	f.t.Helper()
	if len(records) == 0 {
		records = []recordbatch.Record{{Value: []byte("v")}}
	}
	batch := recordbatch.Build(recordbatch.BuildSpec{ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1,
		BaseTimestamp: 1000, Records: records})
	h, err := recordbatch.ParseHeader(batch)
	if err != nil {
		f.t.Fatal(err)
	}
	res, err := p.Append(batch, h, 1000)
	if err != nil {
		f.t.Fatal(err)
	}
	return res
}
