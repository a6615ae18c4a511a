package drill_test

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/catalog"
	"github.com/opsmill/docker-infrahubdb/internal/deployment"
	"github.com/opsmill/docker-infrahubdb/internal/docker"
	"github.com/opsmill/docker-infrahubdb/internal/drill"
	"github.com/opsmill/docker-infrahubdb/internal/helper/helpertest"
	"github.com/opsmill/docker-infrahubdb/internal/neo4j"
	"github.com/opsmill/docker-infrahubdb/internal/pgdump/pgdumptest"
	"github.com/opsmill/docker-infrahubdb/internal/progress"
)

// engine is the helpers' fake engine with the scratch volumes a drill makes.
type engine struct {
	*helpertest.Engine
	mu      sync.Mutex
	volumes []string
}

func (e *engine) CreateVolume(ctx context.Context, name string, labels map[string]string) (string, error) {
	e.Record("create-volume %s", name)
	e.mu.Lock()
	defer e.mu.Unlock()
	e.volumes = append(e.volumes, name)
	return name, nil
}

func (e *engine) RemoveVolume(ctx context.Context, name string) error {
	e.Record("remove-volume %s", name)
	return nil
}

func (e *engine) StaleVolumes(ctx context.Context, target string) ([]string, error) {
	return nil, nil
}

func newEngine() *engine {
	e := &engine{Engine: helpertest.New()}
	e.Apps = append(e.Apps,
		docker.Container{ID: "task-manager-id", Name: "infrahub-task-manager-1", ComposeProject: "infrahub", ComposeService: "task-manager", Running: true},
		docker.Container{ID: "task-manager-db-id", Name: "infrahub-task-manager-db-1", Image: "postgres:16", ComposeProject: "infrahub", ComposeService: "task-manager-db", Running: true,
			Env: []string{"POSTGRES_USER=postgres", "POSTGRES_PASSWORD=pw", "POSTGRES_DB=prefect"}},
		docker.Container{ID: "server-id", Name: "infrahub-server-1", Image: "infrahub:1.4", ComposeProject: "infrahub", ComposeService: "infrahub-server", Running: true,
			Mounts: []docker.Mount{{Type: docker.MountVolume, Name: "infrahub_storage_data", Destination: "/opt/infrahub/storage", RW: true}}},
	)
	return e
}

// archive is a storage archive of entries.
func archive(t *testing.T, entries ...*tar.Header) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	assert.NilError(t, tw.WriteHeader(&tar.Header{Name: "./", Mode: 0o755, Typeflag: tar.TypeDir}))
	for _, h := range entries {
		assert.NilError(t, tw.WriteHeader(h))
		if h.Size > 0 {
			_, err := tw.Write(bytes.Repeat([]byte("!"), int(h.Size)))
			assert.NilError(t, err)
		}
	}
	assert.NilError(t, tw.Close())
	return b.Bytes()
}

// runFolder is a folder holding one complete run of graph, task manager and
// storage, each file recorded with its right checksum.
func runFolder(t *testing.T, taskManager, storage []byte) *backupset.Folder {
	t.Helper()
	f, err := backupset.Create(t.TempDir())
	assert.NilError(t, err)
	at := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	run := backupset.NewRunID(at)
	m := &backupset.Manifest{Version: backupset.ManifestVersion}
	tm, err := backupset.ComponentFileName(backupset.ComponentTaskManager, at)
	assert.NilError(t, err)
	st, err := backupset.ComponentFileName(backupset.ComponentStorage, at)
	assert.NilError(t, err)
	for _, file := range []struct {
		name, component string
		data            []byte
	}{
		{backupset.DumpName("neo4j", at), backupset.ComponentGraph, []byte("a dump the drill never reaches")},
		{tm, backupset.ComponentTaskManager, taskManager},
		{st, backupset.ComponentStorage, storage},
	} {
		assert.NilError(t, os.WriteFile(f.Path(file.name), file.data, 0o600))
		rec, err := f.Describe(file.name)
		assert.NilError(t, err)
		rec.RunID, rec.Component, rec.Time = run, file.component, at
		if file.component == backupset.ComponentGraph {
			rec.Database, rec.Type, rec.Component = "neo4j", backupset.TypeDump, ""
		}
		m.Upsert(rec)
	}
	m.UpsertRun(backupset.RunRecord{ID: run, Started: at, Complete: true,
		Components: []string{backupset.ComponentGraph, backupset.ComponentTaskManager, backupset.ComponentStorage}})
	assert.NilError(t, f.WriteManifest(m))
	return f
}

// A file whose checksum is right but whose content restore refuses fails
// the drill (exit 5) with verify's message, before any container or
// volume is made.
func TestDrillRefusesWhatRestoreRefusesBeforeAnyContainer(t *testing.T) {
	good := archive(t, &tar.Header{Name: "./files/a", Mode: 0o644, Size: 3, Typeflag: tar.TypeReg})
	for _, tc := range []struct {
		name      string
		component string
		tm, st    []byte
		want      string
	}{
		{name: "plain-SQL task-manager dump", component: backupset.ComponentTaskManager, tm: pgdumptest.Plain(), st: good, want: "no PGDMP header"},
		{name: "storage archive with a ../ entry", component: backupset.ComponentStorage, tm: pgdumptest.Dump(),
			st: archive(t, &tar.Header{Name: "./../../etc/cron.d/evil", Mode: 0o644, Size: 3, Typeflag: tar.TypeReg}), want: "leaves the storage directory"},
		{name: "storage archive with a link to /etc/passwd", component: backupset.ComponentStorage, tm: pgdumptest.Dump(),
			st: archive(t, &tar.Header{Name: "./files/passwd", Linkname: "/etc/passwd", Typeflag: tar.TypeSymlink}), want: "absolute path"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			folder := runFolder(t, tc.tm, tc.st)
			eng := newEngine()
			connect := func(context.Context, string, neo4j.Credentials) (drill.Admin, error) {
				t.Error("the drill logged in to a Neo4j")
				return nil, errors.New("no Neo4j")
			}
			report, err := drill.Run(context.Background(), eng, connect, folder, drill.Options{Target: deployment.TargetOptions{Project: "infrahub"}, OnlineWait: time.Second}, progress.Nop)
			var failed *drill.FailedError
			assert.Assert(t, errors.As(err, &failed), "got %v", err)
			assert.Assert(t, report != nil)
			assert.Check(t, is.Equal(report.Verdict, drill.VerdictFail))
			assert.Assert(t, is.Len(report.Components, 1))
			c := report.Components[0]
			assert.Check(t, is.Equal(c.Component, tc.component))
			assert.Check(t, !c.OK)

			// verify's message, word for word.
			v, err := verifyProblem(t, folder, c.Artifact)
			assert.NilError(t, err)
			assert.Check(t, is.Contains(v, tc.want))
			assert.Check(t, is.Equal(c.Problem, v))
			assert.Check(t, is.Contains(failed.Error(), tc.component+": "+v))

			for _, call := range eng.CallLog() {
				assert.Check(t, !strings.HasPrefix(call, "start-helper") && !strings.HasPrefix(call, "create-volume") && !strings.HasPrefix(call, "exec"),
					"nothing may start before the content check: %s", call)
			}
			_, found, err := folder.ReadDrillReport(report.RunID)
			assert.Check(t, err)
			assert.Check(t, found, "the report is written into the folder")
		})
	}
}

// verifyProblem is what verify says of the file name.
func verifyProblem(t *testing.T, folder *backupset.Folder, name string) (string, error) {
	t.Helper()
	v, err := catalog.Verify(context.Background(), nil, folder, catalog.VerifyOptions{}, progress.Nop)
	if err != nil {
		return "", err
	}
	for _, p := range v.Problems {
		if p.File == name {
			return p.String(), nil
		}
	}
	return "", errors.New("verify found no problem with " + name)
}
