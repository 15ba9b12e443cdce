package broker

// ApiVersions: versions 0-4 (KIP-511 client software fields accepted; an
// unknown newer version is answered with v0 and UNSUPPORTED_VERSION by the
// server package). v3+ carries the features (KIP-584): the one fjord
// implements with Kafka's meaning is transaction.version (supported 0-2,
// finalized at the broker's transaction.version, default 2), which clients
// read to choose KIP-890 part 2 transactions. metadata.version and
// kraft.version describe Kafka's own metadata log, which fjord does not
// keep, and no client needs them: they are not claimed.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/fjordhq/fjord/internal/server"
)

func init() { registerAPI(18, 0, 4, (*Broker).handleApiVersions) }

// transactionVersionFeature is Kafka's feature name, and maxTransactionVersion
// the highest level implemented (TransactionVersion.TV_2).
const (
	transactionVersionFeature = "transaction.version"
	maxTransactionVersion     = 2
)

func (b *Broker) handleApiVersions(_ context.Context, rc *server.RequestContext, req kmsg.Request) server.Result {
	resp := req.ResponseKind().(*kmsg.ApiVersionsResponse)
	resp.ApiKeys = server.AdvertisedVersions(b.routes)
	for i := range resp.ApiKeys {
		if resp.ApiKeys[i].ApiKey == 0 {
			// KAFKA-18659: librdkafka before 2.8 enables gzip, snappy and lz4
			// only when the broker lists Produce v0-v2, so Kafka 4 lists them
			// while refusing those versions on the wire, and so does fjord.
			// Clients pick the highest common version, never these.
			resp.ApiKeys[i].MinVersion = 0
		}
	}
	if req.GetVersion() >= 3 {
		b.addFeatures(resp, req.GetVersion())
	}
	return server.Result{Response: resp}
}

// addFeatures fills in the supported and finalized features as Kafka 4
// does. A supported feature whose minimum is 0 is left out below v4, where
// older clients fail to read it (KAFKA-17492); a finalized level 0 is left
// out at every version. The epoch is the metadata offset the features were
// read at, as Kafka's KRaft brokers answer: clients take the highest they
// have seen, and franz-go reads the features only when it is not -1.
func (b *Broker) addFeatures(resp *kmsg.ApiVersionsResponse, version int16) {
	if version >= 4 {
		f := kmsg.NewApiVersionsResponseSupportedFeature()
		f.Name, f.MinVersion, f.MaxVersion = transactionVersionFeature, 0, maxTransactionVersion
		resp.SupportedFeatures = append(resp.SupportedFeatures, f)
	}
	resp.FinalizedFeaturesEpoch = int64(b.meta.Image().Offset())
	if level := b.opts.Config.TransactionVersion; level > 0 {
		f := kmsg.NewApiVersionsResponseFinalizedFeature()
		f.Name, f.MinVersionLevel, f.MaxVersionLevel = transactionVersionFeature, level, level
		resp.FinalizedFeatures = append(resp.FinalizedFeatures, f)
	}
}
