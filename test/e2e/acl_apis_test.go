package e2e

import (
	"reflect"
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"
)

// authzCodes are the error codes of a refused authorization.
var authzCodes = []int16{kerr.TopicAuthorizationFailed.Code, kerr.GroupAuthorizationFailed.Code,
	kerr.ClusterAuthorizationFailed.Code, kerr.TransactionalIDAuthorizationFailed.Code}

// errorCodes collects every ErrorCode field of a response, at any depth.
func errorCodes(v reflect.Value, out *[]int16) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			errorCodes(v.Elem(), out)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			f := v.Type().Field(i)
			if f.Name == "ErrorCode" && f.Type.Kind() == reflect.Int16 {
				*out = append(*out, int16(v.Field(i).Int()))
				continue
			}
			if f.IsExported() {
				errorCodes(v.Field(i), out)
			}
		}
	case reflect.Slice:
		for i := range v.Len() {
			errorCodes(v.Index(i), out)
		}
	}
}

// TestACLEveryAPI: with ACLs on, a principal with no ACL sends every API
// the broker serves that names a resource, directly to the broker, and each
// is answered with an authorization error (topic, group, cluster or
// transactional id) and no success; the super user's same requests are not
// refused. Metadata of all topics and ListGroups answer, but reveal nothing.
func TestACLEveryAPI(t *testing.T) {
	srv := aclBroker(t)
	ctx := testContext(t, testTimeout)
	admin := newKgo(t, srv.Addr, scram512("admin", "admin-secret"))
	adm := kadm.NewClient(admin)
	const topic, group, txnID = "guarded", "guarded-group", "guarded-txn"
	id := createTopic(t, ctx, adm, topic, 1, nil)
	// Old versions name topics; the newer APIs go through an uncapped client.
	old := newKgo(t, srv.Addr, plainUser("alice", "alice-secret"), kgo.MaxVersions(kversion.V3_0_0()))
	cur := newKgo(t, srv.Addr, plainUser("alice", "alice-secret"))

	reqs := dataRequests(topic, group, txnID, id)
	for k, v := range adminRequests(topic, group, txnID) {
		reqs[k] = v
	}
	newer := map[string]bool{"ConsumerGroupHeartbeat": true, "ConsumerGroupDescribe": true, "DescribeTopicPartitions": true,
		"DescribeTransactions": true, "DescribeProducers": true, "DescribeUserScramCredentials": true,
		"AlterUserScramCredentials": true, "DescribeLogDirs": true}
	for name, build := range reqs {
		cl := old
		if newer[name] {
			cl = cur
		}
		resp, err := cl.Broker(1).Request(ctx, build())
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		var codes []int16
		errorCodes(reflect.ValueOf(resp), &codes)
		denied := slices.ContainsFunc(codes, func(c int16) bool { return slices.Contains(authzCodes, c) })
		if !denied || slices.Contains(codes, 0) && !slices.ContainsFunc(codes, func(c int16) bool { return c != 0 }) {
			t.Errorf("%s from a principal without ACLs: error codes %v, want an authorization error", name, codes)
		}
	}

	// Answered, revealing nothing.
	md, err := kmsg.NewPtrMetadataRequest().RequestWith(ctx, old.Broker(1))
	if err != nil || len(md.Topics) != 0 {
		t.Errorf("Metadata of all topics: %d topics (%v), want none", len(md.Topics), err)
	}
	groups, err := kmsg.NewPtrListGroupsRequest().RequestWith(ctx, old.Broker(1))
	if err != nil || groups.ErrorCode != 0 {
		t.Errorf("ListGroups: %+v %v", groups, err)
	}

	// The super user is not refused.
	for _, name := range []string{"Produce", "DescribeConfigs(topic)", "DescribeAcls", "DescribeLogDirs", "CreatePartitions"} {
		resp, err := admin.Broker(1).Request(ctx, reqs[name]())
		if err != nil {
			t.Fatalf("%s as the super user: %v", name, err)
		}
		var codes []int16
		errorCodes(reflect.ValueOf(resp), &codes)
		if slices.ContainsFunc(codes, func(c int16) bool { return slices.Contains(authzCodes, c) }) {
			t.Errorf("%s as the super user: refused (%v)", name, codes)
		}
	}
}

// dataRequests are the produce, consume and group requests of the API matrix, each
// naming topic, group or txnID.
func dataRequests(topic, group, txnID string, id [16]byte) map[string]func() kmsg.Request {
	str := func(s string) *string { return &s }
	return map[string]func() kmsg.Request{
		"Produce": func() kmsg.Request { return produceRequest(topic, -1, encodeBatch("x")) },
		"Fetch": func() kmsg.Request {
			r := kmsg.NewPtrFetchRequest()
			rt := kmsg.NewFetchRequestTopic()
			rt.Topic, rt.TopicID = topic, id
			rt.Partitions = []kmsg.FetchRequestTopicPartition{kmsg.NewFetchRequestTopicPartition()}
			r.Topics = append(r.Topics, rt)
			return r
		},
		"ListOffsets": func() kmsg.Request {
			r := kmsg.NewPtrListOffsetsRequest()
			rt := kmsg.NewListOffsetsRequestTopic()
			rt.Topic = topic
			rt.Partitions = []kmsg.ListOffsetsRequestTopicPartition{kmsg.NewListOffsetsRequestTopicPartition()}
			r.Topics = append(r.Topics, rt)
			return r
		},
		"Metadata": func() kmsg.Request {
			r := kmsg.NewPtrMetadataRequest()
			rt := kmsg.NewMetadataRequestTopic()
			rt.Topic = str(topic)
			r.Topics = append(r.Topics, rt)
			return r
		},
		"OffsetCommit": func() kmsg.Request {
			r := kmsg.NewPtrOffsetCommitRequest()
			r.Group, r.Generation = group, -1
			rt := kmsg.NewOffsetCommitRequestTopic()
			rt.Topic = topic
			rt.Partitions = []kmsg.OffsetCommitRequestTopicPartition{kmsg.NewOffsetCommitRequestTopicPartition()}
			r.Topics = append(r.Topics, rt)
			return r
		},
		"OffsetFetch": func() kmsg.Request {
			r := kmsg.NewPtrOffsetFetchRequest()
			r.Group = group
			g := kmsg.NewOffsetFetchRequestGroup()
			g.Group = group
			r.Groups = append(r.Groups, g)
			return r
		},
		"FindCoordinator(group)": func() kmsg.Request {
			r := kmsg.NewPtrFindCoordinatorRequest()
			r.CoordinatorKey, r.CoordinatorKeys = group, []string{group}
			return r
		},
		"FindCoordinator(txn)": func() kmsg.Request {
			r := kmsg.NewPtrFindCoordinatorRequest()
			r.CoordinatorType, r.CoordinatorKey, r.CoordinatorKeys = 1, txnID, []string{txnID}
			return r
		},
		"JoinGroup": func() kmsg.Request {
			r := kmsg.NewPtrJoinGroupRequest()
			r.Group, r.ProtocolType, r.SessionTimeoutMillis = group, "consumer", 10000
			r.Protocols = []kmsg.JoinGroupRequestProtocol{{Name: "range"}}
			return r
		},
		"Heartbeat":      func() kmsg.Request { r := kmsg.NewPtrHeartbeatRequest(); r.Group = group; return r },
		"LeaveGroup":     func() kmsg.Request { r := kmsg.NewPtrLeaveGroupRequest(); r.Group = group; return r },
		"SyncGroup":      func() kmsg.Request { r := kmsg.NewPtrSyncGroupRequest(); r.Group = group; return r },
		"DeleteGroups":   func() kmsg.Request { r := kmsg.NewPtrDeleteGroupsRequest(); r.Groups = []string{group}; return r },
		"DescribeGroups": func() kmsg.Request { r := kmsg.NewPtrDescribeGroupsRequest(); r.Groups = []string{group}; return r },
		"OffsetDelete": func() kmsg.Request {
			r := kmsg.NewPtrOffsetDeleteRequest()
			r.Group = group
			return r
		},
	}
}

// adminRequests are the administration and transaction requests of the API matrix.
func adminRequests(topic, group, txnID string) map[string]func() kmsg.Request {
	str := func(s string) *string { return &s }
	return map[string]func() kmsg.Request{
		"CreateTopics": func() kmsg.Request {
			r := kmsg.NewPtrCreateTopicsRequest()
			rt := kmsg.NewCreateTopicsRequestTopic()
			rt.Topic, rt.NumPartitions, rt.ReplicationFactor = "alice-made", 1, 1
			r.Topics = append(r.Topics, rt)
			return r
		},
		"DeleteTopics": func() kmsg.Request {
			r := kmsg.NewPtrDeleteTopicsRequest()
			r.TopicNames = []string{topic}
			rt := kmsg.NewDeleteTopicsRequestTopic()
			rt.Topic = str(topic)
			r.Topics = append(r.Topics, rt)
			return r
		},
		"DeleteRecords": func() kmsg.Request {
			r := kmsg.NewPtrDeleteRecordsRequest()
			rt := kmsg.NewDeleteRecordsRequestTopic()
			rt.Topic = topic
			rt.Partitions = []kmsg.DeleteRecordsRequestTopicPartition{{Partition: 0, Offset: 0}}
			r.Topics = append(r.Topics, rt)
			return r
		},
		"InitProducerId(txn)": func() kmsg.Request {
			r := kmsg.NewPtrInitProducerIDRequest()
			r.TransactionalID, r.TransactionTimeoutMillis = str(txnID), 10000
			return r
		},
		"InitProducerId(idempotent)": func() kmsg.Request { return kmsg.NewPtrInitProducerIDRequest() },
		"OffsetForLeaderEpoch": func() kmsg.Request {
			r := kmsg.NewPtrOffsetForLeaderEpochRequest()
			rt := kmsg.NewOffsetForLeaderEpochRequestTopic()
			rt.Topic = topic
			rt.Partitions = []kmsg.OffsetForLeaderEpochRequestTopicPartition{kmsg.NewOffsetForLeaderEpochRequestTopicPartition()}
			r.Topics = append(r.Topics, rt)
			return r
		},
		"AddPartitionsToTxn": func() kmsg.Request {
			r := kmsg.NewPtrAddPartitionsToTxnRequest()
			r.TransactionalID = txnID
			r.Topics = []kmsg.AddPartitionsToTxnRequestTopic{{Topic: topic, Partitions: []int32{0}}}
			return r
		},
		"AddOffsetsToTxn": func() kmsg.Request {
			r := kmsg.NewPtrAddOffsetsToTxnRequest()
			r.TransactionalID, r.Group = txnID, group
			return r
		},
		"EndTxn": func() kmsg.Request { r := kmsg.NewPtrEndTxnRequest(); r.TransactionalID = txnID; return r },
		"WriteTxnMarkers": func() kmsg.Request {
			r := kmsg.NewPtrWriteTxnMarkersRequest()
			m := kmsg.NewWriteTxnMarkersRequestMarker()
			m.Topics = []kmsg.WriteTxnMarkersRequestMarkerTopic{{Topic: topic, Partitions: []int32{0}}}
			r.Markers = append(r.Markers, m)
			return r
		},
		"TxnOffsetCommit": func() kmsg.Request {
			r := kmsg.NewPtrTxnOffsetCommitRequest()
			r.TransactionalID, r.Group = txnID, group
			rt := kmsg.NewTxnOffsetCommitRequestTopic()
			rt.Topic = topic
			rt.Partitions = []kmsg.TxnOffsetCommitRequestTopicPartition{kmsg.NewTxnOffsetCommitRequestTopicPartition()}
			r.Topics = append(r.Topics, rt)
			return r
		},
		"DescribeAcls": func() kmsg.Request {
			r := kmsg.NewPtrDescribeACLsRequest()
			r.ResourceType, r.ResourcePatternType = kmsg.ACLResourceTypeAny, kmsg.ACLResourcePatternTypeAny
			r.Operation, r.PermissionType = kmsg.ACLOperationAny, kmsg.ACLPermissionTypeAny
			return r
		},
		"CreateAcls": func() kmsg.Request {
			r := kmsg.NewPtrCreateACLsRequest()
			c := kmsg.NewCreateACLsRequestCreation()
			c.ResourceType, c.ResourceName, c.ResourcePatternType = kmsg.ACLResourceTypeTopic, topic, kmsg.ACLResourcePatternTypeLiteral
			c.Principal, c.Host, c.Operation, c.PermissionType = "User:alice", "*", kmsg.ACLOperationAll, kmsg.ACLPermissionTypeAllow
			r.Creations = append(r.Creations, c)
			return r
		},
		"DeleteAcls": func() kmsg.Request {
			r := kmsg.NewPtrDeleteACLsRequest()
			f := kmsg.NewDeleteACLsRequestFilter()
			f.ResourceType, f.ResourcePatternType = kmsg.ACLResourceTypeAny, kmsg.ACLResourcePatternTypeAny
			f.Operation, f.PermissionType = kmsg.ACLOperationAny, kmsg.ACLPermissionTypeAny
			r.Filters = append(r.Filters, f)
			return r
		},
		"DescribeConfigs(topic)": func() kmsg.Request {
			r := kmsg.NewPtrDescribeConfigsRequest()
			r.Resources = []kmsg.DescribeConfigsRequestResource{{ResourceType: kmsg.ConfigResourceTypeTopic, ResourceName: topic}}
			return r
		},
		"DescribeConfigs(broker)": func() kmsg.Request {
			r := kmsg.NewPtrDescribeConfigsRequest()
			r.Resources = []kmsg.DescribeConfigsRequestResource{{ResourceType: kmsg.ConfigResourceTypeBroker, ResourceName: "1"}}
			return r
		},
		"AlterConfigs": func() kmsg.Request {
			r := kmsg.NewPtrAlterConfigsRequest()
			r.Resources = []kmsg.AlterConfigsRequestResource{{ResourceType: kmsg.ConfigResourceTypeTopic, ResourceName: topic}}
			return r
		},
		"IncrementalAlterConfigs": func() kmsg.Request {
			r := kmsg.NewPtrIncrementalAlterConfigsRequest()
			r.Resources = []kmsg.IncrementalAlterConfigsRequestResource{{ResourceType: kmsg.ConfigResourceTypeTopic, ResourceName: topic}}
			return r
		},
		"DescribeLogDirs": func() kmsg.Request { return kmsg.NewPtrDescribeLogDirsRequest() },
		"CreatePartitions": func() kmsg.Request {
			r := kmsg.NewPtrCreatePartitionsRequest()
			r.Topics = []kmsg.CreatePartitionsRequestTopic{{Topic: topic, Count: 2}}
			return r
		},
		"ElectLeaders":               func() kmsg.Request { return kmsg.NewPtrElectLeadersRequest() },
		"AlterPartitionAssignments":  func() kmsg.Request { return kmsg.NewPtrAlterPartitionAssignmentsRequest() },
		"ListPartitionReassignments": func() kmsg.Request { return kmsg.NewPtrListPartitionReassignmentsRequest() },
		"DescribeClientQuotas":       func() kmsg.Request { return kmsg.NewPtrDescribeClientQuotasRequest() },
		"AlterClientQuotas": func() kmsg.Request {
			r := kmsg.NewPtrAlterClientQuotasRequest()
			e := kmsg.NewAlterClientQuotasRequestEntry()
			e.Entity = []kmsg.AlterClientQuotasRequestEntryEntity{{Type: "user", Name: str("alice")}}
			e.Ops = []kmsg.AlterClientQuotasRequestEntryOp{{Key: "producer_byte_rate", Value: 1}}
			r.Entries = append(r.Entries, e)
			return r
		},
		"DescribeUserScramCredentials": func() kmsg.Request { return kmsg.NewPtrDescribeUserSCRAMCredentialsRequest() },
		"AlterUserScramCredentials": func() kmsg.Request {
			r := kmsg.NewPtrAlterUserSCRAMCredentialsRequest()
			r.Deletions = []kmsg.AlterUserSCRAMCredentialsRequestDeletion{{Name: "admin", Mechanism: 2}}
			return r
		},
		"DescribeProducers": func() kmsg.Request {
			r := kmsg.NewPtrDescribeProducersRequest()
			r.Topics = []kmsg.DescribeProducersRequestTopic{{Topic: topic, Partitions: []int32{0}}}
			return r
		},
		"DescribeTransactions": func() kmsg.Request {
			r := kmsg.NewPtrDescribeTransactionsRequest()
			r.TransactionalIDs = []string{txnID}
			return r
		},
		"ConsumerGroupHeartbeat": func() kmsg.Request {
			r := kmsg.NewPtrConsumerGroupHeartbeatRequest()
			r.Group, r.MemberEpoch, r.RebalanceTimeoutMillis = group, 0, 10000
			r.SubscribedTopicNames = []string{topic}
			return r
		},
		"ConsumerGroupDescribe": func() kmsg.Request {
			r := kmsg.NewPtrConsumerGroupDescribeRequest()
			r.Groups = []string{group}
			return r
		},
		"DescribeTopicPartitions": func() kmsg.Request {
			r := kmsg.NewPtrDescribeTopicPartitionsRequest()
			r.Topics = []kmsg.DescribeTopicPartitionsRequestTopic{{Topic: topic}}
			return r
		},
	}
}
