package backupset

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/opsmill/docker-infrahubdb/internal/exitcode"
)

// objects is a location's stored bytes by object name, for a Fetcher.
type objects map[string][]byte

func (o objects) fetch(object string) (io.ReadCloser, error) {
	b, ok := o[object]
	if !ok {
		return nil, fmt.Errorf("%s: %w", object, os.ErrNotExist)
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}

// fetchedFolder is a folder fetching one file, name, stored as object
// (sealed: age ciphertext of plain); its manifest records the plaintext.
func fetchedFolder(t *testing.T, name string, plain []byte, sealed bool) (*Folder, objects, FileRecord) {
	t.Helper()
	f, err := Create(t.TempDir())
	assert.NilError(t, err)
	stored := plain
	if sealed {
		key, err := age.GenerateX25519Identity()
		assert.NilError(t, err)
		var buf bytes.Buffer
		w, err := age.Encrypt(&buf, key.Recipient())
		assert.NilError(t, err)
		_, err = w.Write(plain)
		assert.NilError(t, err)
		assert.NilError(t, w.Close())
		stored = buf.Bytes()
		f.Unseal(func(disk io.Reader) (io.Reader, error) { return age.Decrypt(disk, key) })
	}
	objs := objects{"runs/r1/" + name: stored}
	f.Fetch(objs.fetch)
	r := ForwardedRecord{Object: FileRecord{Name: "runs/r1/" + name, Size: int64(len(stored)), SHA256: sumOf(stored)}, PlainSize: int64(len(plain)), PlainSHA256: sumOf(plain), Sealed: sealed}
	assert.NilError(t, f.AddFetched(name, r))
	rec := FileRecord{Name: name, Database: "neo4j", Size: r.PlainSize, SHA256: r.PlainSHA256}
	m, err := f.ReadManifest()
	assert.NilError(t, err)
	m.Upsert(rec)
	assert.NilError(t, f.WriteManifest(m))
	return f, objs, rec
}

func sentTar(t *testing.T, f *Folder, name string, rec FileRecord) ([]byte, error) {
	t.Helper()
	var buf bytes.Buffer
	err := f.SendTarChecked(&buf, []string{name}, &Manifest{Files: []FileRecord{rec}}, nil)
	if err != nil {
		return nil, err
	}
	tr := tar.NewReader(&buf)
	_, err = tr.Next()
	assert.NilError(t, err)
	return io.ReadAll(tr)
}

// A fetched file is an empty placeholder on disk; it reads, scans and is
// sent as its plaintext, read from the location; it is never staged by a
// link or a copy.
func TestFetchedFileIsReadFromItsLocation(t *testing.T) {
	const name = "neo4j-2026-12-01T03-00-00.backup"
	plain := []byte(strings.Repeat("graph data ", 50_000))
	for _, sealed := range []bool{false, true} {
		t.Run(fmt.Sprintf("sealed=%v", sealed), func(t *testing.T) {
			f, _, rec := fetchedFolder(t, name, plain, sealed)
			st, err := os.Stat(f.Path(name))
			assert.NilError(t, err)
			assert.Check(t, is.Equal(st.Size(), int64(0)), "nothing of it on disk")
			assert.Check(t, f.StreamOnly())
			got, err := sentTar(t, f, name, rec)
			assert.NilError(t, err)
			assert.Check(t, bytes.Equal(got, plain))
			arts, err := f.Artifacts()
			assert.NilError(t, err)
			assert.Assert(t, is.Len(arts, 1))
			assert.Check(t, is.Equal(arts[0].Size, int64(len(plain))))
			rc, err := f.OpenChecked(rec)
			assert.NilError(t, err)
			all, err := io.ReadAll(rc)
			rc.Close()
			assert.NilError(t, err)
			assert.Check(t, bytes.Equal(all, plain))
			err = f.Stage(name, filepath.Join(t.TempDir(), name), true, 0o644)
			assert.Check(t, err != nil, "a fetched file was staged on disk")
		})
	}
}

// Stored bytes that differ from the object's record (a flipped byte, one
// more or one less) fail the send as a problem of the file, before the
// receiver holds a whole entry.
func TestFetchedFileDamagedFailsTheSend(t *testing.T) {
	const name = "neo4j-2026-12-01T03-00-00.backup"
	plain := []byte(strings.Repeat("graph data ", 50_000))
	for _, sealed := range []bool{false, true} {
		for what, damage := range map[string]func([]byte) []byte{
			"flipped byte": func(b []byte) []byte { c := bytes.Clone(b); c[len(c)/2] ^= 1; return c },
			"cut":          func(b []byte) []byte { return b[:len(b)-100] },
			"longer":       func(b []byte) []byte { return append(bytes.Clone(b), 'x') },
		} {
			t.Run(fmt.Sprintf("sealed=%v/%s", sealed, what), func(t *testing.T) {
				f, objs, rec := fetchedFolder(t, name, plain, sealed)
				for k, v := range objs {
					objs[k] = damage(v)
				}
				_, err := sentTar(t, f, name, rec)
				var pe *ProblemError
				assert.Assert(t, errors.As(err, &pe), "got %v", err)
			})
		}
	}
}

// A location that stops answering while a file is sent is not damage: the
// error says the location did not answer (exit 3), not that the file is bad.
func TestFetchedFileUnreachableIsNotAProblem(t *testing.T) {
	const name = "neo4j-2026-12-01T03-00-00.backup"
	plain := []byte(strings.Repeat("graph data ", 50_000))
	for _, sealed := range []bool{false, true} {
		t.Run(fmt.Sprintf("sealed=%v", sealed), func(t *testing.T) {
			f, objs, rec := fetchedFolder(t, name, plain, sealed)
			f.fetching.from = func(object string) (io.ReadCloser, error) {
				return io.NopCloser(io.MultiReader(bytes.NewReader(objs[object][:100_000]), errReader{fmt.Errorf("connection reset: %w", ErrUnreachable)})), nil
			}
			_, err := sentTar(t, f, name, rec)
			assert.Assert(t, errors.Is(err, ErrUnreachable), "got %v", err)
			var pe *ProblemError
			assert.Check(t, !errors.As(err, &pe), "taken for damage: %v", err)
			assert.Check(t, !errors.Is(err, ErrSealed), "taken for damage: %v", err)
			assert.Check(t, is.Equal(exitcode.Of(err), exitcode.Environment), "got %v", err)
		})
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }
