package bench

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// clientID names bench connections in broker logs and quotas.
const clientID = "fjord-bench"

// newClient connects a kgo client; retries stop after --timeout so that an
// unreachable broker fails the run instead of hanging it.
func newClient(o Options, opts ...kgo.Opt) (*kgo.Client, error) {
	base := []kgo.Opt{
		kgo.SeedBrokers(o.Brokers...),
		kgo.ClientID(clientID),
		kgo.RetryTimeout(o.Timeout),
		kgo.DialTimeout(min(o.Timeout, maxDialTimeout)),
	}
	base = append(base, o.ClientSecurityOpts()...)
	cl, err := kgo.NewClient(append(base, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("creating client for %s: %w", strings.Join(o.Brokers, ","), err)
	}
	return cl, nil
}

// maxDialTimeout keeps a dial to a dead address from eating the whole
// --timeout of a request that could retry another seed.
const maxDialTimeout = 10 * time.Second

// producerOptions are the kgo settings of a bench producer.
func producerOptions(o Options) []kgo.Opt {
	opts := []kgo.Opt{
		kgo.DefaultProduceTopic(o.Topic),
		kgo.RequiredAcks(o.Acks),
		kgo.ProducerLinger(o.Linger),
		kgo.ProducerBatchMaxBytes(o.BatchBytes),
		kgo.ProducerBatchCompression(o.Compression),
		kgo.RecordDeliveryTimeout(o.Timeout),
	}
	if !o.Idempotent {
		opts = append(opts, kgo.DisableIdempotentWrite())
	}
	return opts
}

// ensureTopic creates the topic with o's partitions unless it exists. An
// existing topic is used as it is, whatever its partition count.
func ensureTopic(ctx context.Context, o Options) error {
	cl, err := newClient(o)
	if err != nil {
		return err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	adm := kadm.NewClient(cl)
	// CreateTopics, not CreateTopic: the latter folds the topic's own error
	// into the request error, hiding TOPIC_ALREADY_EXISTS.
	resps, err := adm.CreateTopics(ctx, o.Partitions, o.ReplicationFactor, nil, o.Topic)
	if err != nil {
		return fmt.Errorf("creating topic %q on %s: %w", o.Topic, strings.Join(o.Brokers, ","), err)
	}
	resp, ok := resps[o.Topic]
	switch {
	case !ok:
		return fmt.Errorf("creating topic %q: the broker's answer does not mention it", o.Topic)
	case resp.Err == nil, errors.Is(resp.Err, kerr.TopicAlreadyExists):
		return nil
	default:
		return fmt.Errorf("creating topic %q: %w (%s)", o.Topic, resp.Err, resp.ErrMessage)
	}
}

// firstError keeps the first failure of concurrent workers and cancels the
// run on it, so one failing producer stops the others.
type firstError struct {
	cancel context.CancelFunc
	mu     struct {
		sync.Mutex
		err error
	}
}

func (f *firstError) set(err error) {
	f.mu.Lock()
	if f.mu.err == nil {
		f.mu.err = err
		f.cancel()
	}
	f.mu.Unlock()
}

func (f *firstError) get() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.mu.err
}
