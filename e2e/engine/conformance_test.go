package engine_test

import (
	"context"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"gotest.tools/v3/assert"

	"github.com/opsmill/docker-infrahubdb/internal/docker"
	"github.com/opsmill/docker-infrahubdb/internal/helper"
	"github.com/opsmill/docker-infrahubdb/internal/helper/helpertest"
)

// The real Docker helper passes the cases the fake of the workflow tests
// passes (internal/helper/helpertest), so the fake cannot drift.
func TestDockerHelperConformance(t *testing.T) {
	e, _ := newEngine(t)
	helpertest.Conformance(t, func(t *testing.T) helper.Helper {
		h, err := e.StartHelper(context.Background(), helperSpec(t))
		assert.NilError(t, err)
		t.Cleanup(func() { _ = h.Remove(context.Background()) })
		code, err := h.Exec(context.Background(), docker.ExecSpec{Cmd: []string{"mkdir", "-p", "/backups"}})
		assert.NilError(t, err)
		assert.Equal(t, code, 0)
		return h
	})
}

// The real engine passes the engine cases the fake passes.
func TestDockerEngineConformance(t *testing.T) {
	e, api := newEngine(t)
	helpertest.EngineConformance(t, func(t *testing.T) helpertest.World {
		return helpertest.World{
			Engine: e,
			// Unique per subtest: other suites' containers never match.
			Project: strings.TrimPrefix(docker.HelperName("conformance"), "infrahubdb-"),
			AddContainer: func(t *testing.T, name string, labels, files map[string]string) docker.Container {
				return addContainer(t, e, api, name, labels, files)
			},
			HelperImage: testImage,
			NewVolume: func(t *testing.T) string {
				name := docker.HelperName("conformance-volume")
				// Registered before the helpers that mount it: removed after them.
				t.Cleanup(func() { assert.Check(t, e.RemoveVolume(context.Background(), name)) })
				return name
			},
			AddServer: func(t *testing.T) docker.Container {
				return addServer(t, e, api)
			},
			Can: helpertest.Capabilities{Networks: true},
		}
	})
}

// addContainer creates a sleeping container of the test image with labels
// and files, starts it and removes it at the end of the test.
func addContainer(t *testing.T, e *docker.Engine, api client.APIClient, name string, labels, files map[string]string) docker.Container {
	t.Helper()
	ctx := context.Background()
	all := map[string]string{testLabel: "1"}
	for k, v := range labels {
		all[k] = v
	}
	res, err := api.ContainerCreate(ctx, client.ContainerCreateOptions{
		Name:   name,
		Config: &container.Config{Image: testImage, Entrypoint: []string{"sleep", "infinity"}, Labels: all},
	})
	assert.NilError(t, err)
	t.Cleanup(func() { assert.Check(t, e.RemoveContainer(ctx, res.ID)) })
	if len(files) > 0 {
		content := map[string][]byte{}
		for p, data := range files {
			content[strings.TrimPrefix(p, "/")] = []byte(data)
		}
		_, err := api.CopyToContainer(ctx, res.ID, client.CopyToContainerOptions{DestinationPath: "/", Content: tarOf(t, content)})
		assert.NilError(t, err)
	}
	assert.NilError(t, e.StartContainer(ctx, res.ID))
	c, err := e.Inspect(ctx, res.ID)
	assert.NilError(t, err)
	return c
}

// addServer starts the echo server in a container of the test image on the
// default bridge and removes it at the end of the test.
func addServer(t *testing.T, e *docker.Engine, api client.APIClient) docker.Container {
	t.Helper()
	ctx := context.Background()
	res, err := api.ContainerCreate(ctx, client.ContainerCreateOptions{
		Name:   docker.HelperName("conformance-echo"),
		Config: &container.Config{Image: testImage, Entrypoint: []string{"/echoserver"}, Labels: map[string]string{testLabel: "1"}},
	})
	assert.NilError(t, err)
	t.Cleanup(func() { assert.Check(t, e.RemoveContainer(ctx, res.ID)) })
	assert.NilError(t, e.StartContainer(ctx, res.ID))
	c, err := e.Inspect(ctx, res.ID)
	assert.NilError(t, err)
	return c
}
