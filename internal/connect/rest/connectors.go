package rest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// nameConfig is the configuration key holding a connector's name.
const nameConfig = "name"

func (s *Server) listConnectors(ctx context.Context, c *call) (answer, error) {
	names, err := s.herder.Connectors(ctx)
	if err != nil {
		return answer{}, fmt.Errorf("listing connectors: %w", err)
	}
	names = slices.Sorted(slices.Values(names))
	expand, ok := c.request.URL.Query()["expand"]
	if !ok {
		if names == nil {
			names = []string{}
		}
		return answer{status: http.StatusOK, body: names}, nil
	}
	out := make(map[string]ConnectorExpansion, len(names))
	for _, name := range names {
		expansion, err := s.expandConnector(ctx, name, expand)
		if errors.Is(err, ErrNotFound) {
			continue // deleted while we looked: left out, as Kafka does
		}
		if err != nil {
			return answer{}, err
		}
		out[name] = expansion
	}
	return answer{status: http.StatusOK, body: out}, nil
}

// expandConnector looks up what expand asks for ("status", "info";
// others are ignored, as Kafka does).
func (s *Server) expandConnector(ctx context.Context, name string, expand []string) (ConnectorExpansion, error) {
	var expansion ConnectorExpansion
	for _, what := range expand {
		switch what {
		case "status":
			status, err := s.herder.ConnectorStatus(ctx, name)
			if err != nil {
				return expansion, fmt.Errorf("status of connector %s: %w", name, err)
			}
			expansion.Status = &status
		case "info":
			info, err := s.herder.ConnectorInfo(ctx, name)
			if err != nil {
				return expansion, fmt.Errorf("info of connector %s: %w", name, err)
			}
			expansion.Info = &info
		}
	}
	return expansion, nil
}

func (s *Server) createConnector(ctx context.Context, c *call) (answer, error) {
	var req CreateConnectorRequest
	if err := decodeBody(c.body, &req); err != nil {
		return answer{}, err
	}
	// Kafka trims the name (Java's trim: every char up to the space).
	name := strings.TrimFunc(req.Name, func(r rune) bool { return r <= ' ' })
	if req.Config == nil {
		return answer{}, BadRequestf("Connector config is missing from the request")
	}
	initial, err := parseInitialState(req.InitialState)
	if err != nil {
		return answer{}, err
	}
	if err := putNameInConfig(name, req.Config); err != nil {
		return answer{}, err
	}
	if err := validateName(name); err != nil {
		return answer{}, err
	}
	_, info, err := s.herder.PutConnectorConfig(ctx, name, req.Config, initial, false)
	if err != nil {
		return answer{}, fmt.Errorf("creating connector %s: %w", name, err)
	}
	return answer{status: http.StatusCreated, body: info, location: connectorLocation(name)}, nil
}

func parseInitialState(state InitialState) (InitialState, error) {
	if state == "" {
		return "", nil
	}
	upper := InitialState(strings.ToUpper(string(state)))
	switch upper {
	case InitialStateRunning, InitialStatePaused, InitialStateStopped:
		return upper, nil
	}
	return "", BadRequestf("Invalid initial_state %q: must be one of RUNNING, PAUSED or STOPPED", string(state))
}

// putNameInConfig checks the "name" in config against the connector's
// name, and sets it when absent, as Kafka does.
func putNameInConfig(name string, config Config) error {
	included, ok := config[nameConfig]
	if !ok {
		config[nameConfig] = name
		return nil
	}
	if included != name {
		return BadRequestf("Connector name configuration (%s) doesn't match connector name in the URL (%s)",
			included, name)
	}
	return nil
}

// validateName applies Kafka's rule for connector names (KIP-212): not
// empty, no ISO control characters. Slashes are allowed, as in Kafka:
// such a connector is addressed with %2F in paths. The error reads as
// Kafka's validation of the "name" configuration.
func validateName(name string) error {
	problem := ""
	if name == "" {
		problem = "String may not be empty"
	} else {
		var control []string
		for _, r := range name {
			if unicode.IsControl(r) {
				control = append(control, strconv.Itoa(int(r)))
			}
		}
		if control != nil {
			problem = "String may not contain control sequences but had the following ASCII chars: " +
				strings.Join(control, ", ")
		}
	}
	if problem == "" {
		return nil
	}
	message := "Invalid value " + name + " for configuration " + nameConfig + ": " + problem
	return &Error{Kind: ErrBadRequest, Message: invalidConfigMessage(1, []string{message})}
}

func (s *Server) getConnector(ctx context.Context, c *call) (answer, error) {
	info, err := s.herder.ConnectorInfo(ctx, c.name())
	if err != nil {
		return answer{}, fmt.Errorf("connector %s: %w", c.name(), err)
	}
	return answer{status: http.StatusOK, body: info}, nil
}

func (s *Server) getConnectorConfig(ctx context.Context, c *call) (answer, error) {
	config, err := s.herder.ConnectorConfig(ctx, c.name())
	if err != nil {
		return answer{}, fmt.Errorf("config of connector %s: %w", c.name(), err)
	}
	return answer{status: http.StatusOK, body: emptyIfNil(config)}, nil
}

func (s *Server) putConnectorConfig(ctx context.Context, c *call) (answer, error) {
	var config Config
	if err := decodeBody(c.body, &config); err != nil {
		return answer{}, err
	}
	if config == nil {
		return answer{}, BadRequestf("Connector config is missing from the request")
	}
	name := c.name()
	if err := putNameInConfig(name, config); err != nil {
		return answer{}, err
	}
	if err := validateName(name); err != nil {
		return answer{}, err
	}
	created, info, err := s.herder.PutConnectorConfig(ctx, name, config, "", true)
	if err != nil {
		return answer{}, fmt.Errorf("configuring connector %s: %w", name, err)
	}
	if created {
		return answer{status: http.StatusCreated, body: info, location: connectorLocation(name)}, nil
	}
	return answer{status: http.StatusOK, body: info}, nil
}

func (s *Server) patchConnectorConfig(ctx context.Context, c *call) (answer, error) {
	var patch ConfigPatch
	if err := decodeBody(c.body, &patch); err != nil {
		return answer{}, err
	}
	if patch == nil {
		return answer{}, BadRequestf("Connector config patch is missing from the request")
	}
	info, err := s.herder.PatchConnectorConfig(ctx, c.name(), patch)
	if err != nil {
		return answer{}, fmt.Errorf("patching connector %s: %w", c.name(), err)
	}
	return answer{status: http.StatusOK, body: info}, nil
}

func (s *Server) deleteConnector(ctx context.Context, c *call) (answer, error) {
	if err := s.herder.DeleteConnector(ctx, c.name()); err != nil {
		return answer{}, fmt.Errorf("deleting connector %s: %w", c.name(), err)
	}
	return answer{status: http.StatusNoContent}, nil
}

func (s *Server) getConnectorStatus(ctx context.Context, c *call) (answer, error) {
	status, err := s.herder.ConnectorStatus(ctx, c.name())
	if err != nil {
		return answer{}, fmt.Errorf("status of connector %s: %w", c.name(), err)
	}
	return answer{status: http.StatusOK, body: status}, nil
}

func (s *Server) pauseConnector(ctx context.Context, c *call) (answer, error) {
	if err := s.herder.PauseConnector(ctx, c.name()); err != nil {
		return answer{}, fmt.Errorf("pausing connector %s: %w", c.name(), err)
	}
	return answer{status: http.StatusAccepted}, nil
}

func (s *Server) resumeConnector(ctx context.Context, c *call) (answer, error) {
	if err := s.herder.ResumeConnector(ctx, c.name()); err != nil {
		return answer{}, fmt.Errorf("resuming connector %s: %w", c.name(), err)
	}
	return answer{status: http.StatusAccepted}, nil
}

// stopConnector answers 204, as Kafka's worker does (its resource method
// returns nothing), although KIP-875's text spoke of 202.
func (s *Server) stopConnector(ctx context.Context, c *call) (answer, error) {
	if err := s.herder.StopConnector(ctx, c.name()); err != nil {
		return answer{}, fmt.Errorf("stopping connector %s: %w", c.name(), err)
	}
	return answer{status: http.StatusNoContent}, nil
}

// restartConnector restarts the connector only, answering 204 with no
// body, when neither includeTasks nor onlyFailed is set (the behaviour
// before KIP-745); otherwise it answers 202 with the states after the
// restart was requested.
func (s *Server) restartConnector(ctx context.Context, c *call) (answer, error) {
	req := RestartRequest{Connector: c.name(), IncludeTasks: c.query("includeTasks", false),
		OnlyFailed: c.query("onlyFailed", false)}
	if !req.IncludeTasks && !req.OnlyFailed {
		if err := s.herder.RestartConnector(ctx, req.Connector); err != nil {
			return answer{}, fmt.Errorf("restarting connector %s: %w", req.Connector, err)
		}
		return answer{status: http.StatusNoContent}, nil
	}
	state, err := s.herder.RestartConnectorAndTasks(ctx, req)
	if err != nil {
		return answer{}, fmt.Errorf("restarting connector %s: %w", req.Connector, err)
	}
	return answer{status: http.StatusAccepted, body: state}, nil
}

func (s *Server) getTaskConfigs(ctx context.Context, c *call) (answer, error) {
	tasks, err := s.herder.TaskConfigs(ctx, c.name())
	if err != nil {
		return answer{}, fmt.Errorf("tasks of connector %s: %w", c.name(), err)
	}
	if tasks == nil {
		tasks = []TaskInfo{}
	}
	return answer{status: http.StatusOK, body: tasks}, nil
}

func (s *Server) getTaskStatus(ctx context.Context, c *call) (answer, error) {
	id, err := c.taskID()
	if err != nil {
		return answer{}, err
	}
	state, err := s.herder.TaskStatus(ctx, id)
	if err != nil {
		return answer{}, fmt.Errorf("status of task %s-%d: %w", id.Connector, id.Task, err)
	}
	return answer{status: http.StatusOK, body: state}, nil
}

func (s *Server) restartTask(ctx context.Context, c *call) (answer, error) {
	id, err := c.taskID()
	if err != nil {
		return answer{}, err
	}
	if err := s.herder.RestartTask(ctx, id); err != nil {
		return answer{}, fmt.Errorf("restarting task %s-%d: %w", id.Connector, id.Task, err)
	}
	return answer{status: http.StatusNoContent}, nil
}
