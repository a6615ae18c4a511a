package helper

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/docker"
	"github.com/opsmill/docker-infrahubdb/internal/progress"
)

// Transfer modes.
const (
	TransferAuto   = "auto"
	TransferBind   = "bind"
	TransferStream = "stream"
)

// WorkDir is where the helper keeps artifacts while neo4j-admin works on them.
const WorkDir = "/backups"

// cleanupTimeout bounds cleanup that runs after the command's context was
// cancelled (Ctrl-C): it gets a fresh context, not an unbounded one.
const cleanupTimeout = 60 * time.Second

// SessionOptions describe the helper container a workflow needs.
type SessionOptions struct {
	Command    string // "backup", "restore", "verify": names and labels the helper
	Image      string
	Transfer   string // TransferAuto, TransferBind or TransferStream
	KeepHelper bool
	// MountData mounts the database container's /data into the helper (restore).
	MountData bool
	// ReadableSeeds makes files seeded into the work dir readable by any
	// user, for neo4j-admin runs that do not run as root (restore).
	ReadableSeeds bool
}

// Session is a running helper container with a work dir connected to the
// backup folder. Close removes it (unless kept) on every path.
type Session struct {
	Target Target
	Helper Helper
	Mode   string // TransferBind or TransferStream, as chosen
	work   workdir
	opts   SessionOptions
	eng    Engine
	pw     progress.Writer
	// released is closed once the helper a Release let go is removed.
	released chan struct{}
	// version caches AdminVersion.
	versionMu sync.Mutex
	version   *string
}

// HelperLockError reports another live helper serving the same database.
type HelperLockError struct {
	Database string
	Holders  []docker.Container
}

func (e *HelperLockError) Error() string {
	names := make([]string, len(e.Holders))
	for i, h := range e.Holders {
		names[i] = fmt.Sprintf("%s (%s, owner %s)", h.Name, h.Labels[docker.LabelHelper], h.Labels[docker.LabelOwner])
	}
	return fmt.Sprintf("another docker infrahubdb run is working on database %s: helper container %s; wait for it to finish (if it is left over from a crashed run on another machine, remove it with 'docker rm -f')",
		e.Database, strings.Join(names, ", "))
}

// OpenSession takes the database's helper lock and starts the helper, with a
// bind mount of the folder when the daemon can see it and a private work
// dir filled through the API otherwise.
func OpenSession(ctx context.Context, eng Engine, folder *backupset.Folder, target Target, opts SessionOptions, pw progress.Writer) (*Session, error) {
	s := &Session{Target: target, opts: opts, eng: eng, pw: pw}
	if err := s.checkHelperLock(ctx, ""); err != nil {
		return nil, err
	}

	err := progress.RunStep(pw, progress.Event{ID: "helper", Text: "Start helper container", Detail: opts.Image}, func(st *progress.Step) error {
		if err := s.start(ctx, folder); err != nil {
			return err
		}
		// Two runs may have passed the first check at the same time; the
		// later one gives way.
		if err := s.checkHelperLock(ctx, s.Helper.Name()); err != nil {
			s.Close(ctx)
			return err
		}
		st.End(progress.Done, s.Helper.Name()+", "+s.Mode+" transfer")
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// checkHelperLock removes helpers left by crashed runs and fails when a live
// one serves the same database. self is our own helper's name, if started.
func (s *Session) checkHelperLock(ctx context.Context, self string) error {
	stale, live, err := s.eng.StaleHelpers(ctx, s.Target.LockKey)
	if err != nil {
		return err
	}
	for _, c := range stale {
		if err := s.eng.RemoveContainer(ctx, c.ID); err != nil {
			return fmt.Errorf("remove helper container %s left by a crashed run: %w", c.Name, err)
		}
		s.pw.Info(fmt.Sprintf("removed helper container %s left by a crashed run (owner %s)", c.Name, c.Labels[docker.LabelOwner]))
	}
	var others []docker.Container
	for _, c := range live {
		if c.Name != self && strings.TrimPrefix(c.Name, "/") != self {
			others = append(others, c)
		}
	}
	if len(others) > 0 {
		return &HelperLockError{Database: s.Target.Name(), Holders: others}
	}
	return nil
}

func (s *Session) start(ctx context.Context, folder *backupset.Folder) error {
	if folder != nil && folder.StreamOnly() {
		// Its files are ciphertext on disk, their plaintext a stream
		// only (a bind mount would have neo4j-admin read the one and
		// write the other onto this machine's disk), or they are read
		// from a location as they are sent.
		if s.opts.Transfer == TransferBind {
			if !folder.IsSealed() {
				return fmt.Errorf("transfer bind: %s reads its files from their location as they are sent, not from this machine's disk; use --transfer stream or auto", folder.Dir)
			}
			return fmt.Errorf("transfer bind: %s holds encrypted files, whose plaintext must not be written on this machine's disk; use --transfer stream or auto", folder.Dir)
		}
		return s.startStream(ctx)
	}
	if s.opts.Transfer != TransferStream && folder != nil {
		err := s.startBind(ctx, folder)
		switch {
		case err == nil || ctx.Err() != nil: // an interrupted probe says nothing
			return err
		case s.opts.Transfer == TransferBind:
			return fmt.Errorf("%w: use --transfer stream or auto", err)
		}
		s.pw.Info("files are streamed through the Docker API: " + err.Error())
	}
	return s.startStream(ctx)
}

func (s *Session) spec(mounts ...docker.Mount) docker.HelperSpec {
	spec := docker.HelperSpec{
		Name:        docker.HelperName(s.opts.Command),
		Image:       s.opts.Image,
		Labels:      docker.HelperLabels(s.opts.Command, s.Target.LockKey, time.Now()),
		HostNetwork: s.Target.HostNetwork,
		Mounts:      mounts,
		// neo4j-admin names artifacts after the local time of the helper
		// ([S3]: file T14-46-27 vs TIME (UTC) 13:46:27); the names are read
		// as UTC, so the helper runs in UTC whatever its image sets.
		Env: []string{"TZ=UTC"},
	}
	if c := s.Target.Container; c != nil && s.Target.SharedNetwork {
		spec.JoinContainer = c.ID
	} else if c != nil && !s.Target.HostNetwork {
		for _, n := range c.Networks {
			spec.Networks = append(spec.Networks, n.ID)
		}
	}
	if s.opts.MountData && s.Target.Container != nil {
		if m, ok := s.Target.Container.MountAt("/data"); ok {
			m.RW = true
			spec.Mounts = append(spec.Mounts, m)
		}
	}
	return spec
}

// startBind starts the helper with a private staging dir of the folder
// bind-mounted, and proves with a probe file that the daemon sees the same
// directory (a remote daemon does not, or sees another one).
func (s *Session) startBind(ctx context.Context, folder *backupset.Folder) error {
	w, err := newBindWork(folder, s.opts.ReadableSeeds)
	if err != nil {
		return err
	}
	h, err := s.eng.StartHelper(ctx, s.spec(docker.Mount{Type: "bind", Source: w.staging, Destination: WorkDir, RW: true}))
	if err != nil {
		w.removeStaging()
		return fmt.Errorf("the Docker daemon cannot see %s for a bind mount: %w", folder.Dir, err)
	}
	w.helper = h
	probe, err := w.probe(ctx)
	if err != nil || !probe {
		s.removeHelper(ctx, h)
		w.removeStaging()
		if err == nil {
			err = errors.New("the Docker daemon cannot see " + folder.Dir + " (remote daemon?)")
		}
		return err
	}
	s.Helper, s.work, s.Mode = h, w, TransferBind
	return nil
}

func (s *Session) startStream(ctx context.Context) error {
	h, err := s.eng.StartHelper(ctx, s.spec())
	if err != nil {
		return err
	}
	w := &streamWork{helper: h}
	if err := w.init(ctx); err != nil {
		s.removeHelper(ctx, h)
		return err
	}
	s.Helper, s.work, s.Mode = h, w, TransferStream
	return nil
}

// Follow hashes WorkDir/sub/name while a command in the helper writes it,
// so that its Fetch, under whatever name it was moved or linked to in the
// work dir meanwhile, hashes only what was written at the end
// (backupset.Follower): a restore's safety dump, hashed and made durable
// inside the outage. Only with the bind transfer, where the file lies in
// the folder; a no-op otherwise. Close drops what was not fetched.
func (s *Session) Follow(sub, name string) {
	if w, ok := s.work.(*bindWork); ok {
		fl := backupset.Follow(filepath.Join(w.staging, sub, name))
		w.followMu.Lock()
		w.followers = append(w.followers, fl)
		w.followMu.Unlock()
	}
}

// Seed puts files of folder into the helper's work dir (under sub, "" for
// WorkDir itself).
func (s *Session) Seed(ctx context.Context, folder *backupset.Folder, sub string, names []string) error {
	if len(names) == 0 {
		return nil
	}
	_, err := s.work.seed(ctx, folder, sub, names, nil, s.pw)
	return err
}

// SeedChecked is Seed that also checks the files m records against it
// when it reads them anyway (stream transfer: hashed while uploaded, so a
// restore reads its chain once); checked says whether it did. A file that
// does not match fails it with a *backupset.ProblemError. Bind transfer
// links the files without reading them: the caller checks them itself.
func (s *Session) SeedChecked(ctx context.Context, folder *backupset.Folder, sub string, names []string, m *backupset.Manifest) (checked bool, err error) {
	if len(names) == 0 {
		return m != nil, nil
	}
	return s.work.seed(ctx, folder, sub, names, m, s.pw)
}

// Fetch brings the file WorkDir/sub/name from the helper into folder
// atomically and returns its record (size, SHA-256).
func (s *Session) Fetch(ctx context.Context, folder *backupset.Folder, sub, name string) (backupset.FileRecord, error) {
	return fetch(ctx, s.work, folder, sub, name, false, s.pw)
}

// FetchCopy is Fetch that leaves the file in the helper's work dir too.
func (s *Session) FetchCopy(ctx context.Context, folder *backupset.Folder, sub, name string) (backupset.FileRecord, error) {
	return fetch(ctx, s.work, folder, sub, name, true, s.pw)
}

// ListFiles lists the regular files directly inside dir of the helper,
// sorted by name. With bind transfer a dir under WorkDir is read in the
// staging dir, without an exec.
func (s *Session) ListFiles(ctx context.Context, dir string) ([]docker.FileInfo, error) {
	return s.work.list(ctx, dir)
}

// Close empties the work dir and removes the helper unless it is kept. It
// runs with a fresh context so that a cancelled command still cleans up.
// After Release it waits until the helper is gone.
func (s *Session) Close(ctx context.Context) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	if s.released != nil {
		<-s.released
		if err := s.work.cleanup(ctx, nil, true); err != nil {
			s.pw.Info("could not empty the helper's work dir: " + err.Error())
		}
		return
	}
	if s.work != nil {
		if err := s.work.cleanup(ctx, nil, false); err != nil {
			s.pw.Info("could not empty the helper's work dir: " + err.Error())
		}
	}
	if s.Helper == nil {
		return
	}
	Release(ctx, s.Helper, s.opts.KeepHelper, s.pw)
}

func (s *Session) removeHelper(ctx context.Context, h Helper) {
	Release(ctx, h, false, s.pw)
}

func removeAllQuiet(path string) { _ = os.RemoveAll(path) }

// Mkdir creates dir in the helper (neo4j-admin wants its --to-path to exist).
func (s *Session) Mkdir(ctx context.Context, dir string) error {
	var stderr strings.Builder
	code, err := s.Helper.Exec(ctx, docker.ExecSpec{Cmd: []string{"mkdir", "-p", dir}, Stderr: &stderr})
	if err == nil && code != 0 {
		err = fmt.Errorf("create %s in the helper: %s", dir, strings.TrimSpace(stderr.String()))
	}
	return err
}

// Image is the helper's image reference.
func (s *Session) Image() string { return s.opts.Image }

// Progress is the display the session reports to.
func (s *Session) Progress() progress.Writer { return s.pw }

// Run runs a command in the helper as its default user and turns a non-zero
// exit into an error carrying the exit code and what it printed on stderr.
func (s *Session) Run(ctx context.Context, cmd ...string) error {
	return On(s.Helper, s.pw).Run(ctx, cmd...)
}

// Runner runs commands and neo4j-admin in a helper container: a Session,
// or a container a workflow started itself (the drill's loader, On). The
// artifact packages (neo4jdump, neo4jbackup) build and run their
// neo4j-admin commands through it, so that every workflow runs the same
// ones.
type Runner interface {
	Run(ctx context.Context, cmd ...string) error
	Admin(ctx context.Context, run AdminRun) (string, error)
}

// On is a Runner on h, reporting to pw.
func On(h Helper, pw progress.Writer) Runner { return &onHelper{h: h, pw: pw} }

type onHelper struct {
	h  Helper
	pw progress.Writer
}

func (o *onHelper) Run(ctx context.Context, cmd ...string) error {
	var stderr strings.Builder
	code, err := o.h.Exec(ctx, docker.ExecSpec{Cmd: cmd, Stderr: &Limited{W: &stderr, N: 64 << 10}})
	if err == nil && code != 0 {
		err = &CommandError{Cmd: cmd, ExitCode: code, Stderr: strings.TrimSpace(stderr.String())}
	}
	return err
}

// CommandError is a command that exited non-zero in a helper, or in a
// container of the deployment (pg_dump in task-manager-db): every artifact
// kind reports a failed command the same way.
type CommandError struct {
	Cmd       []string
	Container string // where it ran; "" is the helper
	ExitCode  int
	Stderr    string // what it printed on stderr, trimmed
	Hint      string // what to do, when the output says
}

func (e *CommandError) Error() string {
	where := e.Container
	if where == "" {
		where = "the helper"
	}
	msg := fmt.Sprintf("%s in %s failed with exit code %d", strings.Join(e.Cmd, " "), where, e.ExitCode)
	if e.Stderr != "" {
		msg += ": " + e.Stderr
	}
	if e.Hint != "" {
		msg += "; " + e.Hint
	}
	return msg
}
