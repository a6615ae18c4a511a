// Package deployment owns the Infrahub deployment a run works on: it finds
// the database container (--database-container, the infrahub_role label,
// or the Compose project that runs infrahub-server), the credentials, the
// services beside it and their dependency order, and it is the one way to
// stop and start the deployment's containers (Outage). The workflows
// (backup, restore, catalog) use it; it stands on internal/helper for the
// helper's view of the database (helper.Target) and on the leaves.
package deployment

import (
	"context"
	"time"

	"github.com/opsmill/docker-infrahubdb/internal/docker"
)

// Engine is what finding the deployment needs from Docker.
type Engine interface {
	FindDatabase(ctx context.Context, nameOrID string) (docker.Container, error)
	// List returns the containers carrying all labels (an empty value
	// matches any), running ones only unless all.
	List(ctx context.Context, labels map[string]string, all bool) ([]docker.Container, error)
	// ReadContainerFile reads a file of a container through the API
	// (NEO4J_AUTH_FILE).
	ReadContainerFile(ctx context.Context, id, path string, max int64) ([]byte, error)
}

// Containers stops and starts the deployment's containers (Outage).
type Containers interface {
	Inspect(ctx context.Context, nameOrID string) (docker.Container, error)
	StopContainer(ctx context.Context, id string, timeout time.Duration) error
	StartContainer(ctx context.Context, id string) error
}

var (
	_ Engine     = (*docker.Engine)(nil)
	_ Containers = (*docker.Engine)(nil)
)
