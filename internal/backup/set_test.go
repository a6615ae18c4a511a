package backup_test

import (
	"context"
	"errors"
	"io"
	"os"
	"slices"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/opsmill/docker-infrahubdb/internal/backup"
	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/docker"
	"github.com/opsmill/docker-infrahubdb/internal/helper"
	"github.com/opsmill/docker-infrahubdb/internal/helper/helpertest"
	"github.com/opsmill/docker-infrahubdb/internal/pgdump/pgdumptest"
	"github.com/opsmill/docker-infrahubdb/internal/progress"
)

func TestRunSetTakesEveryComponent(t *testing.T) {
	eng := deploymentEngine()
	folder := newFolder(t)
	res, err := backup.RunSet(context.Background(), eng, folder, backup.SetOptions{Options: options(nil)}, progress.Nop)
	assert.NilError(t, err)
	assert.Check(t, is.DeepEqual(res.Components, []string{backupset.ComponentGraph, backupset.ComponentTaskManager, backupset.ComponentStorage}))
	assert.Check(t, !res.Consistent)
	assert.Check(t, !hasCall(eng, "stop-container"), "an online run stops nothing")
	m, err := folder.ReadManifest()
	assert.NilError(t, err)
	run, ok := m.Run(res.RunID)
	assert.Assert(t, ok)
	assert.Check(t, run.Complete && !run.Consistent)
	assert.Check(t, is.Equal(run.Project, "infrahub"))
	for _, f := range m.RunFiles(res.RunID) {
		assert.Check(t, f.Component != "", f.Name)
	}
	assert.Check(t, is.Len(eng.Running(), 0), "no helper left")
}

func TestRunSetSkipsAbsentComponents(t *testing.T) {
	eng := deploymentEngine()
	eng.Apps = slices.DeleteFunc(eng.Apps, func(c docker.Container) bool { return c.ComposeService == "task-manager-db" })
	for i := range eng.Apps {
		if eng.Apps[i].ComposeService == "infrahub-server" {
			eng.Apps[i].Env = []string{"INFRAHUB_STORAGE_DRIVER=s3", "AWS_S3_BUCKET_NAME=infrahub-files"}
		}
	}
	folder := newFolder(t)
	res, err := backup.RunSet(context.Background(), eng, folder, backup.SetOptions{Options: options(nil)}, progress.Nop)
	assert.NilError(t, err)
	assert.Check(t, is.DeepEqual(res.Components, []string{backupset.ComponentGraph}))
	assert.Assert(t, is.Len(res.Skipped, 2))
	assert.Check(t, is.Equal(res.Skipped[0].Component, backupset.ComponentTaskManager))
	assert.Check(t, is.Contains(res.Skipped[1].Reason, `bucket "infrahub-files"`))
	m, err := folder.ReadManifest()
	assert.NilError(t, err)
	run, _ := m.Run(res.RunID)
	assert.Check(t, run.Complete)
	assert.Check(t, is.Len(run.Skipped, 2))

	// Named with --component, an absent component is an error, before
	// anything is written.
	folder = newFolder(t)
	_, err = backup.RunSet(context.Background(), eng, folder, backup.SetOptions{Options: options(nil), Components: []string{backupset.ComponentTaskManager}}, progress.Nop)
	var env *helper.EnvironmentError
	assert.Check(t, errors.As(err, &env), "got %v", err)
	assert.Check(t, is.DeepEqual(helpertest.FolderFiles(t, folder), []string(nil)))
}

func TestRunSetFailureLeavesAnIncompleteRun(t *testing.T) {
	eng := deploymentEngine()
	eng.Faults["copy-from"] = &helpertest.Fault{Err: errors.New("volume gone")}
	folder := newFolder(t)
	_, err := backup.RunSet(context.Background(), eng, folder, backup.SetOptions{Options: options(nil)}, progress.Nop)
	assert.Check(t, is.ErrorContains(err, "volume gone"))
	m, err := folder.ReadManifest()
	assert.NilError(t, err)
	assert.Assert(t, is.Len(m.Runs, 1))
	assert.Check(t, !m.Runs[0].Complete, "the run is not restorable")
	var comps []string
	for _, f := range m.RunFiles(m.Runs[0].ID) {
		comps = append(comps, f.Component)
	}
	assert.Check(t, slices.Contains(comps, backupset.ComponentTaskManager), "what was written stays verifiable: %v", comps)
	assert.Check(t, !slices.Contains(comps, backupset.ComponentStorage))
	assert.Check(t, is.Len(eng.Running(), 0), "no helper left")
}

// communityDeployment is deploymentEngine around the stock Neo4j Community
// database (no label, found as the Compose project's database service).
func communityDeployment() *helpertest.Engine {
	eng := deploymentEngine()
	db := eng.Database
	db.Image = "neo4j:2025.10.1-community"
	db.Env = []string{"NEO4J_EDITION=community", "NEO4J_AUTH=neo4j/admin"}
	db.Labels = map[string]string{}
	eng.Images = map[string][]string{db.Image: {"NEO4J_EDITION=community"}}
	return eng
}

// A Community backup is consistent by construction (issue 13 item 5): the
// dump stops the applications, and the task manager and the storage are
// captured inside that outage, before the applications start again, with
// no --consistent and no second outage.
func TestCommunityRunCapturesEveryComponentWhileTheAppsAreStopped(t *testing.T) {
	eng := communityDeployment()
	// The storage is read while the applications are stopped.
	storageRead := ""
	eng.Faults["copy-from"] = &helpertest.Fault{Hook: func() {
		if !eng.AppRunning("infrahub-server-id") && !eng.AppRunning("task-manager-id") {
			storageRead = "apps-stopped"
		}
	}}
	folder := newFolder(t)
	asked := 0
	o := backup.SetOptions{Options: offlineOptions(eng, func(bo *backup.Options) {
		bo.Offline.Confirm = func(p *backup.DumpPlan) (bool, error) { asked++; return true, nil }
	})}
	res, err := backup.RunSet(context.Background(), eng, folder, o, progress.Nop)
	assert.NilError(t, err)
	assert.Check(t, is.Equal(asked, 1), "one consent: the dump's")
	assert.Check(t, is.DeepEqual(res.Components, []string{backupset.ComponentGraph, backupset.ComponentTaskManager, backupset.ComponentStorage}))
	assert.Check(t, res.Consistent, "a Community run is consistent")
	assert.Check(t, res.Downtime > 0)

	calls := eng.CallLog()
	stopped := []string{"stop-container task-worker-id", "stop-container infrahub-server-id", "stop-container task-manager-id"}
	// The task manager starts first of the applications (docs/outage.md).
	started := []string{"start-container db-id", "start-container infrahub-server-id", "start-container task-worker-id"}
	for _, capture := range []string{"exec-in task-manager-db-id pg_dump", "copy-from /storage/.", "exec neo4j-admin database dump"} {
		assertInOrder(t, calls, append(append(slices.Clone(stopped), capture), started...))
		assertInOrder(t, calls, append(append(slices.Clone(stopped), capture), "start-container task-manager-id", "start-container infrahub-server-id"))
	}
	assert.Check(t, is.Equal(len(helpertest.CallsWith(calls, "stop-container task-manager-id")), 1), "one outage")
	assert.Check(t, !hasCall(eng, "stop-container task-manager-db-id"), "the task manager's database stays up")
	assert.Check(t, is.Equal(storageRead, "apps-stopped"))

	m, err := folder.ReadManifest()
	assert.NilError(t, err)
	run, ok := m.Run(res.RunID)
	assert.Assert(t, ok)
	assert.Check(t, run.Consistent && run.Complete)
	files := m.RunFiles(res.RunID)
	assert.Check(t, is.Len(files, 4), "neo4j and system dumps, the task manager, the storage")
	for _, f := range files {
		assert.Check(t, !f.Captured.IsZero(), "%s has its capture time", f.Name)
		if f.Component == backupset.ComponentTaskManager {
			r, err := folder.OpenChecked(f)
			assert.NilError(t, err)
			got, _ := io.ReadAll(r)
			r.Close()
			assert.Check(t, is.DeepEqual(got, pgdumptest.Dump()))
			assert.Check(t, hasCall(eng, "pg_dump taken with apps-stopped"), "the apps are stopped while the task manager is dumped")
		}
	}
	assert.Check(t, eng.DatabaseRunning())
	for _, a := range eng.Apps {
		assert.Check(t, a.Running, a.Name)
	}
	assert.Check(t, is.Len(eng.Running(), 0), "no helper left")
}

// Run IDs have whole seconds: a second run in the same second waits for the
// next one instead of failing.
func TestRunSetTwiceInOneSecond(t *testing.T) {
	eng := deploymentEngine()
	folder := newFolder(t)
	opts := backup.SetOptions{Options: options(nil), Components: []string{backupset.ComponentTaskManager}}
	first, err := backup.RunSet(context.Background(), eng, folder, opts, progress.Nop)
	assert.NilError(t, err)
	second, err := backup.RunSet(context.Background(), eng, folder, opts, progress.Nop)
	assert.NilError(t, err)
	assert.Check(t, first.RunID != second.RunID)
	m, err := folder.ReadManifest()
	assert.NilError(t, err)
	assert.Check(t, is.Len(m.RunFiles(first.RunID), 1))
	assert.Check(t, is.Len(m.RunFiles(second.RunID), 1))
}

// The storage's helper has the lifecycle of every helper: kept and named
// with --keep-helper-container, else removed, a failure to remove it
// reported without failing the backup that succeeded.
func TestStorageHelperLifecycle(t *testing.T) {
	t.Run("kept", func(t *testing.T) {
		eng := deploymentEngine()
		pw := &recorder{}
		_, err := backup.RunSet(context.Background(), eng, newFolder(t), backup.SetOptions{Components: []string{backupset.ComponentStorage},
			Options: options(func(o *backup.Options) { o.KeepHelper = true })}, pw)
		assert.NilError(t, err)
		assert.Assert(t, is.Len(eng.Helpers, 1))
		assert.Check(t, !eng.Helpers[0].Removed())
		assert.Check(t, is.Contains(pw.text(), "kept helper container "+eng.Helpers[0].Name()+" (--keep-helper-container)"))
	})
	t.Run("removal fails", func(t *testing.T) {
		eng := deploymentEngine()
		eng.Faults["remove-helper"] = &helpertest.Fault{Err: errors.New("device or resource busy")}
		pw := &recorder{}
		_, err := backup.RunSet(context.Background(), eng, newFolder(t), backup.SetOptions{Components: []string{backupset.ComponentStorage}, Options: options(nil)}, pw)
		assert.NilError(t, err)
		assert.Assert(t, is.Len(eng.Helpers, 1))
		assert.Check(t, is.Contains(pw.text(), "could not remove helper container "+eng.Helpers[0].Name()+": device or resource busy; remove it with 'docker rm -f "+eng.Helpers[0].Name()+"'"))
	})
}

// Every named volume of the deployment is captured by a component or
// recorded as skipped with its reason (stock compose: workflow_data on
// infrahub-server, database_logs); anonymous volumes are left out.
func TestRunSetAccountsForEveryNamedVolume(t *testing.T) {
	eng := deploymentEngine()
	for i := range eng.Apps {
		switch eng.Apps[i].ComposeService {
		case "infrahub-server":
			eng.Apps[i].Mounts = append(eng.Apps[i].Mounts, docker.Mount{Type: docker.MountVolume, Name: "infrahub_workflow_data", Destination: "/opt/infrahub/workflow", RW: true})
		case "task-manager-db":
			eng.Apps[i].Mounts = []docker.Mount{{Type: docker.MountVolume, Name: "infrahub_workflow_db", Destination: "/var/lib/postgresql/18/docker", RW: true}}
		case "cache":
			eng.Apps[i].Mounts = []docker.Mount{{Type: docker.MountVolume, Name: "4f2a6c0e4f2a6c0e4f2a6c0e4f2a6c0e4f2a6c0e4f2a6c0e4f2a6c0e4f2a6c0e", Destination: "/data", RW: true}}
		}
	}
	eng.Database.Mounts = append(eng.Database.Mounts, docker.Mount{Type: docker.MountVolume, Name: "infrahub_database_logs", Destination: "/logs", RW: true})
	folder := newFolder(t)
	res, err := backup.RunSet(context.Background(), eng, folder, backup.SetOptions{Options: options(nil)}, progress.Nop)
	assert.NilError(t, err)
	byName := map[string]backupset.VolumeRecord{}
	for _, v := range res.Volumes {
		byName[v.Name] = v
	}
	assert.Check(t, is.Equal(byName["database_data"].Component, backupset.ComponentGraph))
	assert.Check(t, is.Contains(byName["infrahub_database_logs"].Skipped, "logs"))
	assert.Check(t, is.Equal(byName["infrahub_storage_data"].Component, backupset.ComponentStorage))
	assert.Check(t, is.Equal(byName["infrahub_workflow_db"].Component, backupset.ComponentTaskManager))
	wf := byName["infrahub_workflow_data"]
	assert.Check(t, is.Equal(wf.Component, ""))
	assert.Check(t, is.Contains(wf.Skipped, "no component captures it (/opt/infrahub/workflow of infrahub-server)"))
	assert.Check(t, is.Len(res.Volumes, 5), "the anonymous volume is left out: %v", res.Volumes)
	m, err := folder.ReadManifest()
	assert.NilError(t, err)
	run, _ := m.Run(res.RunID)
	assert.Check(t, is.DeepEqual(run.Volumes, res.Volumes))
}

// A run that fails before it wrote anything leaves the manifest byte for
// byte as it found it (its open record removed, its Updated time kept).
func TestRunSetThatWroteNothingLeavesTheManifestAsItWas(t *testing.T) {
	eng := helpertest.New()
	folder := newFolder(t)
	_, err := backup.RunSet(context.Background(), eng, folder, backup.SetOptions{Options: options(nil), Components: []string{backupset.ComponentGraph}}, progress.Nop)
	assert.NilError(t, err)
	before, err := os.ReadFile(folder.Path(backupset.ManifestName))
	assert.NilError(t, err)

	time.Sleep(1100 * time.Millisecond) // a rewrite would change Updated
	eng.Faults["backup"] = &helpertest.Fault{Code: 1, Stderr: "backup failed"}
	_, err = backup.RunSet(context.Background(), eng, folder, backup.SetOptions{Options: options(nil), Components: []string{backupset.ComponentGraph}}, progress.Nop)
	assert.Assert(t, err != nil)
	after, err := os.ReadFile(folder.Path(backupset.ManifestName))
	assert.NilError(t, err)
	assert.Check(t, is.Equal(string(after), string(before)))
}
