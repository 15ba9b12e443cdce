package bench

import (
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/fjordhq/fjord/internal/cli"
)

func TestParseOptions(t *testing.T) {
	t.Setenv(cli.BrokersEnv, "")
	tests := []struct {
		name    string
		args    string
		wantErr string // substring of stderr; empty: must parse
		check   func(t *testing.T, o Options)
	}{
		{name: "produce defaults", args: "produce --topic t --records 10", check: func(t *testing.T, o Options) {
			if o.Mode != ModeProduce || o.Topic != "t" || o.Records != 10 || o.RecordBytes != 100 || o.Partitions != 1 ||
				o.AcksName != "all" || !o.Idempotent || o.Linger != 10*time.Millisecond || o.BatchBytes != 1_000_000 ||
				o.Producers != 1 || o.RecordsPerSecond != 0 || o.CompressionName != "none" || o.ReplicationFactor != -1 {
				t.Errorf("defaults: %+v", o)
			}
			if len(o.Brokers) != 1 || o.Brokers[0] != cli.DefaultBrokers || o.Timeout != cli.DefaultTimeout {
				t.Errorf("connection defaults: %v %v", o.Brokers, o.Timeout)
			}
		}},
		{name: "produce everything", args: "produce --topic t --records 500000 --record-size 1024 --partitions 8 --acks all --idempotent=true --linger 5ms --batch-bytes 65536 --producers 4 --rate 1000 --compression zstd --brokers a:1,b:2 --quiet --in-process --histogram-svg h.svg",
			check: func(t *testing.T, o Options) {
				if o.RecordBytes != 1024 || o.Partitions != 8 || o.Linger != 5*time.Millisecond || o.BatchBytes != 65536 ||
					o.Producers != 4 || o.RecordsPerSecond != 1000 || o.CompressionName != "zstd" || !o.Quiet || !o.InProcess ||
					o.HistogramSVG != "h.svg" || strings.Join(o.Brokers, ",") != "a:1,b:2" {
					t.Errorf("parsed: %+v", o)
				}
			}},
		{name: "acks 1 turns idempotence off", args: "produce --topic t --records 1 --acks 1", check: func(t *testing.T, o Options) {
			if o.Idempotent || o.AcksName != "1" {
				t.Errorf("acks 1: idempotent %v acks %q", o.Idempotent, o.AcksName)
			}
		}},
		{name: "acks -1 is all", args: "produce --topic t --records 1 --acks -1", check: func(t *testing.T, o Options) {
			if !o.Idempotent || o.AcksName != "all" {
				t.Errorf("acks -1: idempotent %v acks %q", o.Idempotent, o.AcksName)
			}
		}},
		{name: "consume", args: "consume --topic t --records 5 --timeout 3s", check: func(t *testing.T, o Options) {
			if o.Mode != ModeConsume || o.Records != 5 || o.Timeout != 3*time.Second {
				t.Errorf("consume: %+v", o)
			}
		}},
		{name: "e2e default rate", args: "e2e --topic t --records 5", check: func(t *testing.T, o Options) {
			if o.Mode != ModeE2E || o.RecordsPerSecond != 1000 || o.Producers != 1 {
				t.Errorf("e2e: %+v", o)
			}
		}},
		{name: "flush records", args: "produce --topic t --records 10 --flush-records 4", check: func(t *testing.T, o Options) {
			if o.FlushRecords != 4 || o.TransactionRecords != 0 {
				t.Errorf("flush records: %+v", o)
			}
		}},
		{name: "flush and transaction records together", args: "produce --topic t --records 10 --flush-records 4 --transaction-records 4",
			wantErr: "cannot go with --transaction-records"},
		{name: "negative flush records", args: "produce --topic t --records 10 --flush-records -1", wantErr: "--flush-records must be positive"},
		{name: "transactions need idempotence", args: "produce --topic t --records 10 --acks 1 --transaction-records 4",
			wantErr: "needs an idempotent producer"},
		{name: "no mode", args: "", wantErr: "usage: fjord bench MODE"},
		{name: "unknown mode", args: "fly --topic t", wantErr: `unknown mode "fly"`},
		{name: "missing topic", args: "produce --records 1", wantErr: "--topic is required"},
		{name: "missing records", args: "produce --topic t", wantErr: "--records must be between"},
		{name: "too many records", args: "produce --topic t --records 99999999999", wantErr: "--records must be between"},
		{name: "negative record size", args: "produce --topic t --records 1 --record-size -1", wantErr: "--record-size"},
		{name: "huge record size", args: "produce --topic t --records 1 --record-size 2000000", wantErr: "--record-size"},
		{name: "e2e record too small for a timestamp", args: "e2e --topic t --records 1 --record-size 4", wantErr: "--record-size must be between 8"},
		{name: "zero partitions", args: "produce --topic t --records 1 --partitions 0", wantErr: "--partitions"},
		{name: "bad acks", args: "produce --topic t --records 1 --acks 2", wantErr: "--acks must be all, 1 or 0"},
		{name: "explicit idempotence with acks 1", args: "produce --topic t --records 1 --acks 1 --idempotent=true", wantErr: "--idempotent needs --acks all"},
		{name: "negative linger", args: "produce --topic t --records 1 --linger -1ms", wantErr: "--linger"},
		{name: "zero batch bytes", args: "produce --topic t --records 1 --batch-bytes 0", wantErr: "--batch-bytes"},
		{name: "bad compression", args: "produce --topic t --records 1 --compression brotli", wantErr: "--compression"},
		{name: "too many producers", args: "produce --topic t --records 1 --producers 65", wantErr: "--producers"},
		{name: "negative rate", args: "produce --topic t --records 1 --rate -5", wantErr: "--rate"},
		{name: "NaN rate", args: "produce --topic t --records 1 --rate NaN", wantErr: "--rate"},
		{name: "bad broker", args: "consume --topic t --records 1 --brokers nohost", wantErr: "not host:port"},
		{name: "zero timeout", args: "consume --topic t --records 1 --timeout 0s", wantErr: "--timeout"},
		{name: "producer flag on consume", args: "consume --topic t --records 1 --acks 1", wantErr: "flag provided but not defined"},
		{name: "stray argument", args: "consume --topic t --records 1 extra", wantErr: `unexpected argument "extra"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr strings.Builder
			o, err := ParseOptions(strings.Fields(tt.args), &stderr)
			if tt.wantErr != "" {
				if !errors.Is(err, cli.ErrUsage) {
					t.Fatalf("err = %v, want ErrUsage", err)
				}
				if !strings.Contains(stderr.String(), tt.wantErr) {
					t.Fatalf("stderr %q does not mention %q", stderr.String(), tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseOptions: %v\n%s", err, stderr.String())
			}
			tt.check(t, o)
		})
	}
}

func TestBrokersFromEnvironment(t *testing.T) {
	t.Setenv(cli.BrokersEnv, "10.0.0.1:9092, 10.0.0.2:9092")
	o, err := ParseOptions([]string{"consume", "--topic", "t", "--records", "1"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(o.Brokers, ",") != "10.0.0.1:9092,10.0.0.2:9092" {
		t.Fatalf("brokers %v, want the two from %s", o.Brokers, cli.BrokersEnv)
	}
}
