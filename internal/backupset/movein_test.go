package backupset

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

func TestMoveInRenamesWithoutCopying(t *testing.T) {
	f, err := Create(filepath.Join(t.TempDir(), "backups"))
	assert.NilError(t, err)
	staging := filepath.Join(f.Dir, ".staging")
	assert.NilError(t, os.Mkdir(staging, 0o700))
	src := filepath.Join(staging, "neo4j-2026-11-20T10-00-00.backup")
	data := []byte("artifact bytes")
	assert.NilError(t, os.WriteFile(src, data, 0o644))
	before, err := os.Stat(src)
	assert.NilError(t, err)

	rec, err := f.MoveIn(src, "neo4j-2026-11-20T10-00-00.backup")
	assert.NilError(t, err)
	sum := sha256.Sum256(data)
	assert.Check(t, is.Equal(rec.SHA256, hex.EncodeToString(sum[:])))
	assert.Check(t, is.Equal(rec.Size, int64(len(data))))
	assert.Check(t, is.Equal(rec.Database, "neo4j"))
	after, err := os.Stat(f.Path(rec.Name))
	assert.NilError(t, err)
	assert.Check(t, os.SameFile(before, after), "moved, not copied")
	assert.Check(t, is.Equal(after.Mode().Perm(), os.FileMode(0o600)))
	_, err = os.Stat(src)
	assert.Check(t, os.IsNotExist(err))
}

func TestMoveInRefusals(t *testing.T) {
	f, err := Create(filepath.Join(t.TempDir(), "backups"))
	assert.NilError(t, err)
	outside := filepath.Join(t.TempDir(), "secret")
	assert.NilError(t, os.WriteFile(outside, []byte("secret"), 0o600))
	link := filepath.Join(f.Dir, "link")
	assert.NilError(t, os.Symlink(outside, link))
	_, err = f.MoveIn(link, "neo4j-2026-11-20T10-00-00.backup")
	assert.Check(t, is.ErrorContains(err, "not a regular file"))

	src := filepath.Join(f.Dir, "staged")
	assert.NilError(t, os.WriteFile(src, []byte("x"), 0o600))
	assert.NilError(t, os.WriteFile(f.Path("neo4j-2026-11-20T10-00-00.backup"), []byte("old"), 0o600))
	_, err = f.MoveIn(src, "neo4j-2026-11-20T10-00-00.backup")
	assert.Check(t, is.ErrorIs(err, os.ErrExist))
	_, err = f.MoveIn(src, "../escape")
	assert.Check(t, is.ErrorContains(err, "invalid file name"))
}

// A prepared move leaves the file where it is (others may still read it
// there) until Commit, which refuses a file that changed since it was hashed.
func TestPrepareMoveThenCommit(t *testing.T) {
	f, err := Create(filepath.Join(t.TempDir(), "backups"))
	assert.NilError(t, err)
	src := filepath.Join(f.Dir, "staged")
	data := []byte("artifact bytes")
	assert.NilError(t, os.WriteFile(src, data, 0o644))

	m, err := f.PrepareMove(context.Background(), src, "neo4j-2026-11-20T10-00-00.backup")
	assert.NilError(t, err)
	defer m.Close()
	assert.Check(t, is.Equal(m.Size(), int64(len(data))))
	got, err := os.ReadFile(src)
	assert.NilError(t, err)
	assert.Check(t, is.DeepEqual(got, data), "still where it was")
	_, err = os.Lstat(f.Path("neo4j-2026-11-20T10-00-00.backup"))
	assert.Check(t, os.IsNotExist(err))

	rec, err := m.Commit()
	assert.NilError(t, err)
	sum := sha256.Sum256(data)
	assert.Check(t, is.Equal(rec.SHA256, hex.EncodeToString(sum[:])))
	assert.Check(t, is.Equal(rec.Database, "neo4j"))
	_, err = m.Commit()
	assert.Check(t, is.ErrorContains(err, "already committed"))
}

func TestCommitRefusesAFileChangedAfterItWasHashed(t *testing.T) {
	for name, change := range map[string]func(t *testing.T, src string){
		"appended": func(t *testing.T, src string) {
			w, err := os.OpenFile(src, os.O_WRONLY|os.O_APPEND, 0)
			assert.NilError(t, err)
			_, err = w.WriteString("more")
			assert.NilError(t, err)
			assert.NilError(t, w.Close())
		},
		"replaced": func(t *testing.T, src string) {
			assert.NilError(t, os.Remove(src))
			assert.NilError(t, os.WriteFile(src, []byte("other bytes..."), 0o644))
		},
	} {
		t.Run(name, func(t *testing.T) {
			f, err := Create(filepath.Join(t.TempDir(), "backups"))
			assert.NilError(t, err)
			src := filepath.Join(f.Dir, "staged")
			assert.NilError(t, os.WriteFile(src, []byte("artifact bytes"), 0o644))
			m, err := f.PrepareMove(context.Background(), src, "neo4j-2026-11-20T10-00-00.backup")
			assert.NilError(t, err)
			defer m.Close()

			change(t, src)
			_, err = m.Commit()
			assert.Check(t, is.ErrorContains(err, "changed after it was hashed"))
			_, err = os.Lstat(f.Path("neo4j-2026-11-20T10-00-00.backup"))
			assert.Check(t, os.IsNotExist(err), "nothing put in place")
		})
	}
}

func TestPrepareMoveHonoursCancellation(t *testing.T) {
	f, err := Create(filepath.Join(t.TempDir(), "backups"))
	assert.NilError(t, err)
	src := filepath.Join(f.Dir, "staged")
	assert.NilError(t, os.WriteFile(src, []byte("artifact bytes"), 0o644))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = f.PrepareMove(ctx, src, "neo4j-2026-11-20T10-00-00.backup")
	assert.Check(t, is.ErrorIs(err, context.Canceled))
	_, err = os.Stat(src)
	assert.Check(t, is.Nil(err), "left where it was")
}
