package backup_test

import (
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/opsmill/docker-infrahubdb/internal/backup"
	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/docker"
	"github.com/opsmill/docker-infrahubdb/internal/helper/helpertest"
	"github.com/opsmill/docker-infrahubdb/internal/neo4j"
	"github.com/opsmill/docker-infrahubdb/internal/pgdump/pgdumptest"
	"github.com/opsmill/docker-infrahubdb/internal/progress"
)

// deploymentEngine is a stock-shaped project around an Enterprise database:
// infrahub-server (storage on a volume), task-worker, task-manager,
// task-manager-db answering pg_dump, and cache, all running.
func deploymentEngine() *helpertest.Engine {
	eng := helpertest.New()
	for _, svc := range []string{"task-worker", "infrahub-server", "task-manager", "task-manager-db", "cache"} {
		c := docker.Container{ID: svc + "-id", Name: "infrahub-" + svc + "-1", Running: true, ComposeProject: "infrahub", ComposeService: svc}
		switch svc {
		case "infrahub-server":
			c.Mounts = []docker.Mount{{Type: docker.MountVolume, Name: "infrahub_storage_data", Destination: "/opt/infrahub/storage", RW: true}}
		case "task-manager-db":
			c.Env = []string{"POSTGRES_USER=postgres", "POSTGRES_PASSWORD=postgres", "POSTGRES_DB=prefect"}
		}
		eng.Apps = append(eng.Apps, c)
	}
	eng.ExecInHook = func(ctx context.Context, id string, spec docker.ExecSpec) (int, bool, error) {
		if id != "task-manager-db-id" || len(spec.Cmd) == 0 || spec.Cmd[0] != "pg_dump" {
			return 0, false, nil
		}
		if f := eng.Faults["pg_dump"]; f != nil {
			if f.Hook != nil {
				f.Hook()
			}
			if f.Block {
				<-ctx.Done()
				return 0, true, ctx.Err()
			}
			return f.Code, true, f.Err
		}
		// The apps must be stopped while the task manager is dumped.
		state := "apps-running"
		if !eng.AppRunning("task-manager-id") && !eng.AppRunning("infrahub-server-id") {
			state = "apps-stopped"
		}
		// A real dump (restore and verify read it whole); the state it
		// was taken in is in the call log.
		eng.Record("pg_dump taken with %s", state)
		_, err := spec.Stdout.Write(pgdumptest.Dump())
		return 0, true, err
	}
	return eng
}

func consistentOptions(eng *helpertest.Engine, components []string, confirm func(*backup.DumpPlan) (bool, error)) backup.SetOptions {
	o := options(nil)
	o.Offline = backup.OfflineOptions{AppServices: []string{"infrahub-server", "task-worker"}, Confirm: confirm}
	return backup.SetOptions{Options: o, Components: components, Consistent: true}
}

func TestConsistentBackupStopsTheAppsForTheCapture(t *testing.T) {
	eng := deploymentEngine()
	folder := newFolder(t)
	var asked *backup.DumpPlan
	res, err := backup.RunSet(context.Background(), eng, folder, consistentOptions(eng, []string{"graph", "task-manager"},
		func(p *backup.DumpPlan) (bool, error) { asked = p; return true, nil }), progress.Nop)
	assert.NilError(t, err)

	assert.Assert(t, asked != nil)
	assert.Check(t, asked.Consistent)
	assert.Check(t, is.DeepEqual(asked.Apps, []string{"infrahub-task-manager-1", "infrahub-infrahub-server-1", "infrahub-task-worker-1"}))
	assert.Check(t, res.Consistent)
	assert.Check(t, res.Downtime > 0)
	assert.Check(t, is.DeepEqual(res.AppsRestarted, []string{"infrahub-task-manager-1", "infrahub-infrahub-server-1", "infrahub-task-worker-1"}))
	assertInOrder(t, eng.CallLog(), []string{
		"stop-container task-worker-id", "stop-container infrahub-server-id", "stop-container task-manager-id",
		"exec neo4j-admin database backup",
		"exec-in task-manager-db-id pg_dump",
		"start-container task-manager-id", "start-container infrahub-server-id", "start-container task-worker-id",
	})
	assert.Check(t, !hasCall(eng, "stop-container db-id"), "the database stays online")
	assert.Check(t, !hasCall(eng, "stop-container cache-id"))
	assert.Check(t, !hasCall(eng, "stop-container task-manager-db-id"))
	for _, a := range eng.Apps {
		assert.Check(t, a.Running, a.Name)
	}

	m, err := folder.ReadManifest()
	assert.NilError(t, err)
	run, ok := m.Run(res.RunID)
	assert.Assert(t, ok)
	assert.Check(t, run.Consistent && run.Complete)
	assert.Check(t, is.Len(res.Files, 1))
	data := helpertest.FolderFiles(t, folder)
	assert.Check(t, slicesHasSuffix(data, backupset.PgDumpExt), "%v", data)
	dump, err := folder.OpenChecked(res.Files[0])
	assert.NilError(t, err)
	got, _ := io.ReadAll(dump)
	dump.Close()
	assert.Check(t, is.DeepEqual(got, pgdumptest.Dump()))
	assert.Check(t, hasCall(eng, "pg_dump taken with apps-stopped"), "the apps are stopped while the task manager is dumped")
}

func TestConsistentBackupWithoutConsentChangesNothing(t *testing.T) {
	eng := deploymentEngine()
	folder := newFolder(t)
	_, err := backup.RunSet(context.Background(), eng, folder, consistentOptions(eng, nil,
		func(p *backup.DumpPlan) (bool, error) { return false, nil }), progress.Nop)
	assert.Check(t, errors.Is(err, backup.ErrNotConfirmed), "got %v", err)
	assert.Check(t, !hasCall(eng, "stop-container"))
	assert.Check(t, !hasCall(eng, "exec"))
	assert.Check(t, is.DeepEqual(helpertest.FolderFiles(t, folder), []string(nil)))

	// No terminal and no --yes: the CLI's Confirm fails; nothing changes.
	usage := errors.New("add --yes")
	_, err = backup.RunSet(context.Background(), eng, folder, consistentOptions(eng, nil,
		func(p *backup.DumpPlan) (bool, error) { return false, usage }), progress.Nop)
	assert.Check(t, errors.Is(err, usage))
	assert.Check(t, !hasCall(eng, "stop-container"))
}

func TestConsistentBackupRefusesDatabaseURL(t *testing.T) {
	eng := deploymentEngine()
	o := consistentOptions(eng, nil, nil)
	o.Target.DatabaseURL = "10.0.0.5:6362"
	_, err := backup.RunSet(context.Background(), eng, newFolder(t), o, progress.Nop)
	assert.Check(t, is.ErrorContains(err, "--consistent"))
	assert.Check(t, !hasCall(eng, "stop-container"))
}

// A fault of a run that stops the applications (--consistent on
// Enterprise; any run on Community, whose task manager and storage are
// captured inside the dump's outage) starts everything again and leaves no
// helper, no partial file and no complete run. A failed capture stops the
// Community dump and is the error reported; Ctrl-C stays an interruption.
func TestSetFaultsStartEverythingAgain(t *testing.T) {
	for _, tc := range []struct {
		name      string
		community bool
		fault     string
		f         *helpertest.Fault
		cancel    bool
		want      string
	}{
		{name: "graph backup fails", fault: "backup", f: &helpertest.Fault{Code: 1, Stderr: "Backup failed"}, want: "Backup failed"},
		{name: "pg_dump fails", fault: "pg_dump", f: &helpertest.Fault{Code: 1}, want: "pg_dump"},
		{name: "ctrl-c in pg_dump", fault: "pg_dump", f: &helpertest.Fault{Block: true}, cancel: true, want: "context canceled"},
		{name: "an app does not stop", fault: "stop-container", f: &helpertest.Fault{Err: errors.New("daemon busy"), Skip: 1, Times: 1}, want: "daemon busy"},
		{name: "community/pg_dump fails", community: true, fault: "pg_dump", f: &helpertest.Fault{Code: 1}, want: "pg_dump"},
		{name: "community/storage unreadable", community: true, fault: "copy-from", f: &helpertest.Fault{Err: errors.New("volume gone")}, want: "volume gone"},
		{name: "community/ctrl-c in pg_dump", community: true, fault: "pg_dump", f: &helpertest.Fault{Block: true}, cancel: true, want: "context canceled"},
		{name: "community/ctrl-c in the storage archive", community: true, fault: "copy-from", f: &helpertest.Fault{Block: true}, cancel: true, want: "context canceled"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eng, opts := deploymentEngine(), backup.SetOptions{}
			if tc.community {
				eng = communityDeployment()
				opts.Options = offlineOptions(eng, nil)
			} else {
				opts = consistentOptions(eng, []string{"graph", "task-manager"}, nil)
			}
			folder := newFolder(t)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tc.cancel {
				tc.f.Hook = cancel
			}
			eng.Faults[tc.fault] = tc.f
			_, err := backup.RunSet(ctx, eng, folder, opts, progress.Nop)
			assert.Check(t, is.ErrorContains(err, tc.want))
			assert.Check(t, is.Equal(errors.Is(err, context.Canceled), tc.cancel), "an interruption is one, a failure is not: %v", err)
			assert.Check(t, eng.DatabaseRunning())
			for _, a := range eng.Apps {
				assert.Check(t, a.Running, "%s started again", a.Name)
			}
			assert.Check(t, is.Len(eng.Running(), 0), "no helper left")
			for _, f := range helpertest.FolderFiles(t, folder) {
				assert.Check(t, !strings.HasSuffix(f, backupset.PartialExt), f)
				assert.Check(t, !strings.HasSuffix(f, ".dump"), "no dump of a failed run: %s", f)
			}
			m, err := folder.ReadManifest()
			assert.NilError(t, err)
			for _, r := range m.Runs {
				assert.Check(t, !r.Complete, "the failed run is not restorable")
			}
		})
	}
}

func slicesHasSuffix(names []string, suffix string) bool {
	for _, n := range names {
		if strings.HasSuffix(n, suffix) {
			return true
		}
	}
	return false
}

// On Community the dump's outage holds the applications (and the database)
// while the task manager is captured: one consent, one outage.
func TestConsistentCommunityBackupCapturesDuringTheDump(t *testing.T) {
	eng := communityDeployment()
	folder := newFolder(t)
	asked := 0
	o := consistentOptions(eng, []string{"graph", "task-manager"}, nil)
	o.Options = offlineOptions(eng, func(bo *backup.Options) {
		bo.Offline.Confirm = func(p *backup.DumpPlan) (bool, error) { asked++; return true, nil }
	})
	res, err := backup.RunSet(context.Background(), eng, folder, o, progress.Nop)
	assert.NilError(t, err)
	assert.Check(t, is.Equal(asked, 1))
	assert.Check(t, res.Consistent)
	assert.Check(t, res.Downtime > 0)
	assertInOrder(t, eng.CallLog(), []string{
		"stop-container task-worker-id", "stop-container infrahub-server-id", "stop-container task-manager-id",
		"exec-in task-manager-db-id pg_dump",
		"start-container db-id", "start-container infrahub-server-id", "start-container task-worker-id",
	})
	// The task manager starts first of the applications (docs/outage.md).
	assertInOrder(t, eng.CallLog(), []string{"exec-in task-manager-db-id pg_dump", "start-container task-manager-id", "start-container infrahub-server-id"})
	assert.Check(t, is.Equal(len(helpertest.CallsWith(eng.CallLog(), "stop-container task-manager-id")), 1), "one outage")
	m, err := folder.ReadManifest()
	assert.NilError(t, err)
	run, ok := m.Run(res.RunID)
	assert.Assert(t, ok)
	assert.Check(t, run.Consistent && run.Complete)
	assert.Check(t, is.Len(m.RunFiles(res.RunID), 3), "neo4j and system dumps and the task manager")
	for _, a := range eng.Apps {
		assert.Check(t, a.Running, a.Name)
	}
}

// The helper image is pulled before the applications stop, not during the
// downtime; a pull that fails stops nothing.
func TestConsistentBackupPullsTheHelperImageFirst(t *testing.T) {
	eng := deploymentEngine()
	o := consistentOptions(eng, []string{"graph"}, nil)
	o.HelperImage = "neo4j:5.26.1-enterprise"
	_, err := backup.RunSet(context.Background(), eng, newFolder(t), o, progress.Nop)
	assert.NilError(t, err)
	calls := eng.CallLog()
	assert.Check(t, firstIndex(calls, "pull neo4j:5.26.1-enterprise") >= 0)
	assert.Check(t, firstIndex(calls, "pull ") < firstIndex(calls, "stop-container"), "%v", calls)

	eng = deploymentEngine()
	eng.PullErr = errors.New("registry unreachable")
	o = consistentOptions(eng, []string{"graph"}, nil)
	o.HelperImage = "neo4j:5.26.1-enterprise"
	_, err = backup.RunSet(context.Background(), eng, newFolder(t), o, progress.Nop)
	assert.Check(t, is.ErrorContains(err, "registry unreachable"))
	assert.Check(t, !hasCall(eng, "stop-container"))
}

// countingOptions are those of backup --consistent --component graph on
// Enterprise, with a Bolt login that takes the password "admin".
func countingOptions(eng *helpertest.Engine, password string) backup.SetOptions {
	opts := consistentOptions(eng, []string{"graph"}, nil)
	bolt := &fakeBolt{eng: eng}
	opts.Offline.Connect, opts.Offline.BoltAddress = bolt.connect, "127.0.0.1:17687"
	opts.Offline.Credentials = &neo4j.Credentials{User: "neo4j", Password: password}
	return opts
}

// With --consistent on Enterprise the applications are stopped while the
// online backup runs: nothing writes, so the graph's counts are those of the
// backup and are recorded with its files, for a drill to compare.
func TestConsistentEnterpriseBackupRecordsTheGraphFigures(t *testing.T) {
	eng := deploymentEngine()
	folder := newFolder(t)
	opts := countingOptions(eng, "admin")
	res, err := backup.RunSet(context.Background(), eng, folder, opts, progress.Nop)
	assert.NilError(t, err)

	assertInOrder(t, eng.CallLog(), []string{
		"stop-container infrahub-server-id",
		"count-nodes neo4j",
		"exec neo4j-admin database backup",
		"start-container infrahub-server-id",
	})
	assert.Check(t, !hasCall(eng, "count-nodes system"), "system holds no Infrahub data")
	m, err := folder.ReadManifest()
	assert.NilError(t, err)
	var graph int
	for _, f := range m.Files {
		if f.RunID != res.RunID || f.Component != backupset.ComponentGraph || f.Database != "neo4j" {
			continue
		}
		graph++
		assert.Check(t, is.Equal(f.Figures["nodes:neo4j"], int64(42)), "%+v", f)
		assert.Check(t, is.Equal(f.Figures["relationships:neo4j:IS_PART_OF"], int64(7)), "%+v", f.Figures)
		assert.Check(t, is.Equal(f.RootID, "root-of-neo4j"))
	}
	assert.Check(t, graph > 0, "%+v", m.Files)
}

// Figures are a help for the drill, not a condition of the backup: a
// wrong password records none, says so, and the backup succeeds.
func TestConsistentEnterpriseBackupWithoutALoginRecordsNoFigures(t *testing.T) {
	eng := deploymentEngine()
	folder := newFolder(t)
	opts := countingOptions(eng, "wrong")
	pw := &recorder{}
	res, err := backup.RunSet(context.Background(), eng, folder, opts, pw)
	assert.NilError(t, err)
	assert.Check(t, is.Contains(pw.text(), "the graph's figures could not be recorded"))
	for _, f := range res.Files {
		assert.Check(t, is.Len(f.Figures, 0), "%+v", f)
	}
	for _, a := range eng.Apps {
		assert.Check(t, a.Running, a.Name)
	}
}

// The run's record is written open before anything stops (a run killed
// meanwhile stays listed as interrupted) and closed by its end; a run
// that changed nothing leaves no record.
func TestRunRecordIsOpenWhileTheRunLasts(t *testing.T) {
	eng := deploymentEngine()
	folder := newFolder(t)
	var during backupset.RunRecord
	res, err := backup.RunSet(context.Background(), eng, folder, consistentOptions(eng, []string{"graph", "task-manager"},
		func(p *backup.DumpPlan) (bool, error) {
			m, err := folder.ReadManifest()
			assert.NilError(t, err)
			assert.Assert(t, is.Len(m.Runs, 1))
			during = m.Runs[0]
			return true, nil
		}), progress.Nop)
	assert.NilError(t, err)
	host, _ := os.Hostname()
	assert.Check(t, during.Open && !during.Complete)
	assert.Check(t, is.Equal(during.Host, host))
	assert.Check(t, is.Equal(during.PID, os.Getpid()))
	m, err := folder.ReadManifest()
	assert.NilError(t, err)
	r, ok := m.Run(res.RunID)
	assert.Assert(t, ok)
	assert.Check(t, r.Complete && !r.Open && r.Host == "" && r.PID == 0 && r.Step == "")
}
