// Package helper is the layer every workflow stands on: it finds the
// database a run works on (Target), chooses and pulls the helper image,
// starts helper containers with their locks (Session), moves files between
// the backup folder and a helper (bind mount or tar stream, always atomic on
// the client), runs commands in a helper with typed errors (Admin, Run) and
// opens the Bolt tunnel. Workflows (backup, restore, catalog) and the
// artifact packages (neo4jbackup, ...) use it; it uses only the leaves
// (docker, backupset, progress, version).
package helper

import (
	"context"
	"io"

	"github.com/opsmill/docker-infrahubdb/internal/docker"
)

// Engine is what the workflows need from the Docker engine.
type Engine interface {
	FindDatabase(ctx context.Context, nameOrID string) (docker.Container, error)
	// List returns the containers carrying all labels (an empty value
	// matches any), running ones only unless all.
	List(ctx context.Context, labels map[string]string, all bool) ([]docker.Container, error)
	StaleHelpers(ctx context.Context, target string) (stale, live []docker.Container, err error)
	RemoveContainer(ctx context.Context, id string) error
	StartHelper(ctx context.Context, spec docker.HelperSpec) (Helper, error)
	Images
	ContainerExec
}

// Helper is a running helper container.
type Helper interface {
	Name() string
	Exec(ctx context.Context, spec docker.ExecSpec) (int, error)
	Remove(ctx context.Context) error
	// Running is false once the container was removed or stopped from
	// outside (docker rm -f, docker kill).
	Running(ctx context.Context) bool
	Stat(ctx context.Context, path string) (size int64, isDir, exists bool, err error)
	CopyTo(ctx context.Context, dir string, tarStream io.Reader) error
	CopyFrom(ctx context.Context, path string) (io.ReadCloser, error)
	ReadFile(ctx context.Context, path string, max int64) ([]byte, error)
	ListFiles(ctx context.Context, dir string) ([]docker.FileInfo, error)
	CanReach(ctx context.Context, target string) error
	Tunnel(ctx context.Context, target string) (*docker.Tunnel, error)
}

// FromDocker adapts internal/docker's engine to Engine.
func FromDocker(e *docker.Engine) Engine { return dockerEngine{e} }

type dockerEngine struct{ *docker.Engine }

func (d dockerEngine) StartHelper(ctx context.Context, spec docker.HelperSpec) (Helper, error) {
	h, err := d.Engine.StartHelper(ctx, spec)
	if err != nil {
		return nil, err
	}
	return dockerHelper{h}, nil
}

type dockerHelper struct{ *docker.Helper }

func (h dockerHelper) Name() string { return h.Helper.Name }
