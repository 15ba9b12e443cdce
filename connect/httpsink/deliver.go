package httpsink

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits on reading responses.
const (
	// responseExcerptBytes is how much of an error response's body an
	// error quotes: enough for a JSON error message, not a whole page.
	responseExcerptBytes = 512
	// responseDrainBytes is how much of a response body is read and
	// dropped so that its connection can carry the next request; a longer
	// body costs a new connection instead.
	responseDrainBytes = 64 << 10
)

// StatusError is a response whose status is not a success: the status code
// and the first bytes of the body (at most 512, invalid UTF-8 replaced).
type StatusError struct {
	Method     string
	URL        string // without a password it may hold
	StatusCode int
	Body       string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("%s %s: HTTP %d %s: response body %q",
		e.Method, e.URL, e.StatusCode, http.StatusText(e.StatusCode), e.Body)
}

// retriable reports whether a response with the status code may succeed
// if the request is sent again: server errors, 408 Request Timeout and
// 429 Too Many Requests.
func retriable(code int) bool {
	return code >= 500 || code == http.StatusRequestTimeout || code == http.StatusTooManyRequests
}

// outcome is the result of one attempt. err is nil on a 2xx response; a
// *StatusError for other responses; the context's error when ctx ended;
// else the error of getting no response.
type outcome struct {
	err        error
	retry      bool          // whether another attempt may succeed
	retryAfter time.Duration // what Retry-After asked for, when hasAfter
	hasAfter   bool
}

// sender sends request bodies, one attempt at a time or with retries.
type sender struct {
	settings *settings
	client   *http.Client
	// jitter returns a random duration in [0, n), n > 0.
	jitter func(n int64) int64
}

func newSender(s *settings) *sender {
	dialer := &net.Dialer{Timeout: s.connectTimeout, KeepAlive: 30 * time.Second}
	transport := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          4, // one request at a time per task
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   s.connectTimeout,
		ExpectContinueTimeout: time.Second,
	}
	client := &http.Client{
		Transport: transport,
		// Redirects are not followed: Go would turn a POST into a GET on
		// 301, 302 and 303, dropping the body. The 3xx fails the task.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return &sender{settings: s, client: client, jitter: rand.Int64N}
}

// send sends body, retrying as the settings say. It returns nil once a
// response is a success, ctx's error (wrapped) when ctx ends first, a
// *StatusError (wrapped) for a response not worth retrying, and otherwise
// the last failure after max.retries retries.
func (s *sender) send(ctx context.Context, body []byte) error {
	for attempt := 0; ; attempt++ {
		o := s.attempt(ctx, body)
		if o.err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("sending to %s: %w", s.settings.target, context.Cause(ctx))
		}
		if !o.retry {
			return o.err
		}
		if attempt >= s.settings.maxRetries {
			return fmt.Errorf("giving up after %d attempts (max.retries=%d): %w", attempt+1, s.settings.maxRetries, o.err)
		}
		wait := backoff(attempt, s.settings.backoff, s.settings.backoffMax, s.jitter)
		if o.hasAfter {
			wait = min(o.retryAfter, s.settings.backoffMax)
		}
		if err := sleep(ctx, wait); err != nil {
			return fmt.Errorf("waiting to retry %s: %w (last failure: %w)", s.settings.target, err, o.err)
		}
	}
}

// attempt sends body once, within http.request.timeout.ms.
func (s *sender) attempt(ctx context.Context, body []byte) outcome {
	ctx, cancel := context.WithTimeout(ctx, s.settings.requestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, s.settings.method, s.settings.url, bytes.NewReader(body))
	if err != nil {
		return outcome{err: fmt.Errorf("building the request: %w", err)}
	}
	req.Header = s.settings.headers.Clone()
	if s.settings.host != "" {
		req.Host = s.settings.host
	}
	if s.settings.basicAuth {
		req.SetBasicAuth(s.settings.user, s.settings.password.Value())
	}
	resp, err := s.client.Do(req)
	if err != nil {
		// The url.Error names the URL with its password redacted.
		return outcome{err: fmt.Errorf("no response: %w", err), retry: true}
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, responseDrainBytes))
		return outcome{}
	}
	excerpt, _ := io.ReadAll(io.LimitReader(resp.Body, responseExcerptBytes))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, responseDrainBytes))
	o := outcome{
		err: &StatusError{Method: s.settings.method, URL: s.settings.target, StatusCode: resp.StatusCode,
			Body: strings.ToValidUTF8(string(excerpt), string(utf8.RuneError))},
		retry: retriable(resp.StatusCode),
	}
	o.retryAfter, o.hasAfter = retryAfter(resp.Header)
	return o
}

// backoff is the wait before retry number attempt+1: base doubled attempt
// times, capped at limit, of which a random half is dropped (jitter), so
// that tasks failing together do not retry together.
func backoff(attempt int, base, limit time.Duration, jitter func(int64) int64) time.Duration {
	d := min(base, limit)
	for i := 0; i < attempt && d < limit; i++ {
		d = min(2*d, limit)
	}
	half := d / 2
	if d-half <= 0 {
		return d
	}
	return half + time.Duration(jitter(int64(d-half)+1))
}

// maxRetryAfterSeconds bounds the Retry-After read before it is capped by
// retry.backoff.max.ms, so that a huge value cannot overflow a Duration.
const maxRetryAfterSeconds = 1 << 31

// retryAfter reads a Retry-After header: seconds, or an HTTP date, which
// is measured against the response's Date header (the server's clock, so
// that the skew between clocks does not matter; without a Date the header
// is ignored). A date in the past means no wait.
func retryAfter(h http.Header) (time.Duration, bool) {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		return time.Duration(min(secs, maxRetryAfterSeconds)) * time.Second, true
	}
	at, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	now, err := http.ParseTime(h.Get("Date"))
	if err != nil {
		return 0, false
	}
	return max(at.Sub(now), 0), true
}

// sleep waits for d or until ctx ends, whichever is first.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// close releases the client's idle connections.
func (s *sender) close() { s.client.CloseIdleConnections() }

// refused reports whether err is a response with a 4xx status other than
// 408 and 429: the endpoint refuses the records themselves.
func refused(err error) bool {
	var se *StatusError
	return errors.As(err, &se) && se.StatusCode >= 400 && se.StatusCode < 500 && !retriable(se.StatusCode)
}
