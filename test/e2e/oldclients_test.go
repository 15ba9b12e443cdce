package e2e

// Acceptance 4 of issue 18: a lag monitor built on an old Kafka client
// reads fjord. sarama is configured for Kafka 0.8.2 to 2.0 (Burrow's
// default profile is 0.8; sarama picks each request's version from
// Config.Version) and does what a lag monitor does: metadata, the log end
// and start offsets of each partition (ListOffsets v0-v3), the coordinator
// of a group, the group's committed offsets (OffsetCommit v0-v4 and
// OffsetFetch v0-v4, through requests and sarama's OffsetManager), group
// membership (JoinGroup, SyncGroup, Heartbeat, LeaveGroup v0 and sarama's
// ConsumerGroup), and DescribeGroups and ListGroups through ClusterAdmin.
// Each answer is checked against what a modern client (franz-go) produced
// or reads. Produce and Fetch at the versions of message formats v0 and v1
// are refused with UNSUPPORTED_VERSION. One subtest per API version.

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"
)

// oldClients is the broker and topic the subtests read, with what a
// modern client produced: (partition+1)*3 records in each partition.
type oldClients struct {
	ctx   context.Context
	addr  string
	topic string
	adm   *kadm.Client
	end   map[int32]int64
}

const oldTopicPartitions = 3

// oldSaramaConfig is sarama as a client of a Kafka of version: every
// request goes at the version it selects, without asking ApiVersions
// first, as clients older than ApiVersions (Kafka 0.10) do. Produce is not
// retried, so that a refusal is seen at once.
func oldSaramaConfig(version sarama.KafkaVersion) *sarama.Config {
	cfg := saramaConfig()
	cfg.Version = version
	cfg.ApiVersionsRequest = false
	cfg.Producer.Retry.Max = 0
	return cfg
}

func (o *oldClients) client(t *testing.T, version sarama.KafkaVersion) sarama.Client {
	t.Helper()
	return o.clientWith(t, oldSaramaConfig(version))
}

func (o *oldClients) clientWith(t *testing.T, cfg *sarama.Config) sarama.Client {
	t.Helper()
	client, err := sarama.NewClient([]string{o.addr}, cfg)
	if err != nil {
		t.Fatalf("sarama.NewClient (%s): %v", cfg.Version, err)
	}
	t.Cleanup(func() { client.Close() })
	return client
}

// broker is a connection of sarama's to the broker, for requests at
// versions no Config.Version selects. sarama refuses to send a request
// newer than version allows.
func (o *oldClients) broker(t *testing.T, version sarama.KafkaVersion) *sarama.Broker {
	t.Helper()
	broker := sarama.NewBroker(o.addr)
	if err := broker.Open(oldSaramaConfig(version)); err != nil {
		t.Fatalf("opening a connection: %v", err)
	}
	t.Cleanup(func() { broker.Close() })
	return broker
}

// coordinator is the coordinator of group, found at the version client's
// Config.Version selects (FindCoordinator v0 before Kafka 0.11).
func (o *oldClients) coordinator(t *testing.T, client sarama.Client, group string) *sarama.Broker {
	t.Helper()
	coordinator, err := client.Coordinator(group)
	if err != nil {
		t.Fatalf("coordinator of %s: %v", group, err)
	}
	return coordinator
}

func TestOldClientSarama(t *testing.T) {
	srv := startServer(t, groupBrokerConfig())
	ctx := testContext(t, 4*time.Minute)
	o := &oldClients{ctx: ctx, addr: srv.Addr, topic: uniqueTopic(t, "old"), adm: newAdmin(t, srv.Addr)}
	createTopic(t, ctx, o.adm, o.topic, oldTopicPartitions, nil)
	cl := newKgo(t, srv.Addr, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	for p := range int32(oldTopicPartitions) {
		for i := range (p + 1) * 3 {
			r := &kgo.Record{Topic: o.topic, Partition: p, Value: []byte(fmt.Sprintf("%d-%d", p, i))}
			if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
				t.Fatalf("produce: %v", err)
			}
		}
	}
	o.end = offsetsOf(t, ctx, o.adm, o.topic, true)
	// The offsets topic is created and loaded on first use: the group
	// subtests start once a modern client reads a group's offsets.
	eventually(t, ctx, "group coordinator loaded", func() (bool, string) {
		_, err := o.adm.FetchOffsets(ctx, "warm-up")
		return err == nil, fmt.Sprint(err)
	})

	// In this order: Admin lists the groups the group subtests leave.
	t.Run("Metadata", o.testMetadata)
	t.Run("ApiVersions/v0", o.testApiVersionsV0)
	t.Run("ListOffsets", o.testListOffsets)
	t.Run("FindCoordinator", o.testFindCoordinator)
	t.Run("Offsets", o.testOffsets)
	t.Run("ClassicGroupV0", o.testClassicGroupV0)
	t.Run("ConsumerGroup", o.testConsumerGroup)
	t.Run("Admin", o.testAdmin)
	t.Run("OffsetForLeaderEpoch", o.testOffsetForLeaderEpoch)
	t.Run("Refused", o.testRefused)
}

// testMetadata: Metadata v0-v3 name the broker and the topic's partitions
// with their leader; v1+ add the controller, v2+ the cluster id.
func (o *oldClients) testMetadata(t *testing.T) {
	broker := o.broker(t, sarama.V2_0_0_0)
	for version := range int16(4) {
		t.Run(fmt.Sprintf("v%d", version), func(t *testing.T) {
			resp, err := broker.GetMetadata(&sarama.MetadataRequest{Version: version, Topics: []string{o.topic}})
			if err != nil {
				t.Fatal(err)
			}
			if len(resp.Brokers) != 1 || resp.Brokers[0].Addr() != o.addr || len(resp.Topics) != 1 {
				t.Fatalf("brokers %v, topics %d", resp.Brokers, len(resp.Topics))
			}
			tm := resp.Topics[0]
			if tm.Err != sarama.ErrNoError || tm.Name != o.topic || len(tm.Partitions) != oldTopicPartitions {
				t.Fatalf("topic %s: %v with %d partitions", tm.Name, tm.Err, len(tm.Partitions))
			}
			for _, p := range tm.Partitions {
				if p.Err != sarama.ErrNoError || p.Leader != resp.Brokers[0].ID() {
					t.Fatalf("partition %d: leader %d, %v", p.ID, p.Leader, p.Err)
				}
			}
			switch {
			case version >= 1 && resp.ControllerID != resp.Brokers[0].ID():
				t.Fatalf("controller %d", resp.ControllerID)
			case version >= 2 && (resp.ClusterID == nil || *resp.ClusterID == ""):
				t.Fatal("no cluster id")
			case version < 2 && resp.ClusterID != nil:
				t.Fatalf("cluster id %q in v%d", *resp.ClusterID, version)
			}
		})
	}
}

// testApiVersionsV0: the minimums advertised are the old versions served.
func (o *oldClients) testApiVersionsV0(t *testing.T) {
	broker := o.broker(t, sarama.V0_10_0_0)
	resp, err := broker.ApiVersions(&sarama.ApiVersionsRequest{Version: 0})
	if err != nil || resp.ErrorCode != 0 {
		t.Fatalf("ApiVersions v0: %v, code %d", err, resp.ErrorCode)
	}
	mins := map[int16]int16{}
	for _, k := range resp.ApiKeys {
		mins[k.ApiKey] = k.MinVersion
	}
	want := map[int16]int16{0: 0, 1: 4, 2: 0, 3: 0, 8: 0, 9: 0, 10: 0, 11: 0, 12: 0, 13: 0, 14: 0, 15: 0, 16: 0, 18: 0,
		19: 0, 20: 0, 23: 0, 32: 0, 33: 0, 35: 0}
	for key, min := range want {
		if got, ok := mins[key]; !ok || got != min {
			t.Errorf("%s: advertised from v%d (listed %v), want v%d", kmsg.NameForKey(key), got, ok, min)
		}
	}
}

// testListOffsets: a lag monitor's log end and start offsets, equal to
// what franz-go produced, through Client.GetOffset at ListOffsets v0-v3,
// and v0's array of several offsets.
func (o *oldClients) testListOffsets(t *testing.T) {
	versions := []struct {
		version sarama.KafkaVersion
		request int16
	}{{sarama.V0_10_0_0, 0}, {sarama.V0_10_1_0, 1}, {sarama.V0_11_0_0, 2}, {sarama.V2_0_0_0, 3}}
	for _, v := range versions {
		t.Run(fmt.Sprintf("v%d", v.request), func(t *testing.T) {
			client := o.client(t, v.version)
			for p := range int32(oldTopicPartitions) {
				newest, err := client.GetOffset(o.topic, p, sarama.OffsetNewest)
				if err != nil || newest != o.end[p] {
					t.Fatalf("partition %d newest %d (%v), want %d", p, newest, err, o.end[p])
				}
				oldest, err := client.GetOffset(o.topic, p, sarama.OffsetOldest)
				if err != nil || oldest != 0 {
					t.Fatalf("partition %d oldest %d (%v), want 0", p, oldest, err)
				}
			}
		})
	}
	t.Run("v0/max_num_offsets", func(t *testing.T) {
		broker := o.broker(t, sarama.V0_10_0_0)
		req := &sarama.OffsetRequest{Version: 0}
		for p := range int32(oldTopicPartitions) {
			req.AddBlock(o.topic, p, sarama.OffsetNewest, 10)
		}
		resp, err := broker.GetAvailableOffsets(req)
		if err != nil {
			t.Fatal(err)
		}
		// One segment per partition: the log end, then its start.
		for p := range int32(oldTopicPartitions) {
			b := resp.GetBlock(o.topic, p)
			if b == nil || b.Err != sarama.ErrNoError || !slices.Equal(b.Offsets, []int64{o.end[p], 0}) {
				t.Fatalf("partition %d: %+v, want [%d 0]", p, b, o.end[p])
			}
		}
	})
}

// testFindCoordinator: v0 (sarama's ConsumerMetadata), v1 and v2 name this
// broker.
func (o *oldClients) testFindCoordinator(t *testing.T) {
	versions := []struct {
		version sarama.KafkaVersion
		request int16
	}{{sarama.V0_8_2_0, 0}, {sarama.V0_11_0_0, 1}, {sarama.V2_0_0_0, 2}}
	for _, v := range versions {
		t.Run(fmt.Sprintf("v%d", v.request), func(t *testing.T) {
			if c := o.coordinator(t, o.client(t, v.version), "find-"+strconv.Itoa(int(v.request))); c.Addr() != o.addr {
				t.Fatalf("coordinator %s, want %s", c.Addr(), o.addr)
			}
		})
	}
}

// checkCommitted reads group's committed offsets with franz-go: what the
// old client committed is what a modern one reads.
func (o *oldClients) checkCommitted(t *testing.T, group string, want func(partition int32) int64) {
	t.Helper()
	got, err := o.adm.FetchOffsets(o.ctx, group)
	if err != nil {
		t.Fatalf("FetchOffsets %s: %v", group, err)
	}
	for p := range int32(oldTopicPartitions) {
		r, ok := got.Lookup(o.topic, p)
		if !ok || r.Err != nil || r.At != want(p) {
			t.Fatalf("group %s partition %d: committed %d (%v, listed %v), want %d", group, p, r.At, r.Err, ok, want(p))
		}
	}
}

// testOffsets: offsets committed at each old version read back at the same
// version and by franz-go. No sarama version selects OffsetCommit v0 or
// OffsetFetch v0, so those go as requests; v1-v4 go through sarama's
// OffsetManager, as a lag monitor's reads do. Each group's lag (log end
// minus committed offset) is then partition+1.
func (o *oldClients) testOffsets(t *testing.T) {
	want := func(p int32) int64 { return o.end[p] - int64(p) - 1 }
	t.Run("OffsetCommit/v0+OffsetFetch/v0", func(t *testing.T) {
		group := "old-offsets-v0"
		coordinator := o.coordinator(t, o.client(t, sarama.V0_8_2_0), group)
		commit := &sarama.OffsetCommitRequest{Version: 0, ConsumerGroup: group}
		fetch := &sarama.OffsetFetchRequest{Version: 0, ConsumerGroup: group}
		for p := range int32(oldTopicPartitions) {
			commit.AddBlock(o.topic, p, want(p), 0, "v0")
			fetch.AddPartition(o.topic, p)
		}
		committed, err := coordinator.CommitOffset(commit)
		if err != nil {
			t.Fatal(err)
		}
		for p, kerr := range committed.Errors[o.topic] {
			if kerr != sarama.ErrNoError {
				t.Fatalf("commit of partition %d: %v", p, kerr)
			}
		}
		fetched, err := coordinator.FetchOffset(fetch)
		if err != nil {
			t.Fatal(err)
		}
		for p := range int32(oldTopicPartitions) {
			b := fetched.GetBlock(o.topic, p)
			if b == nil || b.Err != sarama.ErrNoError || b.Offset != want(p) || b.Metadata != "v0" {
				t.Fatalf("partition %d: %+v, want offset %d", p, b, want(p))
			}
		}
		o.checkCommitted(t, group, want)
	})
	versions := []struct {
		version sarama.KafkaVersion
		request int16 // of OffsetCommit and OffsetFetch alike
	}{{sarama.V0_8_2_0, 1}, {sarama.V0_10_2_0, 2}, {sarama.V0_11_0_0, 3}, {sarama.V2_0_0_0, 4}}
	for _, v := range versions {
		t.Run(fmt.Sprintf("OffsetCommit/v%d+OffsetFetch/v%d", v.request, v.request), func(t *testing.T) {
			group := fmt.Sprintf("old-offsets-v%d", v.request)
			meta := "v" + strconv.Itoa(int(v.request))
			o.withOffsetManager(t, v.version, group, func(p int32, pom sarama.PartitionOffsetManager) {
				pom.MarkOffset(want(p), meta)
			})
			// A second client reads them back at the same versions.
			o.withOffsetManager(t, v.version, group, func(p int32, pom sarama.PartitionOffsetManager) {
				if offset, got := pom.NextOffset(); offset != want(p) || got != meta {
					t.Errorf("partition %d: read back %d %q, want %d %q", p, offset, got, want(p), meta)
				}
			})
			o.checkCommitted(t, group, want)
		})
	}
}

// withOffsetManager runs do on each partition of the topic with sarama's
// OffsetManager for group, then commits what was marked and closes.
func (o *oldClients) withOffsetManager(t *testing.T, version sarama.KafkaVersion, group string, do func(int32, sarama.PartitionOffsetManager)) {
	t.Helper()
	cfg := oldSaramaConfig(version)
	cfg.Consumer.Offsets.AutoCommit.Enable = false
	om, err := sarama.NewOffsetManagerFromClient(group, o.clientWith(t, cfg))
	if err != nil {
		t.Fatal(err)
	}
	for p := range int32(oldTopicPartitions) {
		pom, err := om.ManagePartition(o.topic, p)
		if err != nil {
			t.Fatalf("ManagePartition %d: %v", p, err)
		}
		do(p, pom)
	}
	om.Commit()
	if err := om.Close(); err != nil {
		t.Fatalf("closing the offset manager: %v", err)
	}
}

// testClassicGroupV0: a group member at JoinGroup, SyncGroup, Heartbeat and
// LeaveGroup v0, committing with OffsetCommit v1 in its generation, seen by
// DescribeGroups and ListGroups v0 through sarama's ClusterAdmin.
func (o *oldClients) testClassicGroupV0(t *testing.T) {
	const group = "old-classic-v0"
	client := o.client(t, sarama.V0_10_0_0)
	coordinator := o.coordinator(t, client, group)
	join := &sarama.JoinGroupRequest{Version: 0, GroupId: group, SessionTimeout: 10_000, ProtocolType: "consumer"}
	if err := join.AddGroupProtocolMetadata("range", &sarama.ConsumerGroupMemberMetadata{Topics: []string{o.topic}}); err != nil {
		t.Fatal(err)
	}
	joined, err := coordinator.JoinGroup(join)
	if err != nil || joined.Err != sarama.ErrNoError || joined.MemberId == "" || joined.LeaderId != joined.MemberId || joined.GenerationId != 1 {
		t.Fatalf("JoinGroup v0: %+v, %v", joined, err)
	}
	member, generation := joined.MemberId, joined.GenerationId
	sync := &sarama.SyncGroupRequest{Version: 0, GroupId: group, GenerationId: generation, MemberId: member}
	all := map[string][]int32{o.topic: {0, 1, 2}}
	if err := sync.AddGroupAssignmentMember(member, &sarama.ConsumerGroupMemberAssignment{Topics: all}); err != nil {
		t.Fatal(err)
	}
	synced, err := coordinator.SyncGroup(sync)
	if err != nil || synced.Err != sarama.ErrNoError {
		t.Fatalf("SyncGroup v0: %+v, %v", synced, err)
	}
	if assignment, err := synced.GetMemberAssignment(); err != nil || !slices.Equal(assignment.Topics[o.topic], all[o.topic]) {
		t.Fatalf("assignment %+v, %v", assignment, err)
	}
	hb, err := coordinator.Heartbeat(&sarama.HeartbeatRequest{Version: 0, GroupId: group, GenerationId: generation, MemberId: member})
	if err != nil || hb.Err != sarama.ErrNoError {
		t.Fatalf("Heartbeat v0: %+v, %v", hb, err)
	}
	// OffsetCommit v1 checks the generation and stores the commit.
	for _, gen := range []int32{generation + 1, generation} {
		commit := &sarama.OffsetCommitRequest{Version: 1, ConsumerGroup: group, ConsumerGroupGeneration: gen, ConsumerID: member}
		commit.AddBlock(o.topic, 0, 1, time.Now().UnixMilli(), "")
		resp, err := coordinator.CommitOffset(commit)
		wantErr := sarama.ErrNoError
		if gen != generation {
			wantErr = sarama.ErrIllegalGeneration
		}
		if err != nil || resp.Errors[o.topic][0] != wantErr {
			t.Fatalf("OffsetCommit v1 at generation %d: %v %v, want %v", gen, resp, err, wantErr)
		}
	}
	admin, err := sarama.NewClusterAdminFromClient(o.client(t, sarama.V0_10_2_0))
	if err != nil {
		t.Fatal(err)
	}
	o.checkGroupListed(t, admin, group, "consumer", "Stable", member)
	left, err := coordinator.LeaveGroup(&sarama.LeaveGroupRequest{Version: 0, GroupId: group, MemberId: member})
	if err != nil || left.Err != sarama.ErrNoError {
		t.Fatalf("LeaveGroup v0: %+v, %v", left, err)
	}
	o.checkGroupListed(t, admin, group, "consumer", "Empty", "")
	got, err := o.adm.FetchOffsets(o.ctx, group)
	if r, ok := got.Lookup(o.topic, 0); err != nil || !ok || r.Err != nil || r.At != 1 || len(got[o.topic]) != 1 {
		t.Fatalf("committed %+v, %v; want partition 0 at 1", got, err)
	}
}

// checkGroupListed: ListGroups lists group with its protocol type and
// DescribeGroups tells its state and its one member, if any.
func (o *oldClients) checkGroupListed(t *testing.T, admin sarama.ClusterAdmin, group, protocolType, state, member string) {
	t.Helper()
	groups, err := admin.ListConsumerGroups()
	if listed, ok := groups[group]; err != nil || !ok || listed != protocolType {
		t.Fatalf("ListGroups: %s is %q in %v, %v", group, groups[group], groups, err)
	}
	described, err := admin.DescribeConsumerGroups([]string{group})
	if err != nil || len(described) != 1 {
		t.Fatalf("DescribeGroups: %v, %v", described, err)
	}
	d := described[0]
	_, isMember := d.Members[member]
	if d.Err != sarama.ErrNoError || d.State != state || (member != "" && (len(d.Members) != 1 || !isMember)) || (member == "" && len(d.Members) != 0) {
		t.Fatalf("DescribeGroups %s: %v, state %s, members %v; want %s with %q", group, d.Err, d.State, d.Members, state, member)
	}
}

// oldGroupHandler is a sarama ConsumerGroupHandler that runs setup in each
// session's Setup and, in ConsumeClaim, commits each record it is given
// and passes it on.
type oldGroupHandler struct {
	setup   func(sarama.ConsumerGroupSession)
	records chan<- *sarama.ConsumerMessage
}

func (h *oldGroupHandler) Setup(s sarama.ConsumerGroupSession) error {
	if h.setup != nil {
		h.setup(s)
	}
	return nil
}

func (h *oldGroupHandler) Cleanup(sarama.ConsumerGroupSession) error { return nil }

func (h *oldGroupHandler) ConsumeClaim(s sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	for {
		select {
		case msg, ok := <-claim.Messages():
			if !ok {
				return nil
			}
			s.MarkMessage(msg, "")
			s.Commit()
			h.records <- msg
		case <-s.Context().Done():
			return nil
		}
	}
}

// runGroup runs a sarama ConsumerGroup of version on the topic until the
// test ends, and returns its errors channel.
func (o *oldClients) runGroup(t *testing.T, version sarama.KafkaVersion, group string, h *oldGroupHandler) <-chan error {
	t.Helper()
	cfg := saramaGroupConfig("old-" + group)
	cfg.Version, cfg.ApiVersionsRequest = version, false
	client := o.clientWith(t, cfg)
	cg, err := sarama.NewConsumerGroupFromClient(group, client)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(o.ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			if err := cg.Consume(ctx, []string{o.topic}, h); err != nil && ctx.Err() == nil {
				t.Errorf("Consume: %v", err)
				return
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		cg.Close() // LeaveGroup
	})
	return cg.Errors()
}

// testConsumerGroup: sarama's ConsumerGroup. For Kafka 0.10.2, the oldest
// it supports (JoinGroup v1, SyncGroup, Heartbeat and LeaveGroup v0,
// OffsetCommit and OffsetFetch v2), a member joins, commits, heartbeats
// and leaves, but cannot read: its Fetch v3 is refused. For Kafka 2.0 it
// consumes everything and commits.
func (o *oldClients) testConsumerGroup(t *testing.T) {
	want := func(p int32) int64 { return o.end[p] - 1 }
	t.Run("v0.10.2", func(t *testing.T) {
		const group = "old-group-0-10-2"
		setupDone := make(chan error, 1)
		// The member's heartbeat at v0, sent on a connection of its own.
		client := o.client(t, sarama.V0_10_2_0)
		h := &oldGroupHandler{setup: func(s sarama.ConsumerGroupSession) {
			for _, p := range s.Claims()[o.topic] {
				s.MarkOffset(o.topic, p, want(p), "")
			}
			s.Commit()
			coordinator, err := client.Coordinator(group)
			if err == nil {
				var hb *sarama.HeartbeatResponse
				hb, err = coordinator.Heartbeat(&sarama.HeartbeatRequest{Version: 0, GroupId: group, GenerationId: s.GenerationID(), MemberId: s.MemberID()})
				if err == nil && hb.Err != sarama.ErrNoError {
					err = hb.Err
				}
			}
			if n := len(s.Claims()[o.topic]); err == nil && n != oldTopicPartitions {
				err = fmt.Errorf("claimed %d partitions", n)
			}
			setupDone <- err
		}}
		errs := o.runGroup(t, sarama.V0_10_2_0, group, h)
		select {
		case err := <-setupDone:
			if err != nil {
				t.Fatalf("session setup: %v", err)
			}
		case <-o.ctx.Done():
			t.Fatal("no session")
		}
		o.checkCommitted(t, group, want)
		for refused := false; !refused; {
			select {
			case err := <-errs:
				refused = errors.Is(err, sarama.ErrUnsupportedVersion)
				if !refused {
					t.Logf("sarama error: %v", err)
				}
			case <-o.ctx.Done():
				t.Fatal("Fetch v3 was not refused")
			}
		}
	})
	t.Run("v2.0", func(t *testing.T) {
		const group = "old-group-2-0"
		total := sumOffsets(o.end)
		records := make(chan *sarama.ConsumerMessage, total)
		errs := o.runGroup(t, sarama.V2_0_0_0, group, &oldGroupHandler{records: records})
		for n := int64(0); n < total; {
			select {
			case <-records:
				n++
			case err := <-errs:
				t.Fatalf("sarama error: %v", err)
			case <-o.ctx.Done():
				t.Fatalf("consumed %d of %d records", n, total)
			}
		}
		o.checkCommitted(t, group, func(p int32) int64 { return o.end[p] })
	})
}

// testAdmin: sarama's ClusterAdmin for Kafka 0.10.1 to 1.0 creates a
// topic (CreateTopics v0, and v1 validating only), describes its configs
// (DescribeConfigs v0, from Kafka 0.11), the log directory (DescribeLogDirs
// v0, from Kafka 1.0) and deletes it (DeleteTopics v0); ListGroups v1 and
// v2 list the groups of the other subtests.
func (o *oldClients) testAdmin(t *testing.T) {
	admin := func(version sarama.KafkaVersion) sarama.ClusterAdmin {
		a, err := sarama.NewClusterAdminFromClient(o.client(t, version))
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	old, latest := admin(sarama.V0_10_1_0), admin(sarama.V0_10_2_0)
	created := o.topic + "-created"
	retention := "100000"
	detail := &sarama.TopicDetail{NumPartitions: 1, ReplicationFactor: 1, ConfigEntries: map[string]*string{"retention.ms": &retention}}
	t.Run("CreateTopics/v0", func(t *testing.T) {
		if err := old.CreateTopic(created, detail, false); err != nil {
			t.Fatal(err)
		}
		waitTopicReady(t, o.ctx, o.adm, created, 1)
	})
	t.Run("CreateTopics/v1", func(t *testing.T) {
		if err := latest.CreateTopic(o.topic+"-validated", detail, true); err != nil {
			t.Fatal(err)
		}
		if err := latest.CreateTopic(created, detail, true); !errors.Is(err, sarama.ErrTopicAlreadyExists) {
			t.Fatalf("validating an existing topic: %v", err)
		}
	})
	t.Run("DescribeConfigs/v0", func(t *testing.T) {
		entries, err := admin(sarama.V0_11_0_0).DescribeConfig(sarama.ConfigResource{Type: sarama.TopicResource, Name: created})
		if err != nil {
			t.Fatal(err)
		}
		isDefault := map[string]bool{}
		for _, e := range entries {
			isDefault[e.Name] = e.Default
			if e.Name == "retention.ms" && e.Value != retention {
				t.Fatalf("retention.ms %q", e.Value)
			}
		}
		if d, ok := isDefault["retention.ms"]; !ok || d || !isDefault["cleanup.policy"] {
			t.Fatalf("is_default: %v", isDefault)
		}
	})
	t.Run("DescribeLogDirs/v0", func(t *testing.T) {
		client := o.client(t, sarama.V1_0_0_0)
		a, err := sarama.NewClusterAdminFromClient(client)
		if err != nil {
			t.Fatal(err)
		}
		dirs, err := a.DescribeLogDirs([]int32{client.Brokers()[0].ID()})
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, byBroker := range dirs {
			for _, d := range byBroker {
				found = found || slices.ContainsFunc(d.Topics, func(dt sarama.DescribeLogDirsResponseTopic) bool {
					return dt.Topic == o.topic && len(dt.Partitions) == oldTopicPartitions
				})
			}
		}
		if !found {
			t.Fatalf("%s not in %+v", o.topic, dirs)
		}
	})
	t.Run("DeleteTopics/v0", func(t *testing.T) {
		if err := old.DeleteTopic(created); err != nil {
			t.Fatal(err)
		}
		waitTopicGone(t, o.ctx, o.adm, created)
	})
	for _, v := range []struct {
		version sarama.KafkaVersion
		name    string
	}{{sarama.V0_11_0_0, "ListGroups/v1"}, {sarama.V2_0_0_0, "ListGroups/v2+DescribeGroups/v2"}} {
		t.Run(v.name, func(t *testing.T) {
			// A group that only ever stored offsets has no protocol type.
			o.checkGroupListed(t, admin(v.version), "old-offsets-v1", "", "Empty", "")
			o.checkGroupListed(t, admin(v.version), "old-classic-v0", "consumer", "Empty", "")
		})
	}
}

// testOffsetForLeaderEpoch: franz-go pinned to v0 and v1, as brokers of
// Kafka 1.x sent them: the end offset of the current epoch is the log end.
func (o *oldClients) testOffsetForLeaderEpoch(t *testing.T) {
	listed, err := o.adm.ListEndOffsets(o.ctx, o.topic)
	if err != nil {
		t.Fatal(err)
	}
	for _, version := range []int16{0, 1} {
		t.Run(fmt.Sprintf("v%d", version), func(t *testing.T) {
			versions := kversion.Stable()
			versions.SetMaxKeyVersion(int16(kmsg.OffsetForLeaderEpoch), version)
			req := kmsg.NewPtrOffsetForLeaderEpochRequest()
			rt := kmsg.NewOffsetForLeaderEpochRequestTopic()
			rt.Topic = o.topic
			epochs := map[int32]int32{}
			listed.Each(func(l kadm.ListedOffset) {
				rp := kmsg.NewOffsetForLeaderEpochRequestTopicPartition()
				rp.Partition, rp.LeaderEpoch = l.Partition, l.LeaderEpoch
				rt.Partitions = append(rt.Partitions, rp)
				epochs[l.Partition] = l.LeaderEpoch
			})
			req.Topics = append(req.Topics, rt)
			resp, err := req.RequestWith(o.ctx, newKgo(t, o.addr, kgo.MaxVersions(versions)))
			if err != nil || resp.Version != version || len(resp.Topics) != 1 {
				t.Fatalf("v%d response %+v, %v", resp.GetVersion(), resp, err)
			}
			for _, p := range resp.Topics[0].Partitions {
				wantEpoch := epochs[p.Partition]
				if version == 0 {
					wantEpoch = -1 // not in v0: the decoder's default
				}
				if p.ErrorCode != 0 || p.EndOffset != o.end[p.Partition] || p.LeaderEpoch != wantEpoch {
					t.Fatalf("partition %d: end %d epoch %d error %d, want %d and %d", p.Partition, p.EndOffset, p.LeaderEpoch, p.ErrorCode,
						o.end[p.Partition], wantEpoch)
				}
			}
		})
	}
}

// testRefused: Produce v0-v2 and Fetch v0-v3, which carry message formats
// v0 and v1, are answered UNSUPPORTED_VERSION, which sarama reports at
// once, and nothing is appended.
func (o *oldClients) testRefused(t *testing.T) {
	produce := []struct {
		version sarama.KafkaVersion
		request int16
	}{{sarama.V0_8_2_0, 0}, {sarama.V0_9_0_0, 1}, {sarama.V0_10_0_0, 2}}
	for _, v := range produce {
		t.Run(fmt.Sprintf("Produce/v%d", v.request), func(t *testing.T) {
			producer, err := sarama.NewSyncProducerFromClient(o.client(t, v.version))
			if err != nil {
				t.Fatal(err)
			}
			defer producer.Close()
			_, _, err = producer.SendMessage(&sarama.ProducerMessage{Topic: o.topic, Value: sarama.StringEncoder("old")})
			if !errors.Is(err, sarama.ErrUnsupportedVersion) {
				t.Fatalf("produce: %v, want UNSUPPORTED_VERSION", err)
			}
		})
	}
	fetch := []struct {
		version sarama.KafkaVersion
		request int16
	}{{sarama.V0_8_2_0, 0}, {sarama.V0_9_0_0, 1}, {sarama.V0_10_0_0, 2}, {sarama.V0_10_1_0, 3}}
	for _, v := range fetch {
		t.Run(fmt.Sprintf("Fetch/v%d", v.request), func(t *testing.T) {
			consumer, err := sarama.NewConsumerFromClient(o.client(t, v.version))
			if err != nil {
				t.Fatal(err)
			}
			defer consumer.Close()
			pc, err := consumer.ConsumePartition(o.topic, 0, sarama.OffsetOldest)
			if err != nil {
				t.Fatal(err)
			}
			defer pc.AsyncClose()
			select {
			case err := <-pc.Errors():
				if !errors.Is(err, sarama.ErrUnsupportedVersion) {
					t.Fatalf("fetch: %v, want UNSUPPORTED_VERSION", err)
				}
			case msg := <-pc.Messages():
				t.Fatalf("fetched offset %d", msg.Offset)
			case <-o.ctx.Done():
				t.Fatal("no answer")
			}
		})
	}
	if end := offsetsOf(t, o.ctx, o.adm, o.topic, true); !maps.Equal(end, o.end) {
		t.Fatalf("end offsets %v after refused produces, want %v", end, o.end)
	}
}
