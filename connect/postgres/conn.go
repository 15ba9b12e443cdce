package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/fjordhq/fjord/connect"
)

// The connection keys, shared by both connectors (the JDBC connector's
// names).
const (
	keyConnectionURL      = "connection.url"
	keyConnectionUser     = "connection.user"
	keyConnectionPassword = "connection.password"
)

// Connection limits.
const (
	// defaultConnectTimeout bounds a connection attempt when the URL sets
	// no connect_timeout, so that an unreachable server makes a retriable
	// error instead of a Poll or Flush that hangs.
	defaultConnectTimeout = 30 * time.Second
	// closeTimeout bounds the goodbye to the server when a task stops.
	closeTimeout = 5 * time.Second
)

// defineConnection adds the connection keys to def.
func defineConnection(def *connect.ConfigDef) *connect.ConfigDef {
	return def.
		Define(connect.ConfigKey{Name: keyConnectionURL, Type: connect.ConfigString, Required: true,
			Validator:  connect.AllOf(connect.NonEmptyString(), connect.ValidatorFunc(validateURL)),
			Importance: connect.High, Group: "Connection", OrderInGroup: 1, Width: connect.WidthLong,
			Documentation: "The PostgreSQL server to connect to: a URL (postgres://user@host:5432/db?sslmode=require) " +
				"or a key=value connection string (host=db port=5432 dbname=app), as libpq and pgx read them. " +
				"A jdbc:postgresql:// URL is read without its jdbc: prefix. Put the password in connection.password."}).
		Define(connect.ConfigKey{Name: keyConnectionUser, Type: connect.ConfigString,
			Importance: connect.High, Group: "Connection", OrderInGroup: 2, Width: connect.WidthMedium,
			Documentation: "The user to connect as, in place of the URL's."}).
		Define(connect.ConfigKey{Name: keyConnectionPassword, Type: connect.ConfigPassword,
			Importance: connect.High, Group: "Connection", OrderInGroup: 3, Width: connect.WidthMedium,
			Documentation: "The password to connect with, in place of the URL's."})
}

// validateURL checks that the URL parses; pgx's errors hide passwords.
func validateURL(_ string, value any) error {
	s, _ := value.(string)
	if s == "" {
		return nil // NonEmptyString and Required report it
	}
	if _, err := pgx.ParseConfig(trimJDBC(s)); err != nil {
		return fmt.Errorf("not a PostgreSQL connection string: %w", err)
	}
	return nil
}

func trimJDBC(url string) string { return strings.TrimPrefix(strings.TrimSpace(url), "jdbc:") }

// connConfig builds pgx's configuration from a parsed connector
// configuration.
func connConfig(cfg connect.Config, applicationName string) (*pgx.ConnConfig, error) {
	cc, err := pgx.ParseConfig(trimJDBC(cfg.GetString(keyConnectionURL)))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", connect.ErrInvalidConfig, keyConnectionURL, err)
	}
	if user := cfg.GetString(keyConnectionUser); user != "" {
		cc.User = user
	}
	if password := cfg.GetPassword(keyConnectionPassword).Value(); password != "" {
		cc.Password = password
	}
	if cc.ConnectTimeout == 0 {
		cc.ConnectTimeout = defaultConnectTimeout
	}
	if _, set := cc.RuntimeParams["application_name"]; !set {
		cc.RuntimeParams["application_name"] = applicationName
	}
	return cc, nil
}

// dbConn is a task's one connection to PostgreSQL, opened on first use
// and again after it broke. Like the task that owns it, it is used from
// one goroutine.
type dbConn struct {
	config *pgx.ConnConfig
	conn   *pgx.Conn
}

// get returns the open connection, connecting if there is none.
func (d *dbConn) get(ctx context.Context) (*pgx.Conn, error) {
	if d.conn != nil && !d.conn.IsClosed() {
		return d.conn, nil
	}
	d.conn = nil
	conn, err := pgx.ConnectConfig(ctx, d.config.Copy())
	if err != nil {
		return nil, classify(fmt.Errorf("connecting to %s:%d: %w", d.config.Host, d.config.Port, err))
	}
	d.conn = conn
	return conn, nil
}

// fail classifies an error of a statement (see classify) and drops the
// connection when it broke or may have: after the server's answer to a
// statement, or a value pgx could not encode, it is still usable. An error
// that left the connection closed is retriable: a new one may succeed.
func (d *dbConn) fail(err error) error {
	var pgErr *pgconn.PgError
	serverAnswer := errors.As(err, &pgErr)
	broken := d.conn == nil || d.conn.IsClosed()
	classified := classify(err)
	if broken || !serverAnswer && isRetriable(classified) {
		d.close()
	}
	if broken && !isRetriable(classified) && !serverAnswer {
		return connect.Retriable(err)
	}
	return classified
}

// close closes the connection, if any.
func (d *dbConn) close() {
	if d.conn == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	_ = d.conn.Close(ctx) // the server cleans up after a lost goodbye
	d.conn = nil
}

// classify marks err retriable when trying again may cure it: failed
// connections, network errors, timeouts, cancellation, and the server's
// errors of classes 08 (connection), 40 (serialization failure, deadlock),
// 53 (insufficient resources), 57 (operator intervention, statement
// timeout) and 58 (system error), and lock_not_available. Other server
// errors (syntax, permissions, bad data, authentication) and client-side
// errors (a value pgx cannot encode) are final.
func classify(err error) error {
	if err == nil || isRetriable(err) {
		return err
	}
	var pgErr *pgconn.PgError
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	switch {
	case errors.As(err, &pgErr):
		if retriableCode(pgErr.Code) {
			return connect.Retriable(err)
		}
		return err
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.As(err, &connectErr), errors.As(err, &netErr),
		pgconn.Timeout(err), pgconn.SafeToRetry(err):
		return connect.Retriable(err)
	}
	return err
}

func isRetriable(err error) bool {
	var r *connect.RetriableError
	return errors.As(err, &r)
}

func retriableCode(code string) bool {
	if len(code) < 2 {
		return false
	}
	switch code[:2] {
	case "08", "40", "53", "57", "58":
		return true
	}
	return code == "55P03" // lock_not_available
}

// isDataError reports the server's errors about the data written: classes
// 21 (cardinality), 22 (data exception) and 23 (integrity constraint).
func isDataError(err error) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || len(pgErr.Code) < 2 {
		return false
	}
	switch pgErr.Code[:2] {
	case "21", "22", "23":
		return true
	}
	return false
}

// sqlState returns the server's error code of err, "" if it has none.
func sqlState(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	return ""
}
