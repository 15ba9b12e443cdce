package broker

// ApiVersions: versions 0-4 (KIP-511 client software fields accepted; an
// unknown newer version is answered with v0 and UNSUPPORTED_VERSION by the
// server package).

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/fjordhq/fjord/internal/server"
)

func init() { registerAPI(18, 0, 4, (*Broker).handleApiVersions) }

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
	return server.Result{Response: resp}
}
