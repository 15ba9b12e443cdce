package streams

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/fjordhq/fjord/streams/internal/assign"
)

// eosTransactionTimeout is Kafka Streams' transaction.timeout.ms under
// exactly-once: a crashed thread's open transaction blocks readers of its
// outputs for at most this long, unless the thread comes back first and
// fences it.
const eosTransactionTimeout = 10 * time.Second

func (a *App) newThread(ctx context.Context, index int) (*streamThread, error) {
	th := &streamThread{app: a, index: index, eos: a.cfg.ProcessingGuarantee == ExactlyOnceV2, tasks: make(map[TaskID]*task), standbys: make(map[TaskID]*task)}
	balancer, err := assign.NewBalancer(assign.BalancerConfig{
		Context: ctx,
		Assignor: assign.Config{
			NumStandbyReplicas:    a.cfg.NumStandbyReplicas,
			AcceptableRecoveryLag: a.cfg.AcceptableRecoveryLag,
			MaxWarmupReplicas:     a.cfg.MaxWarmupReplicas,
		},
		ProbingRebalanceInterval: a.cfg.ProbingRebalanceInterval,
		Subscription:             th.subscription,
		Plan:                     a.plan,
	})
	if err != nil {
		return nil, err
	}
	th.balancer = balancer
	opts := append(a.optsFor(roleMainConsumer, roleProducer),
		kgo.ConsumerGroup(a.cfg.ApplicationID),
		kgo.ConsumeTopics(a.inputTopics...),
		kgo.Balancers(balancer),
		kgo.DisableAutoCommit(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.OnPartitionsAssigned(th.noteAssigned),
		kgo.OnPartitionsRevoked(th.noteRevoked),
		kgo.OnPartitionsLost(th.noteRevoked),
		kgo.RecordPartitioner(newStreamsPartitioner()),
	)
	if th.eos {
		opts = append(opts,
			kgo.TransactionalID(fmt.Sprintf("%s-%s-%d", a.cfg.ApplicationID, a.stateDir.ProcessID(), index)),
			kgo.TransactionTimeout(eosTransactionTimeout),
			kgo.FetchIsolationLevel(kgo.ReadCommitted()),
			kgo.RequireStableFetchOffsets(),
		)
		session, err := kgo.NewGroupTransactSession(opts...)
		if err != nil {
			return nil, fmt.Errorf("streams: thread client: %w", err)
		}
		th.session, th.client = session, session.Client()
	} else {
		client, err := kgo.NewClient(opts...)
		if err != nil {
			return nil, fmt.Errorf("streams: thread client: %w", err)
		}
		th.client = client
	}
	// The producer's records must not fail because the application is
	// closing: the last commit still sends them, or aborts them.
	th.collector = newKafkaCollector(context.WithoutCancel(ctx), th.client)
	env := *a.env
	env.collector = th.collector
	th.env = &env
	th.restorer = newRestorer(a.optsFor(roleRestoreConsumer), a.admin, th.eos, a.logf)
	return th, nil
}

// taskMigrated tells the errors by which a newer producer with the
// thread's transactional id, or the coordinator's abort of a transaction
// that outlived transaction.timeout.ms, fenced the thread: its work since
// the last commit is void and its tasks may already run elsewhere.
func taskMigrated(err error) bool {
	return errors.Is(err, kerr.ProducerFenced) || errors.Is(err, kerr.InvalidProducerEpoch)
}

// close leaves the group and closes the thread's clients.
func (th *streamThread) close() {
	th.restorer.close()
	if th.session != nil {
		th.session.Close()
		return
	}
	th.client.Close()
}

// subscription is what the thread tells the group's leader at each join:
// the instance's identity and endpoint, and how far its local state of each
// task has come.
func (th *streamThread) subscription() assign.Subscription {
	a := th.app
	sums := make(map[assign.TaskID]int64)
	a.mu.Lock()
	for id, sum := range a.mu.offsetSums {
		sums[assign.TaskID{Subtopology: id.Subtopology, Partition: id.Partition}] = sum
	}
	a.mu.Unlock()
	sub := assign.Subscription{ProcessID: a.stateDir.ProcessID(), Endpoint: a.cfg.ApplicationServer, TaskOffsetSums: sums}
	th.mu.Lock()
	for _, id := range th.assigned {
		sub.PrevActive = append(sub.PrevActive, assign.TaskID{Subtopology: id.Subtopology, Partition: id.Partition})
	}
	th.mu.Unlock()
	return sub
}

// plan is the leader's view of the topology for the assignor: every task,
// its source partitions, and the end offset sums of the stateful tasks'
// changelogs.
func (a *App) plan(ctx context.Context, _ map[string]int32) ([]assign.TaskInfo, func(assign.TaskID) []assign.TopicPartition, map[assign.TaskID]int64, error) {
	var tasks []assign.TaskInfo
	var changelogs []string
	for _, s := range a.subs {
		stateful := false
		for _, name := range s.stores {
			if def := a.topology.stores[name]; def.logged {
				stateful = true
				changelogs = append(changelogs, a.env.resolve(def.changelogSuffix(), true))
			}
		}
		for p := range a.tasksPerSub[s.id] {
			tasks = append(tasks, assign.TaskInfo{ID: assign.TaskID{Subtopology: s.id, Partition: p}, Stateful: stateful})
		}
	}
	sums := make(map[assign.TaskID]int64)
	if len(changelogs) > 0 {
		ends, err := a.admin.ListEndOffsets(ctx, changelogs...)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("streams: list changelog ends: %w", err)
		}
		for _, s := range a.subs {
			for _, name := range s.stores {
				topic := a.env.resolve(a.topology.stores[name].changelogSuffix(), true)
				for p := range a.tasksPerSub[s.id] {
					if o, ok := ends.Lookup(topic, p); ok && o.Err == nil {
						sums[assign.TaskID{Subtopology: s.id, Partition: p}] += o.Offset
					}
				}
			}
		}
	}
	partitionsOf := func(id assign.TaskID) []assign.TopicPartition {
		s := a.subs[id.Subtopology]
		var tps []assign.TopicPartition
		for _, src := range s.sources {
			for _, topic := range src.topics {
				tps = append(tps, assign.TopicPartition{Topic: a.env.resolve(topic, src.internal), Partition: id.Partition})
			}
		}
		return tps
	}
	return tasks, partitionsOf, sums, nil
}
