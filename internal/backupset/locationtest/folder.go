package locationtest

import (
	"archive/tar"
	"bytes"
	"io"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/assert"

	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/pgdump/pgdumptest"
)

// FolderWithRuns makes a backup folder holding one complete run of the whole
// deployment per start time: a graph dump of about 600 kB, a task-manager
// dump and a storage archive, with their manifest. It returns the folder and
// the run IDs.
func FolderWithRuns(t testing.TB, starts ...time.Time) (*backupset.Folder, []string) {
	t.Helper()
	f, err := backupset.Create(t.TempDir())
	assert.NilError(t, err)
	var ids []string
	for _, started := range starts {
		id := backupset.NewRunID(started)
		ids = append(ids, id)
		addRun(t, f, started, strings.NewReader(strings.Repeat("graph "+id, 20_000)))
	}
	return f, ids
}

// SealedFolderWithRun is FolderWithRuns with one run, written through seal
// (a staging folder of backup s3://… --encrypt-to).
func SealedFolderWithRun(t testing.TB, started time.Time, seal backupset.Sealer) (*backupset.Folder, string) {
	t.Helper()
	f, err := backupset.Create(t.TempDir())
	assert.NilError(t, err)
	f.Seal(seal)
	id := backupset.NewRunID(started)
	addRun(t, f, started, strings.NewReader(strings.Repeat("graph "+id, 20_000)))
	return f, id
}

// PreparedFolderWithRun is FolderWithRuns with one run, written after
// prepare set the folder up (Seal, Forward: a staging folder of backup
// s3://…).
func PreparedFolderWithRun(t testing.TB, started time.Time, prepare func(f *backupset.Folder)) (*backupset.Folder, string) {
	t.Helper()
	f, err := backupset.Create(t.TempDir())
	assert.NilError(t, err)
	prepare(f)
	id := backupset.NewRunID(started)
	addRun(t, f, started, strings.NewReader(strings.Repeat("graph "+id, 20_000)))
	return f, id
}

// FolderWithBigRun is FolderWithRuns with one run whose graph dump has size
// bytes (zeros), for tests that need a transfer to take a while.
func FolderWithBigRun(t testing.TB, started time.Time, size int64) (*backupset.Folder, string) {
	t.Helper()
	f, err := backupset.Create(t.TempDir())
	assert.NilError(t, err)
	addRun(t, f, started, io.LimitReader(zeroReader{}, size))
	return f, backupset.NewRunID(started)
}

// componentContent is a small task-manager dump or storage archive that
// passes restore's content check (a real pg_dump archive, with the id
// behind it; a tar of a directory).
func componentContent(t testing.TB, component, id string) io.Reader {
	t.Helper()
	if component == backupset.ComponentTaskManager {
		return io.MultiReader(bytes.NewReader(pgdumptest.Dump()), strings.NewReader(" "+component+" "+id))
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	body := component + " " + id
	assert.NilError(t, tw.WriteHeader(&tar.Header{Name: "./", Typeflag: tar.TypeDir, Mode: 0o755}))
	assert.NilError(t, tw.WriteHeader(&tar.Header{Name: "./run.txt", Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(body))}))
	_, err := tw.Write([]byte(body))
	assert.NilError(t, err)
	assert.NilError(t, tw.Close())
	return &buf
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) { clear(p); return len(p), nil }

func addRun(t testing.TB, f *backupset.Folder, started time.Time, graph io.Reader) {
	t.Helper()
	m, err := f.ReadManifest()
	assert.NilError(t, err)
	id := backupset.NewRunID(started)
	all := []string{backupset.ComponentGraph, backupset.ComponentTaskManager, backupset.ComponentStorage}
	for _, c := range all {
		name, content := backupset.DumpName("neo4j", started), graph
		if c != backupset.ComponentGraph {
			name, err = backupset.ComponentFileName(c, started)
			assert.NilError(t, err)
			content = componentContent(t, c, id)
		}
		pf, err := f.NewFile(name)
		assert.NilError(t, err)
		_, err = io.Copy(pf, content)
		assert.NilError(t, err)
		rec, err := pf.Commit()
		assert.NilError(t, err)
		rec.RunID, rec.Component = id, c
		if c == backupset.ComponentGraph {
			rec.Type = backupset.TypeDump
		}
		m.Upsert(rec)
	}
	m.UpsertRun(backupset.RunRecord{ID: id, Started: started, Complete: true, Components: all})
	assert.NilError(t, f.WriteManifest(m))
}
