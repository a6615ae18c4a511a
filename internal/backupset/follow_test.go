package backupset

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

const followedName = "neo4j-2026-11-20T10-00-00.dump"

// followFixture is a folder with a staging dir, and a follower of a file
// there that is not written yet.
func followFixture(t *testing.T) (*Folder, string, *Follower) {
	t.Helper()
	f, err := Create(filepath.Join(t.TempDir(), "backups"))
	assert.NilError(t, err)
	staging := filepath.Join(f.Dir, ".staging")
	assert.NilError(t, os.Mkdir(staging, 0o700))
	src := filepath.Join(staging, "neo4j.dump")
	fl := Follow(src)
	t.Cleanup(fl.Close)
	return f, src, fl
}

// appendTo appends data to path and waits until fl has hashed all of it.
func appendTo(t *testing.T, path string, fl *Follower, data []byte, want int64) {
	t.Helper()
	file, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	assert.NilError(t, err)
	_, err = file.Write(data)
	assert.NilError(t, err)
	assert.NilError(t, file.Close())
	deadline := time.Now().Add(10 * time.Second)
	for fl.hashed() < want {
		assert.Assert(t, time.Now().Before(deadline), "the follower read %d of %d bytes", fl.hashed(), want)
		time.Sleep(10 * time.Millisecond)
	}
}

// hashed is how much the follower has read so far.
func (f *Follower) hashed() int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.n
}

func sumOf(data []byte) string {
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:])
}

// A file hashed while it was written, then moved in the work dir (mv):
// only its end is hashed once the writer is done, and the record is that
// of the whole file.
func TestFollowedMoveHashesOnlyTheEnd(t *testing.T) {
	f, src, fl := followFixture(t)
	first := make([]byte, 3*hashChunk+123)
	for i := range first {
		first[i] = byte(i)
	}
	appendTo(t, src, fl, first, int64(len(first)))
	end := []byte("the end, written after the follower's last look")
	file, err := os.OpenFile(src, os.O_WRONLY|os.O_APPEND, 0o644)
	assert.NilError(t, err)
	_, err = file.Write(end)
	assert.NilError(t, err)
	assert.NilError(t, file.Close())
	fl.Stop()
	moved := filepath.Join(filepath.Dir(src), followedName)
	assert.NilError(t, os.Rename(src, moved))

	m, err := f.PrepareFollowedMove(context.Background(), moved, followedName, fl)
	assert.NilError(t, err)
	defer m.Close()
	assert.Check(t, m.followed >= int64(len(first)), "followed %d", m.followed)
	rec, err := m.Commit()
	assert.NilError(t, err)
	all := append(first, end...)
	assert.Check(t, is.Equal(rec.SHA256, sumOf(all)))
	assert.Check(t, is.Equal(rec.Size, int64(len(all))))
	got, err := os.ReadFile(f.Path(followedName))
	assert.NilError(t, err)
	assert.Check(t, is.Equal(sumOf(got), rec.SHA256))
}

// A writer that goes back and rewrites what the follower had hashed, or
// truncates and rewrites the file, makes the move hash it all again: the
// record describes what is on disk.
func TestFollowedMoveRehashesAFileChangedBehindIt(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(t *testing.T, path string) []byte // returns the final content
	}{
		{name: "a byte rewritten", change: func(t *testing.T, path string) []byte {
			file, err := os.OpenFile(path, os.O_WRONLY, 0)
			assert.NilError(t, err)
			_, err = file.WriteAt([]byte{'X'}, 5)
			assert.NilError(t, err)
			assert.NilError(t, file.Close())
			data, err := os.ReadFile(path)
			assert.NilError(t, err)
			return data
		}},
		{name: "truncated and written shorter", change: func(t *testing.T, path string) []byte {
			data := []byte("short")
			assert.NilError(t, os.WriteFile(path, data, 0o644))
			return data
		}},
		{name: "truncated and written as long", change: func(t *testing.T, path string) []byte {
			data := []byte("fedcba9876543210-and-more")
			assert.NilError(t, os.WriteFile(path, data, 0o644))
			return data
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, src, fl := followFixture(t)
			appendTo(t, src, fl, []byte("0123456789abcdef"), 16)
			want := tc.change(t, src)
			fl.Stop()
			m, err := f.PrepareFollowedMove(context.Background(), src, followedName, fl)
			assert.NilError(t, err)
			defer m.Close()
			assert.Check(t, is.Equal(m.followed, int64(0)), "hashed again from the start")
			rec, err := m.Commit()
			assert.NilError(t, err)
			assert.Check(t, is.Equal(rec.SHA256, sumOf(want)))
			assert.Check(t, is.Equal(rec.Size, int64(len(want))))
		})
	}
}

// A follower of another file (replaced under the same name, or never
// written) leaves the move to PrepareMove.
func TestFollowedMoveOfAnotherFile(t *testing.T) {
	f, src, fl := followFixture(t)
	appendTo(t, src, fl, []byte("first file"), 10)
	fl.Stop()
	assert.NilError(t, os.Remove(src))
	data := []byte("second file, same name")
	assert.NilError(t, os.WriteFile(src, data, 0o644))
	m, err := f.PrepareFollowedMove(context.Background(), src, followedName, fl)
	assert.NilError(t, err)
	defer m.Close()
	assert.Check(t, is.Equal(m.followed, int64(0)))
	rec, err := m.Commit()
	assert.NilError(t, err)
	assert.Check(t, is.Equal(rec.SHA256, sumOf(data)))

	f2, src2, idle := followFixture(t)
	assert.NilError(t, os.WriteFile(src2, data, 0o644))
	idle.Stop() // stopped before it saw the file
	m, err = f2.PrepareFollowedMove(context.Background(), src2, followedName, idle)
	assert.NilError(t, err)
	defer m.Close()
	rec, err = m.Commit()
	assert.NilError(t, err)
	assert.Check(t, is.Equal(rec.SHA256, sumOf(data)))
}
