package broker

// FindCoordinator: versions 0-6. v4+ batches keys. Groups (key type 0) are
// placed on the leader of their __consumer_offsets partition, transactional
// ids (type 1) on the leader of their __transaction_state partition; each
// topic is created on the first request for its type. Share groups (type 2)
// are INVALID_REQUEST.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/fjordhq/fjord/internal/acl"
	"github.com/fjordhq/fjord/internal/metadata"
	"github.com/fjordhq/fjord/internal/server"
)

func init() { registerAPI(10, 0, 6, (*Broker).handleFindCoordinator) }

const (
	coordinatorTypeGroup       = 0
	coordinatorTypeTransaction = 1
)

func (b *Broker) handleFindCoordinator(ctx context.Context, rc *server.RequestContext, kreq kmsg.Request) server.Result {
	req := kreq.(*kmsg.FindCoordinatorRequest)
	resp := req.ResponseKind().(*kmsg.FindCoordinatorResponse)
	// Created on first use, when the cluster's brokers are known; until
	// it exists the coordinator is not available.
	switch img := b.meta.Image(); {
	case req.CoordinatorType == coordinatorTypeGroup && !hasTopic(img, offsetsTopic):
		if _, err := b.createOffsetsTopic(ctx, img); err != nil {
			b.logger.Warn("creating "+offsetsTopic, "err", err)
		}
	case req.CoordinatorType == coordinatorTypeTransaction && !hasTopic(img, transactionStateTopic):
		if _, err := b.createInternalTopic(ctx, img, b.transactionStateTopicSpec()); err != nil {
			b.logger.Warn("creating "+transactionStateTopic, "err", err)
		}
	}
	if req.Version < 4 {
		c := b.findCoordinator(rc, req.CoordinatorType, req.CoordinatorKey)
		resp.ErrorCode, resp.NodeID, resp.Host, resp.Port = c.ErrorCode, c.NodeID, c.Host, c.Port
		if c.ErrorCode != 0 {
			resp.ErrorMessage = c.ErrorMessage
		}
		return server.Result{Response: resp}
	}
	for _, key := range req.CoordinatorKeys {
		resp.Coordinators = append(resp.Coordinators, b.findCoordinator(rc, req.CoordinatorType, key))
	}
	return server.Result{Response: resp}
}

func (b *Broker) findCoordinator(rc *server.RequestContext, keyType int8, key string) kmsg.FindCoordinatorResponseCoordinator {
	listener := rc.Listener
	c := kmsg.NewFindCoordinatorResponseCoordinator()
	c.Key, c.NodeID, c.Port = key, -1, -1
	fail := func(err *kerr.Error) kmsg.FindCoordinatorResponseCoordinator {
		c.ErrorCode, c.ErrorMessage = err.Code, &err.Message
		return c
	}
	var br metadata.BrokerImage
	var code int16
	switch keyType {
	case coordinatorTypeGroup:
		if key == "" {
			return fail(kerr.InvalidGroupID)
		}
		if !b.allowedGroup(rc, acl.OpDescribe, key) {
			return fail(kerr.GroupAuthorizationFailed)
		}
		br, code = b.groupCoordinatorFor(key)
	case coordinatorTypeTransaction:
		if key == "" {
			return fail(kerr.InvalidRequest)
		}
		if !b.allowedTxnID(rc, acl.OpDescribe, key) {
			return fail(kerr.TransactionalIDAuthorizationFailed)
		}
		br, code = b.txnCoordinatorFor(key)
	default:
		return fail(kerr.InvalidRequest)
	}
	if code != 0 {
		return fail(kerr.ErrorForCode(code).(*kerr.Error))
	}
	host, port, ok := br.Endpoint(listener)
	if !ok {
		return fail(kerr.CoordinatorNotAvailable)
	}
	c.NodeID, c.Host, c.Port = br.NodeID, host, port
	return c
}

func hasTopic(img *metadata.Image, name string) bool {
	_, ok := img.Topic(name)
	return ok
}
