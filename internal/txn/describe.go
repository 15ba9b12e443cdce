package txn

// DescribeTransactions: version 0. Per id: NOT_COORDINATOR when another
// broker leads its partition, COORDINATOR_LOAD_IN_PROGRESS while loading,
// TRANSACTIONAL_ID_NOT_FOUND when unknown, else its state named as Kafka
// names it. ListTransactions: versions 0-2, the ids of every partition this
// broker leads, filtered by state (unknown names are returned in
// UnknownStateFilters), producer id, v1+ running longer than
// DurationFilterMillis, and v2+ a transactional id regular expression (RE2,
// matching the whole id).

import (
	"regexp"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func (c *Coordinator) describeTransactions(req *kmsg.DescribeTransactionsRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.DescribeTransactionsResponse)
	resp.TransactionStates = make([]kmsg.DescribeTransactionsResponseTransactionState, len(req.TransactionalIDs))
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, id := range req.TransactionalIDs {
		st := &resp.TransactionStates[i]
		st.Default()
		st.TransactionalID = id
		st.ErrorCode = c.describeLocked(id, st)
	}
	return resp
}

func (c *Coordinator) describeLocked(id string, st *kmsg.DescribeTransactionsResponseTransactionState) int16 {
	if c.mu.stopped {
		return kerr.CoordinatorNotAvailable.Code
	}
	if id == "" {
		return kerr.InvalidRequest.Code
	}
	p, code := c.lookupLocked(id)
	if code != 0 {
		return code
	}
	m := p.txns[id]
	if m == nil || m.placeholder {
		return kerr.TransactionalIDNotFound.Code
	}
	s := &m.cur
	st.State = stateName(s.state)
	st.TimeoutMillis = int32(min(s.timeout.Milliseconds(), 1<<31-1))
	st.StartTimestamp = toMillis(s.startTime)
	st.ProducerID, st.ProducerEpoch = s.producerID, s.producerEpoch
	for _, tps := range byTopic(sortedPartitions(s.partitions)) {
		topic := kmsg.NewDescribeTransactionsResponseTransactionStateTopic()
		topic.Topic = tps[0].Topic
		for _, tp := range tps {
			topic.Partitions = append(topic.Partitions, tp.Partition)
		}
		st.Topics = append(st.Topics, topic)
	}
	return 0
}

// listFilter is a ListTransactions request's filters.
type listFilter struct {
	states      map[kmsg.TransactionState]bool
	anyState    bool
	producerIDs map[int64]bool
	durationMs  int64 // < 0: any
	pattern     *regexp.Regexp
}

func (c *Coordinator) listTransactions(req *kmsg.ListTransactionsRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.ListTransactionsResponse)
	f, code := newListFilter(req, resp)
	if code != 0 {
		resp.ErrorCode = code
		return resp
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.mu.stopped {
		resp.ErrorCode = kerr.CoordinatorNotAvailable.Code
		return resp
	}
	nowMs := c.clock.Now().UnixMilli()
	for _, p := range c.mu.partitions {
		if p.loading {
			resp.ErrorCode = kerr.CoordinatorLoadInProgress.Code
			resp.TransactionStates = nil
			return resp
		}
		for _, m := range p.txns {
			if m.placeholder || !f.match(m, nowMs) {
				continue
			}
			st := kmsg.NewListTransactionsResponseTransactionState()
			st.TransactionalID, st.ProducerID, st.TransactionState = m.id, m.cur.producerID, stateName(m.cur.state)
			resp.TransactionStates = append(resp.TransactionStates, st)
		}
	}
	slices.SortFunc(resp.TransactionStates, func(a, b kmsg.ListTransactionsResponseTransactionState) int {
		return strings.Compare(a.TransactionalID, b.TransactionalID)
	})
	return resp
}

// newListFilter reads the request's filters; state names Kafka does not know
// go to the response's UnknownStateFilters.
func newListFilter(req *kmsg.ListTransactionsRequest, resp *kmsg.ListTransactionsResponse) (*listFilter, int16) {
	f := &listFilter{anyState: len(req.StateFilters) == 0, durationMs: -1}
	f.states = map[kmsg.TransactionState]bool{}
	for _, name := range req.StateFilters {
		if s, ok := stateNamed(name); ok {
			f.states[s] = true
		} else if !slices.Contains(resp.UnknownStateFilters, name) {
			resp.UnknownStateFilters = append(resp.UnknownStateFilters, name)
		}
	}
	if len(req.ProducerIDFilters) > 0 {
		f.producerIDs = make(map[int64]bool, len(req.ProducerIDFilters))
		for _, id := range req.ProducerIDFilters {
			f.producerIDs[id] = true
		}
	}
	if req.Version >= 1 {
		f.durationMs = req.DurationFilterMillis
	}
	if req.Version >= 2 && req.TransactionalIDPattern != nil && *req.TransactionalIDPattern != "" {
		re, err := regexp.Compile(`^(?:` + *req.TransactionalIDPattern + `)$`)
		if err != nil {
			return nil, kerr.InvalidRegularExpression.Code
		}
		f.pattern = re
	}
	return f, 0
}

// stateName is the state's name as Kafka prints it in DescribeTransactions
// and ListTransactions.
func stateName(s kmsg.TransactionState) string { return s.String() }

// stateNamed is the state with exactly this name, as Kafka's
// TransactionState.fromName matches it.
func stateNamed(name string) (kmsg.TransactionState, bool) {
	for s := kmsg.TransactionStateEmpty; s <= kmsg.TransactionStatePrepareEpochFence; s++ {
		if stateName(s) == name {
			return s, true
		}
	}
	return 0, false
}

// match is Kafka's shouldInclude. A transaction that never started has a
// start time of -1 on the wire, so a duration filter lists it, as Kafka does.
func (f *listFilter) match(m *txnMetadata, nowMs int64) bool {
	s := &m.cur
	switch {
	case s.state == kmsg.TransactionStateDead:
		return false
	case f.producerIDs != nil && !f.producerIDs[s.producerID]:
		return false
	case !f.anyState && !f.states[s.state]:
		return false
	case f.durationMs >= 0 && nowMs-toMillis(s.startTime) <= f.durationMs:
		return false
	case f.pattern != nil && !f.pattern.MatchString(m.id):
		return false
	}
	return true
}
