package broker

// Client quotas (KIP-13, KIP-55, KIP-124, KIP-599) enforced the KIP-219 way:
// a client over a quota is answered at once with the throttle time in the
// response's throttle_time_ms, and its connection is not read for that long
// (server.Result.Mute). The rules (rates, precedence, throttle times) live in
// internal/quota; this file keeps its Store in step with the metadata image
// and applies the throttles around the handlers:
//
//   - request_percentage: the time every handler ran, recorded after it
//     returns (serveWithQuotas);
//   - producer_byte_rate: the record bytes of each Produce, recorded when it
//     is handled (serveWithQuotas);
//   - consumer_byte_rate: the record bytes of each consumer Fetch response,
//     recorded once it is built (fetch.go, finishQuota);
//   - controller_mutation_rate: the partitions CreateTopics,
//     CreatePartitions and DeleteTopics create or delete (mutationQuota).
//
// Quotas are per broker, as in Kafka, except controller mutations, which
// Kafka counts on the controller and fjord on the broker the client asked.

import (
	"context"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/fjordhq/fjord/internal/metadata"
	"github.com/fjordhq/fjord/internal/quota"
	"github.com/fjordhq/fjord/internal/server"
)

// quotaExpireEvery is how often idle sensors are dropped: Kafka's metrics
// reaper runs every 30 seconds.
const quotaExpireEvery = 30 * time.Second

// writeTxnMarkersKey is the one inter-broker API served here; like Kafka's
// cluster actions it is never throttled.
const writeTxnMarkersKey = 27

// clientQuotas are the broker's quota configs and usage.
type clientQuotas struct {
	store   *quota.Store
	manager *quota.Manager
	// last is the quota configs of the image last applied to store. Only
	// the image subscription touches it, and the metadata node calls its
	// subscribers one at a time, in image order.
	last map[quota.Entity]map[string]float64
}

// newClientQuotas builds the quota state from the static properties
// quota.window.num, quota.window.size.seconds and their controller.*
// counterparts, validated when the config was parsed; a missing one takes
// Kafka's default, and a value the quota package still refuses is logged
// and replaced by the defaults.
func newClientQuotas(props map[string]string, logger *slog.Logger) *clientQuotas {
	// ip entities are accepted only as IP literals: resolving a hostname
	// would block the metadata subscription and the handler on DNS.
	store := quota.NewStore(nil)
	seconds := func(name string) time.Duration { return time.Duration(intProp(props, name)) * time.Second }
	m, err := quota.NewManager(quota.Config{
		NumSamples:           intProp(props, "quota.window.num"),
		WindowSize:           seconds("quota.window.size.seconds"),
		ControllerNumSamples: intProp(props, "controller.quota.window.num"),
		ControllerWindowSize: seconds("controller.quota.window.size.seconds"),
	}, store)
	if err != nil {
		logger.Error("client quota windows refused, using the defaults", "err", err)
		m, _ = quota.NewManager(quota.Config{}, store)
	}
	return &clientQuotas{store: store, manager: m}
}

// intProp is an integer property, 0 (the quota package's "default") when
// unset.
func intProp(props map[string]string, name string) int {
	n, err := strconv.Atoi(strings.TrimSpace(props[name]))
	if err != nil {
		return 0
	}
	return n
}

// noteImage applies the image's quota configs to the store: the difference
// from the last image, in one Apply so the store copies its table once.
func (q *clientQuotas) noteImage(_, img *metadata.Image) {
	current := make(map[quota.Entity]map[string]float64)
	for _, cq := range img.ClientQuotas() {
		if e, ok := imageEntity(cq.Entity); ok {
			current[e] = cq.Values
		}
	}
	var records []quota.Record
	for e, values := range current {
		for k, v := range values {
			if old, ok := q.last[e][k]; !ok || old != v {
				records = append(records, quota.Record{Entity: e, Key: quota.Key(k), Value: v})
			}
		}
	}
	for e, values := range q.last {
		for k := range values {
			if _, ok := current[e][k]; !ok {
				records = append(records, quota.Record{Entity: e, Key: quota.Key(k), Remove: true})
			}
		}
	}
	q.store.Apply(records...)
	q.last = current
}

// imageEntity converts an entity as the metadata records carry it. The
// controller only checks sizes, so an unknown type is skipped, not trusted.
func imageEntity(parts []metadata.QuotaEntityPart) (quota.Entity, bool) {
	var e quota.Entity
	for _, p := range parts {
		c := quota.DefaultComponent()
		if p.Name != nil {
			c = quota.Name(*p.Name)
		}
		switch p.Type {
		case quota.EntityUser:
			e.User = c
		case quota.EntityClientID:
			e.ClientID = c
		case quota.EntityIP:
			e.IP = c
		default:
			return quota.Entity{}, false
		}
	}
	return e, e != quota.Entity{}
}

// entityParts lists the types an entity names, in Kafka's order, as wire
// or record parts built by mk.
func entityParts[T any](e quota.Entity, mk func(typ string, name *string) T) []T {
	var out []T
	for _, c := range []struct {
		typ  string
		comp quota.Component
	}{{quota.EntityUser, e.User}, {quota.EntityClientID, e.ClientID}, {quota.EntityIP, e.IP}} {
		switch c.comp.Kind {
		case quota.Named:
			name := c.comp.Name
			out = append(out, mk(c.typ, &name))
		case quota.Default:
			out = append(out, mk(c.typ, nil))
		}
	}
	return out
}

// runQuotas drops idle sensors until ctx is cancelled.
func (b *Broker) runQuotas(ctx context.Context) {
	t := time.NewTicker(quotaExpireEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			b.quotas.manager.Expire(b.now())
		}
	}
}

// quotaUser is the user a quota names for a principal: its name without
// the "User:" type, as Kafka's quota callback takes principal.getName.
func quotaUser(principal string) string {
	if name, ok := strings.CutPrefix(principal, "User:"); ok {
		return name
	}
	return principal
}

// serveWithQuotas runs a handler and applies the request-time quota to it,
// and the produce quota to Produce. As in Kafka, the larger throttle wins,
// inter-broker requests (follower fetches, transaction markers) are exempt,
// and an acks=0 Produce is exempt from the request quota. The time measured
// is the handler's wall time on the connection goroutine: waits that
// return a pending response (fsync, long polls) are not counted, as
// Kafka's purgatory is not, but a handler that blocks on the controller is.
func (b *Broker) serveWithQuotas(a *api, ctx context.Context, rc *server.RequestContext, req kmsg.Request) server.Result {
	if exemptFromQuotas(req) {
		return a.handle(b, ctx, rc, req)
	}
	start := b.now()
	res := a.handle(b, ctx, rc, req)
	now := b.now()
	user := quotaUser(rc.Principal)
	var throttle time.Duration
	if produce, ok := req.(*kmsg.ProduceRequest); ok {
		throttle = b.quotas.manager.RecordProduce(user, rc.ClientID, produceBytes(produce), now)
		if produce.Acks == 0 {
			return withThrottle(res, throttle)
		}
	}
	throttle = max(throttle, b.quotas.manager.RecordRequestTime(user, rc.ClientID, now.Sub(start), now))
	return withThrottle(res, throttle)
}

// exemptFromQuotas reports requests of other brokers.
func exemptFromQuotas(req kmsg.Request) bool {
	switch r := req.(type) {
	case *kmsg.FetchRequest:
		return fetchReplicaID(r) >= 0
	default:
		return req.Key() == writeTxnMarkersKey
	}
}

// fetchReplicaID is the fetching follower's id, or -1 for a consumer.
func fetchReplicaID(r *kmsg.FetchRequest) int32 {
	if r.Version >= 15 {
		return r.ReplicaState.ID
	}
	return r.ReplicaID
}

// produceBytes are a Produce request's record bytes. Kafka counts the whole
// request's size; the records are all but a few dozen bytes of it.
func produceBytes(req *kmsg.ProduceRequest) int64 {
	var n int64
	for _, t := range req.Topics {
		for _, p := range t.Partitions {
			n += int64(len(p.Records))
		}
	}
	return n
}

// withThrottle raises a result's mute and its response's throttle_time_ms to
// throttle; a pending response gets it when it is ready.
func withThrottle(res server.Result, throttle time.Duration) server.Result {
	if throttle <= 0 {
		return res
	}
	res.Mute = max(res.Mute, throttle)
	if res.Response != nil {
		raiseThrottle(res.Response, throttle)
	}
	if pending := res.Pending; pending != nil {
		res.Pending = func(ctx context.Context) kmsg.Response {
			resp := pending(ctx)
			if resp != nil {
				raiseThrottle(resp, throttle)
			}
			return resp
		}
	}
	return res
}

// raiseThrottle sets a response's throttle_time_ms to throttle unless it
// holds a larger one. Responses of versions without the field ignore it.
func raiseThrottle(resp kmsg.Response, throttle time.Duration) {
	r, ok := resp.(interface {
		kmsg.ThrottleResponse
		kmsg.SetThrottleResponse
	})
	if !ok {
		return
	}
	ms := int32(min(throttle.Milliseconds(), int64(1<<31-1)))
	if current, _ := r.Throttle(); ms > current {
		r.SetThrottle(ms)
	}
}

// consumerFetchQuota is one consumer Fetch's view of consumer_byte_rate.
type consumerFetchQuota struct {
	limited        bool
	user, clientID string
	// maxBytes bounds the response: what the client may fetch in one
	// quota window, so that one response cannot overdraw it for long.
	maxBytes int64
	// throttle is set once the response was recorded over the quota.
	throttle time.Duration
}

// fetchQuota returns the consumer_byte_rate state of a consumer's fetch;
// followers' fetches are not limited.
func (b *Broker) fetchQuota(rc *server.RequestContext, replica int32) consumerFetchQuota {
	if replica >= 0 || rc == nil {
		return consumerFetchQuota{}
	}
	user := quotaUser(rc.Principal)
	limit, ok := b.quotas.manager.MaxFetchBytesInWindow(user, rc.ClientID)
	if !ok {
		return consumerFetchQuota{}
	}
	return consumerFetchQuota{limited: true, user: user, clientID: rc.ClientID, maxBytes: max(int64(limit), 1)}
}

// finishQuota records the bytes of a fetch's response, as Kafka records it
// once built. Over the quota the fetch is answered with no records, the
// bytes are taken back (the client gets them after the throttle, when they
// fit) and it reports true.
func (f *fetch) finishQuota() bool {
	q := &f.quota
	if !q.limited {
		return false
	}
	bytes := f.responseRecordBytes()
	now := f.b.now()
	q.throttle = f.b.quotas.manager.RecordFetch(q.user, q.clientID, bytes, now)
	if q.throttle <= 0 {
		return false
	}
	f.b.quotas.manager.UnrecordFetch(q.user, q.clientID, bytes, now)
	f.releaseSlices()
	// Kafka's throttled response carries no partitions at all.
	f.resp.Topics = nil
	raiseThrottle(f.resp, q.throttle)
	return true
}

// responseRecordBytes are the record bytes a fetch's response carries:
// a spliced partition's file range, else its records.
func (f *fetch) responseRecordBytes() int64 {
	var n int64
	i := 0
	for ti := range f.resp.Topics {
		for pi := range f.resp.Topics[ti].Partitions {
			if i < len(f.slices) && f.slices[i].Size > 0 {
				n += f.slices[i].Size
			} else {
				n += int64(len(f.resp.Topics[ti].Partitions[pi].RecordBatches))
			}
			i++
		}
	}
	return n
}

// mutationQuota is one CreateTopics, CreatePartitions or DeleteTopics
// request's controller_mutation_rate (KIP-599). Strict requests (the
// versions that know THROTTLING_QUOTA_EXCEEDED) have topics refused while
// the client is over its quota; older ones are only throttled.
type mutationQuota struct {
	b              *Broker
	user, clientID string
	strict         bool
	// throttle is the last throttle recorded, at recordedAt.
	throttle   time.Duration
	recordedAt time.Time
}

func (b *Broker) newMutationQuota(rc *server.RequestContext, strict bool) *mutationQuota {
	m := &mutationQuota{b: b, strict: strict}
	if rc != nil {
		m.user, m.clientID = quotaUser(rc.Principal), rc.ClientID
	}
	return m
}

// record counts mutations for one topic; the error (wrapping
// kerr.ThrottlingQuotaExceeded) is the topic's answer.
func (m *mutationQuota) record(mutations int) error {
	if mutations <= 0 {
		return nil
	}
	now := m.b.now()
	d, err := m.b.quotas.manager.RecordMutations(m.user, m.clientID, mutations, m.strict, now)
	if d > 0 {
		m.throttle, m.recordedAt = d, now
	}
	return err
}

// result answers with resp throttled by what remains of the last throttle.
func (m *mutationQuota) result(resp kmsg.Response) server.Result {
	res := server.Result{Response: resp}
	if m.throttle > 0 {
		res = withThrottle(res, quota.RemainingThrottle(m.throttle, m.recordedAt, m.b.now()))
	}
	return res
}

// quotaMessage is the text Kafka puts beside a quota refusal: the message
// without the code's name, which the code already says.
func quotaMessage(err error) *string {
	if qe, ok := err.(*quota.Error); ok {
		msg := qe.Message
		return &msg
	}
	return errorMessage(err)
}

// createTopic records the partitions a CreateTopics entry creates; a
// validate_only request records nothing, as Kafka's.
func (m *mutationQuota) createTopic(spec metadata.CreateTopicSpec) error {
	if spec.ValidateOnly {
		return nil
	}
	n := int(spec.NumPartitions)
	switch {
	case len(spec.Assignments) > 0:
		n = len(spec.Assignments)
	case n == -1:
		n = int(m.b.opts.Config.NumPartitions) // num.partitions
	}
	return m.record(n)
}

// createPartitions records the partitions a CreatePartitions entry adds.
func (m *mutationQuota) createPartitions(validateOnly bool, topic string, newTotal int32) error {
	t, ok := m.b.meta.Image().Topic(topic)
	if validateOnly || !ok {
		return nil
	}
	return m.record(int(newTotal) - len(t.Partitions))
}

// deleteTopic records the partitions a DeleteTopics entry deletes.
func (m *mutationQuota) deleteTopic(topic string) error {
	t, ok := m.b.meta.Image().Topic(topic)
	if !ok {
		return nil
	}
	return m.record(len(t.Partitions))
}

// QuotaStore is the client quota configuration the broker keeps in step
// with the metadata image, for the listeners' per-IP connection rates.
func (b *Broker) QuotaStore() *quota.Store { return b.quotas.store }
