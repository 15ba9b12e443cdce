package rest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// The root, health and connector-plugins endpoints.

func (s *Server) serverInfo(ctx context.Context, _ *call) (answer, error) {
	clusterID, err := s.herder.KafkaClusterID(ctx)
	if err != nil {
		return answer{}, fmt.Errorf("kafka cluster id: %w", err)
	}
	return answer{status: http.StatusOK,
		body: ServerInfo{Version: s.cfg.Version, Commit: s.cfg.Commit, KafkaClusterID: clusterID}}, nil
}

// health answers GET /health (KIP-1017) with a WorkerStatus whatever the
// outcome: 200 healthy, 503 while starting, 500 otherwise (a health check
// that outlives ServerConfig.HealthCheckTimeout included).
func (s *Server) health(ctx context.Context, _ *call) (answer, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.HealthCheckTimeout)
	defer cancel()
	err := s.herder.HealthCheck(ctx)
	switch {
	case err == nil:
		return answer{status: http.StatusOK, body: WorkerStatus{Status: "healthy",
			Message: "Worker has completed startup and is ready to handle requests."}}, nil
	case errors.Is(err, ErrStarting):
		return answer{status: http.StatusServiceUnavailable, body: WorkerStatus{Status: "starting",
			Message: "Worker is still starting up. " + err.Error()}}, nil
	default:
		return answer{status: http.StatusInternalServerError, body: WorkerStatus{Status: "unhealthy",
			Message: "Worker was unable to handle this request and may be unable to handle other requests. " +
				err.Error()}}, nil
	}
}

// listPlugins answers GET /connector-plugins: connectors only unless
// connectorsOnly=false.
func (s *Server) listPlugins(ctx context.Context, c *call) (answer, error) {
	plugins, err := s.herder.ConnectorPlugins(ctx)
	if err != nil {
		return answer{}, fmt.Errorf("listing plugins: %w", err)
	}
	out := []PluginInfo{}
	connectorsOnly := c.query("connectorsOnly", true)
	for _, p := range plugins {
		if !connectorsOnly || p.Type == PluginTypeSource || p.Type == PluginTypeSink {
			out = append(out, p)
		}
	}
	return answer{status: http.StatusOK, body: out}, nil
}

func (s *Server) getPluginConfig(ctx context.Context, c *call) (answer, error) {
	plugin := c.request.PathValue("plugin")
	keys, err := s.herder.ConnectorPluginConfig(ctx, plugin)
	if err != nil {
		return answer{}, fmt.Errorf("config of plugin %s: %w", plugin, err)
	}
	if keys == nil {
		keys = []ConfigKeyInfo{}
	}
	return answer{status: http.StatusOK, body: keys}, nil
}

// connectorClassConfig is the configuration key naming a connector's
// class.
const connectorClassConfig = "connector.class"

func (s *Server) validateConfig(ctx context.Context, c *call) (answer, error) {
	var config Config
	if err := decodeBody(c.body, &config); err != nil {
		return answer{}, err
	}
	if config == nil {
		return answer{}, BadRequestf("Connector config is missing from the request")
	}
	plugin := c.request.PathValue("plugin")
	if included, ok := config[connectorClassConfig]; ok && !pluginMatches(included, plugin) {
		return answer{}, BadRequestf("Included connector type %s does not match request type %s", included, plugin)
	}
	infos, err := s.herder.ValidateConnectorConfig(ctx, config)
	if err != nil {
		return answer{}, fmt.Errorf("validating config for %s: %w", plugin, err)
	}
	return answer{status: http.StatusOK, body: infos}, nil
}

// pluginMatches reports whether the connector.class of a body names the
// plugin of the path, as Kafka decides it: by full or simple class name,
// with or without the "Connector" suffix (so FileStreamSource,
// FileStreamSourceConnector and the full class name all match
// org.apache.kafka.connect.file.FileStreamSourceConnector).
func pluginMatches(included, plugin string) bool {
	return strings.HasSuffix(pluginAlias(included), pluginAlias(plugin))
}

// pluginAlias strips the "Connector" suffix from a class name, as Kafka's
// plugin aliases do.
func pluginAlias(name string) string {
	const suffix = "Connector"
	if len(name) > len(suffix) && strings.HasSuffix(name, suffix) {
		return strings.TrimSuffix(name, suffix)
	}
	return name
}
