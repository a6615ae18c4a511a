package e2e

// docker infrahubdb verify means restorable: folders that hold nothing
// restore would take, and files whose checksums are right but whose content
// restore refuses, fail verify with exit 5, without Docker doing anything.

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/icmd"

	"github.com/opsmill/docker-infrahubdb/e2e/kit"
	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/catalog"
	"github.com/opsmill/docker-infrahubdb/internal/pgdump/pgdumptest"
)

// storageArchive is a tar as the plugin writes one (the root directory
// first), with one more entry when extra is given.
func storageArchive(t *testing.T, extra *tar.Header) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	body := []byte("object")
	for _, h := range []*tar.Header{
		{Name: "./", Mode: 0o755, Typeflag: tar.TypeDir},
		{Name: "./files/", Mode: 0o755, Typeflag: tar.TypeDir},
		{Name: "./files/object", Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg},
	} {
		assert.NilError(t, tw.WriteHeader(h))
	}
	_, err := tw.Write(body)
	assert.NilError(t, err)
	if extra != nil {
		assert.NilError(t, tw.WriteHeader(extra))
	}
	assert.NilError(t, tw.Close())
	return b.Bytes()
}

// componentRun writes a complete run of the task manager and the storage
// with the given contents, recorded with their correct checksums.
func componentRun(t *testing.T, dir string, taskManager, storage []byte) {
	t.Helper()
	folder, err := backupset.Open(dir)
	assert.NilError(t, err)
	started := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	id := backupset.NewRunID(started)
	m := &backupset.Manifest{Version: backupset.ManifestVersion, Tool: "e2e"}
	for c, content := range map[string][]byte{backupset.ComponentTaskManager: taskManager, backupset.ComponentStorage: storage} {
		name, err := backupset.ComponentFileName(c, started)
		assert.NilError(t, err)
		assert.NilError(t, os.WriteFile(filepath.Join(dir, name), content, 0o600))
		rec, err := folder.Describe(name)
		assert.NilError(t, err)
		rec.RunID, rec.Component, rec.Time = id, c, started
		m.Upsert(rec)
	}
	m.UpsertRun(backupset.RunRecord{ID: id, Started: started, Complete: true,
		Components: []string{backupset.ComponentTaskManager, backupset.ComponentStorage}})
	assert.NilError(t, folder.WriteManifest(m))
}

func TestVerifyFailsWhereRestoreWouldRefuse(t *testing.T) {
	t.Parallel()
	p := kit.InstallPlugin(t)
	dump := pgdumptest.Dump() // a real pg_dump -Fc archive
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, dir string)
		file  string // the file named by a problem ("" : the folder)
		kind  string
	}{
		{name: "empty folder", setup: func(*testing.T, string) {}, kind: catalog.ProblemEmpty},
		{name: "junk folder", setup: func(t *testing.T, dir string) {
			assert.NilError(t, os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("hello"), 0o600))
			assert.NilError(t, os.WriteFile(filepath.Join(dir, "neo4j.backup"), []byte("junk"), 0o600))
		}, kind: catalog.ProblemEmpty},
		{name: "component files only", setup: func(t *testing.T, dir string) {
			name, _ := backupset.ComponentFileName(backupset.ComponentStorage, time.Now())
			assert.NilError(t, os.WriteFile(filepath.Join(dir, name), storageArchive(t, nil), 0o600))
		}, file: "storage-", kind: backupset.ProblemExtra},
		{name: "storage archive with a ../ entry", setup: func(t *testing.T, dir string) {
			componentRun(t, dir, dump, storageArchive(t, &tar.Header{Name: "./../../etc/cron.d/evil", Mode: 0o644, Typeflag: tar.TypeReg}))
		}, file: "storage-", kind: catalog.ProblemContent},
		{name: "storage archive with a link to /etc/passwd", setup: func(t *testing.T, dir string) {
			componentRun(t, dir, dump, storageArchive(t, &tar.Header{Name: "./files/passwd", Linkname: "/etc/passwd", Typeflag: tar.TypeSymlink}))
		}, file: "storage-", kind: catalog.ProblemContent},
		{name: "plain-text task-manager dump", setup: func(t *testing.T, dir string) {
			componentRun(t, dir, pgdumptest.Plain(), storageArchive(t, nil))
		}, file: "task-manager-", kind: catalog.ProblemContent},
		{name: "task-manager dump cut short", setup: func(t *testing.T, dir string) {
			componentRun(t, dir, dump[:len(dump)*2/3], storageArchive(t, nil))
		}, file: "task-manager-", kind: catalog.ProblemContent},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := kit.Folder(t)
			tc.setup(t, dir)
			v := verifyJSON(t, p, dir, 5)
			assert.Check(t, !v.OK)
			found := false
			for _, pr := range v.Problems {
				if pr.Kind == tc.kind && (tc.file == "" && pr.File == dir || tc.file != "" && len(pr.File) > len(tc.file) && pr.File[:len(tc.file)] == tc.file) {
					found = true
				}
			}
			assert.Check(t, found, "a %s problem for %q in %+v", tc.kind, tc.file, v.Problems)

			res := p.Docker("infrahubdb", "verify", dir)
			res.Assert(t, icmd.Expected{ExitCode: 5})
			assert.Check(t, !bytes.Contains([]byte(res.Stdout()), []byte("OK:")), res.Stdout())
			if tc.kind == backupset.ProblemExtra {
				// list shows the same files as unverified.
				l := listJSON(t, p, dir)
				assert.Assert(t, is.Len(l.Components, 1))
				assert.Check(t, is.Equal(l.Components[0].Manifest, catalog.StateUnverified))
				res := p.Docker("infrahubdb", "list", dir)
				assert.Check(t, is.Contains(res.Stdout(), "unverified"), res.Stdout())
			}
		})
	}
	t.Run("a good component run passes", func(t *testing.T) {
		dir := kit.Folder(t)
		componentRun(t, dir, dump, storageArchive(t, nil))
		v := verifyJSON(t, p, dir, 0)
		assert.Check(t, v.OK, "%+v", v.Problems)
		assert.Check(t, is.Len(v.Checked, 2))
		// What the content check read: the dump's table of contents.
		assert.Assert(t, is.Len(v.Contents, 2))
		for _, c := range v.Contents {
			if c.Component == backupset.ComponentTaskManager {
				assert.Check(t, is.Equal(c.TOCEntries, 26))
				assert.Check(t, is.Equal(c.Tables, 3))
			}
		}
		res := p.Docker("infrahubdb", "verify", dir)
		res.Assert(t, icmd.Success)
		assert.Check(t, is.Contains(res.Stdout(), "26 TOC entries, 3 table(s)"))
	})
	t.Run("an empty folder with --allow-empty", func(t *testing.T) {
		v := verifyJSON(t, p, kit.Folder(t), 0, "--allow-empty")
		assert.Check(t, v.OK, "%+v", v.Problems)
	})
}

// verify --adopt judges the folder before it touches Docker: with no Docker
// daemon to reach at all, a folder that has a manifest is refused for that
// reason (exit 2), and a folder of task-manager and storage files is
// adopted as a run.
func TestVerifyAdoptNeedsNoDockerToJudgeTheFolder(t *testing.T) {
	t.Parallel()
	p := kit.InstallPlugin(t)
	noDaemon := func(args ...string) *icmd.Result {
		cmd := p.Cmd(args...)
		cmd.Env = append(cmd.Env, "DOCKER_HOST=tcp://127.0.0.1:9", "DOCKER_CONTEXT=")
		return icmd.RunCmd(cmd)
	}
	dump := pgdumptest.Dump() // a real pg_dump -Fc archive

	withManifest := kit.Folder(t)
	componentRun(t, withManifest, dump, storageArchive(t, nil))
	noDaemon("infrahubdb", "verify", "--adopt", withManifest).Assert(t, icmd.Expected{ExitCode: 2, Err: "already has a manifest"})

	components := kit.Folder(t)
	started := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	for c, content := range map[string][]byte{backupset.ComponentTaskManager: dump, backupset.ComponentStorage: storageArchive(t, nil)} {
		name, _ := backupset.ComponentFileName(c, started)
		assert.NilError(t, os.WriteFile(filepath.Join(components, name), content, 0o600))
	}
	noDaemon("infrahubdb", "verify", "--adopt", components).Assert(t, icmd.Success)
	l := listJSON(t, p, components)
	assert.Assert(t, is.Len(l.Runs, 1))
	assert.Check(t, l.Runs[0].Complete)
	assert.Check(t, is.DeepEqual(l.Runs[0].Components, []string{backupset.ComponentTaskManager, backupset.ComponentStorage}))
}
