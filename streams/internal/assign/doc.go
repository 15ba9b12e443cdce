// Package assign decides which stream thread runs which task of a Streams
// application, in the manner of Kafka Streams' HighAvailabilityTaskAssignor
// (KIP-441), and carries that decision through a consumer group.
//
// # Model
//
// An application is one consumer group, its group id the application id.
// An instance (a client, one process) has a stable process id and runs
// several stream threads; each thread is one group member. The topology's
// sub-topologies each read a set of source topics; task s_p (TaskID) runs
// partition p of sub-topology s. A stateful task keeps state stores backed
// by changelog topics; an instance that has restored a task's state to
// within acceptable.recovery.lag records of the changelog's end is caught
// up on it, and one that ran it active reports LatestOffset.
//
// Each member sends a Subscription in its JoinGroup metadata: its process
// id, its endpoint for interactive queries, the offset sums of the state on
// its disk, and the tasks it ran. The leader lists the changelogs' end
// offsets, computes every instance's lag per task (end offset sum minus
// offset sum; the whole end offset sum without state) and calls Assign.
// Each member gets back its source partitions and an Assignment: its
// active and standby tasks, which endpoint hosts which partitions, and
// when to come back for a probing rebalance.
//
// # The assignor
//
// Assign is a pure function of its Input: no clock, I/O or randomness, and
// the same result whatever the order of the input's slices. Load is
// counted per thread, so an instance of four threads takes four times the
// tasks of one of one. In order:
//
//  1. Stateful tasks are placed where balance wants them, each thread
//     within one task of any other; within that, a task stays where it ran
//     caught up, else goes to a caught-up standby, else to any state, else
//     to the least-loaded instance.
//  2. A task placed on an instance that is not caught up runs instead on a
//     caught-up one (the least loaded, the previous owner winning ties), or
//     if none is, on the most caught-up one. The balanced instance gets a
//     warm-up replica, a standby that restores the state, while
//     max.warmup.replicas allows, and the group is told to rebalance again
//     after probing.rebalance.interval.ms. Then instances made two tasks
//     per thread busier than a caught-up peer hand tasks to it.
//  3. Stateless tasks fill the threads to an even count of active tasks,
//     staying with their previous instance while it is under its share.
//  4. Each stateful task gets min(num.standby.replicas, instances-1)
//     standbys, never on an instance with another copy of the task;
//     caught-up standbys stay, the rest go where state is or to the least
//     loaded, first to a move's target (which then needs no warm-up).
//  5. Warm-ups are added for the moves whose target has no standby.
//  6. Each instance's tasks are shared among its threads, stateful actives,
//     then stateless, then standbys, each staying on the thread that ran
//     it while that thread is under its share.
//
// So when no probing rebalance is asked for, active tasks per thread
// differ by at most one across the group; and once warm-ups have caught
// up, rebalancing again moves nothing. The tests check these and the other
// invariants listed in invariants_test.go over thousands of random groups.
//
// Unlike Kafka, a standby placed on an instance that lags stays there
// (Kafka moves it to a caught-up instance and warms up the first): a
// standby's lag only slows failover. Rack awareness and client tags
// (KIP-708) are not implemented.
//
// # Wire formats
//
// Subscription and Assignment are the userdata of the classic consumer
// protocol's kmsg.ConsumerMemberMetadata and ConsumerMemberAssignment,
// under the protocol name "stream". Each opens with a version byte; their
// layouts are drawn on the types. The decoders check every length against
// a limit and against the bytes left before allocating, mark failures
// with ErrMalformed or ErrUnsupportedVersion, and are fuzzed.
//
// # Balancer and concurrency
//
// Balancer adapts all this to franz-go's kgo.GroupBalancer. It is eager:
// every member gives up all partitions at each rebalance. kgo calls its
// methods from the client's group-management goroutine, one at a time:
// JoinGroupMetadata calls the owner's Subscription callback at each join;
// on the leader, MemberBalancer and BalanceOrError call the owner's Plan
// once per rebalance; ParseSyncAssignment stores the member's Assignment,
// which the owner reads from any goroutine with LastAssignment (guarded by
// Balancer.mu). The package starts no goroutines.
//
// A member whose userdata does not decode gets an error Assignment and no
// tasks, so one bad member does not stop the group; a member asking for
// shutdown (ErrorShutdownRequested) makes the leader send that error to
// every member.
package assign
