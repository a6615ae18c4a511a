package backupset

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
	"testing"

	"gotest.tools/v3/assert"
	"gotest.tools/v3/fs"
)

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func TestPartialFileCommit(t *testing.T) {
	f := testFolder(t)
	name := "neo4j-2026-03-01T00-00-00.backup"
	pf, err := f.NewFile(name)
	assert.NilError(t, err)
	defer pf.Abort()
	_, err = io.WriteString(pf, "hello ")
	assert.NilError(t, err)
	_, err = io.WriteString(pf, "world")
	assert.NilError(t, err)

	// Until Commit only the partial exists.
	assert.Assert(t, fs.Equal(f.Dir, fs.Expected(t, fs.WithMode(dirMode(t, f.Dir)),
		fs.WithFile(name+PartialExt, "hello world", fs.WithMode(0o600)))))

	rec, err := pf.Commit()
	assert.NilError(t, err)
	pf.Abort() // after Commit: does nothing
	assert.DeepEqual(t, rec, FileRecord{Name: name, Database: "neo4j", Time: at(0), Size: 11, SHA256: sha("hello world"),
		Added: f.now().UTC()})
	assert.Assert(t, fs.Equal(f.Dir, fs.Expected(t, fs.WithMode(dirMode(t, f.Dir)),
		fs.WithFile(name, "hello world", fs.WithMode(0o600)))))

	_, err = pf.Commit()
	assert.ErrorContains(t, err, "already committed")
}

func dirMode(t *testing.T, dir string) os.FileMode {
	st, err := os.Stat(dir)
	assert.NilError(t, err)
	return st.Mode().Perm()
}

func TestPartialFileAbort(t *testing.T) {
	f := testFolder(t)
	pf, err := f.NewFile("x.backup")
	assert.NilError(t, err)
	_, err = io.WriteString(pf, "half")
	assert.NilError(t, err)
	pf.Abort()
	pf.Abort()
	assert.Assert(t, fs.Equal(f.Dir, fs.Expected(t, fs.WithMode(dirMode(t, f.Dir)))))
	_, err = pf.Commit()
	assert.ErrorContains(t, err, "already committed or aborted")
}

func TestNewFileRefuses(t *testing.T) {
	f := testFolder(t,
		fs.WithFile("exists.backup", "x"),
		fs.WithFile("left.backup.partial", "x"),
	)
	tests := []struct{ name, err string }{
		{"exists.backup", "exists.backup already exists"},
		{"left.backup", "left by an interrupted run"},
		{"../escape.backup", "must not contain a path separator"},
		{"a/b", "must not contain a path separator"},
		{"..", "invalid file name"},
		{"", "invalid file name"},
		{"x.partial", "must not end in .partial"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.NewFile(tc.name)
			assert.ErrorContains(t, err, tc.err)
		})
	}
	_, err := f.NewFile("exists.backup")
	assert.Assert(t, errors.Is(err, os.ErrExist))

	removed, err := f.RemovePartials()
	assert.NilError(t, err)
	assert.DeepEqual(t, removed, []string{"left.backup.partial"})
	pf, err := f.NewFile("left.backup")
	assert.NilError(t, err)
	pf.Abort()
}

func TestDiskFullError(t *testing.T) {
	err := diskFull("/b/x.partial", fmt.Errorf("write: %w", &os.PathError{Op: "write", Path: "/b/x.partial", Err: syscall.ENOSPC}))
	assert.Assert(t, errors.Is(err, syscall.ENOSPC))
	var dfe *DiskFullError
	assert.Assert(t, errors.As(err, &dfe))
	assert.ErrorContains(t, err, "disk full while writing /b/x.partial: free space on the disk that holds /b")
	assert.Equal(t, diskFull("p", diskFull("p", err)), err) // not wrapped twice
	other := errors.New("boom")
	assert.Equal(t, diskFull("p", other), other)
}

// /dev/full fails every write with ENOSPC; check that PartialFile's own
// write path turns that into a DiskFullError.
func TestPartialFileDiskFull(t *testing.T) {
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skip("no /dev/full on this system")
	}
	f := testFolder(t)
	pf, err := f.NewFile("x.backup")
	assert.NilError(t, err)
	pf.file.Close()
	pf.file = full
	_, err = pf.Write([]byte("data"))
	assert.Assert(t, errors.Is(err, syscall.ENOSPC))
	assert.ErrorContains(t, err, "disk full while writing /dev/full")
	pf.Abort()
}

func TestCreate(t *testing.T) {
	parent := fs.NewDir(t, "create")
	dir := parent.Join("a", "b")
	f, err := Create(dir)
	assert.NilError(t, err)
	assert.Equal(t, f.Dir, dir)
	assert.Equal(t, dirMode(t, dir), os.FileMode(0o700))
	assert.Assert(t, fs.Equal(dir, fs.Expected(t, fs.WithMode(0o700)))) // probe removed

	if os.Getuid() != 0 { // root writes anywhere
		ro := fs.NewDir(t, "ro", fs.WithMode(0o500))
		_, err = Create(ro.Path())
		assert.ErrorContains(t, err, "is not writable")
	}

	_, err = Open(parent.Join("nope"))
	assert.ErrorContains(t, err, "does not exist")
	file := fs.NewFile(t, "file")
	_, err = Open(file.Path())
	assert.ErrorContains(t, err, "is not a directory")
	_, err = Create(file.Path())
	assert.ErrorContains(t, err, "cannot create backup folder")
}
