package replicas

import (
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/fjordhq/fjord/internal/replication"
)

// A failed log directory (Kafka's log directory failure, KIP-112). A write
// or fsync that fails leaves the page cache in a state nobody knows, so the
// log that saw it stops (storage.ErrLogFailed); a checkpoint that cannot be
// written, or a partition directory that cannot be created, says the same
// of the disk. Kafka takes the whole directory offline on any of them, and
// so does fjord: a broker has one log directory, so every replica here
// goes offline at once.
//
// Offline means: produce, fetch and the other partition requests on a
// replica hosted here answer KAFKA_STORAGE_ERROR (Leader); this broker
// leads nothing (leader roles end, so waiting acknowledgements end) and
// follows nothing (the fetcher stops), and later images no longer open or
// delete logs. The broker is told through LogDirFailed and reports the
// failure to the controller (package node fences it), which removes it
// from every ISR and elects new leaders for what it led. A restart on a
// healthy disk recovers the logs, and the replicas catch up and rejoin
// their ISRs like any restarted broker's.

// failLogDir records that the log directory failed, with the first error
// seen. It only records and signals, so storage may call it from under its
// own locks; takeOffline does the work.
func (m *Manager) failLogDir(err error) {
	m.logDir.once.Do(func() {
		m.logDir.err = err
		close(m.logDir.failed)
	})
}

// diskError fails the log directory with err and returns it.
func (m *Manager) diskError(err error) error {
	m.failLogDir(err)
	return err
}

// LogDirFailed is closed once the log directory failed.
func (m *Manager) LogDirFailed() <-chan struct{} { return m.logDir.failed }

// LogDirError is the error that failed the log directory, or nil.
func (m *Manager) LogDirError() error {
	select {
	case <-m.logDir.failed:
		return m.logDir.err
	default:
		return nil
	}
}

func (m *Manager) logDirOffline() bool { return m.LogDirError() != nil }

// takeOffline ends every leader role and stops following. It runs on the
// apply loop (images.go), which after it applies no image to the logs, so
// no role comes back. The logs stay open until shutdown.
func (m *Manager) takeOffline() {
	m.logger.Error("log directory failed: every replica on this broker is offline until it restarts on a healthy disk",
		"dir", m.opts.DataDir, "err", m.logDir.err)
	for _, p := range m.All() {
		m.dropLeaderRole(p)
		m.fetcher.Unfollow(replication.TopicPartition{Topic: p.Topic, TopicID: p.TopicID, Partition: p.Index})
	}
}

// offlineError is what a request on a hosted replica gets once the log
// directory failed.
var offlineError = kerr.KafkaStorageError
