package docker

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/cli/cli/command"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/client"
)

// Labels of the guardian container, which is also the run lock on a
// deployment (see internal/guardian).
const (
	LabelGuardian = "org.opsmill.infrahubdb.guardian" // the lock key: ID of the database container
	LabelCommand  = "org.opsmill.infrahubdb.command"  // backup, restore, verify
)

// GuardianSpec describes the guardian container of a run.
type GuardianSpec struct {
	Name   string // fixed per deployment: creating it is taking the lock
	Image  string // any image on the host: the binary is copied in
	Labels map[string]string
	// Binary is the static guardian program, copied to BinaryPath; nil
	// creates a container that never starts (a lock without a guardian).
	Binary     *Program
	BinaryPath string
	Args       []string
	// Socket is the daemon's socket on the host, mounted at the same path;
	// "" mounts none (the guardian can then only hold the lock).
	Socket string
}

// Program is a file to copy into a container, opened when it is copied and
// streamed: the plugin's own executable (some 35 MB) is never held in
// memory.
type Program struct {
	Size int64
	Open func() (io.ReadCloser, error)
}

// Guardian is a guardian container with its attached stdin and stdout.
type Guardian struct {
	ID, Name string
	Conn     net.Conn  // writes go to the guardian's stdin
	Stdout   io.Reader // the guardian's stdout, demultiplexed
	attach   *client.HijackedResponse
}

// ErrNameTaken is returned by CreateGuardian when a container of that name
// exists: another run holds the lock.
var ErrNameTaken = errors.New("container name in use")

// CreateGuardian creates the guardian container: the run lock. With a
// binary, StartGuardian then starts it, and the container removes itself
// when it exits; without one it is a plain lock that the plugin removes at
// the end of the run.
func (e *Engine) CreateGuardian(ctx context.Context, spec GuardianSpec) (*Guardian, error) {
	cfg := &container.Config{
		Image:       spec.Image,
		Entrypoint:  append([]string{spec.BinaryPath}, spec.Args...),
		Cmd:         []string{},
		Labels:      spec.Labels,
		User:        "0:0", // the socket is root's (or the docker group's)
		OpenStdin:   true,
		StdinOnce:   true, // the container's stdin closes when the plugin's attach ends
		AttachStdin: true, AttachStdout: true,
	}
	if spec.BinaryPath == "" {
		cfg.Entrypoint = []string{"/infrahubdb-lock-never-started"}
	}
	host := &container.HostConfig{AutoRemove: spec.Binary != nil, NetworkMode: "none"}
	if spec.Socket != "" {
		host.Mounts = []mount.Mount{{Type: mount.TypeBind, Source: spec.Socket, Target: spec.Socket}}
	}
	createCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	res, err := e.api.ContainerCreate(createCtx, client.ContainerCreateOptions{Name: spec.Name, Config: cfg, HostConfig: host})
	if cerrdefs.IsConflict(err) {
		return nil, fmt.Errorf("%w: %s", ErrNameTaken, spec.Name)
	}
	if err != nil {
		return nil, fmt.Errorf("create guardian container %s from %s: %w", spec.Name, spec.Image, e.wrap(err))
	}
	return &Guardian{ID: res.ID, Name: spec.Name}, nil
}

// StartGuardian copies the guardian's binary into g (CreateGuardian with
// the same spec), attaches to its stdin and stdout and starts it. On
// error the caller removes the container.
func (e *Engine) StartGuardian(ctx context.Context, g *Guardian, spec GuardianSpec) error {
	api := e.api
	if _, err := api.CopyToContainer(ctx, g.ID, client.CopyToContainerOptions{DestinationPath: "/", Content: programTar(spec.BinaryPath, spec.Binary)}); err != nil {
		return fmt.Errorf("copy the guardian into %s: %w", g.Name, e.wrap(err))
	}
	att, err := api.ContainerAttach(ctx, g.ID, client.ContainerAttachOptions{Stream: true, Stdin: true, Stdout: true, Stderr: true})
	if err != nil {
		return fmt.Errorf("attach to guardian %s: %w", g.Name, e.wrap(err))
	}
	g.attach, g.Conn = &att.HijackedResponse, att.Conn
	pr, pw := io.Pipe()
	go func() {
		_, err := stdcopy.StdCopy(pw, io.Discard, att.Reader)
		pw.CloseWithError(errOr(err, io.EOF))
	}()
	g.Stdout = pr
	if _, err := api.ContainerStart(ctx, g.ID, client.ContainerStartOptions{}); err != nil {
		att.Close()
		return fmt.Errorf("start guardian %s: %w", g.Name, e.wrap(err))
	}
	return nil
}

// CopyFileInto copies a file into a container at path, in its writable
// layer (a guardian's goes with the container), streamed: a safety copy
// may be many GiB. path is absolute, at most one directory deep; the file
// is root's, mode 0600.
func (e *Engine) CopyFileInto(ctx context.Context, id, path string, p *Program) error {
	if _, err := e.api.CopyToContainer(ctx, id, client.CopyToContainerOptions{DestinationPath: "/", Content: fileTar(path, p, 0o600)}); err != nil {
		return e.wrap(err)
	}
	return nil
}

func errOr(err, def error) error {
	if err != nil {
		return err
	}
	return def
}

// Detach ends the attach: the guardian sees its stdin close. The caller
// then removes the container.
func (g *Guardian) Detach() {
	if g.attach != nil {
		g.attach.Close()
	}
}

// DaemonPlatform is the OS and Go architecture of the daemon's host, and
// whether the daemon runs rootless.
func (e *Engine) DaemonPlatform(ctx context.Context) (os, arch string, rootless bool, err error) {
	res, err := e.api.Info(ctx, client.InfoOptions{})
	if err != nil {
		return "", "", false, e.wrap(err)
	}
	for _, o := range res.Info.SecurityOptions {
		if strings.Contains(o, "name=rootless") {
			rootless = true
		}
	}
	return res.Info.OSType, goArch(res.Info.Architecture), rootless, nil
}

// goArch maps uname's machine names (what the daemon reports) to GOARCH.
func goArch(machine string) string {
	switch machine {
	case "x86_64", "amd64":
		return "amd64"
	case "aarch64", "arm64":
		return "arm64"
	}
	return machine
}

// DaemonHost is the address the client reaches the daemon at
// (unix:///var/run/docker.sock, ssh://..., tcp://...).
func (e *Engine) DaemonHost() string { return e.api.DaemonHost() }

// Volume is a volume's name and labels.
type Volume struct {
	Name   string
	Labels map[string]string
}

// VolumesWithLabel lists the volumes carrying label=value.
func (e *Engine) VolumesWithLabel(ctx context.Context, label, value string) ([]Volume, error) {
	f := client.Filters{}
	f.Add("label", label+"="+value)
	res, err := e.api.VolumeList(ctx, client.VolumeListOptions{Filters: f})
	if err != nil {
		return nil, e.wrap(err)
	}
	out := make([]Volume, 0, len(res.Items))
	for _, v := range res.Items {
		out = append(out, Volume{Name: v.Name, Labels: v.Labels})
	}
	return out, nil
}

// ContainerWatcher is told of every container stop and start the plugin
// asks for: the guardian must know what the run stopped before it stops.
type ContainerWatcher interface {
	// Stopping is called before the stop; an error cancels it.
	Stopping(ctx context.Context, id string, timeout time.Duration) error
	// Starting is called before a start; an error cancels it.
	Starting(ctx context.Context, id string) error
	// Started is called after a successful start.
	Started(ctx context.Context, id string)
}

// Watch returns api with every ContainerStop and ContainerStart reported
// to w first: wrapping the client the commands use puts every outage of a
// run under the guardian, whichever workflow stops what.
func Watch(api client.APIClient, w ContainerWatcher) client.APIClient {
	return watched{APIClient: api, w: w}
}

type watched struct {
	client.APIClient
	w ContainerWatcher
}

func (a watched) ContainerStop(ctx context.Context, id string, opts client.ContainerStopOptions) (client.ContainerStopResult, error) {
	timeout := time.Duration(-1)
	if opts.Timeout != nil {
		timeout = time.Duration(*opts.Timeout) * time.Second
	}
	if err := a.w.Stopping(ctx, id, timeout); err != nil {
		return client.ContainerStopResult{}, err
	}
	return a.APIClient.ContainerStop(ctx, id, opts)
}

func (a watched) ContainerStart(ctx context.Context, id string, opts client.ContainerStartOptions) (client.ContainerStartResult, error) {
	if err := a.w.Starting(ctx, id); err != nil {
		return client.ContainerStartResult{}, err
	}
	res, err := a.APIClient.ContainerStart(ctx, id, opts)
	if err == nil {
		a.w.Started(ctx, id)
	}
	return res, err
}

// OwnerGone reports whether the process named by an owner label
// (host:pid) provably no longer exists: it ran on this host and its pid is
// gone. An owner on another host, or a malformed label, is never gone.
func OwnerGone(owner string) bool {
	host, pid, ok := parseOwner(owner)
	if !ok {
		return false
	}
	this, _, _ := parseOwner(Owner())
	return host == this && !processAlive(pid)
}

// WatchCli returns cli with its API client wrapped by Watch: everything
// built on the returned Cli tells w of its container stops and starts.
func WatchCli(cli command.Cli, w ContainerWatcher) command.Cli {
	return watchedCli{Cli: cli, api: Watch(cli.Client(), w)}
}

type watchedCli struct {
	command.Cli
	api client.APIClient
}

func (c watchedCli) Client() client.APIClient { return c.api }

// programTar streams a tar archive of one executable file, p at path.
func programTar(path string, p *Program) io.Reader { return fileTar(path, p, 0o755) }

// fileTar streams a tar archive of one file, p at path (an absolute path
// whose parent directory is / or is created by the archive), with mode.
func fileTar(path string, p *Program, mode int64) io.Reader {
	pr, pw := io.Pipe()
	go func() {
		pw.CloseWithError(writeFileTar(pw, path, p, mode))
	}()
	return pr
}

func writeFileTar(w io.Writer, path string, p *Program, mode int64) error {
	f, err := p.Open()
	if err != nil {
		return err
	}
	defer f.Close()
	tw := tar.NewWriter(w)
	name := strings.TrimPrefix(path, "/")
	if dir, _, ok := strings.Cut(name, "/"); ok && dir != "" && strings.Count(name, "/") == 1 {
		if err := tw.WriteHeader(&tar.Header{Name: dir + "/", Mode: 0o700, Typeflag: tar.TypeDir, ModTime: time.Now()}); err != nil {
			return err
		}
	}
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: mode, Size: p.Size, Typeflag: tar.TypeReg, ModTime: time.Now()}); err != nil {
		return err
	}
	// Exactly Size bytes, or the copy fails: a binary replaced while the
	// run starts must not be copied half.
	if n, err := io.Copy(tw, io.LimitReader(f, p.Size)); err != nil {
		return err
	} else if n != p.Size {
		return fmt.Errorf("%s: %d bytes, expected %d (was it replaced?)", path, n, p.Size)
	}
	return tw.Close()
}
