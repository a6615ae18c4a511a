package helpertest

import (
	"context"
	"fmt"
	"testing"

	"gotest.tools/v3/assert"

	"github.com/opsmill/docker-infrahubdb/internal/docker"
	"github.com/opsmill/docker-infrahubdb/internal/helper"
)

// The fake helper passes the same cases as the real one (e2e/engine runs
// Conformance against Docker).
func TestFakeHelperConformance(t *testing.T) {
	Conformance(t, func(t *testing.T) helper.Helper {
		e := New()
		h, err := e.StartHelper(context.Background(), docker.HelperSpec{Name: "conformance", Image: "img"})
		assert.NilError(t, err)
		code, err := h.Exec(context.Background(), docker.ExecSpec{Cmd: []string{"mkdir", "-p", "/backups"}})
		assert.NilError(t, err)
		assert.Equal(t, code, 0)
		return h
	})
}

// The fake engine passes the same cases as Docker's (e2e/engine runs
// EngineConformance against Docker).
func TestFakeEngineConformance(t *testing.T) {
	EngineConformance(t, func(t *testing.T) World {
		e := New()
		return World{
			Engine:      e,
			Project:     "conformance",
			HelperImage: "img",
			AddContainer: func(t *testing.T, name string, labels, files map[string]string) docker.Container {
				return e.AddContainer(name, labels, files)
			},
			NewVolume: func(t *testing.T) string {
				name := fmt.Sprintf("conformance-volume-%d", len(e.Volumes)+1)
				if e.Volumes == nil {
					e.Volumes = map[string]string{}
				}
				e.Volumes[name] = t.TempDir()
				return name
			},
			// No networks: Can.Networks is false.
		}
	})
}
