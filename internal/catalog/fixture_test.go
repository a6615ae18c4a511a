package catalog

import (
	"archive/tar"
	"bytes"
	"os"
	"testing"
	"time"

	"gotest.tools/v3/assert"

	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/helper/helpertest"
	"github.com/opsmill/docker-infrahubdb/internal/pgdump/pgdumptest"
)

// file is a file of a test folder. Artifacts are recorded in the manifest
// unless unrecorded is set.
type file struct {
	name       string
	typ        string // backupset.TypeFull, TypeDiff or ""
	content    string
	from, to   int64
	unrecorded bool
}

// makeFolder writes files (and a manifest when any file is recorded).
func makeFolder(t *testing.T, files ...file) *backupset.Folder {
	t.Helper()
	folder, err := backupset.Create(t.TempDir())
	assert.NilError(t, err)
	m := &backupset.Manifest{Version: backupset.ManifestVersion, Tool: "test"}
	recorded := false
	for _, f := range files {
		content := f.content
		if content == "" {
			content = "backup of " + f.name
		}
		if _, _, ok := backupset.ParseArtifactName(f.name); !ok || f.unrecorded {
			assert.NilError(t, os.WriteFile(folder.Path(f.name), []byte(content), 0o600))
			continue
		}
		pf, err := folder.NewFile(f.name)
		assert.NilError(t, err)
		_, err = pf.Write([]byte(content))
		assert.NilError(t, err)
		rec, err := pf.Commit()
		assert.NilError(t, err)
		rec.Type, rec.FromTx, rec.ToTx = f.typ, f.from, f.to
		m.Upsert(rec)
		recorded = true
	}
	if recorded {
		assert.NilError(t, folder.WriteManifest(m))
	}
	return folder
}

func day(d, h int) time.Time { return time.Date(2026, 11, d, h, 0, 0, 0, time.UTC) }

func name(db string, d, h int) string { return backupset.ArtifactName(db, day(d, h)) }

// unrecordedChain is a folder neo4j-admin made (no manifest) with a full
// and a diff of neo4j, and an engine whose neo4j-admin backup inspect tells
// them apart.
func unrecordedChain(t *testing.T) (*backupset.Folder, *helpertest.Engine) {
	t.Helper()
	folder := makeFolder(t,
		file{name: name("neo4j", 20, 10), unrecorded: true},
		file{name: name("neo4j", 20, 11), unrecorded: true},
	)
	eng := newEngine(inspectAdmin(map[string]string{
		name("neo4j", 20, 10): `"full":true,"lowestTx":1,"highestTx":10`,
		name("neo4j", 20, 11): `"full":false,"lowestTx":11,"highestTx":12`,
	}, false))
	return folder, eng
}

// twoChains is neo4j with an old full, a newer full + diff, and system.
func twoChains() []file {
	return []file{
		{name: name("neo4j", 20, 10), typ: backupset.TypeFull, from: 1, to: 10},
		{name: name("neo4j", 21, 10), typ: backupset.TypeFull, from: 1, to: 20},
		{name: name("neo4j", 21, 11), typ: backupset.TypeDiff, from: 21, to: 25},
		{name: name("system", 21, 10), typ: backupset.TypeFull, from: 1, to: 5},
	}
}

// componentContent is what restore's preflight accepts for a component's
// file: a pg_dump custom-format header, or a storage archive with one file.
// With hostile set, the storage archive holds an entry leaving the storage
// and the "dump" is plain text.
func componentContent(t *testing.T, component string, hostile bool) []byte {
	t.Helper()
	if component == backupset.ComponentTaskManager {
		if hostile {
			return pgdumptest.Plain()
		}
		return pgdumptest.Dump()
	}
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	body := []byte("object")
	name := "./files/object"
	if hostile {
		name = "./../../etc/cron.d/evil"
	}
	assert.NilError(t, tw.WriteHeader(&tar.Header{Name: "./", Mode: 0o755, Typeflag: tar.TypeDir}))
	assert.NilError(t, tw.WriteHeader(&tar.Header{Name: "./files/", Mode: 0o755, Typeflag: tar.TypeDir}))
	assert.NilError(t, tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}))
	_, err := tw.Write(body)
	assert.NilError(t, err)
	assert.NilError(t, tw.Close())
	return b.Bytes()
}
