package helper

import (
	"context"
	"fmt"
	"strings"

	"github.com/opsmill/docker-infrahubdb/internal/docker"
	"github.com/opsmill/docker-infrahubdb/internal/progress"
	"github.com/opsmill/docker-infrahubdb/internal/version"
)

// Images is what image selection needs from the engine.
type Images interface {
	ImageEnv(ctx context.Context, ref string) (env []string, found bool, err error)
	PullImage(ctx context.Context, ref, auth string, progress func(status string, current, total int64)) error
}

// ChooseImage picks the helper image: the one asked for (--helper-image or
// NEO4J_BACKUP_DOCKER_IMAGE), else the database container's own image when
// it is an Enterprise image (same version, already on the host), else the
// pinned default.
func ChooseImage(asked string, t Target) string {
	if asked != "" {
		return asked
	}
	if c := t.Container; c != nil && Edition(*c) == "enterprise" {
		return c.Image
	}
	return version.DefaultHelperImage
}

// Edition tells "enterprise", "community" or "" (unknown) from the
// container's NEO4J_EDITION (set by the official images) or its image name.
func Edition(c docker.Container) string {
	if v, ok := c.EnvValue("NEO4J_EDITION"); ok {
		return strings.ToLower(v)
	}
	switch {
	case strings.Contains(c.Image, "enterprise"):
		return "enterprise"
	case strings.Contains(c.Image, "community"):
		return "community"
	}
	return ""
}

// EnsureImage makes sure the helper image is on the daemon's host, pulling
// it (with the registry credentials of the Docker config) when it is not,
// and refuses a Community image.
func EnsureImage(ctx context.Context, eng Images, ref string, auth func(ref string) (string, error), pw progress.Writer) error {
	env, found, err := eng.ImageEnv(ctx, ref)
	if err != nil {
		return err
	}
	if !found {
		if err := pull(ctx, eng, ref, auth, pw); err != nil {
			return err
		}
		if env, _, err = eng.ImageEnv(ctx, ref); err != nil {
			return err
		}
	}
	if edition, ok := (docker.Container{Env: env}).EnvValue("NEO4J_EDITION"); ok && strings.EqualFold(edition, "community") {
		return &EnvironmentError{Err: fmt.Errorf("helper image %s is Neo4j Community: neo4j-admin backup and restore of an online database need an Enterprise image; pass --helper-image neo4j:<version>-enterprise", ref)}
	}
	return nil
}

func pull(ctx context.Context, eng Images, ref string, auth func(string) (string, error), pw progress.Writer) error {
	err := progress.RunStep(pw, progress.Event{ID: "pull", Text: "Pull " + ref}, func(s *progress.Step) error {
		token := ""
		if auth != nil {
			var err error
			if token, err = auth(ref); err != nil {
				pw.Info("no registry credentials for " + ref + ": " + err.Error())
			}
		}
		return eng.PullImage(ctx, ref, token, s.Update)
	})
	if err != nil {
		return &EnvironmentError{Err: fmt.Errorf("helper image %s is not on the Docker host and could not be pulled: %w; pull or load it on that host, or pass --helper-image (or set NEO4J_BACKUP_DOCKER_IMAGE) to an Enterprise image it has", ref, err)}
	}
	return nil
}

// EnvironmentError is a precondition that is not met: nothing was changed,
// and the message says what to fix.
type EnvironmentError struct{ Err error }

func (e *EnvironmentError) Error() string { return e.Err.Error() }
func (e *EnvironmentError) Unwrap() error { return e.Err }
