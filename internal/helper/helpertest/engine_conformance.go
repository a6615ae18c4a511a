package helpertest

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/opsmill/docker-infrahubdb/internal/deployment"
	"github.com/opsmill/docker-infrahubdb/internal/docker"
	"github.com/opsmill/docker-infrahubdb/internal/guardian"
	"github.com/opsmill/docker-infrahubdb/internal/helper"
)

// EngineUnderTest is the engine half of the contract the workflows rely on:
// the helper layer's engine, stopping and starting the deployment's
// containers (deployment.Containers), and the run lock (guardian.Engine).
type EngineUnderTest interface {
	helper.Engine
	deployment.Containers
	guardian.Engine
}

// World is an engine under test and a way to put containers into it.
type World struct {
	Engine EngineUnderTest
	// AddContainer creates and starts a plain container named name with
	// labels and files (path -> content) and returns it as Inspect sees it.
	// Names are unique per call of the world's factory.
	AddContainer func(t *testing.T, name string, labels map[string]string, files map[string]string) docker.Container
	// Project is a Compose project name nothing else on the engine uses.
	Project string
	// HelperImage is the image helpers start from: it has the tools the
	// plugin runs in helpers (bash, coreutils, find) and id.
	HelperImage string
	// NewVolume returns the name of a fresh named volume, removed at the
	// end of the test (after the helpers mounting it).
	NewVolume func(t *testing.T) string
	// AddServer, when the engine has networks (Can.Networks), starts a
	// container running e2e/engine's echo server (:7000 echoes, :7001
	// writes "bye\n" and closes) and returns it as Inspect sees it.
	AddServer func(t *testing.T) docker.Container
	// Can says what the engine models; a case that needs what it does not
	// model skips and says so, rather than passing vacuously.
	Can Capabilities
}

// Capabilities of an engine under test.
type Capabilities struct {
	// Networks: helpers join a container's networks or its network
	// namespace and reach its ports (CanReach, Tunnel). The fake has no
	// network: its CanReach returns ReachErr and its Tunnel fails.
	Networks bool
}

// EngineConformance runs the same cases against any engine: the fake of this
// package and the real Docker engine (e2e/engine), so the fake the workflow
// tests rely on cannot drift from what Docker does: labels and discovery,
// stop and start, reading a container's file, stale helpers and the helper
// lock, the run lock, mounts (shared volumes, read-only), exec as a given user, and, where
// the engine has networks (Capabilities.Networks), a helper in a container's
// networks or namespace and the tunnel through it.
func EngineConformance(t *testing.T, world func(t *testing.T) World) {
	ctx := context.Background()
	compose := func(project, service string) map[string]string {
		return map[string]string{docker.ComposeProjectLabel: project, docker.ComposeServiceLabel: service}
	}
	names := func(cs []docker.Container) []string {
		var out []string
		for _, c := range cs {
			out = append(out, c.Name)
		}
		slices.Sort(out)
		return out
	}

	t.Run("labels and discovery", func(t *testing.T) {
		w := world(t)
		db := w.AddContainer(t, w.Project+"-database-1", compose(w.Project, deployment.DatabaseService), nil)
		server := w.AddContainer(t, w.Project+"-infrahub-server-1", compose(w.Project, deployment.ServerService), nil)
		assert.Check(t, is.Equal(db.ComposeProject, w.Project))
		assert.Check(t, is.Equal(server.ComposeService, deployment.ServerService))

		got, err := w.Engine.List(ctx, map[string]string{docker.ComposeProjectLabel: w.Project}, false)
		assert.NilError(t, err)
		assert.Check(t, is.DeepEqual(names(got), []string{db.Name, server.Name}))
		got, err = w.Engine.List(ctx, compose(w.Project, deployment.DatabaseService), false)
		assert.NilError(t, err)
		assert.Check(t, is.DeepEqual(names(got), []string{db.Name}))
		got, err = w.Engine.List(ctx, map[string]string{docker.ComposeProjectLabel: w.Project, "no-such-label": ""}, true)
		assert.NilError(t, err)
		assert.Check(t, is.Len(got, 0), "every label must match")

		found, err := deployment.Discover(ctx, w.Engine, "", w.Project)
		assert.NilError(t, err)
		assert.Check(t, is.Equal(found.Container.ID, db.ID))
		assert.Check(t, is.Equal(found.Rule, deployment.RuleCompose))
		named, err := w.Engine.FindDatabase(ctx, db.Name)
		assert.NilError(t, err)
		assert.Check(t, is.Equal(named.ID, db.ID))
	})

	t.Run("stop and start", func(t *testing.T) {
		w := world(t)
		c := w.AddContainer(t, w.Project+"-task-worker-1", compose(w.Project, deployment.TaskWorkerService), nil)
		assert.Check(t, c.Running)

		assert.NilError(t, w.Engine.StopContainer(ctx, c.ID, 0))
		got, err := w.Engine.Inspect(ctx, c.ID)
		assert.NilError(t, err)
		assert.Check(t, !got.Running)
		running, err := w.Engine.List(ctx, map[string]string{docker.ComposeProjectLabel: w.Project}, false)
		assert.NilError(t, err)
		assert.Check(t, is.Len(running, 0), "a stopped container is not listed as running")
		all, err := w.Engine.List(ctx, map[string]string{docker.ComposeProjectLabel: w.Project}, true)
		assert.NilError(t, err)
		assert.Check(t, is.DeepEqual(names(all), []string{c.Name}))
		_, err = w.Engine.FindDatabase(ctx, c.Name)
		assert.Check(t, is.ErrorContains(err, "is not running"))

		assert.NilError(t, w.Engine.StartContainer(ctx, c.ID))
		got, err = w.Engine.Inspect(ctx, c.ID)
		assert.NilError(t, err)
		assert.Check(t, got.Running)
	})

	t.Run("reading a container file", func(t *testing.T) {
		w := world(t)
		c := w.AddContainer(t, w.Project+"-database-1", compose(w.Project, deployment.DatabaseService), map[string]string{"/secrets/neo4j_auth": "neo4j/s3cret\n"})
		data, err := w.Engine.ReadContainerFile(ctx, c.ID, "/secrets/neo4j_auth", 1024)
		assert.NilError(t, err)
		assert.Check(t, is.Equal(string(data), "neo4j/s3cret\n"))
		_, err = w.Engine.ReadContainerFile(ctx, c.ID, "/secrets/missing", 1024)
		assert.Check(t, err != nil, "a missing file is an error")

		// The credentials of the deployment come from it.
		c.Env = append(c.Env, "NEO4J_AUTH_FILE=/secrets/neo4j_auth")
		creds, _, err := deployment.FindCredentials(ctx, w.Engine, c, nil)
		assert.NilError(t, err)
		assert.Check(t, is.Equal(creds.Password, "s3cret"))
	})

	helperCases(t, world)
}

// AddContainer puts a running container with labels (the Compose ones set
// its project and service, as Docker's inspect does) and files into the
// fake engine; List, Inspect, Stop/StartContainer and ReadContainerFile see
// it.
func (e *Engine) AddContainer(name string, labels, files map[string]string) docker.Container {
	e.mu.Lock()
	defer e.mu.Unlock()
	c := docker.Container{
		ID: fmt.Sprintf("other-%d-%d", len(e.Others)+1, time.Now().UnixNano()), Name: name, Image: "img", Running: true,
		Labels: labels, ComposeProject: labels[docker.ComposeProjectLabel], ComposeService: labels[docker.ComposeServiceLabel],
	}
	e.Others = append(e.Others, c)
	for p, data := range files {
		if e.ContainerFiles == nil {
			e.ContainerFiles = map[string][]byte{}
		}
		e.ContainerFiles[c.ID+":"+p] = []byte(data)
	}
	return c
}
