package checker

import (
	"fmt"
	"slices"
	"strings"
)

// Anomaly names, as in RELIABILITY.md §3 and the package doc.
const (
	InconsistentOffsets = "inconsistent-offsets"
	Duplicate           = "duplicate"
	Misrouted           = "misrouted"
	UnknownValue        = "unknown-value"
	LostWrite           = "lost-write"
	LostWriteInRun      = "lost-write-in-run"
	AbortedRead         = "aborted-read"
	ReadThenLost        = "read-then-lost"
	NonmonotonicPoll    = "nonmonotonic-poll"
	PollSkip            = "poll-skip"
	NonmonotonicSend    = "nonmonotonic-send"
	RealtimeOrder       = "realtime-order"
	GroupSkip           = "group-skip"
	CommitBackwards     = "committed-offsets-backwards"
	PrecommittedRead    = "precommitted-read"
	TornTransaction     = "torn-transaction"
	LostCommit          = "lost-commit"
)

// MaxExamples is how many examples a report keeps per anomaly: enough to
// see a pattern, few enough to read in a test log.
const MaxExamples = 32

// Example is one instance of an anomaly. Ops are indices into the history
// of the events involved (invokes and completions), so a reader can find
// them in a saved history.
type Example struct {
	Partition int32    `json:"partition"`
	Offset    int64    `json:"offset"`
	Value     string   `json:"value,omitempty"`
	Values    []string `json:"values,omitempty"`
	Session   int      `json:"session,omitempty"`
	Group     string   `json:"group,omitempty"`
	Ops       []int    `json:"ops,omitempty"`
	Detail    string   `json:"detail"`
}

func (e Example) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "p%d@%d", e.Partition, e.Offset)
	if e.Value != "" {
		fmt.Fprintf(&b, " value %s", e.Value)
	}
	if len(e.Values) > 0 {
		fmt.Fprintf(&b, " values %v", e.Values)
	}
	if e.Session != 0 {
		fmt.Fprintf(&b, " session %d", e.Session)
	}
	if e.Group != "" {
		fmt.Fprintf(&b, " group %s", e.Group)
	}
	if len(e.Ops) > 0 {
		fmt.Fprintf(&b, " ops %v", e.Ops)
	}
	fmt.Fprintf(&b, ": %s", e.Detail)
	return b.String()
}

// Anomaly counts every instance of one kind and keeps the first examples.
type Anomaly struct {
	Count    int       `json:"count"`
	Examples []Example `json:"examples"`
}

// Stats describe the size of what was checked.
type Stats struct {
	Ops           int `json:"ops"`
	Sends         int `json:"sends"`
	SendsOK       int `json:"sends_ok"`
	SendsFailed   int `json:"sends_failed"`
	SendsInfo     int `json:"sends_info"`
	Polls         int `json:"polls"`
	PolledRecords int `json:"polled_records"`
	FinalRecords  int `json:"final_records"`
	Commits       int `json:"commits"`
	CommitsOK     int `json:"commits_ok"`
	// FinalRead says whether a final read was given; without one the
	// lost-write, aborted-read-in-final and read-then-lost rules that need
	// it are not applied.
	FinalRead bool `json:"final_read"`

	// Transactions counts the transactions of the history by their fate:
	// committed (the commit was acknowledged), aborted (no commit that may
	// have taken effect), unknown (a commit of unknown outcome) and open
	// (neither commit nor abort was invoked).
	Transactions          int `json:"transactions,omitempty"`
	TxnCommitted          int `json:"txn_committed,omitempty"`
	TxnAborted            int `json:"txn_aborted,omitempty"`
	TxnUnknown            int `json:"txn_unknown,omitempty"`
	TxnOpen               int `json:"txn_open,omitempty"`
	ReadCommittedPolls    int `json:"read_committed_polls,omitempty"`
	FinalCommittedRecords int `json:"final_committed_records,omitempty"`
	// FinalCommittedRead says whether a final read_committed read was
	// given; the torn-transaction and lost-commit rules need it.
	FinalCommittedRead bool `json:"final_committed_read,omitempty"`
}

// Report is the outcome of Check; it encodes as JSON for saving with a run.
type Report struct {
	// Valid is true when no anomaly was found. Liveness (Unseen) does not
	// affect it.
	Valid     bool                `json:"valid"`
	Stats     Stats               `json:"stats"`
	Anomalies map[string]*Anomaly `json:"anomalies,omitempty"`
	// Unseen counts ok sends whose value no poll returned: liveness, not
	// safety (RELIABILITY.md §3 rule 11).
	Unseen         int       `json:"unseen"`
	UnseenExamples []Example `json:"unseen_examples,omitempty"`
}

func (r *Report) add(name string, ex Example) {
	if r.Anomalies == nil {
		r.Anomalies = map[string]*Anomaly{}
	}
	a := r.Anomalies[name]
	if a == nil {
		a = &Anomaly{}
		r.Anomalies[name] = a
	}
	a.Count++
	if len(a.Examples) < MaxExamples {
		a.Examples = append(a.Examples, ex)
	}
}

// Count is how many instances of the named anomaly were found.
func (r *Report) Count(name string) int {
	if a := r.Anomalies[name]; a != nil {
		return a.Count
	}
	return 0
}

// Names lists the anomalies found, sorted.
func (r *Report) Names() []string {
	names := make([]string, 0, len(r.Anomalies))
	for name := range r.Anomalies {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// Summary is one line of counts for a test log.
func (r *Report) Summary() string {
	s := r.Stats
	var b strings.Builder
	fmt.Fprintf(&b, "%d ops: %d sends (%d ok, %d failed, %d info), %d polls returning %d records, %d records in the final read",
		s.Ops, s.Sends, s.SendsOK, s.SendsFailed, s.SendsInfo, s.Polls, s.PolledRecords, s.FinalRecords)
	if s.Commits > 0 {
		fmt.Fprintf(&b, ", %d group commits (%d ok)", s.Commits, s.CommitsOK)
	}
	if s.Transactions > 0 {
		fmt.Fprintf(&b, ", %d transactions (%d committed, %d aborted, %d unknown, %d open)",
			s.Transactions, s.TxnCommitted, s.TxnAborted, s.TxnUnknown, s.TxnOpen)
	}
	if s.ReadCommittedPolls > 0 {
		fmt.Fprintf(&b, ", %d of the polls read_committed", s.ReadCommittedPolls)
	}
	if s.FinalCommittedRead {
		fmt.Fprintf(&b, ", %d records in the final read_committed read", s.FinalCommittedRecords)
	}
	if s.Polls > 0 { // without consumers, unseen says nothing
		fmt.Fprintf(&b, ", %d unseen", r.Unseen)
	}
	if r.Valid {
		b.WriteString("; no anomalies")
		return b.String()
	}
	b.WriteString("; anomalies:")
	for _, name := range r.Names() {
		fmt.Fprintf(&b, " %s=%d", name, r.Anomalies[name].Count)
	}
	return b.String()
}

// Details lists every kept example, one per line, grouped by anomaly.
func (r *Report) Details() string {
	var b strings.Builder
	for _, name := range r.Names() {
		a := r.Anomalies[name]
		fmt.Fprintf(&b, "%s: %d\n", name, a.Count)
		for _, ex := range a.Examples {
			fmt.Fprintf(&b, "  %s\n", ex)
		}
	}
	return b.String()
}
