package e2etest

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/fjordhq/fjord/internal/clustertest"
)

// kcatFormat prints one consumed record per line, tab separated; workload
// keys and values hold no tabs or newlines.
const kcatFormat = `%p\t%o\t%T\t%k\t%s\n`

// kcatTimeout bounds one kcat run: the largest workload takes about a
// second, so a kcat that has not exited by then is stuck (for -C -e: it
// never saw the end of a partition).
const kcatTimeout = 45 * time.Second

// Kcat runs the kcat binary (librdkafka) with args against addr and returns
// its stdout; a non-zero exit fails the test.
func Kcat(t *testing.T, ctx context.Context, addr, stdin string, args ...string) string {
	t.Helper()
	path, err := clustertest.LookKcat(t)
	if err != nil {
		t.Skip(err)
	}
	ctx, cancel := context.WithTimeout(ctx, kcatTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, append([]string{"-b", addr}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = strings.NewReader(stdin), &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("kcat %q: %v\nstderr (last 2 KiB):\n%s", args, err, LastBytes(stderr.String(), 2048))
	}
	// kcat reports delivery failures on stderr and may still exit 0.
	if strings.Contains(stderr.String(), "Delivery failed") || strings.Contains(stderr.String(), "ERROR") {
		t.Fatalf("kcat %q reported errors:\n%s", args, stderr.String())
	}
	return stdout.String()
}

// ProduceKcat pipes records as key:value lines into kcat -P.
func ProduceKcat(t *testing.T, ctx context.Context, addr, topic string, records []Record, extra ...string) {
	t.Helper()
	var in strings.Builder
	for _, r := range records {
		fmt.Fprintf(&in, "%s:%s\n", r.Key, r.Value)
	}
	Kcat(t, ctx, addr, in.String(), append([]string{"-P", "-t", topic, "-K:"}, extra...)...)
}

// ConsumeKcat reads with kcat -C until the end of every partition (-e) and
// parses kcatFormat lines.
func ConsumeKcat(t *testing.T, ctx context.Context, addr, topic string, extra ...string) []Record {
	t.Helper()
	args := append([]string{"-C", "-t", topic, "-e", "-q", "-f", kcatFormat}, extra...)
	if !slices.Contains(extra, "-o") {
		args = append(args, "-o", "beginning")
	}
	out := Kcat(t, ctx, addr, "", args...)
	var records []Record
	for line := range strings.SplitSeq(strings.TrimSuffix(out, "\n"), "\n") {
		if line == "" {
			continue
		}
		fields := strings.Split(line, "\t")
		if len(fields) != 5 {
			t.Fatalf("kcat output line %q: want 5 tab-separated fields", line)
		}
		p, err1 := strconv.ParseInt(fields[0], 10, 32)
		o, err2 := strconv.ParseInt(fields[1], 10, 64)
		ts, err3 := strconv.ParseInt(fields[2], 10, 64)
		if err1 != nil || err2 != nil || err3 != nil {
			t.Fatalf("kcat output line %q: bad number", line)
		}
		records = append(records, Record{Partition: int32(p), Offset: o, Timestamp: time.UnixMilli(ts), Key: fields[3], Value: fields[4]})
	}
	return records
}

func LastBytes(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// SaramaConfig is a sarama configuration at a Kafka 3.6 protocol level,
// well above the Produce v3+ and Fetch v4+ (message format v2) the broker
// serves; oldclients_test.go configures older levels.
func SaramaConfig() *sarama.Config {
	cfg := sarama.NewConfig()
	cfg.Version = sarama.V3_6_0_0
	cfg.ClientID = "fjord-e2e-sarama"
	cfg.Producer.Return.Successes = true
	cfg.Producer.Return.Errors = true
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Producer.Partitioner = sarama.NewHashPartitioner
	cfg.Producer.Retry.Backoff = 20 * time.Millisecond
	cfg.Consumer.Return.Errors = true
	cfg.Consumer.MaxWaitTime = 200 * time.Millisecond
	cfg.Metadata.Retry.Backoff = 20 * time.Millisecond
	cfg.Admin.Retry.Backoff = 20 * time.Millisecond
	cfg.Net.DialTimeout = 10 * time.Second
	cfg.Net.ReadTimeout = 30 * time.Second
	return cfg
}

// ConsumeSarama reads every partition of topic from offset 0 up to the end
// offset sarama lists for it.
func ConsumeSarama(t *testing.T, ctx context.Context, addr, topic string) []Record {
	t.Helper()
	client, err := sarama.NewClient([]string{addr}, SaramaConfig())
	if err != nil {
		t.Fatalf("sarama.NewClient: %v", err)
	}
	defer client.Close()
	partitions, err := client.Partitions(topic)
	if err != nil {
		t.Fatalf("sarama partitions of %s: %v", topic, err)
	}
	consumer, err := sarama.NewConsumerFromClient(client)
	if err != nil {
		t.Fatalf("sarama.NewConsumer: %v", err)
	}
	defer consumer.Close()
	var out []Record
	for _, p := range partitions {
		end, err := client.GetOffset(topic, p, sarama.OffsetNewest)
		if err != nil {
			t.Fatalf("sarama GetOffset %s/%d newest: %v", topic, p, err)
		}
		out = append(out, ConsumeSaramaPartition(t, ctx, consumer, topic, p, 0, int(end))...)
	}
	return out
}

// ConsumeSaramaPartition reads want records of one partition from offset.
func ConsumeSaramaPartition(t *testing.T, ctx context.Context, consumer sarama.Consumer, topic string, partition int32, offset int64, want int) []Record {
	t.Helper()
	if want == 0 {
		return nil
	}
	pc, err := consumer.ConsumePartition(topic, partition, offset)
	if err != nil {
		t.Fatalf("sarama ConsumePartition %s/%d at %d: %v", topic, partition, offset, err)
	}
	defer pc.Close()
	out := make([]Record, 0, want)
	for len(out) < want {
		select {
		case m := <-pc.Messages():
			out = append(out, Record{Partition: m.Partition, Offset: m.Offset, Key: string(m.Key), Value: string(m.Value), Timestamp: m.Timestamp})
		case err := <-pc.Errors():
			t.Fatalf("sarama consume %s/%d: %v", topic, partition, err)
		case <-ctx.Done():
			t.Fatalf("sarama consume %s/%d: %d of %d records before %v", topic, partition, len(out), want, ctx.Err())
		}
	}
	return out
}

// LockedBuffer collects a child's stderr while the test may read it.
type LockedBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *LockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *LockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
