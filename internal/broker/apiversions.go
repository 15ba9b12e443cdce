package broker

// ApiVersions: versions 0-4 (KIP-511 client software fields accepted; an
// unknown newer version is answered with v0 and UNSUPPORTED_VERSION by the
// server package).

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/fjordhq/fjord/internal/server"
)

func (b *Broker) registerApiVersions(r server.Routes) {
	r[18] = server.Route{MinVersion: 0, MaxVersion: 4, Handle: b.handleApiVersions}
}

func (b *Broker) handleApiVersions(_ context.Context, rc *server.RequestContext, req kmsg.Request) server.Result {
	resp := req.ResponseKind().(*kmsg.ApiVersionsResponse)
	resp.ApiKeys = server.AdvertisedVersions(b.routes)
	return server.Result{Response: resp}
}
