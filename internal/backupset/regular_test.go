//go:build unix

package backupset

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

// secret is a file of the client outside the folder that a link named like
// an artifact points at: its content must never be read through the folder.
func secret(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "id_rsa")
	assert.NilError(t, os.WriteFile(p, []byte("PRIVATE KEY"), 0o600))
	return p
}

// linkInto replaces the folder's file name with a symbolic link to target.
func linkInto(t *testing.T, f *Folder, name, target string) {
	t.Helper()
	_ = os.Remove(f.Path(name))
	assert.NilError(t, os.Symlink(target, f.Path(name)))
}

func TestScanRefusesLinksAndSpecialFilesNamedLikeArtifacts(t *testing.T) {
	f := goodFolder(t)
	linkInto(t, f, full0, secret(t))
	assert.NilError(t, syscall.Mkfifo(f.Path("neo4j-2026-03-09T00-00-00.backup"), 0o600))
	assert.NilError(t, os.Symlink(secret(t), f.Path("notes.txt"))) // not named like an artifact: only unexpected

	_, err := f.Scan()
	var nr *NotRegularError
	assert.Assert(t, errors.As(err, &nr), "got %v", err)
	assert.Check(t, is.ErrorContains(err, "refusing "+f.Path(full0)+": it is a symbolic link, not a regular file"))
	assert.Check(t, is.ErrorContains(err, "refusing "+f.Path("neo4j-2026-03-09T00-00-00.backup")+": it is a named pipe"))
	assert.Check(t, is.ErrorContains(err, "move it out of the folder"))
	assert.Check(t, !bytes.Contains([]byte(err.Error()), []byte("notes.txt")))

	// Every reader of the folder goes through Scan.
	_, err = f.Artifacts()
	assert.Check(t, errors.As(err, &nr), "artifacts: %v", err)
	_, err = f.Verify(nil)
	assert.Check(t, errors.As(err, &nr), "verify: %v", err)
}

func TestReadersNeverFollowALink(t *testing.T) {
	f := goodFolder(t)
	linkInto(t, f, full0, secret(t))
	var nr *NotRegularError

	var buf bytes.Buffer
	err := f.SendTar(&buf, []string{full0}, nil)
	assert.Check(t, errors.As(err, &nr), "send: %v", err)
	assert.Check(t, !bytes.Contains(buf.Bytes(), []byte("PRIVATE KEY")), "the link's target was sent")

	_, err = f.Describe(full0)
	assert.Check(t, errors.As(err, &nr), "describe: %v", err)

	p := f.checkFile(context.Background(), FileRecord{Name: full0, Size: 11}, nil)
	assert.Assert(t, p != nil)
	assert.Check(t, is.Equal(p.Kind, ProblemUnreadable))
	assert.Check(t, is.Contains(p.Detail, "symbolic link"))

	dst := filepath.Join(t.TempDir(), full0)
	for _, link := range []bool{true, false} {
		err = f.Stage(full0, dst, link, 0o644)
		assert.Check(t, errors.As(err, &nr), "stage (link %v): %v", link, err)
		_, err = os.Lstat(dst)
		assert.Check(t, errors.Is(err, os.ErrNotExist), "nothing staged")
	}
}

func TestOpenRegularRefusesAPipeWithoutBlocking(t *testing.T) {
	p := filepath.Join(t.TempDir(), "pipe")
	assert.NilError(t, syscall.Mkfifo(p, 0o600))
	_, _, err := OpenRegular(p)
	var nr *NotRegularError
	assert.Assert(t, errors.As(err, &nr), "got %v", err)
	assert.Check(t, is.Equal(nr.Kind, "named pipe"))
}

func TestStageLinksOrCopiesARegularFile(t *testing.T) {
	f := goodFolder(t)
	dir := t.TempDir()
	assert.NilError(t, f.Stage(full0, filepath.Join(dir, "linked"), true, 0o644))
	assert.NilError(t, f.Stage(full0, filepath.Join(dir, "copied"), false, 0o644))
	want, err := os.Stat(f.Path(full0))
	assert.NilError(t, err)
	linked, err := os.Stat(filepath.Join(dir, "linked"))
	assert.NilError(t, err)
	assert.Check(t, os.SameFile(want, linked), "a hard link")
	copied, err := os.Stat(filepath.Join(dir, "copied"))
	assert.NilError(t, err)
	assert.Check(t, !os.SameFile(want, copied), "a copy")
	assert.Check(t, is.Equal(copied.Mode().Perm(), os.FileMode(0o644)))
	data, err := os.ReadFile(filepath.Join(dir, "copied"))
	assert.NilError(t, err)
	assert.Check(t, is.Equal(string(data), "full backup of neo4j"))
}
