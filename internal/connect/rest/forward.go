package rest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// forwardParam is the query parameter that counts hops between workers,
// as in Kafka: a request from a client carries none and may be forwarded
// with forward=true; one arriving with forward=true may be forwarded once
// more, with forward=false; one arriving with forward=false is not
// forwarded again and gets a 409. A request thus reaches the leader
// within two hops, even while the workers' views of who leads disagree.
const forwardParam = "forward"

// forward sends the request to the leader named by notLeader and relays
// the leader's answer: its status, Location and JSON body.
func (s *Server) forward(ctx context.Context, w http.ResponseWriter, c *call, notLeader *NotLeaderError) {
	next, err := nextForwardValue(c.request.URL.Query())
	if err != nil {
		s.writeError(w, err)
		return
	}
	if notLeader.LeaderURL == "" {
		s.writeError(w, &Error{Kind: ErrConflict, Message: messageNoLeader, Cause: notLeader})
		return
	}
	target, err := forwardURL(notLeader.LeaderURL, c.request.URL, next)
	if err != nil {
		s.writeError(w, err)
		return
	}
	status, header, body, err := s.sendForward(ctx, c, target)
	if err != nil {
		s.writeError(w, err)
		return
	}
	if location := header.Get("Location"); location != "" {
		w.Header().Set("Location", location)
	}
	if len(body) > 0 {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(status)
	if _, err := w.Write(body); err != nil {
		s.cfg.Logger.Debug("connect rest: relaying forwarded answer", "error", err)
	}
}

// nextForwardValue returns the forward parameter for the next hop, or
// the 409 when the hops are used up.
func nextForwardValue(query url.Values) (string, error) {
	values, ok := query[forwardParam]
	if !ok || len(values) == 0 {
		return "true", nil
	}
	if strings.EqualFold(values[0], "true") {
		return "false", nil
	}
	return "", &Error{Kind: ErrConflict, Message: messageTooManyHops}
}

// forwardURL is the request's path and query on the leader, with the
// forward parameter set to next.
func forwardURL(leaderURL string, requestURL *url.URL, next string) (string, error) {
	leader, err := url.Parse(leaderURL)
	if err != nil || (leader.Scheme != "http" && leader.Scheme != "https") || leader.Host == "" {
		return "", fmt.Errorf("connect rest: leader URL %q is not an http(s) URL (%v)", leaderURL, err)
	}
	query := requestURL.Query()
	query.Set(forwardParam, next)
	target := url.URL{Scheme: leader.Scheme, Host: leader.Host, RawQuery: query.Encode()}
	base := strings.TrimSuffix(leader.EscapedPath(), "/")
	escaped := base + requestURL.EscapedPath()
	target.Path, err = url.PathUnescape(escaped)
	if err != nil {
		return "", fmt.Errorf("connect rest: forward path %q: %w", escaped, err)
	}
	target.RawPath = escaped
	return target.String(), nil
}

// sendForward sends the request to target and returns the leader's
// answer, checked as Kafka's REST client checks it: a 2xx or an error
// status, with a JSON body (or none) of bounded size.
func (s *Server) sendForward(ctx context.Context, c *call, target string) (int, http.Header, []byte, error) {
	var body io.Reader
	if len(c.body) > 0 {
		body = bytes.NewReader(c.body)
	}
	req, err := http.NewRequestWithContext(ctx, c.request.Method, target, body)
	if err != nil {
		return 0, nil, nil, fmt.Errorf("connect rest: forward request: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "fjord-connect")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if auth := c.request.Header.Get("Authorization"); auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := s.cfg.ForwardClient.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return 0, nil, nil, fmt.Errorf("connect rest: forwarding to the leader: %w", err)
		}
		return 0, nil, nil, &Error{Kind: errForwardFailed,
			Message: "IO Error trying to forward REST request: " + err.Error(), Cause: err}
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, s.cfg.MaxForwardResponseBytes+1))
	switch {
	case err != nil:
		return 0, nil, nil, &Error{Kind: errForwardFailed,
			Message: "IO Error trying to forward REST request: " + err.Error(), Cause: err}
	case int64(len(answer)) > s.cfg.MaxForwardResponseBytes:
		return 0, nil, nil, fmt.Errorf("connect rest: the leader's answer is over %d bytes",
			s.cfg.MaxForwardResponseBytes)
	case resp.StatusCode < 200 || (resp.StatusCode >= 300 && resp.StatusCode < 400):
		return 0, nil, nil, &Error{Kind: errForwardFailed,
			Message: "Unexpected status code when handling forwarded request: " + strconv.Itoa(resp.StatusCode)}
	case len(bytes.TrimSpace(answer)) > 0 && !json.Valid(answer):
		return 0, nil, nil, fmt.Errorf("connect rest: the leader answered %d with a body that is not JSON",
			resp.StatusCode)
	}
	return resp.StatusCode, resp.Header, answer, nil
}
