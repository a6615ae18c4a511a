package docker

import (
	"context"
	"fmt"

	"github.com/moby/moby/client"
)

// Restart stops and starts the helper again. A helper started with
// JoinContainer joins the database container's *current* network namespace
// on start: after the database container was restarted (offline dump), this
// is how the helper reaches it again on 127.0.0.1. Its own file system (the
// work dir with the dumps) survives.
func (h *Helper) Restart(ctx context.Context) error {
	zero := 0
	if _, err := h.engine.api.ContainerRestart(ctx, h.ID, client.ContainerRestartOptions{Timeout: &zero}); err != nil {
		return fmt.Errorf("restart helper container %s: %w", h.Name, h.engine.wrap(err))
	}
	return nil
}

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
