package cli

import (
	"os"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/assert"

	"github.com/opsmill/docker-infrahubdb/internal/backupset"
)

// backupFolder makes a folder with neo4j (an old full, then full + diff),
// system, and one file that is no backup.
func backupFolder(t *testing.T) *backupset.Folder {
	t.Helper()
	dir := t.TempDir()
	folder, err := backupset.Create(dir)
	assert.NilError(t, err)
	m := &backupset.Manifest{Tool: "test"}
	for _, f := range []struct {
		db   string
		day  int
		hour int
		typ  string
		tx   [2]int64
	}{
		{"neo4j", 20, 10, backupset.TypeFull, [2]int64{1, 10}},
		{"neo4j", 21, 10, backupset.TypeFull, [2]int64{1, 20}},
		{"neo4j", 21, 11, backupset.TypeDiff, [2]int64{21, 25}},
		{"system", 21, 10, backupset.TypeFull, [2]int64{1, 5}},
	} {
		name := backupset.ArtifactName(f.db, time.Date(2026, 11, f.day, f.hour, 0, 0, 0, time.UTC))
		pf, err := folder.NewFile(name)
		assert.NilError(t, err)
		_, err = pf.Write([]byte("backup of " + name))
		assert.NilError(t, err)
		rec, err := pf.Commit()
		assert.NilError(t, err)
		rec.Type, rec.FromTx, rec.ToTx = f.typ, f.tx[0], f.tx[1]
		m.Upsert(rec)
	}
	assert.NilError(t, folder.WriteManifest(m))
	assert.NilError(t, os.WriteFile(folder.Path("notes.txt"), nil, 0o600))
	return folder
}

// anonymize replaces the folder's temporary path in an output.
func anonymize(out string, folder *backupset.Folder) string {
	return strings.ReplaceAll(out, folder.Dir, "./backups")
}
