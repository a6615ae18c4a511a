package engine_test

import (
	"context"
	"testing"

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
