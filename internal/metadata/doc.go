// Package metadata is fjord's cluster metadata quorum, modelled on Kafka's
// KRaft: every change to the cluster (a broker registering, a topic created or
// deleted, a partition's replicas, leader or ISR changing, a config altered, a
// block of producer ids handed out) is a Record appended to a Raft log, and
// every node applies the committed records, in log order, to an immutable
// in-memory Image.
//
// Layers, from pure to driven:
//
//   - records.go: the record types and their encoding. A Raft log entry holds
//     one batch of records (EncodeBatch), applied all or nothing, so an
//     operation that writes several records (a topic and its partitions) is
//     atomic.
//   - image.go, apply.go: Image and the pure function Apply(image, record)
//     that returns a new image and never mutates its input. Unchanged topics
//     are shared between images; a changed topic is copied.
//   - fsm.go: the raft.FSM that decodes committed entries, applies them,
//     publishes the new image and notifies subscribers; it snapshots an image
//     as JSON and restores from it.
//   - node.go: Node starts hashicorp/raft with a bolt log and stable store and
//     a file snapshot store under DATA_DIR/meta and stops everything on Close.
//     A lone node bootstraps a one-voter group on the in-memory transport. In
//     a cluster (Options.Voters, controller.quorum.voters) every voter
//     bootstraps the same all-voter configuration on first start, which is
//     safe because it is identical everywhere; with existing state a node
//     resumes. A node not in the voter list (process.roles=broker) does not
//     bootstrap: it asks the leader, through forwarding, to add it as a Raft
//     non-voter (an observer, Kafka's word) and then receives the log.
//   - network.go: the controller listener, one TCP port per node carrying
//     raft's NetworkTransport and the forwarding protocol, told apart by the
//     first byte of each connection.
//   - controller.go, topics.go, configs.go: the controller operations
//     (CreateTopic, DeleteTopic, CreatePartitions, AlterConfigs,
//     RegisterBroker, AllocateProducerIDs, AlterPartition, ElectLeaders). They validate against the
//     current image, write records and return once the records are applied.
//     Errors are kerr codes wrapped in *Error, whose message is for
//     error_message fields.
//   - operations.go, forward.go: the exported operations run on the leader;
//     any other node forwards them to it and returns once its own image has
//     reached the leader's offset after the operation, so a broker answering
//     CreateTopics already shows the topic in its Metadata.
//   - placement.go: replica placement for CreateTopic and CreatePartitions
//     through PlaceReplicas over the unfenced brokers, rack-aware
//     when brokers register a broker.rack.
//   - decisions.go, elect.go, election.go, replicaplacement.go: the
//     controller's partition decisions as pure functions of an image:
//     ElectLeader (never outside the ISR unless
//     unclean.leader.election.enable), PlaceReplicas (Kafka's rack-aware
//     round robin), DecideLeadership (new leaders from the ISR when
//     a broker is fenced, dead followers out of ISRs, offline partitions
//     back when an ISR member returns, unclean.leader.election.enable),
//     DecideAlterPartition (KIP-497's checks and codes),
//     DecidePreferredElections (auto.leader.rebalance.enable) and
//     DecideElectLeaders (ElectLeaders, preferred and unclean). They return
//     PartitionRecords; partitions.go only applies them. A fence, unfence or
//     registration is written in the same log entry as the leadership
//     changes it causes, so no image shows a fenced broker leading.
//   - liveness.go: broker heartbeats (broker.heartbeat.interval.ms) and the
//     pure fencing rule DecideFencing (broker.session.timeout.ms); the leader
//     writes BrokerFenceRecords with the leadership changes they cause, and
//     every leader.imbalance.check.interval.seconds elects preferred
//     leaders. quorum.go: DescribeQuorum for `fjord cluster
//     status`.
//
// Concurrency. hashicorp/raft calls the FSM from its single FSM goroutine;
// that goroutine alone builds images. The latest image is published through an
// atomic pointer, so Node.Image never blocks. Subscribers are called on the FSM
// goroutine, in apply order, while fsm.mu is held; they must return quickly and
// must not call Subscribe. Controller operations are serialised by
// Node.controllerMu so that each validates against an image no other
// operation of this node is about to change; on followers they only forward.
// Goroutines: Node owns the readiness watcher, the liveness loop (acting only
// while leader) and, for a joining observer, the join loop, all stopped by
// Close through Node's context. Network owns its accept loop and one
// goroutine per connection still naming its protocol (at most 64) or
// serving a forwarded operation (at most 64); Network.Close closes them and
// waits. RunBrokerHeartbeats runs on a goroutine of its caller. Lock order:
// controllerMu, then liveness.mu; fsm.mu is never held while taking either.
package metadata
