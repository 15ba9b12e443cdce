package runtime

import (
	"context"

	"github.com/fjordhq/fjord/internal/connect/rest"
)

// ConnectorOffsets answers GET /connectors/{name}/offsets.
func (h *Standalone) ConnectorOffsets(ctx context.Context, name string) (rest.ConnectorOffsets, error) {
	run, err := h.run(name)
	if err != nil {
		return rest.ConnectorOffsets{}, err
	}
	return h.connectorOffsets(ctx, name, run.plugin)
}

// stoppedRun returns a connector's run if it is STOPPED, else the 400
// Kafka answers to an offsets change.
func (h *Standalone) stoppedRun(name string) (*connectorRun, error) {
	run, err := h.run(name)
	if err != nil {
		return nil, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if run.target != targetStopped {
		return nil, rest.OffsetsNeedStopped(name)
	}
	return run, nil
}

func (h *Standalone) AlterConnectorOffsets(ctx context.Context, name string, offsets rest.ConnectorOffsets) (rest.Message, error) {
	h.opMu.Lock()
	defer h.opMu.Unlock()
	run, err := h.stoppedRun(name)
	if err != nil {
		return rest.Message{}, err
	}
	return h.alterOffsets(ctx, name, run.plugin, run.config, offsets)
}

func (h *Standalone) ResetConnectorOffsets(ctx context.Context, name string) (rest.Message, error) {
	return resetOffsets(ctx, h, name)
}
