package checker

import (
	"fmt"
	"sync"
	"time"
)

// Type is what an event of an operation says: it began (Invoke) or how it
// ended.
type Type uint8

const (
	// Invoke opens an operation; its completion carries the same ID.
	Invoke Type = iota + 1
	// OK: the operation took effect (a send was acknowledged, a poll returned).
	OK
	// Fail: the operation surely did not take effect.
	Fail
	// Info: the outcome is unknown; a send may or may not be in the log.
	Info
)

var typeNames = [...]string{Invoke: "invoke", OK: "ok", Fail: "fail", Info: "info"}

func (t Type) String() string {
	if int(t) < len(typeNames) && typeNames[t] != "" {
		return typeNames[t]
	}
	return fmt.Sprintf("type(%d)", uint8(t))
}

// MarshalText writes the type's name into JSON reports and histories.
func (t Type) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// UnmarshalText reads a type's name, for replaying a saved history.
func (t *Type) UnmarshalText(text []byte) error {
	for i, name := range typeNames {
		if name != "" && name == string(text) {
			*t = Type(i)
			return nil
		}
	}
	return fmt.Errorf("checker: unknown operation type %q", text)
}

// Kind is which client operation an event belongs to.
type Kind uint8

const (
	// Send produces one value to one partition.
	Send Kind = iota + 1
	// Poll returns the records a consumer session fetched.
	Poll
	// Assign (re)starts a consumer session's position on partitions; it is
	// a single event of type OK.
	Assign
	// Revoke ends a consumer session's reading of partitions; it is a single
	// event of type OK.
	Revoke
	// Lost ends a group member's reading of partitions without a revoke
	// (its session expired or it was fenced); a single event of type OK
	// that the session rules treat as a revoke.
	Lost
	// Commit stores a group's offsets: an invoke carrying the offsets, then
	// ok, fail or info.
	Commit
	// Reset is an explicit reset of a group's committed offsets (as
	// kafka-consumer-groups --reset-offsets would do); a single event of
	// type OK. Below it, the group rules start afresh.
	Reset
	// TxnBegin starts a transaction of a transactional producer session; a
	// single event of type OK naming the transaction in Txn. The sends of
	// the transaction carry its name too.
	TxnBegin
	// TxnCommit asks the transaction coordinator to commit a transaction:
	// an invoke, then ok (the commit was acknowledged), fail (it surely did
	// not take effect, e.g. the client never sent it) or info (unknown).
	TxnCommit
	// TxnAbort asks the coordinator to abort a transaction: an invoke, then
	// ok, fail or info.
	TxnAbort
)

var kindNames = [...]string{Send: "send", Poll: "poll", Assign: "assign", Revoke: "revoke",
	Lost: "lost", Commit: "commit", Reset: "reset", TxnBegin: "txn-begin", TxnCommit: "txn-commit",
	TxnAbort: "txn-abort"}

func (k Kind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// MarshalText writes the kind's name into JSON reports and histories.
func (k Kind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText reads a kind's name, for replaying a saved history.
func (k *Kind) UnmarshalText(text []byte) error {
	for i, name := range kindNames {
		if name != "" && name == string(text) {
			*k = Kind(i)
			return nil
		}
	}
	return fmt.Errorf("checker: unknown operation kind %q", text)
}

// Record is one value at one offset of one partition, as a client saw it.
type Record struct {
	Partition int32  `json:"partition"`
	Offset    int64  `json:"offset"`
	Value     string `json:"value"`
}

// Assigned is one partition of an assign event: the session reads it next
// from offset From, or from an unknown position when From < 0.
type Assigned struct {
	Partition int32 `json:"partition"`
	From      int64 `json:"from"`
}

// Committed is one partition of a commit or a reset: the offset a group
// stores, which is the next offset its members will read.
type Committed struct {
	Partition int32 `json:"partition"`
	Offset    int64 `json:"offset"`
}

// Op is one event of the history. Which fields mean something depends on
// Kind and Type; the others are zero.
type Op struct {
	// ID pairs an invoke with its completion; unique per operation.
	ID   int64 `json:"id"`
	Type Type  `json:"type"`
	Kind Kind  `json:"kind"`
	// Time is a monotonic timestamp for readers of a report; the rules use
	// the order of the history instead.
	Time    time.Duration `json:"time"`
	Process int           `json:"process"`
	Session int           `json:"session"`

	// Partition and Value of a send (invoke and completion); Offset of an ok
	// send.
	Partition int32  `json:"partition,omitempty"`
	Value     string `json:"value,omitempty"`
	Offset    int64  `json:"offset,omitempty"`

	// Txn names the transaction of a send made inside one, and of a
	// txn-begin, txn-commit or txn-abort; empty for other operations.
	Txn string `json:"txn,omitempty"`

	// Records an ok poll returned, in the order returned.
	Records []Record `json:"records,omitempty"`
	// ReadCommitted marks a poll (invoke and completion) of a consumer
	// reading with isolation level read_committed: it must return no value
	// of a transaction that was not committed, and may skip those values.
	ReadCommitted bool `json:"read_committed,omitempty"`
	// Assignment of an assign event; Partitions of a revoke.
	Assignment []Assigned `json:"assignment,omitempty"`
	Partitions []int32    `json:"partitions,omitempty"`

	// Group names the consumer group of a group member's assign, revoke,
	// lost and commit, and of a reset. A session with any such event is a
	// member of that group, and its polls count as the group's.
	Group string `json:"group,omitempty"`
	// Offsets of a commit (invoke and completion) or a reset.
	Offsets []Committed `json:"offsets,omitempty"`

	// Error of a fail or info completion, for people.
	Error string `json:"error,omitempty"`
}

// History is every event of a run in real-time order.
type History []Op

// Recorder builds a History from concurrent clients. The zero value is not
// usable; call NewRecorder.
type Recorder struct {
	now func() time.Duration

	mu struct {
		sync.Mutex
		ops     []Op
		nextID  int64
		pending map[int64]int // id -> index of its invoke, until completed
	}
}

// NewRecorder returns an empty recorder. now gives Op.Time; nil means the
// monotonic time since NewRecorder was called.
func NewRecorder(now func() time.Duration) *Recorder {
	if now == nil {
		start := time.Now()
		now = func() time.Duration { return time.Since(start) }
	}
	r := &Recorder{now: now}
	r.mu.pending = map[int64]int{}
	return r
}

// InvokeSend records the start of a send of value to partition and returns
// the id its completion must carry.
func (r *Recorder) InvokeSend(process, session int, partition int32, value string) int64 {
	return r.invoke(Op{Kind: Send, Process: process, Session: session, Partition: partition, Value: value})
}

// SendOK records that send id was acknowledged at offset.
func (r *Recorder) SendOK(id, offset int64) {
	r.complete(id, OK, func(op *Op) { op.Offset = offset })
}

// SendFail records that send id surely appended nothing.
func (r *Recorder) SendFail(id int64, err error) {
	r.complete(id, Fail, func(op *Op) { op.Error = errorText(err) })
}

// SendInfo records that the outcome of send id is unknown.
func (r *Recorder) SendInfo(id int64, err error) {
	r.complete(id, Info, func(op *Op) { op.Error = errorText(err) })
}

// InvokePoll records the start of a poll and returns the id its completion
// must carry.
func (r *Recorder) InvokePoll(process, session int) int64 {
	return r.invoke(Op{Kind: Poll, Process: process, Session: session})
}

// InvokeReadCommittedPoll records the start of a poll of a read_committed
// consumer and returns the id its completion (PollOK) must carry.
func (r *Recorder) InvokeReadCommittedPoll(process, session int) int64 {
	return r.invoke(Op{Kind: Poll, Process: process, Session: session, ReadCommitted: true})
}

// PollOK records the records poll id returned; the recorder keeps the
// slice, so the caller must not change it afterwards.
func (r *Recorder) PollOK(id int64, records []Record) {
	r.complete(id, OK, func(op *Op) { op.Records = records })
}

// Assign records that session reads each listed partition next from its
// From offset.
func (r *Recorder) Assign(process, session int, assignment []Assigned) {
	r.event(Op{Type: OK, Kind: Assign, Process: process, Session: session, Assignment: assignment})
}

// Revoke records that session stopped reading partitions.
func (r *Recorder) Revoke(process, session int, partitions []int32) {
	r.event(Op{Type: OK, Kind: Revoke, Process: process, Session: session, Partitions: partitions})
}

// GroupAssign records that session, a member of group, was assigned
// partitions; From is the committed offset it resumes at, or -1 when the
// harness does not know it.
func (r *Recorder) GroupAssign(process, session int, group string, assignment []Assigned) {
	r.event(Op{Type: OK, Kind: Assign, Process: process, Session: session, Group: group, Assignment: assignment})
}

// GroupRevoke records that session, a member of group, gave up partitions
// in a rebalance.
func (r *Recorder) GroupRevoke(process, session int, group string, partitions []int32) {
	r.event(Op{Type: OK, Kind: Revoke, Process: process, Session: session, Group: group, Partitions: partitions})
}

// GroupLost records that session, a member of group, lost partitions
// without revoking them.
func (r *Recorder) GroupLost(process, session int, group string, partitions []int32) {
	r.event(Op{Type: OK, Kind: Lost, Process: process, Session: session, Group: group, Partitions: partitions})
}

// InvokeCommit records the start of session's commit of offsets for group
// and returns the id its completion must carry; the recorder keeps the
// slice.
func (r *Recorder) InvokeCommit(process, session int, group string, offsets []Committed) int64 {
	return r.invoke(Op{Kind: Commit, Process: process, Session: session, Group: group, Offsets: offsets})
}

// CommitOK records that the coordinator stored every offset of commit id.
func (r *Recorder) CommitOK(id int64) {
	r.complete(id, OK, func(*Op) {})
}

// CommitFail records that commit id surely stored nothing (the coordinator
// refused it, e.g. for a stale generation).
func (r *Recorder) CommitFail(id int64, err error) {
	r.complete(id, Fail, func(op *Op) { op.Error = errorText(err) })
}

// CommitInfo records that the outcome of commit id is unknown.
func (r *Recorder) CommitInfo(id int64, err error) {
	r.complete(id, Info, func(op *Op) { op.Error = errorText(err) })
}

// ResetGroup records an explicit reset of group's committed offsets.
func (r *Recorder) ResetGroup(process int, group string, offsets []Committed) {
	r.event(Op{Type: OK, Kind: Reset, Process: process, Group: group, Offsets: offsets})
}

// BeginTxn records that session, a transactional producer, began
// transaction txn; txn must be unique in the history.
func (r *Recorder) BeginTxn(process, session int, txn string) {
	r.event(Op{Type: OK, Kind: TxnBegin, Process: process, Session: session, Txn: txn})
}

// InvokeTxnSend records the start of a send of value to partition inside
// transaction txn and returns the id its completion (SendOK, SendFail or
// SendInfo) must carry.
func (r *Recorder) InvokeTxnSend(process, session int, txn string, partition int32, value string) int64 {
	return r.invoke(Op{Kind: Send, Process: process, Session: session, Txn: txn, Partition: partition, Value: value})
}

// InvokeEndTxn records the start of a commit (commit true) or an abort of
// transaction txn and returns the id its completion must carry.
func (r *Recorder) InvokeEndTxn(process, session int, txn string, commit bool) int64 {
	kind := TxnAbort
	if commit {
		kind = TxnCommit
	}
	return r.invoke(Op{Kind: kind, Process: process, Session: session, Txn: txn})
}

// EndTxnOK records that the coordinator acknowledged the commit or abort
// id.
func (r *Recorder) EndTxnOK(id int64) {
	r.complete(id, OK, func(*Op) {})
}

// EndTxnFail records that the commit or abort id surely did not take
// effect (the client did not send it, or the coordinator refused it before
// changing anything).
func (r *Recorder) EndTxnFail(id int64, err error) {
	r.complete(id, Fail, func(op *Op) { op.Error = errorText(err) })
}

// EndTxnInfo records that the outcome of the commit or abort id is
// unknown.
func (r *Recorder) EndTxnInfo(id int64, err error) {
	r.complete(id, Info, func(op *Op) { op.Error = errorText(err) })
}

// History returns a copy of the events so far.
func (r *Recorder) History() History {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append(History(nil), r.mu.ops...)
}

// Len is the number of events so far.
func (r *Recorder) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.mu.ops)
}

func (r *Recorder) invoke(op Op) int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.mu.nextID++
	op.ID, op.Type, op.Time = r.mu.nextID, Invoke, r.now()
	r.mu.pending[op.ID] = len(r.mu.ops)
	r.mu.ops = append(r.mu.ops, op)
	return op.ID
}

// complete appends the completion of id, a copy of its invoke changed by
// set. Completing an unknown or completed id is a bug in the harness.
func (r *Recorder) complete(id int64, t Type, set func(*Op)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	i, ok := r.mu.pending[id]
	if !ok {
		panic(fmt.Sprintf("checker: completion of operation %d, which is not pending", id))
	}
	delete(r.mu.pending, id)
	op := r.mu.ops[i]
	op.Type, op.Time = t, r.now()
	set(&op)
	r.mu.ops = append(r.mu.ops, op)
}

func (r *Recorder) event(op Op) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.mu.nextID++
	op.ID, op.Time = r.mu.nextID, r.now()
	r.mu.ops = append(r.mu.ops, op)
}

func errorText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
