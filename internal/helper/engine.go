// Package helper is the layer the workflows and the deployment stand on: it
// chooses and pulls the helper image, starts helper containers with their
// locks (Session), moves files between the backup folder and a helper (bind
// mount or tar stream, always atomic on the client), runs commands in a
// helper with typed errors (Admin, Run) and opens the Bolt tunnel. Target
// says how a helper reaches the database; finding the database, the
// credentials and the services around it is internal/deployment's. It uses
// only the leaves (docker, backupset, progress, version).
package helper

import (
	"context"

	"github.com/opsmill/docker-infrahubdb/internal/docker"
)

// Engine is what the workflows need from the Docker engine. Every method a
// workflow may call is here, reading a container's file included: a
// capability found by type assertion is lost by any wrapper (restore once
// lost ReadContainerFile that way), so there is none. *docker.Engine and
// helpertest.Engine satisfy it directly.
type Engine interface {
	FindDatabase(ctx context.Context, nameOrID string) (docker.Container, error)
	Inspect(ctx context.Context, nameOrID string) (docker.Container, error)
	// List returns the containers carrying all labels (an empty value
	// matches any), running ones only unless all.
	List(ctx context.Context, labels map[string]string, all bool) ([]docker.Container, error)
	StaleHelpers(ctx context.Context, target string) (stale, live []docker.Container, err error)
	RemoveContainer(ctx context.Context, id string) error
	StartHelper(ctx context.Context, spec docker.HelperSpec) (Helper, error)
	// ReadContainerFile reads a file of a container through the API.
	ReadContainerFile(ctx context.Context, id, path string, max int64) ([]byte, error)
	Images
	ContainerExec
}

// Helper is a running helper container (see docker.HelperContainer for why
// it is declared there).
type Helper = docker.HelperContainer

var _ Engine = (*docker.Engine)(nil)
