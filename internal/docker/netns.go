package docker

import (
	"context"
	"fmt"

	"github.com/moby/moby/client"
)

// ReadContainerFile reads a regular file of any container (running or not)
// through the API's archive endpoint: secrets such as NEO4J_AUTH_FILE never
// pass through a command line.
func (e *Engine) ReadContainerFile(ctx context.Context, id, path string, max int64) ([]byte, error) {
	res, err := e.api.CopyFromContainer(ctx, id, client.CopyFromContainerOptions{SourcePath: path})
	if err != nil {
		return nil, e.wrap(err)
	}
	defer res.Content.Close()
	return readSingleFile(res.Content, path, max)
}

// Stop stops the helper (killing what runs in it) without removing it.
func (h *Helper) Stop(ctx context.Context) error {
	zero := 0
	if _, err := h.engine.api.ContainerStop(ctx, h.id, client.ContainerStopOptions{Timeout: &zero}); err != nil {
		return fmt.Errorf("stop helper container %s: %w", h.name, h.engine.wrap(err))
	}
	return nil
}

// Start starts a stopped helper again.
func (h *Helper) Start(ctx context.Context) error {
	if _, err := h.engine.api.ContainerStart(ctx, h.id, client.ContainerStartOptions{}); err != nil {
		return fmt.Errorf("start helper container %s: %w", h.name, h.engine.wrap(err))
	}
	return nil
}
