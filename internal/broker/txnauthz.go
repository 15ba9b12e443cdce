package broker

// Authorization of the transaction APIs, as KafkaApis checks them: Write
// on the transactional id for everything a producer does with its
// transaction, Write on each topic it adds, Read on the group whose
// offsets it adds, Describe on the ids an admin looks at, and
// ClusterAction for the broker-only verification of AddPartitionsToTxn
// v4+ (KIP-890). A refused request never reaches the coordinator.

import (
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/fjordhq/fjord/internal/acl"
	"github.com/fjordhq/fjord/internal/server"
)

// authorizeTxnRequest returns the whole answer to a refused request, or
// nil and, for requests refused in part, a merge that adds the refused
// items to the coordinator's answer.
func (b *Broker) authorizeTxnRequest(rc *server.RequestContext, req kmsg.Request) (kmsg.Response, func(kmsg.Response)) {
	if !b.authz.enabled {
		return nil, nil
	}
	switch r := req.(type) {
	case *kmsg.InitProducerIDRequest:
		if r.TransactionalID != nil && !b.allowedTxnID(rc, acl.OpWrite, *r.TransactionalID) {
			resp := r.ResponseKind().(*kmsg.InitProducerIDResponse)
			resp.ProducerID, resp.ProducerEpoch, resp.ErrorCode = -1, -1, kerr.TransactionalIDAuthorizationFailed.Code
			return resp, nil
		}
	case *kmsg.AddOffsetsToTxnRequest:
		resp := r.ResponseKind().(*kmsg.AddOffsetsToTxnResponse)
		switch {
		case !b.allowedTxnID(rc, acl.OpWrite, r.TransactionalID):
			resp.ErrorCode = kerr.TransactionalIDAuthorizationFailed.Code
			return resp, nil
		case !b.allowedGroup(rc, acl.OpRead, r.Group):
			resp.ErrorCode = kerr.GroupAuthorizationFailed.Code
			return resp, nil
		}
	case *kmsg.EndTxnRequest:
		if !b.allowedTxnID(rc, acl.OpWrite, r.TransactionalID) {
			resp := r.ResponseKind().(*kmsg.EndTxnResponse)
			resp.ErrorCode = kerr.TransactionalIDAuthorizationFailed.Code
			return resp, nil
		}
	case *kmsg.AddPartitionsToTxnRequest:
		return b.authorizeAddPartitions(rc, r), nil
	case *kmsg.DescribeTransactionsRequest:
		var refused []string
		r.TransactionalIDs = slices.DeleteFunc(r.TransactionalIDs, func(id string) bool {
			if b.allowedTxnID(rc, acl.OpDescribe, id) {
				return false
			}
			refused = append(refused, id)
			return true
		})
		if len(refused) == 0 {
			return nil, nil
		}
		return nil, func(kresp kmsg.Response) {
			resp := kresp.(*kmsg.DescribeTransactionsResponse)
			for _, id := range refused {
				st := kmsg.NewDescribeTransactionsResponseTransactionState()
				st.TransactionalID, st.ErrorCode = id, kerr.TransactionalIDAuthorizationFailed.Code
				st.ProducerID, st.ProducerEpoch = -1, -1
				resp.TransactionStates = append(resp.TransactionStates, st)
			}
		}
	case *kmsg.ListTransactionsRequest:
		return nil, func(kresp kmsg.Response) {
			resp := kresp.(*kmsg.ListTransactionsResponse)
			resp.TransactionStates = slices.DeleteFunc(resp.TransactionStates, func(st kmsg.ListTransactionsResponseTransactionState) bool {
				return !b.allowedTxnID(rc, acl.OpDescribe, st.TransactionalID)
			})
		}
	}
	return nil, nil
}

// authorizeAddPartitions checks an AddPartitionsToTxn: before v4 one
// producer's transaction, answered whole when refused (the refused topics
// TOPIC_AUTHORIZATION_FAILED, the others OPERATION_NOT_ATTEMPTED, as
// Kafka); from v4 a batch that only brokers send (ClusterAction).
func (b *Broker) authorizeAddPartitions(rc *server.RequestContext, r *kmsg.AddPartitionsToTxnRequest) kmsg.Response {
	resp := r.ResponseKind().(*kmsg.AddPartitionsToTxnResponse)
	if r.Version >= 4 {
		if b.allowedCluster(rc, acl.OpClusterAction) {
			return nil
		}
		resp.ErrorCode = kerr.ClusterAuthorizationFailed.Code
		return resp
	}
	txnDenied := !b.allowedTxnID(rc, acl.OpWrite, r.TransactionalID)
	denied := map[string]bool{}
	for _, t := range r.Topics {
		if !b.allowedTopic(rc, acl.OpWrite, t.Topic) {
			denied[t.Topic] = true
		}
	}
	if !txnDenied && len(denied) == 0 {
		return nil
	}
	for _, t := range r.Topics {
		rt := kmsg.NewAddPartitionsToTxnResponseTopic()
		rt.Topic = t.Topic
		code := kerr.OperationNotAttempted.Code
		switch {
		case txnDenied:
			code = kerr.TransactionalIDAuthorizationFailed.Code
		case denied[t.Topic]:
			code = kerr.TopicAuthorizationFailed.Code
		}
		for _, p := range t.Partitions {
			rp := kmsg.NewAddPartitionsToTxnResponseTopicPartition()
			rp.Partition, rp.ErrorCode = p, code
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}
