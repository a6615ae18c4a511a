package helpertest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"runtime"
	"slices"
	"time"

	"github.com/opsmill/docker-infrahubdb/internal/docker"
)

// CreateGuardian creates a run's lock container as docker.Engine does
// without a guardian program: a container named spec.Name that never
// starts; a name in use is docker.ErrNameTaken. The fake cannot run the
// guardian program: a spec with one fails (its DaemonPlatform names no
// platform a guardian is built for, so internal/guardian takes a plain
// lock).
func (e *Engine) CreateGuardian(ctx context.Context, spec docker.GuardianSpec) (*docker.Guardian, error) {
	e.Record("create-guardian %s", spec.Name)
	if spec.Binary != nil {
		return nil, errors.New("the fake engine cannot run the guardian program")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	taken := e.Database != nil && e.Database.Name == spec.Name
	for _, c := range slices.Concat(e.Apps, e.Others) {
		taken = taken || c.Name == spec.Name
	}
	for _, h := range e.Helpers {
		taken = taken || (!h.removed && h.name == spec.Name)
	}
	if taken {
		return nil, fmt.Errorf("%w: %s", docker.ErrNameTaken, spec.Name)
	}
	c := docker.Container{ID: fmt.Sprintf("lock-%d-%d", len(e.Others)+1, time.Now().UnixNano()), Name: spec.Name, Image: spec.Image, Labels: maps.Clone(spec.Labels)}
	e.Others = append(e.Others, c)
	return &docker.Guardian{ID: c.ID, Name: c.Name}, nil
}

// StartGuardian is never reached: no guardian program is built for the
// fake's platform (DaemonPlatform).
func (e *Engine) StartGuardian(context.Context, *docker.Guardian, docker.GuardianSpec) error {
	return errors.New("the fake engine cannot run the guardian program")
}

// DaemonPlatform names an OS no guardian program is built for: the fake
// runs none.
func (e *Engine) DaemonPlatform(context.Context) (string, string, bool, error) {
	return "fake", runtime.GOARCH, false, nil
}

// DaemonHost is a unix socket that does not exist.
func (e *Engine) DaemonHost() string { return "unix:///fake/docker.sock" }

// VolumesWithLabel finds nothing: the fake keeps no guardian records.
func (e *Engine) VolumesWithLabel(context.Context, string, string) ([]docker.Volume, error) {
	return nil, nil
}

// RemoveVolume forgets a named volume (Volumes).
func (e *Engine) RemoveVolume(_ context.Context, name string) error {
	e.Record("remove-volume %s", name)
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.Volumes, name)
	return nil
}

// CopyFileInto reads the program whole, as the engine copies it, into a
// container the fake knows by ID; the fake runs no guardian, so no
// container here ever holds what is copied.
func (e *Engine) CopyFileInto(ctx context.Context, id, path string, p *docker.Program) error {
	e.Record("copy-file-into %s %s", id, path)
	f, err := p.Open()
	if err != nil {
		return err
	}
	defer f.Close()
	n, err := io.Copy(io.Discard, f)
	if err == nil && n != p.Size {
		err = fmt.Errorf("%s: %d bytes, expected %d", path, n, p.Size)
	}
	return err
}
