package e2e

import "github.com/fjordhq/fjord/internal/e2etest"

// The helpers every end-to-end package shares live in internal/e2etest;
// these names keep this package's tests as they were written.
type rec = e2etest.Record

const (
	testTimeout  = e2etest.TestTimeout
	pollInterval = e2etest.PollInterval
)

var (
	startServer            = e2etest.StartServer
	testContext            = e2etest.Context
	newKgo                 = e2etest.NewKgo
	newAdmin               = e2etest.NewAdmin
	eventually             = e2etest.Eventually
	createTopic            = e2etest.CreateTopic
	createTopicRF          = e2etest.CreateTopicRF
	waitTopicReady         = e2etest.WaitTopicReady
	consumeKgo             = e2etest.ConsumeKgo
	recFromKgo             = e2etest.RecordFromKgo
	uniqueTopic            = e2etest.UniqueTopic
	kcat                   = e2etest.Kcat
	produceKcat            = e2etest.ProduceKcat
	consumeKcat            = e2etest.ConsumeKcat
	lastBytes              = e2etest.LastBytes
	saramaConfig           = e2etest.SaramaConfig
	consumeSarama          = e2etest.ConsumeSarama
	consumeSaramaPartition = e2etest.ConsumeSaramaPartition
)

type lockedBuffer = e2etest.LockedBuffer
