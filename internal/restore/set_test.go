package restore_test

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/opsmill/docker-infrahubdb/internal/backup"
	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/docker"
	"github.com/opsmill/docker-infrahubdb/internal/guardian/agent"
	"github.com/opsmill/docker-infrahubdb/internal/helper"
	"github.com/opsmill/docker-infrahubdb/internal/helper/helpertest"
	"github.com/opsmill/docker-infrahubdb/internal/neo4j"
	"github.com/opsmill/docker-infrahubdb/internal/neo4jbackup"
	"github.com/opsmill/docker-infrahubdb/internal/pgdump/pgdumptest"
	"github.com/opsmill/docker-infrahubdb/internal/progress"
	"github.com/opsmill/docker-infrahubdb/internal/restore"
)

// fakePostgres is the task manager's database of the fake engine: pg_dump
// prints a real dump with its rows behind, pg_restore replaces them with
// its input.
type fakePostgres struct {
	mu   sync.Mutex
	rows string
	// restoreErr makes the next pg_restore fail (exit 1) without changes;
	// failFrom makes every pg_restore from the failFrom-th on fail.
	restoreErr bool
	failFrom   int
	restores   int
	// interrupt, when set, is Ctrl-C during the next pg_restore: after it
	// applied its input when committed, else while inside its transaction
	// (psql then finds its session and ends it).
	interrupt func()
	committed bool
	session   string // the last statement of a pg_restore left running
}

func (p *fakePostgres) exec(ctx context.Context, id string, spec docker.ExecSpec) (int, bool, error) {
	if id != "task-manager-db-id" || len(spec.Cmd) == 0 {
		return 0, false, nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	switch spec.Cmd[0] {
	case "pg_dump":
		_, err := io.WriteString(spec.Stdout, string(pgdumptest.Dump())+p.rows)
		return 0, true, err
	case "pg_restore":
		data, err := io.ReadAll(spec.Stdin)
		if err != nil {
			return 0, true, err
		}
		p.restores++
		if p.interrupt != nil {
			if p.committed {
				p.rows = strings.TrimPrefix(string(data), string(pgdumptest.Dump()))
			} else {
				p.session = "CREATE INDEX flow_run_name ON public.flow_run"
			}
			p.interrupt()
			p.interrupt = nil
			return -1, true, ctx.Err()
		}
		if p.restoreErr || p.failFrom > 0 && p.restores >= p.failFrom {
			p.restoreErr = false
			return 1, true, nil
		}
		p.rows = strings.TrimPrefix(string(data), string(pgdumptest.Dump()))
		return 0, true, nil
	case "psql": // ending the session of an unfinished pg_restore
		if p.session != "" {
			p.session = ""
			_, err := io.WriteString(spec.Stdout, "1|0|1\n")
			return 0, true, err
		}
		_, err := io.WriteString(spec.Stdout, "0|0|0\n")
		return 0, true, err
	}
	return 0, false, nil
}

// setFixture is newFixture's deployment with the task manager, its database
// and the storage volume, and one backup run of every component.
func setFixture(t *testing.T) (*fixture, *fakePostgres) {
	t.Helper()
	f := newFixture(t)
	pg := &fakePostgres{rows: "rows at backup"}
	f.eng.ExecInHook = pg.exec
	f.eng.Apps = append(f.eng.Apps,
		docker.Container{ID: "task-manager-id", Name: "infrahub-task-manager-1", ComposeProject: "infrahub", ComposeService: "task-manager", Running: true},
		docker.Container{ID: "task-manager-db-id", Name: "infrahub-task-manager-db-1", ComposeProject: "infrahub", ComposeService: "task-manager-db", Running: true,
			Env: []string{"POSTGRES_USER=postgres", "POSTGRES_PASSWORD=pw", "POSTGRES_DB=prefect"}},
	)
	for i := range f.eng.Apps {
		if f.eng.Apps[i].ID == "server-id" {
			f.eng.Apps[i].Mounts = []docker.Mount{{Type: docker.MountVolume, Name: "infrahub_storage_data", Destination: "/opt/infrahub/storage", RW: true}}
		}
	}
	_, err := backup.RunSet(context.Background(), f.eng, f.folder, backup.SetOptions{Options: backup.Options{
		Transfer: helper.TransferAuto, Type: neo4jbackup.TypeAuto, IncludeMetadata: "all", Aggregate: true, Tool: "docker-infrahubdb test",
	}}, progress.Nop)
	assert.NilError(t, err)
	pg.rows = "rows damaged"
	f.eng.Calls, f.eng.Helpers = nil, nil
	f.before = helpertest.FolderState(t, f.folder)
	return f, pg
}

func (f *fixture) runSet(ctx context.Context, components ...string) (*restore.SetResult, error) {
	connect := func(ctx context.Context, address string, creds neo4j.Credentials) (restore.Admin, error) {
		f.eng.Record("connect %s %s", address, creds.User)
		return f.admin, nil
	}
	return restore.RunSet(ctx, f.eng, connect, f.folder, restore.SetOptions{Options: f.opts, Components: components}, progress.Nop)
}

func TestRunSetRestoresEveryComponentInOrder(t *testing.T) {
	f, pg := setFixture(t)
	res, err := f.runSet(context.Background())
	assert.NilError(t, err)
	assert.Check(t, is.DeepEqual(res.Restored, []string{backupset.ComponentTaskManager, backupset.ComponentStorage, backupset.ComponentGraph}))
	assert.Check(t, is.Equal(pg.rows, "rows at backup"))
	calls := f.eng.CallLog()
	assertOrder(t, calls,
		"stop-container task-manager-id", // the workers and the server stop first (the worker was not running)
		"exec-in task-manager-db-id pg_dump", "exec-in task-manager-db-id pg_restore",
		"copy-from /storage/.", "exec find /storage -mindepth 1 -delete", "copy-to /",
		"exec neo4j-admin database restore",
		"start-container task-manager-id", "start-container server-id",
	)
	assert.Check(t, firstIndex(calls, "stop-container server-id") < firstIndex(calls, "stop-container task-manager-id"), "infrahub-server stops before the task manager")
	assert.Check(t, !hasPrefix(calls, "stop-container task-manager-db-id"), "the task manager's database stays up")
	for _, c := range helpertest.CallsWith(calls, "exec neo4j-admin database restore") {
		assert.Check(t, !strings.Contains(c, "--restore-until"), "the run's graph files are restored whole: %s", c)
	}
	assert.Check(t, is.DeepEqual(res.AppsRestarted, []string{"infrahub-cache-1", "infrahub-task-manager-1", "infrahub-server-1"}))
	// The cache is emptied after the applications stopped, before any
	// component is replaced.
	assertOrder(t, calls, "stop-container cache-id", "exec find /transient -mindepth 1 -delete", "exec-in task-manager-db-id pg_restore", "start-container cache-id")
	// The safety copies are recorded in the safety folder's manifest:
	// `verify` checks them like any backup.
	safety, err := backupset.Open(res.Plan.SafetyDir)
	assert.NilError(t, err)
	m, err := safety.ReadManifest()
	assert.NilError(t, err)
	var comps []string
	for _, r := range m.Files {
		comps = append(comps, r.Component)
		file, err := safety.OpenChecked(r)
		assert.Check(t, err, r.Name)
		if err == nil {
			file.Close()
		}
	}
	// The graph's: a full backup taken before the applications stopped,
	// a differential one on top after.
	assert.Check(t, is.DeepEqual(comps, []string{backupset.ComponentStorage, backupset.ComponentGraph, backupset.ComponentGraph, backupset.ComponentTaskManager}))
	assertOrder(t, calls,
		"exec neo4j-admin database backup --from=127.0.0.1:6362 --to-path=/backups/safety/neo4j --type=FULL",
		"stop-container server-id",
		"exec neo4j-admin database backup --from=127.0.0.1:6362 --to-path=/backups/safety/neo4j --type=AUTO",
		"exec neo4j-admin database restore",
	)
	// ... as one complete run (TestSafetyFolderIsARestorableRun).
	assert.Check(t, is.Len(m.Runs, 1))
	for _, a := range f.eng.Apps {
		if a.ID != "worker-id" {
			assert.Check(t, a.Running, a.Name)
		}
	}
}

func TestRunSetGraphFailureRollsBackTheOthers(t *testing.T) {
	f, pg := setFixture(t)
	f.eng.Faults["restore"] = &helpertest.Fault{Code: 1, Stderr: "restore failed", Times: 1}
	_, err := f.runSet(context.Background())
	var rolled *restore.ComponentsRolledBackError
	assert.Assert(t, errors.As(err, &rolled), "got %v", err)
	assert.Check(t, is.Equal(rolled.Component, backupset.ComponentGraph))
	assert.Check(t, is.DeepEqual(rolled.RolledBack, []string{backupset.ComponentStorage, backupset.ComponentTaskManager}))
	assert.Check(t, is.Equal(pg.rows, "rows damaged"), "the task manager is as it was before the restore")
	for _, a := range f.eng.Apps {
		if a.ID != "worker-id" {
			assert.Check(t, a.Running, a.Name)
		}
	}
}

func TestRunSetTaskManagerFailureChangesNothingElse(t *testing.T) {
	f, pg := setFixture(t)
	pg.restoreErr = true
	_, err := f.runSet(context.Background())
	var rolled *restore.ComponentsRolledBackError
	assert.Assert(t, errors.As(err, &rolled), "got %v", err)
	assert.Check(t, is.Equal(rolled.Component, backupset.ComponentTaskManager))
	assert.Check(t, is.Len(rolled.RolledBack, 0), "pg_restore runs in one transaction: nothing to roll back")
	assert.Check(t, is.ErrorContains(err, "the task manager is as it was"))
	assert.Check(t, is.Equal(pg.rows, "rows damaged"))
	calls := f.eng.CallLog()
	assert.Check(t, !hasPrefix(calls, "copy-to"), "the storage is untouched")
	assert.Check(t, !hasPrefix(calls, "exec neo4j-admin database restore"), "the graph is untouched")
	assert.Check(t, hasPrefix(calls, "start-container task-manager-id"))
}

func TestRunSetComponentChoosesWhatIsRestored(t *testing.T) {
	f, pg := setFixture(t)
	res, err := f.runSet(context.Background(), backupset.ComponentTaskManager)
	assert.NilError(t, err)
	assert.Check(t, is.DeepEqual(res.Restored, []string{backupset.ComponentTaskManager}))
	assert.Check(t, is.Equal(pg.rows, "rows at backup"))
	assert.Check(t, !hasPrefix(f.eng.CallLog(), "exec neo4j-admin database restore"))
	assert.Check(t, !hasPrefix(f.eng.CallLog(), "copy-to"))
}

func assertOrder(t *testing.T, calls []string, want ...string) {
	t.Helper()
	i := 0
	for _, c := range calls {
		if i < len(want) && strings.HasPrefix(c, want[i]) {
			i++
		}
	}
	assert.Check(t, i == len(want), "calls out of order; missing %q in\n%s", want[min(i, len(want)-1)], strings.Join(calls, "\n"))
}

func firstIndex(calls []string, prefix string) int {
	for i, c := range calls {
		if strings.HasPrefix(c, prefix) {
			return i
		}
	}
	return -1
}

func TestRunSetRollbackFailingIsDegraded(t *testing.T) {
	f, pg := setFixture(t)
	f.eng.Faults["restore"] = &helpertest.Fault{Code: 1, Stderr: "restore failed", Times: 1}
	pg.failFrom = 2 // the task manager's rollback fails
	_, err := f.runSet(context.Background())
	var degraded *restore.ComponentsDegradedError
	assert.Assert(t, errors.As(err, &degraded), "got %v", err)
	assert.Check(t, is.Equal(degraded.Component, backupset.ComponentGraph))
	assert.Check(t, is.DeepEqual(degraded.RolledBack, []string{backupset.ComponentStorage}))
	assert.Assert(t, is.Len(degraded.NotRolledBack, 1))
	assert.Check(t, is.Contains(degraded.NotRolledBack[0], "task-manager"))
	assert.Check(t, is.Contains(degraded.NotRolledBack[0], "safety-"), "says where the previous content is")
	for _, a := range f.eng.Apps {
		if a.ID != "worker-id" {
			assert.Check(t, a.Running, a.Name)
		}
	}
}

// Ctrl-C during pg_restore. Ended inside its one transaction it changed
// nothing: no rollback is needed. When its end is unknown it may have
// committed: the safety dump is put back; without one the restore is
// degraded and says so. Everything starts again, and the run counts as
// interrupted.
func TestRunSetInterruptedPgRestore(t *testing.T) {
	for _, tc := range []struct {
		name       string
		committed  bool
		noSafety   bool
		rolledBack []string
		degraded   bool
		rows       string
	}{
		{name: "inside its transaction", rows: "rows damaged"},
		{name: "outcome unknown", committed: true, rolledBack: []string{backupset.ComponentTaskManager}, rows: "rows damaged"},
		{name: "outcome unknown without a safety dump", committed: true, noSafety: true, degraded: true, rows: "rows at backup"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, pg := setFixture(t)
			if tc.noSafety {
				f.opts.SafetyBackup = false
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			pg.interrupt, pg.committed = cancel, tc.committed
			_, err := f.runSet(ctx)
			assert.Check(t, errors.Is(err, context.Canceled), "got %v", err)
			var rolled *restore.ComponentsRolledBackError
			var degraded *restore.ComponentsDegradedError
			if tc.degraded {
				assert.Assert(t, errors.As(err, &degraded), "got %v", err)
				assert.Check(t, is.Len(degraded.NotRolledBack, 1))
				assert.Check(t, is.Contains(degraded.NotRolledBack[0], "no safety dump"))
			} else {
				assert.Assert(t, errors.As(err, &rolled), "got %v", err)
				assert.Check(t, is.DeepEqual(rolled.RolledBack, tc.rolledBack))
			}
			assert.Check(t, is.Equal(pg.rows, tc.rows))
			assert.Check(t, is.Equal(pg.session, ""), "no pg_restore left running")
			calls := f.eng.CallLog()
			assert.Check(t, hasPrefix(calls, "exec-in task-manager-db-id psql"), "the session was looked for and ended")
			assert.Check(t, !hasPrefix(calls, "copy-to"), "the storage is untouched")
			assert.Check(t, !hasPrefix(calls, "exec neo4j-admin database restore"), "the graph is untouched")
			for _, a := range f.eng.Apps {
				if a.ID != "worker-id" {
					assert.Check(t, a.Running, a.Name)
				}
			}
		})
	}
}

// guardLog is a restore.Guard that records what it is told.
type guardLog struct {
	mu   sync.Mutex
	told []string
	// eng, when set, also records KeepCopy in the engine's calls (their
	// order); keepErr fails it.
	eng     *helpertest.Engine
	keepErr error
	kept    []byte
	// holds names the helper of each component whose copy the guardian
	// holds (KeepCopy), until told the component's next state.
	holds map[string]string
	// putBack is what the last Replacing was told.
	putBack []agent.Command
}

func (g *guardLog) PutBackIn(component, helper string) bool {
	g.mu.Lock()
	_, ok := g.holds[component]
	if ok {
		g.holds[component] = helper
	}
	g.mu.Unlock()
	if ok {
		g.add(component + " put back in " + helper[:strings.LastIndex(helper, "-")])
		if g.eng != nil {
			g.eng.Record("guardian puts %s back in %s", component, helper)
		}
	}
	return ok
}

func (g *guardLog) KeepCopy(ctx context.Context, component, helper, mount string, archive *docker.Program) error {
	if g.eng != nil {
		g.eng.Record("guardian keeps %s copy for %s at %s", component, helper, mount)
	}
	if g.keepErr != nil {
		return g.keepErr
	}
	rc, err := archive.Open()
	if err != nil {
		return err
	}
	defer rc.Close()
	g.kept, err = io.ReadAll(rc)
	if err == nil && int64(len(g.kept)) != archive.Size {
		err = errors.New("size differs")
	}
	if err == nil {
		g.add(component + " kept in " + helper[:strings.LastIndex(helper, "-")] + " at " + mount)
		g.mu.Lock()
		if g.holds == nil {
			g.holds = map[string]string{}
		}
		g.holds[component] = helper
		g.mu.Unlock()
	}
	return err
}
func (g *guardLog) Armed() (bool, string) { return true, "" }

func (g *guardLog) Replacing(ctx context.Context, helper string, putBack []agent.Command) error {
	g.mu.Lock()
	g.putBack = putBack
	g.mu.Unlock()
	g.add("graph replacing")
	return nil
}
func (g *guardLog) Replaced(ctx context.Context) { g.add("graph replaced") }
func (g *guardLog) Component(ctx context.Context, component, state, safety string) error {
	g.mu.Lock()
	helper, held := g.holds[component]
	if state != agent.ComponentReplacing {
		delete(g.holds, component)
	}
	g.mu.Unlock()
	if g.eng != nil {
		if held && state == agent.ComponentReplacing {
			g.eng.Record("guardian told %s %s in %s", component, state, helper)
		} else {
			g.eng.Record("guardian told %s %s", component, state)
		}
	}
	if safety != "" {
		state += " (safety " + filepath.Ext(safety) + ")"
	}
	g.add(component + " " + state)
	return nil
}
func (g *guardLog) add(s string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.told = append(g.told, s)
}

// The guardian is told each component's state, so that a run lost between
// two components leaves a record of which holds new, old or torn data.
func TestRunSetTellsTheGuardianEachComponentsState(t *testing.T) {
	f, _ := setFixture(t)
	g := &guardLog{}
	f.opts.Guard = g
	_, err := f.runSet(context.Background())
	assert.NilError(t, err)
	assert.Check(t, is.DeepEqual(g.told, []string{
		"task-manager replacing (safety .pgdump)", "task-manager new",
		"storage kept in infrahubdb-restore-storage at /storage",
		"storage replacing (safety .tar)", "storage new",
		"graph replacing", "graph replaced",
	}))
}

func TestRunSetTellsTheGuardianWhatTheRollbackPutBack(t *testing.T) {
	f, _ := setFixture(t)
	f.eng.Faults["restore"] = &helpertest.Fault{Code: 1, Stderr: "restore failed", Times: 1}
	g := &guardLog{}
	f.opts.Guard = g
	_, err := f.runSet(context.Background())
	assert.Assert(t, err != nil)
	told := strings.Join(g.told, ", ")
	assert.Check(t, is.Contains(told, "storage new, graph replacing"), told)
	assert.Check(t, is.Contains(told, "storage old, task-manager old"), "rolled back, most recent first: %s", told)
}

// A pg_restore that fails inside its transaction changed nothing: the
// guardian hears "old" at once.
func TestRunSetTellsTheGuardianAFailedPgRestoreChangedNothing(t *testing.T) {
	f, pg := setFixture(t)
	pg.restoreErr = true
	g := &guardLog{}
	f.opts.Guard = g
	_, err := f.runSet(context.Background())
	assert.Assert(t, err != nil)
	assert.Check(t, is.DeepEqual(g.told, []string{"task-manager replacing (safety .pgdump)", "task-manager old"}))
}

// The storage's safety archive is copied into the guardian after it is
// taken and before the storage is emptied, as the stream the extraction
// takes (its root "storage/"): a run lost mid-extraction leaves the
// guardian all it needs to put the storage back.
func TestRunSetGivesTheGuardianTheStorageCopyBeforeTheExtraction(t *testing.T) {
	f, _ := setFixture(t)
	g := &guardLog{eng: f.eng}
	f.opts.Guard = g
	_, err := f.runSet(context.Background())
	assert.NilError(t, err)
	assertOrder(t, f.eng.CallLog(),
		"copy-from /storage/.", "guardian keeps storage copy for infrahubdb-restore-storage", "exec find /storage -mindepth 1 -delete", "copy-to /")
	tr := tar.NewReader(bytes.NewReader(g.kept))
	h, err := tr.Next()
	assert.NilError(t, err)
	assert.Check(t, is.Equal(h.Name, "storage/"))
}

// A copy into the guardian that fails (the Docker host's disk full) fails
// the restore before the storage is touched.
func TestRunSetFailedGuardianCopyChangesNothing(t *testing.T) {
	f, _ := setFixture(t)
	g := &guardLog{eng: f.eng, keepErr: errors.New("no space left on device")}
	f.opts.Guard = g
	_, err := f.runSet(context.Background(), backupset.ComponentStorage)
	var rolled *restore.ComponentsRolledBackError
	assert.Assert(t, errors.As(err, &rolled), "%v", err)
	assert.Check(t, is.Equal(rolled.Component, backupset.ComponentStorage))
	assert.Check(t, is.ErrorContains(err, "nothing was changed"))
	assert.Check(t, is.ErrorContains(err, "no space left on device"))
	calls := f.eng.CallLog()
	assert.Check(t, !hasPrefix(calls, "exec find /storage"), "the storage was emptied")
	assert.Check(t, !hasPrefix(calls, "copy-to /"), "the storage was extracted into")
	assert.Check(t, !slices.Contains(g.told, "storage replacing (safety .tar)"), "%v", g.told)
	for _, a := range f.eng.Apps {
		if a.ID != "worker-id" {
			assert.Check(t, a.Running, a.Name)
		}
	}
}

// The storage's extraction fails: the rollback extracts the safety copy in
// a helper of its own, and tells the guardian that helper before it
// touches the storage. The restore's helper, which the guardian would put
// the storage back in until then, is removed only after: at every point
// of the rollback, a run lost (kill -9) leaves the guardian a running
// helper to put its copy back in.
func TestRunSetTellsTheGuardianTheRollbacksHelperFirst(t *testing.T) {
	f, _ := setFixture(t)
	f.eng.Faults["copy-to"] = &helpertest.Fault{Err: errors.New("no space left on device"), Times: 1}
	g := &guardLog{eng: f.eng}
	f.opts.Guard = g
	_, err := f.runSet(context.Background(), backupset.ComponentStorage)
	var rolled *restore.ComponentsRolledBackError
	assert.Assert(t, errors.As(err, &rolled), "%v", err)
	assert.Check(t, is.DeepEqual(rolled.RolledBack, []string{backupset.ComponentStorage}))
	assert.Check(t, is.DeepEqual(g.told, []string{
		"storage kept in infrahubdb-restore-storage at /storage",
		"storage replacing (safety .tar)",
		"storage put back in infrahubdb-rollback-storage",
		"storage replacing (safety .tar)",
		"storage old",
	}))
	calls := f.eng.CallLog()
	assertOrder(t, calls,
		"guardian told storage replacing in infrahubdb-restore-storage",
		"exec find /storage -mindepth 1 -delete", // the extraction fails
		"start-helper infrahubdb-rollback-storage",
		"guardian told storage replacing in infrahubdb-rollback-storage",
		"remove-helper infrahubdb-restore-storage",
		"exec find /storage -mindepth 1 -delete", "copy-to /",
		"remove-helper infrahubdb-rollback-storage",
		"guardian told storage old")
	assert.Check(t, is.Len(f.eng.Running(), 0), "no helper left")
}

// The graph fails after the storage was replaced: the guardian dropped its
// copy when told so; the storage's rollback gives it again, in the
// rollback's helper, before it touches the storage.
func TestRunSetGivesTheGuardianTheStorageCopyAgainForTheRollback(t *testing.T) {
	f, _ := setFixture(t)
	f.eng.Faults["restore"] = &helpertest.Fault{Code: 1, Stderr: "restore failed", Times: 1}
	g := &guardLog{eng: f.eng}
	f.opts.Guard = g
	_, err := f.runSet(context.Background())
	assert.Assert(t, err != nil)
	told := strings.Join(g.told, ", ")
	assert.Check(t, is.Contains(told, "storage new, graph replacing"), told)
	assert.Check(t, is.Contains(told, "storage kept in infrahubdb-rollback-storage at /storage, storage replacing (safety .tar), storage old"), told)
	assertOrder(t, f.eng.CallLog(),
		"exec neo4j-admin database restore",
		"start-helper infrahubdb-rollback-storage",
		"guardian keeps storage copy for infrahubdb-rollback-storage",
		"guardian told storage replacing in infrahubdb-rollback-storage",
		"exec find /storage -mindepth 1 -delete", "copy-to /",
		"guardian told storage old")
}
