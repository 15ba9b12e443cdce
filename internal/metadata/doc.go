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
//     a file snapshot store under DATA_DIR/meta, bootstraps a one-voter group
//     on first start, and stops everything on Close.
//   - controller.go: the controller operations (CreateTopic, DeleteTopic,
//     CreatePartitions, AlterConfigs, RegisterBroker, AllocateProducerIDs).
//     They run on the Raft leader, validate against the current image, write
//     records and return once the records are applied locally. Errors are
//     kerr codes wrapped in *Error, whose message is for error_message fields.
//
// Concurrency. hashicorp/raft calls the FSM from its single FSM goroutine;
// that goroutine alone builds images. The latest image is published through an
// atomic pointer, so Node.Image never blocks. Subscribers are called on the FSM
// goroutine, in apply order, while fsm.mu is held; they must return quickly and
// must not call Subscribe. Controller operations are serialised by
// Node.controllerMu so that each validates against an image no other
// operation of this node is about to change. The only goroutine the package
// starts itself is the readiness watcher, owned by Node and joined by Close.
package metadata
