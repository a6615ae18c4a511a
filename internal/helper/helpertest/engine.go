// Package helpertest is an in-memory Docker engine with a Neo4j helper
// container, for the unit tests of the backup and restore workflows. It
// records every call in order (Calls) and simulates what the workflows run
// in the helper: neo4j-admin database backup / aggregate-backup / restore,
// backup inspect, --version, stat, find -delete, mkdir -p and id -u/-g (as
// the exec's or the helper's numeric user). Named volumes are shared
// between the helpers mounting them (Volumes) and read-only mounts refuse
// writes. Failures are injected per command with Faults. A test may supply
// its own neo4j-admin with Engine.Admin. What it does not model (networks,
// the tunnel) the conformance suite names in its Capabilities.
//
// It is a package of its own so that both workflows' tests can share it;
// only tests import it, so it is not part of the plugin.
package helpertest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/opsmill/docker-infrahubdb/internal/docker"
	"github.com/opsmill/docker-infrahubdb/internal/helper"
)

// Fault makes a command fail. Command keys: "backup", "aggregate",
// "restore", "inspect", "version" (neo4j-admin), "stat", "find", "mkdir",
// and "start-helper", "copy-to", "copy-from", "remove-helper".
type Fault struct {
	Code   int    // exit code (0 with Err nil: only Hook and Block apply)
	Stderr string // printed before exiting
	Err    error  // returned instead of an exit code
	// Block waits until the exec's context is cancelled and returns its error.
	Block bool
	// Hook runs when the fault fires, before anything else (e.g. cancel).
	Hook func()
	// Skip lets the first Skip calls through.
	Skip int
	// Times the fault fires; 0 means every time.
	Times int
	calls int
	fired int
}

// Engine is the fake engine. Set its fields before the run; read Calls and
// Helpers after it. All methods are safe for concurrent use.
type Engine struct {
	mu sync.Mutex

	// Database is what FindDatabase returns; nil gives docker.ErrNoDatabase.
	Database *docker.Container
	// Stale and Live are the helpers StaleHelpers reports besides the
	// running helpers started on this engine (which count as live).
	Stale, Live []docker.Container
	// Images maps a local image to its environment; others must be pulled.
	Images  map[string][]string
	PullErr error
	// BindVisible says whether the daemon sees the local file system: when
	// false, bind mounts show the daemon's own (empty) directories.
	BindVisible bool
	// ReachErr is what CanReach returns.
	ReachErr error
	// Faults by command key.
	Faults map[string]*Fault
	// Unreachable, when set, is the engine not answering (a remote
	// engine's link cut): helpers' Running reports it.
	Unreachable error
	// Apps are the other containers (List, Stop/StartContainer).
	Apps []docker.Container
	// Others are more containers List sees (other databases, projects).
	Others []docker.Container
	// DatabaseExitCode is the exit code Inspect reports for the database
	// container (137: killed).
	DatabaseExitCode int
	// ContainerFiles are files of containers by "id:path" (ReadContainerFile).
	ContainerFiles map[string][]byte
	// Volumes are named volumes shared by the helpers that mount them, as
	// host directories by name; a volume mount of a name not listed gets
	// an empty directory of its own, as before volumes were modelled.
	Volumes map[string]string
	// ExecInHook, when set, answers ExecIn in containers other than the
	// database first (pg_dump in task-manager-db); handled false falls
	// through to the default.
	ExecInHook func(ctx context.Context, id string, spec docker.ExecSpec) (code int, handled bool, err error)

	// Server is the Neo4j the helper backs up and restores.
	Server *Server
	// HelperVersion is what neo4j-admin --version prints in helpers; ""
	// is the server's version (the helper runs the database's image).
	HelperVersion string
	// Admin, when set, is the helpers' neo4j-admin: every exec of
	// neo4j-admin goes to it (after Faults) instead of the built-in fake,
	// with the arguments after "neo4j-admin". It runs without the engine's
	// lock, so it may use the helper's file accessors (Files, FileData,
	// WriteFile, RemoveFile).
	Admin func(h *Helper, args []string, stdout io.Writer) int

	// Calls lists everything done, in order ("exec neo4j-admin database
	// backup ...", "start-helper infrahubdb-backup-…", "remove-helper …").
	Calls []string
	// Helpers started, in order.
	Helpers []*Helper
	// Removed lists the IDs passed to RemoveContainer.
	Removed []string
}

// New returns an engine with a database container named "database" on a
// bridge network, its /data on a volume, an enterprise image, and a Neo4j
// with the databases neo4j and system.
func New() *Engine {
	db := docker.Container{
		ID: "db-id", Name: "database", Image: "neo4j:5.26.0-enterprise", Running: true,
		Env:            []string{"NEO4J_EDITION=enterprise", "NEO4J_server_backup_listen__address=0.0.0.0:6362"},
		Networks:       []docker.Network{{Name: "infrahub_default", ID: "net-id", IP: "172.18.0.2"}},
		Mounts:         []docker.Mount{{Type: docker.MountVolume, Name: "database_data", Destination: "/data", RW: true}},
		Labels:         map[string]string{docker.DatabaseRoleLabel: docker.DatabaseRole},
		ComposeProject: "infrahub", ComposeService: "database",
	}
	return &Engine{
		Database:    &db,
		Images:      map[string][]string{db.Image: {"NEO4J_EDITION=enterprise"}},
		BindVisible: true,
		Faults:      map[string]*Fault{},
		Server:      NewServer(),
	}
}

// Record appends a call to the log (the restore tests' Admin uses it too).
func (e *Engine) Record(format string, args ...any) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.Calls = append(e.Calls, fmt.Sprintf(format, args...))
}

// CallLog returns a copy of Calls.
func (e *Engine) CallLog() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.Calls)
}

// Running lists the helpers not removed.
func (e *Engine) Running() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var names []string
	for _, h := range e.Helpers {
		if !h.removed {
			names = append(names, h.name)
		}
	}
	return names
}

// fault returns the fault for key when it fires now.
func (e *Engine) fault(key string) *Fault {
	e.mu.Lock()
	defer e.mu.Unlock()
	f := e.Faults[key]
	if f == nil {
		return nil
	}
	if f.calls++; f.calls <= f.Skip || (f.Times > 0 && f.fired >= f.Times) {
		return nil
	}
	f.fired++
	return f
}

func (e *Engine) FindDatabase(ctx context.Context, nameOrID string) (docker.Container, error) {
	e.Record("find-database %s", nameOrID)
	if e.Database != nil && (nameOrID == "" || nameOrID == e.Database.Name || nameOrID == e.Database.ID) {
		return *e.Database, nil
	}
	// A named container that is not the database, as Docker's engine finds it.
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, c := range e.Others {
		if nameOrID != "" && (c.Name == nameOrID || c.ID == nameOrID) {
			if !c.Running {
				return docker.Container{}, &docker.DatabaseContainerError{Err: fmt.Errorf("database container %s is not running: start it first", c.Name)}
			}
			return c, nil
		}
	}
	return docker.Container{}, docker.ErrNoDatabase
}

// ExecIn runs a command in a container: ExecInHook's, else only
// neo4j-admin --version, which prints the server's version.
func (e *Engine) ExecIn(ctx context.Context, id string, spec docker.ExecSpec) (int, error) {
	e.Record("exec-in %s %s", id, strings.Join(spec.Cmd, " "))
	if hook := e.ExecInHook; hook != nil {
		if code, handled, err := hook(ctx, id, spec); handled {
			return code, err
		}
	}
	if strings.Join(spec.Cmd, " ") == "neo4j-admin --version" && spec.Stdout != nil {
		fmt.Fprintln(spec.Stdout, e.Server.Version)
		return 0, nil
	}
	return 127, nil
}

func (e *Engine) StaleHelpers(ctx context.Context, target string) (stale, live []docker.Container, err error) {
	e.Record("stale-helpers %s", target)
	e.mu.Lock()
	defer e.mu.Unlock()
	live, stale = slices.Clone(e.Live), slices.Clone(e.Stale)
	for _, h := range e.Helpers {
		if !h.removed && !h.lost && h.spec.Labels[docker.LabelTarget] == target {
			live = append(live, docker.Container{ID: h.id, Name: h.name, Labels: h.spec.Labels, Running: true})
		}
	}
	// Other helper containers (AddContainer) are judged by the engine's
	// own rule, as docker.Engine judges what it lists.
	for _, c := range e.Others {
		if _, ok := c.Labels[docker.LabelHelper]; !ok || c.Labels[docker.LabelTarget] != target {
			continue
		}
		if docker.StaleHelper(c) {
			stale = append(stale, c)
		} else {
			live = append(live, c)
		}
	}
	return stale, live, nil
}

func (e *Engine) RemoveContainer(ctx context.Context, id string) error {
	e.Record("remove-container %s", id)
	e.mu.Lock()
	defer e.mu.Unlock()
	e.Removed = append(e.Removed, id)
	e.Stale = slices.DeleteFunc(e.Stale, func(c docker.Container) bool { return c.ID == id })
	e.Others = slices.DeleteFunc(e.Others, func(c docker.Container) bool { return c.ID == id })
	for _, h := range e.Helpers {
		if h.id == id {
			h.removed = true
		}
	}
	return nil
}

func (e *Engine) StartHelper(ctx context.Context, spec docker.HelperSpec) (helper.Helper, error) {
	e.Record("start-helper %s", spec.Name)
	if f := e.fault("start-helper"); f != nil {
		return nil, f.fire(ctx)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	// A created-only helper is a stopped one: no Exec, the archive API works.
	h := &Helper{eng: e, id: fmt.Sprintf("helper-%d", len(e.Helpers)+1), name: spec.Name, spec: spec, fs: newFS(), stopped: spec.CreateOnly}
	for _, m := range spec.Mounts {
		switch dir, shared := e.Volumes[m.Name]; {
		case m.Type == docker.MountBind && e.BindVisible:
			h.fs.binds[m.Destination] = m.Source
		case m.Type == docker.MountVolume && shared:
			h.fs.binds[m.Destination] = dir
		default:
			h.fs.mkdirAll(m.Destination)
		}
		if !m.RW {
			h.fs.readOnly[path.Clean(m.Destination)] = true
		}
	}
	e.Helpers = append(e.Helpers, h)
	return h, nil
}

// ImageEnv reports local images.
func (e *Engine) ImageEnv(ctx context.Context, ref string) ([]string, bool, error) {
	e.Record("image-env %s", ref)
	e.mu.Lock()
	defer e.mu.Unlock()
	env, ok := e.Images[ref]
	return env, ok, nil
}

// PullImage makes an enterprise image local unless PullErr is set.
func (e *Engine) PullImage(ctx context.Context, ref, auth string, progress func(string, int64, int64)) error {
	e.Record("pull %s", ref)
	if e.PullErr != nil {
		return e.PullErr
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.Images[ref] = []string{"NEO4J_EDITION=enterprise"}
	return nil
}

// List returns the database and the app containers carrying labels.
func (e *Engine) List(ctx context.Context, labels map[string]string, all bool) ([]docker.Container, error) {
	e.Record("list %v", labels)
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []docker.Container
	all2 := slices.Clone(e.Apps)
	if e.Database != nil {
		all2 = append([]docker.Container{*e.Database}, all2...)
	}
	all2 = append(all2, e.Others...)
	for _, h := range e.Helpers {
		if c := h.container(); c.ID != "" {
			all2 = append(all2, c)
		}
	}
	for _, c := range all2 {
		if (all || c.Running) && matchLabels(c, labels) {
			out = append(out, c)
		}
	}
	return out, nil
}

// matchLabels reports whether c carries labels (an empty value matches any);
// the Compose fields count as their labels.
func matchLabels(c docker.Container, labels map[string]string) bool {
	for k, want := range labels {
		got, ok := c.Labels[k]
		switch k {
		case docker.ComposeProjectLabel:
			got, ok = c.ComposeProject, c.ComposeProject != ""
		case docker.ComposeServiceLabel:
			got, ok = c.ComposeService, c.ComposeService != ""
		}
		if !ok || (want != "" && got != want) {
			return false
		}
	}
	return true
}

func (e *Engine) StopContainer(ctx context.Context, id string, timeout time.Duration) error {
	return e.setRunning(ctx, "stop-container", id, false)
}

func (e *Engine) StartContainer(ctx context.Context, id string) error {
	return e.setRunning(ctx, "start-container", id, true)
}

func (e *Engine) setRunning(ctx context.Context, key, id string, running bool) error {
	e.Record("%s %s", key, id)
	if f := e.fault(key); f != nil {
		return f.fire(ctx)
	}
	if isDB, err := e.setDatabaseRunning(ctx, id, running); isDB {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, cs := range [][]docker.Container{e.Apps, e.Others} {
		for i := range cs {
			if cs[i].ID == id {
				cs[i].Running = running
				return nil
			}
		}
	}
	return fmt.Errorf("no container %s", id)
}

// AppRunning reports whether the app container id runs.
func (e *Engine) AppRunning(id string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, c := range e.Apps {
		if c.ID == id {
			return c.Running
		}
	}
	return false
}

// fire applies a fault: hook, block, then its error. A nil error with a
// zero code means "do the command anyway".
func (f *Fault) fire(ctx context.Context) error {
	if f.Hook != nil {
		f.Hook()
	}
	if f.Block {
		<-ctx.Done()
		return ctx.Err()
	}
	return f.Err
}

// Server is the fake Neo4j: its databases and what they hold.
type Server struct {
	mu sync.Mutex
	// Tx is the last transaction of each database; raise it to simulate writes.
	Tx map[string]int64
	// Data is the content of each database: what the last restore loaded.
	Data map[string]string
	// Clock names backup artifacts; it advances a minute per backup run.
	Clock time.Time
	// DataOwner is what stat prints for /data.
	DataOwner string
	Version   string
	// Variants choose among undocumented behaviours of neo4j-admin.
	Variants Variants
	// stopped are the databases stopped with STOP DATABASE in a running
	// DBMS (Enterprise): neo4j-admin dump and load may work on them.
	stopped map[string]bool
}

// SetStopped records that db was stopped (STOP DATABASE) or started again
// inside the running DBMS: the restore tests' fake Admin calls it.
func (s *Server) SetStopped(db string, stopped bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped == nil {
		s.stopped = map[string]bool{}
	}
	s.stopped[db] = stopped
}

// NewServer returns a server with neo4j (10 transactions) and system.
func NewServer() *Server {
	return &Server{
		Tx:        map[string]int64{"neo4j": 10, "system": 5},
		Data:      map[string]string{"neo4j": "live data", "system": "live system"},
		Clock:     time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC),
		DataOwner: "7474:7474",
		Version:   "5.26.0",
	}
}

// Databases lists the databases, sorted.
func (s *Server) Databases() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Sorted(maps.Keys(s.Tx))
}

// Write simulates n transactions on db.
func (s *Server) Write(db string, n int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Tx[db] += n
	s.Data[db] = fmt.Sprintf("live data at tx %d", s.Tx[db])
}

// LastTx returns the last transaction of db (0 when it does not exist).
func (s *Server) LastTx(db string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.Tx[db]
}

// Content returns what db holds.
func (s *Server) Content(db string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.Data[db]
}

var errNoTunnel = errors.New("the fake engine has no Bolt tunnel: use Options.BoltAddress")

// cmdKey names a command for Faults.
func cmdKey(cmd []string) string {
	if len(cmd) == 0 {
		return ""
	}
	if cmd[0] != "neo4j-admin" {
		return cmd[0]
	}
	words := strings.Join(cmd[1:min(len(cmd), 3)], " ")
	switch {
	case strings.HasPrefix(words, "--version"):
		return "version"
	case words == "database backup":
		return "backup"
	case words == "database aggregate-backup":
		return "aggregate"
	case words == "database restore":
		return "restore"
	case words == "backup inspect":
		return "inspect"
	}
	return words
}

// ReadContainerFile returns ContainerFiles[id+":"+path].
func (e *Engine) ReadContainerFile(ctx context.Context, id, path string, max int64) ([]byte, error) {
	e.Record("read-container-file %s %s", id, path)
	e.mu.Lock()
	defer e.mu.Unlock()
	data, ok := e.ContainerFiles[id+":"+path]
	if !ok {
		return nil, fmt.Errorf("Could not find the file %s in container %s", path, id)
	}
	return data, nil
}
