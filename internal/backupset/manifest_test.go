package backupset

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/fs"
)

// testFolder is a temporary folder with a fixed clock, so that Updated and
// Added are reproducible.
func testFolder(t *testing.T, ops ...fs.PathOp) *Folder {
	t.Helper()
	dir := fs.NewDir(t, "backupset", ops...)
	f, err := Open(dir.Path())
	assert.NilError(t, err)
	f.clock = func() time.Time { return time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC) }
	return f
}

const sumA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

func TestManifestAbsentIsEmpty(t *testing.T) {
	f := testFolder(t)
	m, err := f.ReadManifest()
	assert.NilError(t, err)
	assert.DeepEqual(t, m, &Manifest{Version: ManifestVersion})
}

func TestManifestRoundTrip(t *testing.T) {
	f := testFolder(t)
	m := &Manifest{Tool: "docker-infrahubdb 1.2.3"}
	cet := time.FixedZone("CET", 3600)
	m.Upsert(
		FileRecord{Name: "system-2026-03-01T00-00-00.backup", Database: "system", Type: TypeFull, Time: at(0), Size: 5, SHA256: sumA},
		FileRecord{Name: "neo4j-2026-03-01T01-00-00.backup", Database: "neo4j", Type: TypeDiff, Time: at(1), Size: 7, SHA256: sumA, FromTx: 11, ToTx: 20, Added: at(1).In(cet)},
		FileRecord{Name: "neo4j-2026-03-01T00-00-00.backup", Database: "neo4j", Type: TypeFull, Time: at(0), Size: 9, SHA256: sumA,
			Neo4jVersion: "5.26.0", SourceContainer: "infrahub-database-1", SourceImage: "neo4j:5.26.0-enterprise"},
	)
	m.Upsert(FileRecord{Name: "system-2026-03-01T00-00-00.backup", Database: "system", Type: TypeFull, Time: at(0), Size: 6, SHA256: sumA})
	assert.Equal(t, len(m.Files), 3)

	assert.NilError(t, f.WriteManifest(m))
	got, err := f.ReadManifest()
	assert.NilError(t, err)
	assert.DeepEqual(t, got, m)
	assert.Equal(t, got.Updated, time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC))

	// Sorted by database, then time; UTC; no temporary file left; mode 0600.
	var order []string
	for _, r := range got.Files {
		order = append(order, r.Name)
	}
	assert.DeepEqual(t, order, []string{"neo4j-2026-03-01T00-00-00.backup", "neo4j-2026-03-01T01-00-00.backup", "system-2026-03-01T00-00-00.backup"})
	r, ok := got.Lookup("system-2026-03-01T00-00-00.backup")
	assert.Assert(t, ok)
	assert.Equal(t, r.Size, int64(6))
	data, err := os.ReadFile(f.Path(ManifestName))
	assert.NilError(t, err)
	assert.Check(t, is.Contains(string(data), `"added": "2026-03-01T01:00:00Z"`))
	assert.Check(t, is.Contains(string(data), `"from_tx": 11`))
	assert.Assert(t, !strings.Contains(string(data), `"from_tx": 0`))
	st, err := os.Stat(f.Path(ManifestName))
	assert.NilError(t, err)
	assert.Equal(t, st.Mode().Perm(), os.FileMode(0o600))
	_, err = os.Stat(f.Path(ManifestName + PartialExt))
	assert.Assert(t, os.IsNotExist(err))

	// Writing the same manifest again gives the same bytes.
	assert.NilError(t, f.WriteManifest(got))
	again, err := os.ReadFile(f.Path(ManifestName))
	assert.NilError(t, err)
	assert.Equal(t, string(again), string(data))

	got.Remove("neo4j-2026-03-01T01-00-00.backup", "not-there")
	assert.Equal(t, len(got.Files), 2)
	_, ok = got.Lookup("neo4j-2026-03-01T01-00-00.backup")
	assert.Assert(t, !ok)
}

func TestManifestMalformed(t *testing.T) {
	rec := `{"name":"neo4j-2026-03-01T00-00-00.backup","size":1,"sha256":"` + sumA + `"}`
	tests := []struct {
		doc, content, err string
	}{
		{doc: "empty", content: "", err: "unexpected end of JSON input"},
		{doc: "truncated", content: `{"version":1,"files":[{"name":"x`, err: "unexpected end of JSON input"},
		{doc: "not json", content: "hello", err: "invalid character"},
		{doc: "no version", content: `{"files":[]}`, err: "no version"},
		{doc: "bad hash", content: `{"version":1,"files":[{"name":"a.backup","size":1,"sha256":"xyz"}]}`, err: "a.backup has an invalid size or sha256"},
		{doc: "path in name", content: `{"version":1,"files":[{"name":"../a.backup","size":1,"sha256":"` + sumA + `"}]}`, err: `invalid name "../a.backup"`},
		{doc: "duplicate", content: `{"version":1,"files":[` + rec + `,` + rec + `]}`, err: "listed twice"},
		{doc: "unknown type", content: `{"version":1,"files":[{"name":"a.backup","type":"incremental","size":1,"sha256":"` + sumA + `"}]}`, err: `unknown type "incremental"`},
	}
	for _, tc := range tests {
		t.Run(tc.doc, func(t *testing.T) {
			f := testFolder(t, fs.WithFile(ManifestName, tc.content))
			_, err := f.ReadManifest()
			assert.ErrorIs(t, err, ErrMalformedManifest)
			assert.ErrorContains(t, err, tc.err)
			assert.ErrorContains(t, err, f.Path(ManifestName))
			assert.ErrorContains(t, err, "verify --adopt")
		})
	}
}

func TestManifestNewerVersion(t *testing.T) {
	f := testFolder(t, fs.WithFile(ManifestName, `{"version":99,"tool":"docker-infrahubdb 9.0.0","files":[]}`))
	_, err := f.ReadManifest()
	assert.ErrorContains(t, err, "written by a newer docker-infrahubdb (docker-infrahubdb 9.0.0); upgrade the plugin")
}

// A relative FOLDER is known by its absolute path: bind mounts need one.
func TestFolderIsAbsolute(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	f, err := Create("backups")
	assert.NilError(t, err)
	assert.Check(t, is.Equal(f.Dir, filepath.Join(dir, "backups")))
	f, err = Open("./backups/")
	assert.NilError(t, err)
	assert.Check(t, is.Equal(f.Dir, filepath.Join(dir, "backups")))
}
