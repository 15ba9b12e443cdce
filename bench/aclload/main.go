// Command aclload creates ACL bindings for bench/run-security.sh: N
// bindings over N/10 principals, a mix of literal and prefixed topic and
// group patterns, none of which names the benchmark's own principal, so
// that every check of it searches a full index.
//
//	go run ./bench/aclload -brokers 127.0.0.1:9092 -user admin -password secret -n 10000
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

func main() {
	brokers := flag.String("brokers", "127.0.0.1:9092", "seed broker")
	user := flag.String("user", "admin", "SCRAM-SHA-512 super user")
	password := flag.String("password", "", "its password")
	n := flag.Int("n", 10000, "bindings to create")
	flag.Parse()
	if err := run(*brokers, *user, *password, *n); err != nil {
		fmt.Fprintln(os.Stderr, "aclload:", err)
		os.Exit(1)
	}
}

func run(brokers, user, password string, n int) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers), kgo.SASL(scram.Auth{User: user, Pass: password}.AsSha512Mechanism()))
	if err != nil {
		return err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	const perRequest = 500 // one metadata write each
	for start := 0; start < n; start += perRequest {
		req := kmsg.NewPtrCreateACLsRequest()
		for i := start; i < min(n, start+perRequest); i++ {
			c := kmsg.NewCreateACLsRequestCreation()
			c.Principal, c.Host, c.PermissionType = fmt.Sprintf("User:load-%d", i/10), "*", kmsg.ACLPermissionTypeAllow
			c.ResourceType, c.ResourceName, c.Operation = kmsg.ACLResourceTypeTopic, fmt.Sprintf("load-topic-%d", i), kmsg.ACLOperationWrite
			if i%5 == 0 {
				c.ResourceType, c.ResourceName, c.Operation = kmsg.ACLResourceTypeGroup, fmt.Sprintf("load-group-%d", i), kmsg.ACLOperationRead
			}
			c.ResourcePatternType = kmsg.ACLResourcePatternTypeLiteral
			if i%3 == 0 {
				c.ResourcePatternType = kmsg.ACLResourcePatternTypePrefixed
			}
			req.Creations = append(req.Creations, c)
		}
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			return err
		}
		for _, r := range resp.Results {
			if err := kerr.ErrorForCode(r.ErrorCode); err != nil {
				return fmt.Errorf("creating bindings %d..: %w", start, err)
			}
		}
	}
	return nil
}
