package backup_test

import (
	"context"
	"errors"
	"io"
	"os"
	"slices"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/opsmill/docker-infrahubdb/internal/backup"
	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/catalog"
	"github.com/opsmill/docker-infrahubdb/internal/docker"
	"github.com/opsmill/docker-infrahubdb/internal/helper/helpertest"
	"github.com/opsmill/docker-infrahubdb/internal/neo4jbackup"
	"github.com/opsmill/docker-infrahubdb/internal/progress"
)

// communityVerifyOptions backs up the stock Community deployment with
// --verify, and --check when check is set.
func communityVerifyOptions(eng *helpertest.Engine, check bool) backup.SetOptions {
	return backup.SetOptions{Options: offlineOptions(eng, func(o *backup.Options) { o.Verify, o.Check = true, check })}
}

func runFilesByComponent(t *testing.T, folder *backupset.Folder, runID string) map[string][]string {
	t.Helper()
	m, err := folder.ReadManifest()
	assert.NilError(t, err)
	out := map[string][]string{}
	for _, f := range m.RunFiles(runID) {
		out[f.Component] = append(out[f.Component], f.Name)
	}
	return out
}

// backup --verify on Neo4j Community verifies every file the run wrote:
// the dumps, the task-manager dump and the storage archive by checksum,
// the last two also by content as verify FOLDER reads them.
func TestCommunityRunVerifiesEveryFile(t *testing.T) {
	eng := communityDeployment()
	folder := newFolder(t)
	res, err := backup.RunSet(context.Background(), eng, folder, communityVerifyOptions(eng, false), progress.Nop)
	assert.NilError(t, err)
	v := res.Verified
	assert.Assert(t, v != nil)
	assert.Check(t, v.OK)
	assert.Check(t, res.Graph.Verified == v, "the graph's result shows the run's verification")
	files := runFilesByComponent(t, folder, res.RunID)
	all := slices.Concat(files[backupset.ComponentGraph], files[backupset.ComponentTaskManager], files[backupset.ComponentStorage])
	assert.Assert(t, is.Len(all, 4), "%v", files)
	slices.Sort(all)
	checked := slices.Clone(v.Checked)
	slices.Sort(checked)
	assert.Check(t, is.DeepEqual(checked, all))
	assert.Check(t, is.DeepEqual(v.Content, []backup.ContentCheck{
		{File: files[backupset.ComponentTaskManager][0], Component: backupset.ComponentTaskManager, Check: catalog.ContentCheckOf(backupset.ComponentTaskManager), OK: true},
		{File: files[backupset.ComponentStorage][0], Component: backupset.ComponentStorage, Check: catalog.ContentCheckOf(backupset.ComponentStorage), OK: true},
	}))
	assert.Check(t, is.Len(v.Problems, 0))
	assert.Check(t, is.Len(v.Checks, 0), "no neo4j-admin check without --check")
	assert.Check(t, !hasCall(eng, "exec neo4j-admin database check"))
	m, err := folder.ReadManifest()
	assert.NilError(t, err)
	run, _ := m.Run(res.RunID)
	assert.Check(t, run.Complete)
}

// backup --check on Neo4j Community runs neo4j-admin database check on the
// dumps just written, in the run's own helper, once the database and the
// applications run again.
func TestCommunityRunCheckChecksTheDumps(t *testing.T) {
	eng := communityDeployment()
	folder := newFolder(t)
	res, err := backup.RunSet(context.Background(), eng, folder, communityVerifyOptions(eng, true), progress.Nop)
	assert.NilError(t, err)
	dumps := runFilesByComponent(t, folder, res.RunID)[backupset.ComponentGraph]
	assert.Assert(t, is.Len(dumps, 2))
	v := res.Verified
	assert.Assert(t, v != nil)
	assert.Check(t, v.OK)
	assert.Check(t, is.DeepEqual(v.Checks, []neo4jbackup.CheckResult{
		{Database: "neo4j", Files: []string{dumps[0]}, Consistent: true},
		{Database: "system", Files: []string{dumps[1]}, Consistent: true},
	}))
	calls := eng.CallLog()
	checks := helpertest.CallsWith(calls, "exec neo4j-admin database check")
	assert.Check(t, is.Len(checks, 2), strings.Join(calls, "\n"))
	assert.Check(t, is.Len(helpertest.CallsWith(calls, "exec neo4j-admin backup aggregate"), 0), "a dump is checked as it is")
	assertInOrder(t, calls, []string{"start-container db-id", "start-container infrahub-server-id", "exec neo4j-admin database check", "remove-helper"})
	assert.Check(t, is.Len(eng.Running(), 0), "no helper left")
}

// Each kind of fault --verify and --check find in a Community run fails the
// backup with a VerifyError (exit 5) naming the file, and leaves the run
// incomplete: restore does not take it; the files stay, verifiable.
func TestCommunityRunVerifyFindsFaults(t *testing.T) {
	for _, tc := range []struct {
		name      string
		check     bool
		fault     func(eng *helpertest.Engine, folder *backupset.Folder)
		component string
		kind      string
	}{
		{
			name: "task-manager dump not a pg_dump archive", component: backupset.ComponentTaskManager, kind: catalog.ProblemContent,
			fault: func(eng *helpertest.Engine, folder *backupset.Folder) {
				pgDump := eng.ExecInHook
				eng.ExecInHook = func(ctx context.Context, id string, spec docker.ExecSpec) (int, bool, error) {
					if len(spec.Cmd) > 0 && spec.Cmd[0] == "pg_dump" {
						_, err := io.WriteString(spec.Stdout, "-- PostgreSQL database dump, plain SQL\n")
						return 0, true, err
					}
					return pgDump(ctx, id, spec)
				}
			},
		},
		{
			name: "storage archive changed after it was written", component: backupset.ComponentStorage, kind: backupset.ProblemChanged,
			fault: func(eng *helpertest.Engine, folder *backupset.Folder) {
				// Fetching the dumps comes after the storage is in the folder.
				eng.Faults["mv"] = &helpertest.Fault{Times: 1, Hook: func() {
					entries, _ := os.ReadDir(folder.Dir)
					for _, e := range entries {
						if strings.HasPrefix(e.Name(), backupset.ComponentStorage+"-") && !strings.HasSuffix(e.Name(), backupset.PartialExt) {
							f, err := os.OpenFile(folder.Path(e.Name()), os.O_APPEND|os.O_WRONLY, 0)
							assert.NilError(t, err)
							_, _ = f.WriteString("rot")
							f.Close()
						}
					}
				}}
			},
		},
		{
			name: "neo4j-admin database check finds the dump inconsistent", check: true, component: backupset.ComponentGraph, kind: neo4jbackup.ProblemInconsistent,
			fault: func(eng *helpertest.Engine, folder *backupset.Folder) {
				eng.Faults["database check"] = &helpertest.Fault{Code: 1, Stderr: "Inconsistencies found: 3.", Times: 1}
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eng := communityDeployment()
			folder := newFolder(t)
			tc.fault(eng, folder)
			res, err := backup.RunSet(context.Background(), eng, folder, communityVerifyOptions(eng, tc.check), progress.Nop)
			var ve *backupset.VerifyError
			assert.Assert(t, errors.As(err, &ve), "got %v", err)
			assert.Assert(t, is.Len(ve.Problems, 1), "%v", ve.Problems)
			files := runFilesByComponent(t, folder, res.RunID)
			assert.Check(t, slices.Contains(files[tc.component], ve.Problems[0].File), "%v in %v", ve.Problems[0], files)
			assert.Check(t, is.Equal(ve.Problems[0].Kind, tc.kind))
			assert.Check(t, res.Verified != nil && !res.Verified.OK)
			m, err := folder.ReadManifest()
			assert.NilError(t, err)
			run, ok := m.Run(res.RunID)
			assert.Assert(t, ok)
			assert.Check(t, !run.Complete, "a run that failed its verification is not restorable")
			assert.Check(t, is.Len(m.RunFiles(res.RunID), 4), "its files stay, verifiable")
			assert.Check(t, eng.DatabaseRunning())
			assert.Check(t, is.Len(eng.Running(), 0), "no helper left")
		})
	}
}

// backup --verify on an online (Enterprise) run verifies the task manager's
// and the storage's files too, not only the graph's.
func TestOnlineRunVerifiesEveryComponent(t *testing.T) {
	eng := deploymentEngine()
	folder := newFolder(t)
	res, err := backup.RunSet(context.Background(), eng, folder, backup.SetOptions{Options: options(func(o *backup.Options) { o.Verify = true })}, progress.Nop)
	assert.NilError(t, err)
	v := res.Verified
	assert.Assert(t, v != nil)
	assert.Check(t, v.OK)
	assert.Check(t, is.Len(v.Checked, 4), "%v", v.Checked)
	assert.Check(t, is.Len(v.Content, 2))
	assert.Check(t, res.Graph.Verified == v)
}
