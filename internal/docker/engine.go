// Package docker owns every call the plugin makes to the Docker Engine API: finding the database
// container, helper container lifecycle, exec, file copy through tar streams, image pull and the
// Bolt tunnel. It is the only package that imports the moby client; workflows see its results as
// plain values (Container, Helper) so they can be tested over fakes.
package docker

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"

	"github.com/opsmill/docker-infrahubdb/internal/exitcode"
)

// DatabaseRoleLabel marks the Infrahub database container (set by Infrahub's Compose file).
const (
	DatabaseRoleLabel = "infrahub_role"
	DatabaseRole      = "database"
)

// ErrNoDatabase is returned by FindDatabase when no running container is labelled as the database.
var ErrNoDatabase = exitcode.New(exitcode.Environment, "no running container is labelled "+DatabaseRoleLabel+"="+DatabaseRole+
	": name the database container with --database-container, label it "+DatabaseRoleLabel+"="+DatabaseRole+
	", or give the database address with --database-url")

// ErrDaemonUnreachable is wrapped by every error that comes from not reaching the Docker daemon.
var ErrDaemonUnreachable = exitcode.New(exitcode.Environment, "cannot reach the Docker daemon")

// AmbiguousError is returned by FindDatabase when several running containers are labelled as the
// database.
type AmbiguousError struct {
	Candidates []Container
}

func (e *AmbiguousError) Error() string {
	names := make([]string, len(e.Candidates))
	for i, c := range e.Candidates {
		names[i] = fmt.Sprintf("%s (%s)", c.Name, shortID(c.ID))
	}
	return fmt.Sprintf("%d running containers are labelled %s=%s: %s; choose one with --database-container",
		len(e.Candidates), DatabaseRoleLabel, DatabaseRole, strings.Join(names, ", "))
}

// DatabaseContainerError is returned by FindDatabase when the container named as the database is
// missing or not running.
type DatabaseContainerError struct{ Err error }

func (e *DatabaseContainerError) Error() string { return e.Err.Error() }
func (e *DatabaseContainerError) Unwrap() error { return e.Err }

// Engine is the plugin's view of one Docker daemon.
type Engine struct {
	api client.APIClient
}

// New wraps the API client of the Docker CLI (command.Cli.Client()). The client negotiates the API
// version with the daemon (docker/cli pings at start-up, moby client v0.6 also on first use), and
// every call here exists in API 1.41, so old engines such as Docker 20.10 work.
func New(api client.APIClient) *Engine {
	return &Engine{api: api}
}

// IsNotFound reports whether err says that a container, image, exec or path does not exist.
func IsNotFound(err error) bool {
	return cerrdefs.IsNotFound(err)
}

// wrap turns "cannot connect" errors into one that tells the operator where to look.
func (e *Engine) wrap(err error) error {
	if err == nil {
		return nil
	}
	if cut := EngineLink().Err(); cut != nil {
		// The run gave up on the engine (Link.Cut): what failed since
		// failed for that.
		return cut
	}
	if !client.IsErrConnectionFailed(err) {
		return err
	}
	return fmt.Errorf("%w at %s (check the Docker context: `docker context ls`, DOCKER_HOST): %w",
		ErrDaemonUnreachable, e.api.DaemonHost(), err)
}

// Inspect returns the container with the given name or ID.
func (e *Engine) Inspect(ctx context.Context, nameOrID string) (Container, error) {
	res, err := e.api.ContainerInspect(ctx, nameOrID, client.ContainerInspectOptions{})
	if err != nil {
		return Container{}, e.wrap(err)
	}
	return containerFromInspect(res.Container), nil
}

// List returns the containers carrying all the given labels (an empty value matches any value),
// sorted by name; all includes stopped containers.
func (e *Engine) List(ctx context.Context, labels map[string]string, all bool) ([]Container, error) {
	filters := client.Filters{}
	for k, v := range labels {
		if v == "" {
			filters.Add("label", k)
		} else {
			filters.Add("label", k+"="+v)
		}
	}
	res, err := e.api.ContainerList(ctx, client.ContainerListOptions{All: all, Filters: filters})
	if err != nil {
		return nil, e.wrap(err)
	}
	// The list summary lacks env, mounts and network IDs; inspect each one.
	out := make([]Container, 0, len(res.Items))
	for _, s := range res.Items {
		c, err := e.Inspect(ctx, s.ID)
		if IsNotFound(err) {
			continue // removed between list and inspect
		}
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// FindDatabase returns the database container: the named one when nameOrID is set, else the
// single running container labelled infrahub_role=database.
func (e *Engine) FindDatabase(ctx context.Context, nameOrID string) (Container, error) {
	if nameOrID != "" {
		c, err := e.Inspect(ctx, nameOrID)
		if IsNotFound(err) {
			return Container{}, &DatabaseContainerError{fmt.Errorf("database container %q not found: %w; check the name with 'docker ps' in the selected Docker context", nameOrID, err)}
		}
		if err != nil {
			return Container{}, err
		}
		if !c.Running {
			return Container{}, &DatabaseContainerError{fmt.Errorf("database container %s is not running: start it first", c.Name)}
		}
		return c, nil
	}
	found, err := e.List(ctx, map[string]string{DatabaseRoleLabel: DatabaseRole}, false)
	if err != nil {
		return Container{}, err
	}
	switch len(found) {
	case 0:
		return Container{}, ErrNoDatabase
	case 1:
		return found[0], nil
	default:
		return Container{}, &AmbiguousError{Candidates: found}
	}
}

// StopContainer stops a container, killing it after timeout (a negative timeout leaves the choice
// to the container's own stop timeout).
func (e *Engine) StopContainer(ctx context.Context, id string, timeout time.Duration) error {
	var opts client.ContainerStopOptions
	if timeout >= 0 {
		secs := int(timeout.Round(time.Second) / time.Second)
		opts.Timeout = &secs
	}
	_, err := e.api.ContainerStop(ctx, id, opts)
	return e.wrap(err)
}

// StartContainer starts a stopped container; starting a running one is not an error.
func (e *Engine) StartContainer(ctx context.Context, id string) error {
	_, err := e.api.ContainerStart(ctx, id, client.ContainerStartOptions{})
	return e.wrap(err)
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
