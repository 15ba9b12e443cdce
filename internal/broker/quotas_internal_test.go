package broker

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/fjordhq/fjord/internal/metadata"
	"github.com/fjordhq/fjord/internal/quota"
	"github.com/fjordhq/fjord/internal/server"
)

func quotaRecord(typ string, name *string, key string, value *float64) metadata.ClientQuotaRecord {
	return metadata.ClientQuotaRecord{Entity: []metadata.QuotaEntityPart{{Type: typ, Name: name}}, Key: key, Value: value}
}

func ptr[T any](v T) *T { return &v }

// TestQuotaStoreFollowsImage applies successive images and checks that the
// store holds exactly each image's quotas: values set, changed, removed,
// and entities gone with their last key.
func TestQuotaStoreFollowsImage(t *testing.T) {
	q := newClientQuotas(nil, slog.New(slog.DiscardHandler))
	img := metadata.NewImage("test")
	apply := func(recs ...metadata.ClientQuotaRecord) {
		t.Helper()
		for _, r := range recs {
			next, err := metadata.Apply(img, r)
			if err != nil {
				t.Fatal(err)
			}
			img = next
		}
		q.noteImage(nil, img)
	}
	alice := quota.Entity{ClientID: quota.Name("alice")}
	anyClient := quota.Entity{ClientID: quota.DefaultComponent()}
	want := func(e quota.Entity, values map[quota.Key]float64) {
		t.Helper()
		if got := q.store.Quotas(e); !maps.Equal(got, values) {
			t.Fatalf("quotas of %v: %v, want %v", e, got, values)
		}
	}

	apply(quotaRecord("client-id", ptr("alice"), "producer_byte_rate", ptr(100.0)),
		quotaRecord("client-id", ptr("alice"), "consumer_byte_rate", ptr(200.0)),
		quotaRecord("client-id", nil, "request_percentage", ptr(50.0)))
	want(alice, map[quota.Key]float64{quota.ProducerByteRate: 100, quota.ConsumerByteRate: 200})
	want(anyClient, map[quota.Key]float64{quota.RequestPercentage: 50})

	apply(quotaRecord("client-id", ptr("alice"), "producer_byte_rate", ptr(300.0)),
		quotaRecord("client-id", ptr("alice"), "consumer_byte_rate", nil))
	want(alice, map[quota.Key]float64{quota.ProducerByteRate: 300})

	apply(quotaRecord("client-id", nil, "request_percentage", nil))
	want(anyClient, map[quota.Key]float64{})
	want(alice, map[quota.Key]float64{quota.ProducerByteRate: 300})
	if r := q.manager.Resolve(quota.ProducerByteRate, "someone", "alice"); !r.Limited || r.Quota != 300 {
		t.Fatalf("resolution for client-id alice: %+v", r)
	}
}

// TestWithThrottle raises the throttle of direct and pending responses and
// the mute, never lowering a larger one.
func TestWithThrottle(t *testing.T) {
	resp := kmsg.NewPtrProduceResponse()
	resp.ThrottleMillis = 5000
	res := withThrottle(server.Result{Response: resp, Mute: 5 * time.Second}, time.Second)
	if resp.ThrottleMillis != 5000 || res.Mute != 5*time.Second {
		t.Fatalf("a larger throttle was lowered: %d ms, mute %v", resp.ThrottleMillis, res.Mute)
	}
	res = withThrottle(server.Result{Response: resp}, 7*time.Second)
	if resp.ThrottleMillis != 7000 || res.Mute != 7*time.Second {
		t.Fatalf("throttle %d ms, mute %v, want 7000 ms and 7s", resp.ThrottleMillis, res.Mute)
	}
	fetch := kmsg.NewPtrFetchResponse()
	res = withThrottle(server.Result{Pending: func(context.Context) kmsg.Response { return fetch }}, 1500*time.Millisecond)
	if got := res.Pending(context.Background()); got != fetch || fetch.ThrottleMillis != 1500 || res.Mute != 1500*time.Millisecond {
		t.Fatalf("pending response throttle %d ms, mute %v", fetch.ThrottleMillis, res.Mute)
	}
	if res := withThrottle(server.Result{NoResponse: true}, time.Second); res.Mute != time.Second {
		t.Fatalf("acks=0 produce: mute %v, want 1s", res.Mute)
	}
}

// TestMutationQuota refuses mutations while the bucket is negative for
// strict requests and only throttles the others, reporting what remains of
// the throttle when the response goes.
func TestMutationQuota(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	b := &Broker{now: func() time.Time { return now }}
	b.quotas = newClientQuotas(map[string]string{"controller.quota.window.num": "2"}, slog.New(slog.DiscardHandler))
	b.quotas.store.Apply(quota.Record{Entity: quota.Entity{ClientID: quota.Name("admin")}, Key: quota.ControllerMutationRate, Value: 10})
	rc := &server.RequestContext{Principal: "User:ANONYMOUS", ClientID: "admin"}

	m := b.newMutationQuota(rc, true)
	// The burst is 10/s over two one-second windows: 20.
	if err := m.record(25); err != nil {
		t.Fatalf("first mutation over the burst: %v, want accepted", err)
	}
	if err := m.record(1); !errors.Is(err, kerr.ThrottlingQuotaExceeded) {
		t.Fatalf("mutation while the bucket is negative: %v, want THROTTLING_QUOTA_EXCEEDED", err)
	}
	if msg := quotaMessage(m.record(1)); msg == nil || *msg == "" {
		t.Fatal("refusal without a message")
	}
	now = now.Add(100 * time.Millisecond)
	resp := kmsg.NewPtrCreateTopicsResponse()
	res := m.result(resp)
	// 5 credits short at 10/s is 500 ms, 100 ms of which have passed.
	if resp.ThrottleMillis != 400 || res.Mute != 400*time.Millisecond {
		t.Fatalf("throttle %d ms, mute %v, want 400 ms", resp.ThrottleMillis, res.Mute)
	}

	lenient := b.newMutationQuota(rc, false)
	if err := lenient.record(5); err != nil {
		t.Fatalf("non-strict mutation: %v, want accepted", err)
	}
	if lenient.throttle <= 0 {
		t.Fatal("non-strict mutation over the quota was not throttled")
	}
	other := b.newMutationQuota(&server.RequestContext{Principal: "User:ANONYMOUS", ClientID: "free"}, true)
	if err := other.record(1000); err != nil || other.throttle != 0 {
		t.Fatalf("client without a quota: %v, throttle %v", err, other.throttle)
	}
}

func TestQuotaUser(t *testing.T) {
	for in, want := range map[string]string{"User:alice": "alice", "User:ANONYMOUS": "ANONYMOUS", "alice": "alice", "User:": ""} {
		if got := quotaUser(in); got != want {
			t.Errorf("quotaUser(%q) = %q, want %q", in, got, want)
		}
	}
}
