package backup_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/opsmill/docker-infrahubdb/pkg/backup"
	"github.com/opsmill/docker-infrahubdb/pkg/backupset"
	"github.com/opsmill/docker-infrahubdb/pkg/docker"
	"github.com/opsmill/docker-infrahubdb/pkg/helper"
	"github.com/opsmill/docker-infrahubdb/pkg/helper/helpertest"
	"github.com/opsmill/docker-infrahubdb/pkg/progress"
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
