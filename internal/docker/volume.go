package docker

import (
	"context"
	"fmt"
	"strings"

	"github.com/moby/moby/client"
)

// CreateVolume creates a named local volume carrying labels (a drill's
// scratch volume), and returns its name.
func (e *Engine) CreateVolume(ctx context.Context, name string, labels map[string]string) (string, error) {
	res, err := e.api.VolumeCreate(ctx, client.VolumeCreateOptions{Name: name, Driver: "local", Labels: labels})
	if err != nil {
		return "", fmt.Errorf("create volume %s: %w", name, e.wrap(err))
	}
	return res.Volume.Name, nil
}

// RemoveVolume removes a volume; a missing one is not an error. It works
// with a cancelled ctx: cleanup must happen on Ctrl-C too.
func (e *Engine) RemoveVolume(ctx context.Context, name string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	_, err := e.api.VolumeRemove(ctx, name, client.VolumeRemoveOptions{Force: true})
	if err == nil || IsNotFound(err) || strings.Contains(err.Error(), "no such volume") {
		return nil
	}
	return fmt.Errorf("remove volume %s: %w", name, e.wrap(err))
}
