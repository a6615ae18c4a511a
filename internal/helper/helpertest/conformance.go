package helpertest

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/opsmill/docker-infrahubdb/internal/docker"
	"github.com/opsmill/docker-infrahubdb/internal/helper"
)

// Conformance runs the same cases against any helper.Helper: the fake of
// this package (internal/helper/helpertest) and the real Docker helper
// (e2e/engine), so the fake the workflow tests rely on cannot drift from
// what a container does. start returns a fresh running helper whose image
// has the tools the plugin runs in helpers (bash, coreutils, find); the
// cases work under /backups, which start must create empty.
func Conformance(t *testing.T, start func(t *testing.T) helper.Helper) {
	ctx := context.Background()
	run := func(h helper.Helper, cmd ...string) int {
		t.Helper()
		code, err := h.Exec(ctx, docker.ExecSpec{Cmd: cmd})
		assert.NilError(t, err, "%v", cmd)
		return code
	}

	t.Run("mkdir, stat, list", func(t *testing.T) {
		h := start(t)
		assert.Check(t, is.Equal(run(h, "mkdir", "-p", "/backups/a/b"), 0))
		_, isDir, exists, err := h.Stat(ctx, "/backups/a/b")
		assert.NilError(t, err)
		assert.Check(t, exists && isDir)
		_, _, exists, err = h.Stat(ctx, "/backups/missing")
		assert.NilError(t, err)
		assert.Check(t, !exists)
		files, err := h.ListFiles(ctx, "/backups/a")
		assert.NilError(t, err)
		assert.Check(t, is.Len(files, 0), "directories are not listed")
	})

	t.Run("an exec says when it started", func(t *testing.T) {
		// docker.ExecSpec.Started: once, before Exec returns (restore
		// starts an upload beside neo4j-admin after it).
		h := start(t)
		var started int
		code, err := h.Exec(ctx, docker.ExecSpec{Cmd: []string{"mkdir", "-p", "/backups/started"}, Started: func() { started++ }})
		assert.NilError(t, err)
		assert.Check(t, is.Equal(code, 0))
		assert.Check(t, is.Equal(started, 1))
	})

	t.Run("a copy in whose stream fails says why", func(t *testing.T) {
		// The stream's own error (a file that did not match, a location
		// that stopped answering), not the daemon's: the client takes a
		// failing request body for a failed connection.
		h := start(t)
		cause := errors.New("the source stopped answering")
		whole := tarOf(t, map[string]string{"big": strings.Repeat("x", 1<<20)})
		stream := io.MultiReader(io.LimitReader(whole, 64<<10), failing{cause})
		err := h.CopyTo(ctx, "/backups", stream)
		assert.Check(t, errors.Is(err, cause), "got %v", err)
		assert.Check(t, !errors.Is(err, docker.ErrDaemonUnreachable), "blamed on the daemon: %v", err)
	})

	t.Run("copy in, read, list, copy out", func(t *testing.T) {
		h := start(t)
		assert.NilError(t, h.CopyTo(ctx, "/backups", tarOf(t, map[string]string{"neo4j-2026-11-20T10-00-00.backup": "full data", "z.txt": "zz"})))
		size, isDir, exists, err := h.Stat(ctx, "/backups/neo4j-2026-11-20T10-00-00.backup")
		assert.NilError(t, err)
		assert.Check(t, exists && !isDir)
		assert.Check(t, is.Equal(size, int64(len("full data"))))
		data, err := h.ReadFile(ctx, "/backups/z.txt", 1024)
		assert.NilError(t, err)
		assert.Check(t, is.Equal(string(data), "zz"))
		_, err = h.ReadFile(ctx, "/backups/neo4j-2026-11-20T10-00-00.backup", 4)
		assert.Check(t, err != nil, "a file larger than max is an error")
		files, err := h.ListFiles(ctx, "/backups")
		assert.NilError(t, err)
		assert.Check(t, is.DeepEqual(files, []docker.FileInfo{{Name: "neo4j-2026-11-20T10-00-00.backup", Size: 9}, {Name: "z.txt", Size: 2}}))

		rc, err := h.CopyFrom(ctx, "/backups/neo4j-2026-11-20T10-00-00.backup")
		assert.NilError(t, err)
		defer rc.Close()
		got := untar(t, rc)
		assert.Check(t, is.DeepEqual(got, map[string]string{"neo4j-2026-11-20T10-00-00.backup": "full data"}))
	})

	t.Run("mv, rm, find -delete, chmod, chown", func(t *testing.T) {
		h := start(t)
		assert.NilError(t, h.CopyTo(ctx, "/backups", tarOf(t, map[string]string{"a": "1", "b": "2"})))
		assert.Check(t, is.Equal(run(h, "mv", "/backups/a", "/backups/c"), 0))
		assert.Check(t, is.Equal(run(h, "chmod", "-R", "a+rX", "/backups"), 0))
		assert.Check(t, is.Equal(run(h, "chown", "7474:7474", "/backups/c"), 0))
		assert.Check(t, is.DeepEqual(names(t, h, "/backups"), []string{"b", "c"}))
		assert.Check(t, run(h, "mv", "/backups/missing", "/backups/d") != 0, "mv of a missing file fails")
		assert.Check(t, is.Equal(run(h, "rm", "-f", "/backups/b"), 0))
		assert.Check(t, is.Equal(run(h, "rm", "-f", "/backups/b"), 0), "rm -f of a missing file succeeds")
		assert.Check(t, is.DeepEqual(names(t, h, "/backups"), []string{"c"}))
		assert.Check(t, is.Equal(run(h, "mkdir", "-p", "/backups/sub"), 0))
		assert.NilError(t, h.CopyTo(ctx, "/backups/sub", tarOf(t, map[string]string{"x": "x"})))
		assert.Check(t, is.Equal(run(h, "rm", "-rf", "/backups/sub"), 0))
		_, _, exists, err := h.Stat(ctx, "/backups/sub/x")
		assert.NilError(t, err)
		assert.Check(t, !exists)
		assert.Check(t, is.Equal(run(h, "find", "/backups", "-mindepth", "1", "-delete"), 0))
		assert.Check(t, is.Len(names(t, h, "/backups"), 0))
		_, isDir, exists, err := h.Stat(ctx, "/backups")
		assert.NilError(t, err)
		assert.Check(t, exists && isDir, "find -mindepth 1 keeps the directory itself")
	})

	t.Run("find -delete but for some paths", func(t *testing.T) {
		h := start(t)
		assert.Check(t, is.Equal(run(h, "mkdir", "-p", "/backups/keep", "/backups/gone"), 0))
		assert.NilError(t, h.CopyTo(ctx, "/backups", tarOf(t, map[string]string{"a[1]": "1", "b": "2"})))
		assert.NilError(t, h.CopyTo(ctx, "/backups/keep", tarOf(t, map[string]string{"x": "x", "y": "y"})))
		assert.NilError(t, h.CopyTo(ctx, "/backups/gone", tarOf(t, map[string]string{"z": "z"})))
		code := run(h, "find", "/backups", "-mindepth", "1", "!", "-path", `/backups/a\[1]`, "!", "-path", "/backups/keep/x", "-delete")
		assert.Check(t, code != 0, "the directory holding a kept file is not empty")
		assert.Check(t, is.DeepEqual(names(t, h, "/backups"), []string{"a[1]"}))
		assert.Check(t, is.DeepEqual(names(t, h, "/backups/keep"), []string{"x"}))
		_, _, exists, err := h.Stat(ctx, "/backups/gone")
		assert.NilError(t, err)
		assert.Check(t, !exists)
	})

	t.Run("unknown command fails", func(t *testing.T) {
		h := start(t)
		code, err := h.Exec(ctx, docker.ExecSpec{Cmd: []string{"no-such-command-here"}})
		assert.Check(t, err != nil || code != 0, "exit %d", code)
	})

	t.Run("remove", func(t *testing.T) {
		h := start(t)
		running, err := h.Running(ctx)
		assert.Check(t, running && err == nil, "%v", err)
		assert.NilError(t, h.Remove(ctx))
		running, err = h.Running(ctx)
		assert.Check(t, !running && err == nil, "removed: gone, the engine answering: %v", err)
	})
}

func names(t *testing.T, h helper.Helper, dir string) []string {
	t.Helper()
	files, err := h.ListFiles(context.Background(), dir)
	assert.NilError(t, err)
	var out []string
	for _, f := range files {
		out = append(out, f.Name)
	}
	slices.Sort(out)
	return out
}

func tarOf(t *testing.T, files map[string]string) io.Reader {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	keys := make([]string, 0, len(files))
	for k := range files {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, name := range keys {
		assert.NilError(t, tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Size: int64(len(files[name])), Mode: 0o644}))
		_, err := tw.Write([]byte(files[name]))
		assert.NilError(t, err)
	}
	assert.NilError(t, tw.Close())
	return &buf
}

func untar(t *testing.T, r io.Reader) map[string]string {
	t.Helper()
	out := map[string]string{}
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return out
		}
		assert.NilError(t, err)
		if hdr.Typeflag != tar.TypeReg {
			continue
		}
		b, err := io.ReadAll(tr)
		assert.NilError(t, err)
		out[hdr.Name] = string(b)
	}
}

// failing is a reader that fails with err.
type failing struct{ err error }

func (f failing) Read([]byte) (int, error) { return 0, f.err }
