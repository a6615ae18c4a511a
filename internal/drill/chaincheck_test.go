package drill_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/catalog"
	"github.com/opsmill/docker-infrahubdb/internal/deployment"
	"github.com/opsmill/docker-infrahubdb/internal/drill"
	"github.com/opsmill/docker-infrahubdb/internal/exitcode"
	"github.com/opsmill/docker-infrahubdb/internal/neo4j"
	"github.com/opsmill/docker-infrahubdb/internal/pgdump/pgdumptest"
	"github.com/opsmill/docker-infrahubdb/internal/progress"
	"github.com/opsmill/docker-infrahubdb/internal/restore"
)

// graphFile is one online backup of a chain: its name's database and
// minute, and what the manifest records of it.
type graphFile struct {
	minute         int
	typ            string // backupset.TypeFull, TypeDiff, "" (no type recorded)
	from, to       int64
	version        string // the Neo4j release that wrote it
	recordDatabase string // "": the name's database
}

// chainFolder is a folder whose newest complete run holds the last graph
// file, a task-manager dump and a storage archive; the graph files before
// it are recorded without a run, as backups taken before runs existed.
func chainFolder(t *testing.T, files []graphFile) (*backupset.Folder, string) {
	t.Helper()
	f, err := backupset.Create(t.TempDir())
	assert.NilError(t, err)
	t0 := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	m := &backupset.Manifest{Version: backupset.ManifestVersion}
	last := t0.Add(time.Duration(files[len(files)-1].minute) * time.Minute)
	run := backupset.NewRunID(last)
	for i, g := range files {
		at := t0.Add(time.Duration(g.minute) * time.Minute)
		name := backupset.ArtifactName("neo4j", at)
		assert.NilError(t, os.WriteFile(f.Path(name), []byte("backup "+name), 0o600))
		rec, err := f.Describe(name)
		assert.NilError(t, err)
		rec.Database, rec.Type, rec.FromTx, rec.ToTx, rec.Neo4jVersion, rec.Time = "neo4j", g.typ, g.from, g.to, g.version, at
		if g.recordDatabase != "" {
			rec.Database = g.recordDatabase
		}
		if i == len(files)-1 {
			rec.RunID = run
		}
		m.Upsert(rec)
	}
	st := archive(t)
	for _, c := range []struct {
		component string
		data      []byte
	}{{backupset.ComponentTaskManager, pgdumptest.Dump()}, {backupset.ComponentStorage, st}} {
		name, err := backupset.ComponentFileName(c.component, last)
		assert.NilError(t, err)
		assert.NilError(t, os.WriteFile(f.Path(name), c.data, 0o600))
		rec, err := f.Describe(name)
		assert.NilError(t, err)
		rec.RunID, rec.Component, rec.Time = run, c.component, last
		m.Upsert(rec)
	}
	m.UpsertRun(backupset.RunRecord{ID: run, Started: last, Complete: true,
		Components: []string{backupset.ComponentGraph, backupset.ComponentTaskManager, backupset.ComponentStorage}})
	assert.NilError(t, f.WriteManifest(m))
	return f, run
}

// The one chain check (backupset.CheckChain): every broken chain is refused
// by verify, the restore preflight and the drill's preflight alike, with
// verify's message and exit code 5, before anything stops or starts. On
// main the drill went on to start the run's other components (and said it
// in its own words), and verify and restore accepted a chain of another
// database's file, of two Neo4j releases, or of a file with no type.
func TestBrokenChainsAreRefusedAlikeByVerifyRestoreAndDrill(t *testing.T) {
	const v5, v2025 = "5.26.0", "2025.10.1"
	for _, tc := range []struct {
		name  string
		files []graphFile
		want  string // in verify's problem
	}{
		{name: "a diff without its full", files: []graphFile{{minute: 1, typ: backupset.TypeDiff, from: 11, to: 20, version: v5}},
			want: "has no full backup before it"},
		{name: "a gap in the transaction ranges", files: []graphFile{
			{minute: 0, typ: backupset.TypeFull, from: 1, to: 10, version: v5}, {minute: 1, typ: backupset.TypeDiff, from: 15, to: 20, version: v5}},
			want: "transactions missing between"},
		{name: "a diff of another database", files: []graphFile{
			{minute: 0, typ: backupset.TypeFull, from: 1, to: 10, version: v5}, {minute: 1, typ: backupset.TypeDiff, from: 11, to: 20, version: v5, recordDatabase: "infrahub"}},
			want: "is recorded as a backup of database infrahub, not of neo4j"},
		{name: "a chain of two Neo4j versions", files: []graphFile{
			{minute: 0, typ: backupset.TypeFull, from: 1, to: 10, version: v5}, {minute: 1, typ: backupset.TypeDiff, from: 11, to: 20, version: v2025}},
			want: "mixes backups of two Neo4j releases"},
		{name: "an artifact whose type is unknown", files: []graphFile{
			{minute: 0, typ: backupset.TypeFull, from: 1, to: 10, version: v5}, {minute: 1, typ: "", from: 11, to: 20, version: v5}},
			want: "the manifest records no type for"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			folder, run := chainFolder(t, tc.files)

			// verify
			v, err := catalog.Verify(context.Background(), nil, folder, catalog.VerifyOptions{}, progress.Nop)
			assert.NilError(t, err)
			assert.Assert(t, !v.OK)
			assert.Assert(t, is.Len(v.Problems, 1), "%v", v.Problems)
			problem := v.Problems[0].String()
			assert.Check(t, is.Contains(problem, tc.want))
			assert.Check(t, is.Equal(exitcode.Of(v.Err()), exitcode.Verify))

			// the restore preflight
			reng := newEngine()
			_, err = restore.RunSet(context.Background(), reng, func(context.Context, string, neo4j.Credentials) (restore.Admin, error) {
				t.Error("restore logged in to Neo4j")
				return nil, errors.New("no Neo4j")
			}, folder, restore.SetOptions{Run: run, Options: restore.Options{StopApps: true, SafetyBackup: true}}, progress.Nop)
			var rv *restore.VerifyError
			assert.Assert(t, errors.As(err, &rv), "got %v", err)
			assert.Check(t, is.Equal(exitcode.Of(err), exitcode.Verify))
			assert.Assert(t, is.Len(rv.Problems, 1))
			assert.Check(t, strings.HasPrefix(rv.Problems[0], problem), "restore says %q, verify %q", rv.Problems[0], problem)
			for _, call := range reng.CallLog() {
				assert.Check(t, !strings.HasPrefix(call, "stop-container") && !strings.HasPrefix(call, "start-helper") && !strings.HasPrefix(call, "exec"),
					"restore changed something before refusing the chain: %s", call)
			}

			// the drill's preflight
			deng := newEngine()
			report, err := drill.Run(context.Background(), deng, func(context.Context, string, neo4j.Credentials) (drill.Admin, error) {
				t.Error("the drill logged in to a Neo4j")
				return nil, errors.New("no Neo4j")
			}, folder, drill.Options{Target: deployment.TargetOptions{Project: "infrahub"}, OnlineWait: time.Second}, progress.Nop)
			var failed *drill.FailedError
			assert.Assert(t, errors.As(err, &failed), "got %v", err)
			assert.Assert(t, is.Len(report.Components, 1), "%+v", report.Components)
			c := report.Components[0]
			assert.Check(t, is.Equal(c.Component, backupset.ComponentGraph))
			assert.Check(t, is.Equal(c.Problem, problem), "the drill says it in verify's words")
			assert.Check(t, is.Equal(c.Artifact, v.Problems[0].File))
			for _, call := range deng.CallLog() {
				assert.Check(t, !strings.HasPrefix(call, "start-helper") && !strings.HasPrefix(call, "create-volume") && !strings.HasPrefix(call, "exec"),
					"the drill started something before refusing the chain: %s", call)
			}
		})
	}
}

// A full backup taken after a differential one, with the same transaction
// range (nothing was committed in between), starts a chain of its own that
// restores alone: verify, restore and the drill all take it.
func TestFullAfterDiffWithTheSameRangeIsTakenAlike(t *testing.T) {
	folder, run := chainFolder(t, []graphFile{
		{minute: 0, typ: backupset.TypeFull, from: 1, to: 10, version: "5.26.0"},
		{minute: 1, typ: backupset.TypeDiff, from: 11, to: 20, version: "5.26.0"},
		{minute: 2, typ: backupset.TypeFull, from: 11, to: 20, version: "5.26.0"},
	})
	v, err := catalog.Verify(context.Background(), nil, folder, catalog.VerifyOptions{}, progress.Nop)
	assert.NilError(t, err)
	assert.Check(t, v.OK, "%v", v.Problems)

	res, err := restore.RunSet(context.Background(), newEngine(), func(context.Context, string, neo4j.Credentials) (restore.Admin, error) {
		return nil, errors.New("no Neo4j in this test")
	}, folder, restore.SetOptions{Run: run, Options: restore.Options{DryRun: true}}, progress.Nop)
	var rv *restore.VerifyError
	assert.Check(t, !errors.As(err, &rv), "the restore preflight refused it: %v", err)
	_ = res

	deng := newEngine()
	report, _ := drill.Run(context.Background(), deng, func(context.Context, string, neo4j.Credentials) (drill.Admin, error) {
		return nil, errors.New("no Neo4j in this test")
	}, folder, drill.Options{Target: deployment.TargetOptions{Project: "infrahub"}, OnlineWait: time.Second}, progress.Nop)
	assert.Assert(t, report != nil)
	started := false
	for _, call := range deng.CallLog() {
		started = started || strings.HasPrefix(call, "start-helper")
	}
	assert.Check(t, started, "the drill's preflight passed: it started restoring")
	for _, c := range report.Components {
		if c.Component == backupset.ComponentGraph {
			assert.Check(t, !strings.Contains(c.Problem, ": chain: "), "%s", c.Problem)
			assert.Check(t, is.Contains(c.Artifact, "neo4j-2026-12-06T10-02-00.backup"), "the newest full is restored alone")
		}
	}
}
