package broker

// DescribeLogDirs: versions 0-4. One log directory, with the size of each
// partition and (v4) the file system's total and usable bytes. v0, which
// Kafka 4 removed (KIP-896), is the same as v1.

import (
	"context"
	"path/filepath"
	"sort"
	"syscall"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/fjordhq/fjord/internal/acl"
	"github.com/fjordhq/fjord/internal/replicas"
	"github.com/fjordhq/fjord/internal/server"
)

func init() { registerAPI(35, 0, 4, (*Broker).handleDescribeLogDirs) }

func (b *Broker) handleDescribeLogDirs(_ context.Context, rc *server.RequestContext, kreq kmsg.Request) server.Result {
	req := kreq.(*kmsg.DescribeLogDirsRequest)
	resp := req.ResponseKind().(*kmsg.DescribeLogDirsResponse)
	if !b.allowedCluster(rc, acl.OpDescribe) {
		resp.ErrorCode = kerr.ClusterAuthorizationFailed.Code
		return server.Result{Response: resp}
	}
	dir := kmsg.NewDescribeLogDirsResponseDir()
	dir.Dir, _ = filepath.Abs(b.opts.DataDir)
	var st syscall.Statfs_t
	if err := syscall.Statfs(b.opts.DataDir, &st); err == nil {
		dir.TotalBytes = int64(st.Blocks) * int64(st.Bsize)
		dir.UsableBytes = int64(st.Bavail) * int64(st.Bsize)
	}
	if b.replicas.LogDirError() != nil {
		// An offline directory is reported with its error and no
		// replicas, as Kafka reports one.
		dir.ErrorCode = kerr.KafkaStorageError.Code
		resp.Dirs = append(resp.Dirs, dir)
		return server.Result{Response: resp}
	}
	byTopic := map[string][]*replicas.Replica{}
	if req.Topics == nil {
		for _, p := range b.replicas.All() {
			byTopic[p.Topic] = append(byTopic[p.Topic], p)
		}
	} else {
		for _, rt := range req.Topics {
			for _, idx := range rt.Partitions {
				if p := b.replicas.Partition(rt.Topic, idx); p != nil {
					byTopic[rt.Topic] = append(byTopic[rt.Topic], p)
				}
			}
		}
	}
	names := make([]string, 0, len(byTopic))
	for name := range byTopic {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		t := kmsg.NewDescribeLogDirsResponseDirTopic()
		t.Topic = name
		for _, p := range byTopic[name] {
			tp := kmsg.NewDescribeLogDirsResponseDirTopicPartition()
			tp.Partition, tp.Size = p.Index, p.Log().Size()
			t.Partitions = append(t.Partitions, tp)
		}
		dir.Topics = append(dir.Topics, t)
	}
	resp.Dirs = append(resp.Dirs, dir)
	return server.Result{Response: resp}
}
