package pgtest_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/fjordhq/fjord/internal/pgtest"
)

// TestStartServesSQLAndLogicalReplication starts a server, writes and
// reads a table, and creates a pgoutput replication slot, which needs
// wal_level=logical: what the Connect tests rely on.
func TestStartServesSQLAndLogicalReplication(t *testing.T) {
	srv := pgtest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, srv.DSN)
	if err != nil {
		t.Fatalf("connect: %v\n%s", err, srv.Log())
	}
	defer conn.Close(ctx)
	for _, sql := range []string{
		"CREATE TABLE items (id int PRIMARY KEY, name text)",
		"INSERT INTO items VALUES (1, 'one'), (2, 'two')",
	} {
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM items").Scan(&n); err != nil || n != 2 {
		t.Fatalf("count: %d, %v; want 2", n, err)
	}
	var slot string
	if err := conn.QueryRow(ctx, "SELECT slot_name FROM pg_create_logical_replication_slot('fjord_test', 'pgoutput')").Scan(&slot); err != nil {
		t.Fatalf("creating a pgoutput slot: %v", err)
	}
	if slot != "fjord_test" {
		t.Fatalf("slot %q", slot)
	}
}
