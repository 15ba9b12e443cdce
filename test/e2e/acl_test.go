package e2e

import (
	"context"
	"crypto/x509/pkix"
	"errors"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl/plain"

	"github.com/fjordhq/fjord/internal/fjordtest"
)

// aclBroker starts a broker with ACLs on: SASL_PLAINTEXT with the super
// user admin (SCRAM) and the PLAIN users alice and mallory.
func aclBroker(t *testing.T) *fjordtest.Server {
	t.Helper()
	return startServer(t, map[string]string{
		"listeners":                "SASL_PLAINTEXT://127.0.0.1:0",
		"sasl.enabled.mechanisms":  "SCRAM-SHA-512,PLAIN",
		"sasl.without.tls.allowed": "true",
		"listener.name.sasl_plaintext.plain.sasl.jaas.config": `org.apache.kafka.common.security.plain.PlainLoginModule required ` +
			`user_alice="alice-secret" user_mallory="mallory-secret";`,
		"authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
		"super.users":           "User:admin",
	}, "--add-scram", "SCRAM-SHA-512=[name=admin,password=admin-secret]")
}

func plainUser(user, pass string) kgo.Opt {
	return kgo.SASL(plain.Auth{User: user, Pass: pass}.AsMechanism())
}

// quickFail makes a client give up on refused requests at once instead of
// retrying them.
func quickFail() []kgo.Opt {
	return []kgo.Opt{kgo.RequestRetries(0), kgo.RetryTimeout(2 * time.Second), kgo.RecordDeliveryTimeout(5 * time.Second),
		kgo.ProducerLinger(0)}
}

func allow(rt kmsg.ACLResourceType, pattern kadm.ACLPattern, name, principal string, ops ...kadm.ACLOperation) *kadm.ACLBuilder {
	b := kadm.NewACLs().Allow(principal).AllowHosts("*").Operations(ops...).ResourcePatternType(pattern)
	switch rt {
	case kmsg.ACLResourceTypeTopic:
		b = b.Topics(name)
	case kmsg.ACLResourceTypeGroup:
		b = b.Groups(name)
	case kmsg.ACLResourceTypeTransactionalId:
		b = b.TransactionalIDs(name)
	}
	return b
}

func createACLs(t *testing.T, ctx context.Context, adm *kadm.Client, b *kadm.ACLBuilder) {
	t.Helper()
	results, err := adm.CreateACLs(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		if r.Err != nil {
			t.Fatalf("CreateACLs %+v: %v", r, r.Err)
		}
	}
}

// TestACLMatrix: with ACLs on, a principal with none can do nothing and
// learns nothing of topics; prefixed Write and literal Read ACLs let
// franz-go, sarama and kcat produce and consume in a group; a deny wins
// over an allow; a deleted ACL stops counting at the next request;
// transactional ids need their own ACL; broker-only requests and ACL
// administration are refused to a client principal.
func TestACLMatrix(t *testing.T) {
	srv := aclBroker(t)
	ctx := testContext(t, testTimeout)
	adminCl := newKgo(t, srv.Addr, scram512("admin", "admin-secret"))
	adm := kadm.NewClient(adminCl)
	const topic, secret, group = "orders-eu", "orders-secret", "g-alice"
	createTopic(t, ctx, adm, topic, 2, nil)
	createTopic(t, ctx, adm, secret, 1, nil)

	alice := newKgo(t, srv.Addr, append(quickFail(), plainUser("alice", "alice-secret"))...)
	// Deny by default: nothing written, nothing revealed.
	if err := alice.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: []byte("x")}).FirstErr(); !errors.Is(err, kerr.TopicAuthorizationFailed) {
		t.Fatalf("produce without ACLs: %v, want TOPIC_AUTHORIZATION_FAILED", err)
	}
	md, err := kmsg.NewPtrMetadataRequest().RequestWith(ctx, alice)
	if err != nil {
		t.Fatal(err)
	}
	if len(md.Topics) != 0 {
		t.Fatalf("metadata of all topics shows %d topics to a principal without Describe", len(md.Topics))
	}
	if off := offsetsOf(t, ctx, adm, topic, true); sumOffsets(off) != 0 {
		t.Fatalf("a refused produce wrote: %v", off)
	}

	createACLs(t, ctx, adm, allow(kmsg.ACLResourceTypeTopic, kadm.ACLPatternPrefixed, "orders-", "User:alice",
		kadm.OpWrite, kadm.OpRead))
	createACLs(t, ctx, adm, allow(kmsg.ACLResourceTypeGroup, kadm.ACLPatternLiteral, group, "User:alice", kadm.OpRead))
	createACLs(t, ctx, adm, kadm.NewACLs().Deny("User:alice").DenyHosts("*").Operations(kadm.OpWrite).Topics(secret).
		ResourcePatternType(kadm.ACLPatternLiteral))

	want := []rec{}
	for i := range 3 {
		r := rec{Key: "alice", Value: "kgo-" + string(rune('0'+i))}
		if err := alice.ProduceSync(ctx, &kgo.Record{Topic: topic, Key: []byte(r.Key), Value: []byte(r.Value)}).FirstErr(); err != nil {
			t.Fatalf("produce with a prefixed Write ACL: %v", err)
		}
		want = append(want, r)
	}
	if err := alice.ProduceSync(ctx, &kgo.Record{Topic: secret, Value: []byte("x")}).FirstErr(); !errors.Is(err, kerr.TopicAuthorizationFailed) {
		t.Fatalf("produce to a topic with a Deny (and a prefixed Allow): %v, want TOPIC_AUTHORIZATION_FAILED", err)
	}
	cfg := saramaConfig()
	cfg.Net.SASL.Enable, cfg.Net.SASL.Mechanism = true, sarama.SASLTypePlaintext
	cfg.Net.SASL.User, cfg.Net.SASL.Password = "alice", "alice-secret"
	produceSarama(t, srv.Addr, topic, []rec{{Key: "alice", Value: "sarama"}}, cfg)
	want = append(want, rec{Key: "alice", Value: "sarama"})
	kcatAlice := []string{"-X", "security.protocol=SASL_PLAINTEXT", "-X", "sasl.mechanisms=PLAIN",
		"-X", "sasl.username=alice", "-X", "sasl.password=alice-secret"}
	produceKcat(t, ctx, srv.Addr, topic, []rec{{Key: "alice", Value: "kcat"}}, kcatAlice...)
	want = append(want, rec{Key: "alice", Value: "kcat"})

	got := consumeKgo(t, ctx, srv.Addr, topic, len(want), plainUser("alice", "alice-secret"), kgo.ConsumerGroup(group))
	checkSameValues(t, "alice's group consumer", got, want)
	checkSameValues(t, "alice's kcat consumer", kcatRecords(kcat(t, ctx, srv.Addr, "",
		append([]string{"-C", "-t", topic, "-e", "-q", "-f", "%k\t%s\n"}, kcatAlice...)...)), want)
	other := newKgo(t, srv.Addr, append(quickFail(), plainUser("alice", "alice-secret"), kgo.ConsumeTopics(topic),
		kgo.ConsumerGroup("g-other"))...)
	if err := other.PollFetches(ctx).Err(); !errors.Is(err, kerr.GroupAuthorizationFailed) {
		t.Fatalf("joining a group without Read on it: %v, want GROUP_AUTHORIZATION_FAILED", err)
	}

	// Revoked: the next produce is refused.
	if _, err := adm.DeleteACLs(ctx, kadm.NewACLs().Allow("User:alice").AllowHosts("*").Operations(kadm.OpWrite, kadm.OpRead).
		Topics("orders-").ResourcePatternType(kadm.ACLPatternPrefixed)); err != nil {
		t.Fatal(err)
	}
	if err := alice.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: []byte("after revoke")}).FirstErr(); !errors.Is(err, kerr.TopicAuthorizationFailed) {
		t.Fatalf("produce after the ACL was deleted: %v, want TOPIC_AUTHORIZATION_FAILED", err)
	}

	// Transactional ids.
	txnOpts := append(quickFail(), plainUser("alice", "alice-secret"), kgo.TransactionalID("tx-alice"))
	txn := newKgo(t, srv.Addr, txnOpts...)
	if err := txn.BeginTransaction(); err == nil {
		err = txn.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: []byte("txn")}).FirstErr()
		if !errors.Is(err, kerr.TransactionalIDAuthorizationFailed) {
			t.Fatalf("transactional produce without a TransactionalId ACL: %v", err)
		}
	}
	createACLs(t, ctx, adm, allow(kmsg.ACLResourceTypeTransactionalId, kadm.ACLPatternLiteral, "tx-alice", "User:alice", kadm.OpWrite))
	createACLs(t, ctx, adm, allow(kmsg.ACLResourceTypeTopic, kadm.ACLPatternLiteral, topic, "User:alice", kadm.OpWrite))
	txn2 := newKgo(t, srv.Addr, txnOpts...)
	if err := txn2.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := txn2.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: []byte("txn")}).FirstErr(); err != nil {
		t.Fatalf("transactional produce with the ACLs: %v", err)
	}
	if err := txn2.EndTransaction(ctx, kgo.TryCommit); err != nil {
		t.Fatal(err)
	}

	// Broker-only requests and ACL administration.
	markers := kmsg.NewPtrWriteTxnMarkersRequest()
	m := kmsg.NewWriteTxnMarkersRequestMarker()
	m.ProducerID, m.Committed = 1, true
	mt := kmsg.NewWriteTxnMarkersRequestMarkerTopic()
	mt.Topic, mt.Partitions = topic, []int32{0}
	m.Topics = append(m.Topics, mt)
	markers.Markers = append(markers.Markers, m)
	if resp, err := markers.RequestWith(ctx, alice); err != nil || resp.Markers[0].Topics[0].Partitions[0].ErrorCode != kerr.ClusterAuthorizationFailed.Code {
		t.Fatalf("WriteTxnMarkers from a client: %+v %v", resp, err)
	}
	fetch := kmsg.NewPtrFetchRequest()
	fetch.ReplicaID, fetch.ReplicaState.ID = 1, 1 // the id moved to ReplicaState in v15
	ft := kmsg.NewFetchRequestTopic()
	ft.Topic = topic
	fp := kmsg.NewFetchRequestTopicPartition()
	ft.Partitions = append(ft.Partitions, fp)
	fetch.Topics = append(fetch.Topics, ft)
	if resp, err := fetch.RequestWith(ctx, alice); err != nil || resp.ErrorCode != kerr.ClusterAuthorizationFailed.Code {
		t.Fatalf("replica Fetch from a client: %+v %v", resp, err)
	}
	describe := kmsg.NewPtrDescribeACLsRequest()
	describe.ResourceType, describe.ResourcePatternType = kmsg.ACLResourceTypeAny, kmsg.ACLResourcePatternTypeAny
	describe.Operation, describe.PermissionType = kmsg.ACLOperationAny, kmsg.ACLPermissionTypeAny
	if resp, err := describe.RequestWith(ctx, alice); err != nil || resp.ErrorCode != kerr.ClusterAuthorizationFailed.Code {
		t.Fatalf("DescribeAcls by a client: %+v %v, want CLUSTER_AUTHORIZATION_FAILED", resp, err)
	}
	if results, err := kadm.NewClient(alice).CreateACLs(ctx, allow(kmsg.ACLResourceTypeTopic, kadm.ACLPatternLiteral, "x",
		"User:alice", kadm.OpAll)); err != nil || len(results) == 0 || !errors.Is(results[0].Err, kerr.ClusterAuthorizationFailed) {
		t.Fatalf("CreateAcls by a client: %+v %v", results, err)
	}
}

// TestACLForCertificatePrincipal: on a mutual TLS listener the principal
// is the certificate subject mapped by ssl.principal.mapping.rules, and
// ACLs name it: CN=Alice,OU=eng is User:alice.
func TestACLForCertificatePrincipal(t *testing.T) {
	pki := fjordtest.NewPKI(t, "acl-mtls")
	_, _, keystore := pki.Issue(pkix.Name{CommonName: "broker"}, true, time.Now().Add(24*time.Hour))
	aliceCert, aliceKey, _ := pki.Issue(pkix.Name{CommonName: "Alice", OrganizationalUnit: []string{"eng"}}, false, time.Now().Add(24*time.Hour))
	adminCert, adminKey, _ := pki.Issue(pkix.Name{CommonName: "Admin", OrganizationalUnit: []string{"eng"}}, false, time.Now().Add(24*time.Hour))
	srv := startServer(t, map[string]string{
		"listeners":                   "SSL://127.0.0.1:0",
		"ssl.keystore.location":       keystore,
		"ssl.truststore.location":     pki.CA,
		"ssl.client.auth":             "required",
		"ssl.principal.mapping.rules": `RULE:^CN=([A-Za-z]+),OU=eng$/$1/L,DEFAULT`,
		"authorizer.class.name":       "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
		"super.users":                 "User:admin",
	})
	ctx := testContext(t, testTimeout)
	adm := kadm.NewClient(newKgo(t, srv.Addr, kgo.DialTLSConfig(pki.ClientTLS(adminCert, adminKey))))
	const topic = "cert-topic"
	createTopic(t, ctx, adm, topic, 1, nil)
	alice := newKgo(t, srv.Addr, append(quickFail(), kgo.DialTLSConfig(pki.ClientTLS(aliceCert, aliceKey)))...)
	if err := alice.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: []byte("x")}).FirstErr(); !errors.Is(err, kerr.TopicAuthorizationFailed) {
		t.Fatalf("produce before the ACL: %v", err)
	}
	createACLs(t, ctx, adm, allow(kmsg.ACLResourceTypeTopic, kadm.ACLPatternLiteral, topic, "User:alice", kadm.OpWrite))
	if err := alice.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: []byte("x")}).FirstErr(); err != nil {
		t.Fatalf("produce with an ACL for the mapped principal: %v", err)
	}
}
