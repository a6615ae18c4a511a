package docker

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
)

// cleanupTimeout bounds removing a helper, which runs on a context detached from the (possibly
// cancelled) caller's.
const cleanupTimeout = 30 * time.Second

// HelperSpec describes a helper container: an image with neo4j-admin and bash (the neo4j
// enterprise image) kept alive with sleep, in which the workflows exec their commands.
type HelperSpec struct {
	Name   string // see HelperName
	Image  string
	Labels map[string]string // see HelperLabels; owner and start time are added when missing
	// Networks to join, by ID or name; the first is joined at creation, the others after.
	Networks    []string
	HostNetwork bool
	// JoinContainer, when set, makes the helper share that container's
	// network namespace (NetworkMode container:<id>): the database is then
	// 127.0.0.1 for it, whatever its listen addresses. Networks is ignored.
	JoinContainer string
	// NoNetwork starts the helper without a network (offline dumps and loads).
	NoNetwork bool
	Mounts    []Mount
	Env       []string // never secrets: they show in docker inspect; pass those to Exec
	User      string
	// Server runs the image's own entrypoint and command instead of
	// sleep: a throwaway server (verify --drill).
	Server bool
	// Memory limits the container's memory in bytes (0: no limit).
	Memory int64
	// CreateOnly creates the container and never starts it: nothing runs
	// in it, so it takes no Exec, but the archive API (CopyFrom, Stat,
	// ReadFile) mounts a container's file systems itself whether it runs
	// or not. A helper that only reads its mounts that way (the storage's
	// backup) saves the start of a process and its kill at removal: about
	// 0.5 s of a 1 s step at 256 MiB.
	CreateOnly bool
}

// HelperContainer is a running helper container, as StartHelper returns it.
// It is an interface rather than *Helper only because Go has no covariant
// results: the consumers' engine interfaces (internal/helper.Engine) name it
// as StartHelper's result, so *Engine satisfies them directly and their fakes
// return their own helpers. Every method is part of the contract (no
// optional capability found by type assertion); the conformance suite
// (internal/helper/helpertest) runs the same cases against both.
type HelperContainer interface {
	ID() string
	Name() string
	Exec(ctx context.Context, spec ExecSpec) (int, error)
	// Remove force-removes the helper; idempotent, works on a cancelled ctx.
	Remove(ctx context.Context) error
	// Running is false once the container was removed or stopped from
	// outside (docker rm -f, docker kill); err is set (running false) when
	// the engine did not answer (a remote engine's link cut): whether the
	// container still runs is then unknown.
	Running(ctx context.Context) (running bool, err error)
	// Stop kills what runs in the helper and stops it, keeping its files;
	// Start starts it again (joining a restarted database's new network
	// namespace when it shares it).
	Stop(ctx context.Context) error
	Start(ctx context.Context) error
	Stat(ctx context.Context, path string) (size int64, isDir, exists bool, err error)
	CopyTo(ctx context.Context, dir string, tarStream io.Reader) error
	CopyFrom(ctx context.Context, path string) (io.ReadCloser, error)
	ReadFile(ctx context.Context, path string, max int64) ([]byte, error)
	ListFiles(ctx context.Context, dir string) ([]FileInfo, error)
	CanReach(ctx context.Context, target string) error
	// AwaitReachable waits, from inside the helper, until target accepts
	// TCP connections, for up to within.
	AwaitReachable(ctx context.Context, target string, within time.Duration) error
	Tunnel(ctx context.Context, target string) (*Tunnel, error)
}

// Helper is a running helper container of the engine.
type Helper struct {
	id, name string
	engine   *Engine
}

var _ HelperContainer = (*Helper)(nil)

// ID is the helper's container ID.
func (h *Helper) ID() string { return h.id }

// Name is the helper's container name.
func (h *Helper) Name() string { return h.name }

// HelperName returns a fresh name for a helper of command, e.g. infrahubdb-backup-3f9a1c2e.
func HelperName(command string) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return "infrahubdb-" + command + "-" + hex.EncodeToString(b)
}

// StartHelper creates and starts a helper container (only creates it, with spec.CreateOnly). If
// anything fails after creation, the container is removed before the error is returned.
func (e *Engine) StartHelper(ctx context.Context, spec HelperSpec) (HelperContainer, error) {
	opts := createOptions(spec)
	// The create request is not cancelled midway: the daemon finishes a
	// create whose client went away, leaving a container nobody removes.
	// A cancellation is honoured once the container is known.
	createCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	res, err := e.api.ContainerCreate(createCtx, opts)
	if err != nil {
		return nil, fmt.Errorf("create helper container from %s: %w", spec.Image, e.wrap(err))
	}
	h := &Helper{id: res.ID, name: spec.Name, engine: e}
	if err := ctx.Err(); err != nil {
		_ = h.Remove(ctx)
		return nil, err
	}
	if spec.CreateOnly {
		return h, nil
	}
	if err := e.connectAndStart(ctx, h.id, spec); err != nil {
		if rmErr := h.Remove(ctx); rmErr != nil {
			return nil, errors.Join(err, fmt.Errorf("remove helper container %s: %w", h.name, rmErr))
		}
		return nil, err
	}
	return h, nil
}

func (e *Engine) connectAndStart(ctx context.Context, id string, spec HelperSpec) error {
	if !spec.HostNetwork && spec.JoinContainer == "" && !spec.NoNetwork && len(spec.Networks) > 1 {
		for _, n := range spec.Networks[1:] {
			_, err := e.api.NetworkConnect(ctx, n, client.NetworkConnectOptions{Container: id})
			if err != nil {
				return fmt.Errorf("connect helper container to network %s: %w", n, e.wrap(err))
			}
		}
	}
	if _, err := e.api.ContainerStart(ctx, id, client.ContainerStartOptions{}); err != nil {
		return fmt.Errorf("start helper container %s: %w", spec.Name, e.wrap(err))
	}
	return nil
}

// createOptions builds the create request. Bind mounts go through the Mounts API rather than
// Binds, so a source path missing on the daemon's host is an error instead of being created as an
// empty root-owned directory.
func createOptions(spec HelperSpec) client.ContainerCreateOptions {
	labels := maps.Clone(spec.Labels)
	if labels == nil {
		labels = map[string]string{}
	}
	if _, ok := labels[LabelOwner]; !ok {
		labels[LabelOwner] = Owner()
	}
	if _, ok := labels[LabelStarted]; !ok {
		labels[LabelStarted] = time.Now().UTC().Format(time.RFC3339)
	}
	env := append([]string(nil), spec.Env...)
	if _, ok := envValue(env, "NEO4J_ACCEPT_LICENSE_AGREEMENT"); !ok {
		env = append(env, "NEO4J_ACCEPT_LICENSE_AGREEMENT=yes")
	}
	cfg := &container.Config{
		Image:      spec.Image,
		Entrypoint: []string{"sleep"},
		Cmd:        []string{"infinity"},
		Env:        env,
		Labels:     labels,
		User:       spec.User,
	}
	if spec.Server {
		cfg.Entrypoint, cfg.Cmd = nil, nil
	}
	host := &container.HostConfig{}
	host.Resources.Memory = spec.Memory
	for _, m := range spec.Mounts {
		src := m.Source
		if m.Type == MountVolume && m.Name != "" {
			src = m.Name
		}
		host.Mounts = append(host.Mounts, mount.Mount{
			Type:     mount.Type(m.Type),
			Source:   src,
			Target:   m.Destination,
			ReadOnly: !m.RW,
		})
	}
	var netCfg *network.NetworkingConfig
	switch {
	case spec.JoinContainer != "":
		host.NetworkMode = container.NetworkMode("container:" + spec.JoinContainer)
	case spec.NoNetwork:
		host.NetworkMode = "none"
	case spec.HostNetwork:
		host.NetworkMode = "host"
	case len(spec.Networks) > 0:
		first := spec.Networks[0]
		host.NetworkMode = container.NetworkMode(first)
		netCfg = &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{first: {}}}
	}
	return client.ContainerCreateOptions{Name: spec.Name, Config: cfg, HostConfig: host, NetworkingConfig: netCfg}
}

// Remove force-removes the helper and its anonymous volumes. It is idempotent and works with a
// cancelled ctx: cleanup must happen on Ctrl-C too.
func (h *Helper) Remove(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	_, err := h.engine.api.ContainerRemove(ctx, h.id, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
	switch {
	case err == nil || IsNotFound(err):
		return nil
	case strings.Contains(err.Error(), "already in progress"):
		// Another run removes it (two drills cleaning up a dead one's
		// leftovers): it is gone only once that removal ends, and until
		// then it still holds its volumes.
		return h.waitGone(ctx)
	}
	return h.engine.wrap(err)
}

// waitGone waits until the container no longer exists.
func (h *Helper) waitGone(ctx context.Context) error {
	for {
		_, err := h.engine.api.ContainerInspect(ctx, h.id, client.ContainerInspectOptions{})
		if IsNotFound(err) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("container %s is still being removed: %w", h.id, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Running reports whether the helper container still exists and runs: false
// once it was removed, killed or stopped from outside. When the engine does
// not answer (the ssh link to a remote engine cut, the daemon gone), it
// reports an error that wraps ErrDaemonUnreachable: whether the helper
// still runs is then unknown, and it was not removed from outside.
func (h *Helper) Running(ctx context.Context) (bool, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	c, err := h.engine.Inspect(ctx, h.id)
	switch {
	case IsNotFound(err):
		return false, nil
	case err != nil:
		return false, h.engine.answers(ctx, err)
	case !c.Running:
		return false, nil
	}
	// The state lags behind a kill (docker rm -f): only an exec proves the
	// container still runs. sleep is the helper's own entrypoint.
	code, err := h.Exec(ctx, ExecSpec{Cmd: []string{"sleep", "0"}})
	if err != nil {
		// A container on its way out refuses execs; so does a cut link.
		if perr := h.engine.ping(ctx); perr != nil {
			return false, perr
		}
		return false, nil
	}
	return code == 0, nil
}

// answers turns an error of a request about a container into the engine's
// own failure to answer, when it does not answer a ping either (or the
// error says so): nil when the engine answers, the request's error then
// being about the container.
func (e *Engine) answers(ctx context.Context, err error) error {
	if errors.Is(err, ErrDaemonUnreachable) {
		return err
	}
	return e.ping(ctx)
}

// ping reports an engine that does not answer, as an error wrapping
// ErrDaemonUnreachable; nil when it answers.
func (e *Engine) ping(ctx context.Context) error {
	if _, err := e.api.Ping(ctx, client.PingOptions{}); err != nil {
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			return fmt.Errorf("%w at %s: no answer within %s: %w", ErrDaemonUnreachable, e.api.DaemonHost(), cleanupTimeout, err)
		}
		if w := e.wrap(err); errors.Is(w, ErrDaemonUnreachable) {
			return w
		}
		return fmt.Errorf("%w at %s: %w", ErrDaemonUnreachable, e.api.DaemonHost(), err)
	}
	return nil
}

// Stat reports the size and kind of a path in the helper; exists is false when it is missing.
func (h *Helper) Stat(ctx context.Context, p string) (size int64, isDir, exists bool, err error) {
	res, err := h.engine.api.ContainerStatPath(ctx, h.id, client.ContainerStatPathOptions{Path: p})
	if IsNotFound(err) {
		return 0, false, false, nil
	}
	if err != nil {
		return 0, false, false, h.engine.wrap(err)
	}
	return res.Stat.Size, res.Stat.Mode.IsDir(), true, nil
}

// CopyTo extracts a tar stream into dir, which must exist in the helper.
func (h *Helper) CopyTo(ctx context.Context, dir string, tarStream io.Reader) error {
	body := &bodyReader{r: tarStream}
	_, err := h.engine.api.CopyToContainer(ctx, h.id, client.CopyToContainerOptions{DestinationPath: dir, Content: body})
	if err != nil {
		if berr := body.failed(); berr != nil {
			// The stream sent failed (a file that did not match, a
			// location that stopped answering): the client reports it as
			// a failed connection, but the daemon is not the cause.
			return fmt.Errorf("copy into %s:%s: %w", h.name, dir, berr)
		}
		return fmt.Errorf("copy into %s:%s: %w", h.name, dir, h.engine.wrap(err))
	}
	return nil
}

// bodyReader remembers the error of a request body, to tell it from the
// transport's. The transport reads the body in its own goroutine.
type bodyReader struct {
	r   io.Reader
	mu  sync.Mutex
	err error
}

func (b *bodyReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil {
		b.mu.Lock()
		if b.err == nil {
			b.err = err
		}
		b.mu.Unlock()
	}
	return n, err
}

// failed is the body's own error (its end, io.EOF, is none).
func (b *bodyReader) failed() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err == io.EOF {
		return nil
	}
	return b.err
}

// CopyFrom returns a tar stream of path (a file or a directory) in the helper. The caller closes
// it.
func (h *Helper) CopyFrom(ctx context.Context, p string) (io.ReadCloser, error) {
	res, err := h.engine.api.CopyFromContainer(ctx, h.id, client.CopyFromContainerOptions{SourcePath: p})
	if err != nil {
		return nil, fmt.Errorf("copy from %s:%s: %w", h.name, p, h.engine.wrap(err))
	}
	return res.Content, nil
}

// ReadFile returns the content of a regular file in the helper, refusing files over max bytes.
func (h *Helper) ReadFile(ctx context.Context, p string, max int64) ([]byte, error) {
	rc, err := h.CopyFrom(ctx, p)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return readSingleFile(rc, p, max)
}

func readSingleFile(r io.Reader, p string, max int64) ([]byte, error) {
	tr := tar.NewReader(r)
	hdr, err := tr.Next()
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", p, err)
	}
	if hdr.Typeflag != tar.TypeReg {
		return nil, fmt.Errorf("read %s: not a regular file", p)
	}
	if hdr.Size > max {
		return nil, fmt.Errorf("read %s: %d bytes, more than the %d allowed", p, hdr.Size, max)
	}
	return io.ReadAll(tr)
}

// FileInfo is a regular file found by ListFiles.
type FileInfo struct {
	Name string
	Size int64
}

// ListFiles lists the regular files directly inside dir in the helper, sorted by name.
func (h *Helper) ListFiles(ctx context.Context, dir string) ([]FileInfo, error) {
	var out, errOut bytes.Buffer
	code, err := h.Exec(ctx, ExecSpec{
		Cmd:    []string{"find", dir, "-maxdepth", "1", "-type", "f", "-printf", `%s\t%f\0`},
		Stdout: &out,
		Stderr: &errOut,
	})
	if err != nil {
		return nil, err
	}
	if code != 0 {
		return nil, fmt.Errorf("list %s in %s: find exited with %d: %s", dir, h.name, code, strings.TrimSpace(errOut.String()))
	}
	return parseFindOutput(out.String())
}

// parseFindOutput parses NUL-terminated "size\tname" records, so any file name is safe.
func parseFindOutput(s string) ([]FileInfo, error) {
	var files []FileInfo
	for rec := range strings.SplitSeq(s, "\x00") {
		if rec == "" {
			continue
		}
		size, name, ok := strings.Cut(rec, "\t")
		n, err := strconv.ParseInt(size, 10, 64)
		if !ok || err != nil || name == "" || strings.Contains(name, "/") {
			return nil, fmt.Errorf("unexpected find output %q", rec)
		}
		files = append(files, FileInfo{Name: name, Size: n})
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Name < files[j].Name })
	return files, nil
}
