package broker

// DescribeCluster: versions 0-1 (brokers endpoint type only).

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/fjordhq/fjord/internal/server"
)

func init() { registerAPI(60, 0, 1, (*Broker).handleDescribeCluster) }

func (b *Broker) handleDescribeCluster(_ context.Context, rc *server.RequestContext, kreq kmsg.Request) server.Result {
	req := kreq.(*kmsg.DescribeClusterRequest)
	resp := req.ResponseKind().(*kmsg.DescribeClusterResponse)
	if req.Version >= 1 && req.EndpointType != 1 {
		// Only broker endpoints are served; controllers are not exposed.
		resp.ErrorCode = kerr.UnsupportedEndpointType.Code
		return server.Result{Response: resp}
	}
	img := b.meta.Image()
	resp.EndpointType = 1
	resp.ClusterID = img.ClusterID()
	resp.ControllerID = b.controllerID()
	for _, br := range b.metadataBrokers(img, rc.Listener) {
		out := kmsg.NewDescribeClusterResponseBroker()
		out.NodeID, out.Host, out.Port, out.Rack = br.NodeID, br.Host, br.Port, br.Rack
		resp.Brokers = append(resp.Brokers, out)
	}
	return server.Result{Response: resp}
}
