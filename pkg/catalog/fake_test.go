package catalog

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/opsmill/docker-infrahubdb/pkg/docker"
	"github.com/opsmill/docker-infrahubdb/pkg/helper"
)

// fakeEngine starts fakeHelpers whose file system is a temp dir, and whose
// neo4j-admin is the admin function of the test.
type fakeEngine struct {
	t        *testing.T
	admin    func(h *fakeHelper, args []string, stdout io.Writer) int
	database *docker.Container // what FindDatabase finds; nil: none

	mu      sync.Mutex
	started []docker.HelperSpec
	helpers []*fakeHelper
}

func newFakeEngine(t *testing.T, admin func(h *fakeHelper, args []string, stdout io.Writer) int) *fakeEngine {
	return &fakeEngine{t: t, admin: admin}
}

func (e *fakeEngine) FindDatabase(_ context.Context, name string) (docker.Container, error) {
	if e.database == nil {
		return docker.Container{}, docker.ErrNoDatabase
	}
	return *e.database, nil
}

func (e *fakeEngine) List(context.Context, map[string]string, bool) ([]docker.Container, error) {
	if e.database == nil {
		return nil, nil
	}
	return []docker.Container{*e.database}, nil
}

func (e *fakeEngine) StaleHelpers(context.Context, string) (stale, live []docker.Container, err error) {
	return nil, nil, nil
}

func (e *fakeEngine) ExecIn(context.Context, string, docker.ExecSpec) (int, error) { return 127, nil }

func (e *fakeEngine) RemoveContainer(context.Context, string) error { return nil }

func (e *fakeEngine) StartHelper(_ context.Context, spec docker.HelperSpec) (helper.Helper, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	h := &fakeHelper{engine: e, name: spec.Name, root: e.t.TempDir()}
	e.started = append(e.started, spec)
	e.helpers = append(e.helpers, h)
	return h, nil
}

func (e *fakeEngine) ImageEnv(context.Context, string) ([]string, bool, error) {
	return []string{"NEO4J_EDITION=enterprise"}, true, nil
}

func (e *fakeEngine) PullImage(context.Context, string, string, func(string, int64, int64)) error {
	return errors.New("no registry")
}

type fakeHelper struct {
	engine  *fakeEngine
	name    string
	root    string // the helper's "/"
	removed bool
	execs   [][]string
}

func (h *fakeHelper) Name() string { return h.name }

// host maps a path in the helper to the temp dir.
func (h *fakeHelper) host(p string) string { return filepath.Join(h.root, filepath.FromSlash(p)) }

func (h *fakeHelper) Exec(_ context.Context, spec docker.ExecSpec) (int, error) {
	h.execs = append(h.execs, spec.Cmd)
	stdout := spec.Stdout
	if stdout == nil {
		stdout = io.Discard
	}
	switch spec.Cmd[0] {
	case "mkdir":
		return 0, os.MkdirAll(h.host(spec.Cmd[len(spec.Cmd)-1]), 0o755)
	case "neo4j-admin":
		return h.engine.admin(h, spec.Cmd[1:], stdout), nil
	}
	return 127, nil
}

func (h *fakeHelper) Remove(context.Context) error { h.removed = true; return nil }

func (h *fakeHelper) Stat(_ context.Context, p string) (int64, bool, bool, error) {
	st, err := os.Stat(h.host(p))
	if errors.Is(err, os.ErrNotExist) {
		return 0, false, false, nil
	}
	if err != nil {
		return 0, false, false, err
	}
	return st.Size(), st.IsDir(), true, nil
}

func (h *fakeHelper) CopyTo(_ context.Context, dir string, r io.Reader) error {
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(h.host(dir), hdr.Name), data, 0o644); err != nil {
			return err
		}
	}
}

func (h *fakeHelper) CopyFrom(_ context.Context, p string) (io.ReadCloser, error) {
	data, err := os.ReadFile(h.host(p))
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: path.Base(p), Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
		return nil, err
	}
	tw.Write(data)
	tw.Close()
	return io.NopCloser(&buf), nil
}

func (h *fakeHelper) ReadFile(_ context.Context, p string, _ int64) ([]byte, error) {
	return os.ReadFile(h.host(p))
}

func (h *fakeHelper) ListFiles(_ context.Context, dir string) ([]docker.FileInfo, error) {
	entries, err := os.ReadDir(h.host(dir))
	if err != nil {
		return nil, err
	}
	var out []docker.FileInfo
	for _, e := range entries {
		if info, err := e.Info(); err == nil && info.Mode().IsRegular() {
			out = append(out, docker.FileInfo{Name: e.Name(), Size: info.Size()})
		}
	}
	return out, nil
}

func (h *fakeHelper) CanReach(context.Context, string) error { return nil }
func (h *fakeHelper) Running(context.Context) bool           { return true }

func (h *fakeHelper) Tunnel(context.Context, string) (*docker.Tunnel, error) {
	return nil, errors.New("no tunnel in the fake")
}

// files lists the regular files under dir in the helper.
func (h *fakeHelper) files(dir string) []string {
	var names []string
	entries, _ := os.ReadDir(h.host(dir))
	for _, e := range entries {
		if !e.IsDir() {
			names = append(names, e.Name())
		}
	}
	return names
}

// flag returns the value of --name=value in args.
func flag(args []string, name string) string {
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v
		}
	}
	return ""
}

func cmdline(args []string) string { return fmt.Sprint(args) }
