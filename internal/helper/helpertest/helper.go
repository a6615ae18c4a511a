package helpertest

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/opsmill/docker-infrahubdb/internal/docker"
)

// Helper is a fake helper container with its own file system; bind mounts
// map to the host when the engine's BindVisible is set.
type Helper struct {
	eng     *Engine
	id      string
	name    string
	spec    docker.HelperSpec
	fs      *fileSystem
	removed bool
	lost    bool // see Lose
	stopped bool // see Stop
	// RemoveCtxErr is the error of the context Remove got (nil: a live one).
	RemoveCtxErr error
}

// Spec is how the helper was started.
func (h *Helper) Spec() docker.HelperSpec { return h.spec }

// Removed reports whether Remove was called.
func (h *Helper) Removed() bool {
	h.eng.mu.Lock()
	defer h.eng.mu.Unlock()
	return h.removed
}

// Files lists the regular files under dir in the helper (for assertions).
func (h *Helper) Files(dir string) []string {
	h.eng.mu.Lock()
	defer h.eng.mu.Unlock()
	var names []string
	for _, f := range h.fs.list(dir) {
		names = append(names, f.Name)
	}
	return names
}

// WriteFile puts a file into the helper (e.g. a restore_metadata.cypher).
func (h *Helper) WriteFile(p string, data []byte) error {
	h.eng.mu.Lock()
	defer h.eng.mu.Unlock()
	h.fs.mkdirAll(path.Dir(p))
	return h.fs.write(p, data)
}

// FileData returns the content of the file p in the helper, without
// recording a call (for assertions and Engine.Admin).
func (h *Helper) FileData(p string) ([]byte, error) {
	h.eng.mu.Lock()
	defer h.eng.mu.Unlock()
	return h.fs.read(p)
}

// RemoveFile deletes the file p in the helper (for Engine.Admin).
func (h *Helper) RemoveFile(p string) error {
	h.eng.mu.Lock()
	defer h.eng.mu.Unlock()
	return h.fs.remove(p)
}

func (h *Helper) ID() string   { return h.id }
func (h *Helper) Name() string { return h.name }

func (h *Helper) Remove(ctx context.Context) error {
	h.eng.Record("remove-helper %s", h.name)
	if f := h.eng.fault("remove-helper"); f != nil {
		return f.fire(ctx)
	}
	h.eng.mu.Lock()
	defer h.eng.mu.Unlock()
	h.removed, h.RemoveCtxErr = true, ctx.Err()
	return nil
}

// Running is false once the helper was removed or lost; with the engine
// Unreachable, it is false with that error.
func (h *Helper) Running(context.Context) (bool, error) {
	h.eng.mu.Lock()
	defer h.eng.mu.Unlock()
	if h.eng.Unreachable != nil {
		return false, h.eng.Unreachable
	}
	return !h.removed && !h.lost && !h.stopped, nil
}

// Lose makes the helper look removed from outside (docker rm -f): Running
// reports false from now on.
func (h *Helper) Lose() {
	h.eng.mu.Lock()
	defer h.eng.mu.Unlock()
	h.lost = true
}

func (h *Helper) CanReach(ctx context.Context, target string) error {
	h.eng.Record("can-reach %s", target)
	return h.eng.ReachErr
}

func (h *Helper) AwaitReachable(ctx context.Context, target string, within time.Duration) error {
	h.eng.Record("await-reachable %s", target)
	if f := h.eng.fault("await-reachable"); f != nil {
		return f.fire(ctx)
	}
	return nil
}

func (h *Helper) Tunnel(ctx context.Context, target string) (*docker.Tunnel, error) {
	h.eng.Record("tunnel %s", target)
	return nil, errNoTunnel
}

func (h *Helper) Stat(ctx context.Context, p string) (int64, bool, bool, error) {
	h.eng.mu.Lock()
	defer h.eng.mu.Unlock()
	size, isDir, exists := h.fs.stat(p)
	return size, isDir, exists, nil
}

func (h *Helper) ReadFile(ctx context.Context, p string, max int64) ([]byte, error) {
	h.eng.Record("read-file %s", p)
	h.eng.mu.Lock()
	defer h.eng.mu.Unlock()
	data, err := h.fs.read(p)
	if err == nil && int64(len(data)) > max {
		return nil, fmt.Errorf("%s is larger than %d bytes", p, max)
	}
	return data, err
}

func (h *Helper) ListFiles(ctx context.Context, dir string) ([]docker.FileInfo, error) {
	h.eng.mu.Lock()
	defer h.eng.mu.Unlock()
	if _, isDir, _ := h.fs.stat(dir); !isDir {
		return nil, fmt.Errorf("no directory %s in the helper", dir)
	}
	return h.fs.list(dir), nil
}

// CopyTo extracts a tar stream into dir, like the archive endpoint.
func (h *Helper) CopyTo(ctx context.Context, dir string, tarStream io.Reader) error {
	if f := h.eng.fault("copy-to"); f != nil {
		if err := f.fire(ctx); err != nil {
			_, _ = io.Copy(io.Discard, tarStream)
			return err
		}
	}
	var names []string
	tr := tar.NewReader(tarStream)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			return err
		}
		if hdr.Typeflag != tar.TypeReg {
			continue
		}
		h.eng.mu.Lock()
		_, isDir, _ := h.fs.stat(dir)
		if isDir {
			err = h.fs.write(path.Join(dir, hdr.Name), data)
		}
		h.eng.mu.Unlock()
		if !isDir {
			return fmt.Errorf("copy to %s: no such directory", dir)
		}
		if err != nil {
			return err
		}
		names = append(names, hdr.Name)
	}
	h.eng.Record("copy-to %s %s", dir, strings.Join(names, " "))
	return nil
}

// CopyFrom returns a tar stream of p, like the archive endpoint: a file as
// its base name, a directory as "<base>/<file>" entries.
func (h *Helper) CopyFrom(ctx context.Context, p string) (io.ReadCloser, error) {
	h.eng.Record("copy-from %s", p)
	if f := h.eng.fault("copy-from"); f != nil {
		if err := f.fire(ctx); err != nil {
			return nil, err
		}
	}
	h.eng.mu.Lock()
	defer h.eng.mu.Unlock()
	_, isDir, exists := h.fs.stat(p)
	if !exists {
		return nil, fmt.Errorf("no such file or directory in the helper: %s", p)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	add := func(name, src string) error {
		data, err := h.fs.read(src)
		if err != nil {
			return err
		}
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		_, err = tw.Write(data)
		return err
	}
	if isDir {
		base := path.Base(p)
		_ = tw.WriteHeader(&tar.Header{Name: base + "/", Mode: 0o755, Typeflag: tar.TypeDir})
		for _, f := range h.fs.list(p) {
			if err := add(base+"/"+f.Name, path.Join(p, f.Name)); err != nil {
				return nil, err
			}
		}
	} else if err := add(path.Base(p), p); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return io.NopCloser(&buf), nil
}

// fileSystem is the helper's files: in memory, except under bind mounts
// that the daemon can see, which are the host's directories.
type fileSystem struct {
	files    map[string][]byte
	dirs     map[string]bool
	binds    map[string]string // container dir → host dir
	readOnly map[string]bool   // mount points mounted read-only
}

func newFS() *fileSystem {
	return &fileSystem{files: map[string][]byte{}, dirs: map[string]bool{"/": true}, binds: map[string]string{}, readOnly: map[string]bool{}}
}

// errReadOnly is what writing under a read-only mount gives.
var errReadOnly = errors.New("Read-only file system")

// ro reports whether p is under a read-only mount.
func (f *fileSystem) ro(p string) bool {
	for p = path.Clean(p); ; p = path.Dir(p) {
		if f.readOnly[p] {
			return true
		}
		if p == "/" || p == "." {
			return false
		}
	}
}

func (f *fileSystem) host(p string) (string, bool) {
	p = path.Clean(p)
	for dst, src := range f.binds {
		if p == dst {
			return src, true
		}
		if rel, ok := strings.CutPrefix(p, dst+"/"); ok {
			return filepath.Join(src, filepath.FromSlash(rel)), true
		}
	}
	return "", false
}

func (f *fileSystem) stat(p string) (size int64, isDir, exists bool) {
	p = path.Clean(p)
	if hp, ok := f.host(p); ok {
		st, err := os.Stat(hp)
		if err != nil {
			return 0, false, false
		}
		return st.Size(), st.IsDir(), true
	}
	if f.dirs[p] {
		return 0, true, true
	}
	data, ok := f.files[p]
	return int64(len(data)), false, ok
}

func (f *fileSystem) read(p string) ([]byte, error) {
	p = path.Clean(p)
	if hp, ok := f.host(p); ok {
		return os.ReadFile(hp)
	}
	data, ok := f.files[p]
	if !ok {
		return nil, fmt.Errorf("%s: %w", p, fs.ErrNotExist)
	}
	return slices.Clone(data), nil
}

func (f *fileSystem) write(p string, data []byte) error {
	p = path.Clean(p)
	if f.ro(p) {
		return fmt.Errorf("%s: %w", p, errReadOnly)
	}
	if hp, ok := f.host(p); ok {
		return os.WriteFile(hp, data, 0o644)
	}
	if !f.dirs[path.Dir(p)] {
		return fmt.Errorf("%s: no such directory", path.Dir(p))
	}
	f.files[p] = slices.Clone(data)
	return nil
}

func (f *fileSystem) remove(p string) error {
	p = path.Clean(p)
	if f.ro(p) {
		return fmt.Errorf("%s: %w", p, errReadOnly)
	}
	if hp, ok := f.host(p); ok {
		return os.Remove(hp)
	}
	delete(f.files, p)
	return nil
}

func (f *fileSystem) mkdirAll(p string) {
	p = path.Clean(p)
	if hp, ok := f.host(p); ok {
		_ = os.MkdirAll(hp, 0o755)
		return
	}
	for ; p != "/" && p != "."; p = path.Dir(p) {
		f.dirs[p] = true
	}
}

// list returns the regular files directly inside dir, sorted by name.
func (f *fileSystem) list(dir string) []docker.FileInfo {
	dir = path.Clean(dir)
	var out []docker.FileInfo
	if hp, ok := f.host(dir); ok {
		entries, _ := os.ReadDir(hp)
		for _, e := range entries {
			if info, err := e.Info(); err == nil && info.Mode().IsRegular() {
				out = append(out, docker.FileInfo{Name: e.Name(), Size: info.Size()})
			}
		}
		return out
	}
	for p, data := range f.files {
		if path.Dir(p) == dir {
			out = append(out, docker.FileInfo{Name: path.Base(p), Size: int64(len(data))})
		}
	}
	slices.SortFunc(out, func(a, b docker.FileInfo) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// removeAll deletes p and everything below it (rm -rf p).
func (f *fileSystem) removeAll(p string) {
	p = path.Clean(p)
	if hp, ok := f.host(p); ok {
		_ = os.RemoveAll(hp)
		return
	}
	f.removeUnder(p)
	delete(f.files, p)
	delete(f.dirs, p)
}

// removeUnder deletes everything below dir (find dir -mindepth 1 -delete).
func (f *fileSystem) removeUnder(dir string) {
	dir = path.Clean(dir)
	if hp, ok := f.host(dir); ok {
		entries, _ := os.ReadDir(hp)
		for _, e := range entries {
			_ = os.RemoveAll(filepath.Join(hp, e.Name()))
		}
		return
	}
	for p := range f.files {
		if strings.HasPrefix(p, dir+"/") {
			delete(f.files, p)
		}
	}
	for p := range f.dirs {
		if strings.HasPrefix(p, dir+"/") {
			delete(f.dirs, p)
		}
	}
}

// removeUnderExcept deletes everything below dir but the entries whose path
// matches one of the patterns (find's -path), depth first; it reports
// false when a directory could not go because something in it was kept.
func (f *fileSystem) removeUnderExcept(dir string, patterns []string) bool {
	dir = path.Clean(dir)
	kept := func(p string) bool {
		for _, pat := range patterns {
			if ok, _ := path.Match(pat, p); ok {
				return true
			}
		}
		return false
	}
	if hp, ok := f.host(dir); ok {
		return removeHostExcept(hp, dir, kept)
	}
	all := true
	for p := range f.files {
		if strings.HasPrefix(p, dir+"/") && !kept(p) {
			delete(f.files, p)
		}
	}
	// Deepest directories first, as find -delete does.
	var dirs []string
	for p := range f.dirs {
		if strings.HasPrefix(p, dir+"/") {
			dirs = append(dirs, p)
		}
	}
	slices.SortFunc(dirs, func(a, b string) int { return strings.Count(b, "/") - strings.Count(a, "/") })
	for _, d := range dirs {
		if kept(d) {
			continue
		}
		empty := true
		for p := range f.files {
			empty = empty && !strings.HasPrefix(p, d+"/")
		}
		for p := range f.dirs {
			empty = empty && !strings.HasPrefix(p, d+"/")
		}
		if !empty {
			all = false
			continue
		}
		delete(f.dirs, d)
	}
	return all
}

// removeHostExcept is removeUnderExcept on a bind-mounted host directory:
// hp is the host path of the container path p.
func removeHostExcept(hp, p string, kept func(string) bool) bool {
	entries, _ := os.ReadDir(hp)
	all := true
	for _, e := range entries {
		cp, hcp := path.Join(p, e.Name()), filepath.Join(hp, e.Name())
		if e.IsDir() {
			all = removeHostExcept(hcp, cp, kept) && all
		}
		if kept(cp) {
			continue
		}
		if err := os.Remove(hcp); err != nil {
			all = false
		}
	}
	return all
}
