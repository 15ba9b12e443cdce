package rest

import (
	"context"
	"fmt"
	"net/http"
)

// The offsets (KIP-875) and active topics (KIP-558) endpoints.

func (s *Server) getOffsets(ctx context.Context, c *call) (answer, error) {
	offsets, err := s.herder.ConnectorOffsets(ctx, c.name())
	if err != nil {
		return answer{}, fmt.Errorf("offsets of connector %s: %w", c.name(), err)
	}
	return answer{status: http.StatusOK, body: offsets}, nil
}

func (s *Server) alterOffsets(ctx context.Context, c *call) (answer, error) {
	var offsets ConnectorOffsets
	if err := decodeBody(c.body, &offsets); err != nil {
		return answer{}, err
	}
	if len(offsets.Offsets) == 0 {
		return answer{}, BadRequestf("Partitions / offsets need to be provided for an alter offsets request")
	}
	message, err := s.herder.AlterConnectorOffsets(ctx, c.name(), offsets)
	if err != nil {
		return answer{}, fmt.Errorf("altering offsets of connector %s: %w", c.name(), err)
	}
	return answer{status: http.StatusOK, body: message}, nil
}

func (s *Server) resetOffsets(ctx context.Context, c *call) (answer, error) {
	message, err := s.herder.ResetConnectorOffsets(ctx, c.name())
	if err != nil {
		return answer{}, fmt.Errorf("resetting offsets of connector %s: %w", c.name(), err)
	}
	return answer{status: http.StatusOK, body: message}, nil
}

func (s *Server) getActiveTopics(ctx context.Context, c *call) (answer, error) {
	if s.cfg.TopicTrackingDisabled {
		return answer{}, &Error{Kind: ErrForbidden, Message: "Topic tracking is disabled."}
	}
	topics, err := s.herder.ConnectorActiveTopics(ctx, c.name())
	if err != nil {
		return answer{}, fmt.Errorf("active topics of connector %s: %w", c.name(), err)
	}
	return answer{status: http.StatusOK, body: ActiveTopics{c.name(): {Topics: topics}}}, nil
}

func (s *Server) resetActiveTopics(ctx context.Context, c *call) (answer, error) {
	if s.cfg.TopicTrackingDisabled {
		return answer{}, &Error{Kind: ErrForbidden, Message: "Topic tracking is disabled."}
	}
	if s.cfg.TopicTrackingResetDisabled {
		return answer{}, &Error{Kind: ErrForbidden, Message: "Topic tracking reset is disabled."}
	}
	if err := s.herder.ResetConnectorActiveTopics(ctx, c.name()); err != nil {
		return answer{}, fmt.Errorf("resetting active topics of connector %s: %w", c.name(), err)
	}
	return answer{status: http.StatusAccepted}, nil
}
