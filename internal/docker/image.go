package docker

import (
	"context"
	"fmt"
	"strings"

	"github.com/docker/cli/cli/command"
	"github.com/moby/moby/client"
)

// ImageEnv returns the environment baked into a local image; found is false when the daemon does
// not have it.
func (e *Engine) ImageEnv(ctx context.Context, ref string) (env []string, found bool, err error) {
	res, err := e.api.ImageInspect(ctx, ref)
	if IsNotFound(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, e.wrap(err)
	}
	if res.Config != nil {
		env = res.Config.Env
	}
	return env, true, nil
}

// HasImage reports whether the daemon has the image locally.
func (e *Engine) HasImage(ctx context.Context, ref string) (bool, error) {
	_, found, err := e.ImageEnv(ctx, ref)
	return found, err
}

// PullImage pulls ref, reporting each progress message ("<layer>: Downloading", bytes done,
// bytes total) to progress, which may be nil. auth is the encoded registry auth (RegistryAuth),
// "" for anonymous pulls. An error reported inside the pull stream is returned as an error.
func (e *Engine) PullImage(ctx context.Context, ref, auth string, progress func(status string, current, total int64)) error {
	resp, err := e.api.ImagePull(ctx, ref, client.ImagePullOptions{RegistryAuth: auth})
	if err != nil {
		return fmt.Errorf("pull %s: %w", ref, e.wrap(err))
	}
	defer resp.Close()
	for msg, err := range resp.JSONMessages(ctx) {
		if err != nil {
			return fmt.Errorf("pull %s: %w", ref, err)
		}
		if msg.Error != nil {
			return fmt.Errorf("pull %s: %s", ref, msg.Error.Message)
		}
		if progress == nil {
			continue
		}
		status := strings.TrimSpace(msg.Status)
		if msg.ID != "" {
			status = msg.ID + ": " + status
		}
		var current, total int64
		if p := msg.Progress; p != nil {
			current, total = p.Current, p.Total
		}
		progress(status, current, total)
	}
	return ctx.Err()
}

// RegistryAuth returns the encoded credentials the Docker CLI's config holds for the registry
// of ref ("" encoded as anonymous when there are none), for PullImage.
func RegistryAuth(cli command.Cli, ref string) (string, error) {
	return command.RetrieveAuthTokenFromImage(cli.ConfigFile(), ref)
}
