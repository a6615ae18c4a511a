package backupset

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/opsmill/docker-infrahubdb/internal/exitcode"
)

// A sealed folder keeps only what the Sealer makes of the bytes; the record
// describes the plaintext, Sealed the bytes on disk.
func TestSealedFolder(t *testing.T) {
	key, err := age.GenerateX25519Identity()
	assert.NilError(t, err)
	f, err := Create(t.TempDir())
	assert.NilError(t, err)
	assert.Check(t, !f.IsSealed())
	f.Seal(func(disk io.Writer) (io.WriteCloser, error) { return age.Encrypt(disk, key.Recipient()) })
	assert.Check(t, f.IsSealed())

	plain := strings.Repeat("secret graph ", 100_000)
	check := func(name string, rec FileRecord) {
		t.Helper()
		sum := sha256.Sum256([]byte(plain))
		assert.Check(t, is.Equal(rec.Size, int64(len(plain))))
		assert.Check(t, is.Equal(rec.SHA256, hex.EncodeToString(sum[:])))
		disk, err := os.ReadFile(f.Path(name))
		assert.NilError(t, err)
		assert.Check(t, !bytes.Contains(disk, []byte("secret graph")), "plaintext on disk")
		sr, ok := f.Sealed(name)
		assert.Assert(t, ok)
		dsum := sha256.Sum256(disk)
		assert.Check(t, is.Equal(sr.Size, int64(len(disk))))
		assert.Check(t, is.Equal(sr.SHA256, hex.EncodeToString(dsum[:])))
		r, err := age.Decrypt(bytes.NewReader(disk), key)
		assert.NilError(t, err)
		got, err := io.ReadAll(r)
		assert.NilError(t, err)
		assert.Check(t, string(got) == plain, "decrypts to what was written")
	}

	pf, err := f.NewFile("neo4j-2026-12-01T03-00-00.dump")
	assert.NilError(t, err)
	_, err = io.Copy(pf, strings.NewReader(plain))
	assert.NilError(t, err)
	rec, err := pf.Commit()
	assert.NilError(t, err)
	check("neo4j-2026-12-01T03-00-00.dump", rec)

	// What the helper sends is sealed too.
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	assert.NilError(t, tw.WriteHeader(&tar.Header{Name: "system-2026-12-01T03-00-00.dump", Mode: 0o644, Size: int64(len(plain)), Typeflag: tar.TypeReg}))
	_, err = tw.Write([]byte(plain))
	assert.NilError(t, err)
	assert.NilError(t, tw.Close())
	recs, err := f.ReceiveTar(&buf, func(string) bool { return true }, nil)
	assert.NilError(t, err)
	assert.Assert(t, is.Len(recs, 1))
	check("system-2026-12-01T03-00-00.dump", recs[0])

	// An aborted file leaves nothing and no record.
	pf, err = f.NewFile("storage-2026-12-01T03-00-00.tar")
	assert.NilError(t, err)
	_, err = pf.Write([]byte(plain))
	assert.NilError(t, err)
	pf.Abort()
	_, ok := f.Sealed("storage-2026-12-01T03-00-00.tar")
	assert.Check(t, !ok)
	_, err = os.Stat(f.Path("storage-2026-12-01T03-00-00.tar" + PartialExt))
	assert.Check(t, os.IsNotExist(err))
}

// unsealedCopy makes a folder that unseals with ids and holds, sealed, the
// ciphertext of the sealed folder src's file name, recorded with the given
// plaintext record (the manifest's too).
func unsealedCopy(t *testing.T, src *Folder, name string, plainSize int64, plainSHA string, ids ...age.Identity) *Folder {
	t.Helper()
	dst, err := Create(t.TempDir())
	assert.NilError(t, err)
	dst.Unseal(func(disk io.Reader) (io.Reader, error) { return age.Decrypt(disk, ids...) })
	assert.Check(t, dst.IsSealed())
	disk, err := os.ReadFile(src.Path(name))
	assert.NilError(t, err)
	pf, err := dst.NewFile(name)
	assert.NilError(t, err)
	_, err = pf.Write(disk)
	assert.NilError(t, err)
	sr, err := pf.CommitSealed(plainSize, plainSHA)
	assert.NilError(t, err)
	want, _ := src.Sealed(name)
	assert.Check(t, is.Equal(sr.SHA256, want.SHA256), "the ciphertext as it came")
	m, err := dst.ReadManifest()
	assert.NilError(t, err)
	rec := FileRecord{Name: name, Size: plainSize, SHA256: plainSHA, Added: time.Now()}
	rec.Database, rec.Time, _ = ParseArtifactName(name)
	m.Upsert(rec)
	assert.NilError(t, dst.WriteManifest(m))
	return dst
}

// An unsealed folder holds ciphertext and gives the plaintext to every
// reader of its files (OpenFile, OpenChecked, SendTar, Verify), checking
// the bytes on disk and what they decrypt to at their end: a wrong key, a
// flipped byte or a plaintext that is not the recorded one is refused, and
// no plaintext is written to its disk.
func TestUnsealedFolder(t *testing.T) {
	key, err := age.GenerateX25519Identity()
	assert.NilError(t, err)
	src, err := Create(t.TempDir())
	assert.NilError(t, err)
	src.Seal(func(disk io.Writer) (io.WriteCloser, error) { return age.Encrypt(disk, key.Recipient()) })
	const name = "neo4j-2026-12-01T03-00-00.dump"
	plain := strings.Repeat("secret graph ", 100_000)
	pf, err := src.NewFile(name)
	assert.NilError(t, err)
	_, err = io.Copy(pf, strings.NewReader(plain))
	assert.NilError(t, err)
	rec, err := pf.Commit()
	assert.NilError(t, err)
	sealed, ok := src.Sealed(name)
	assert.Assert(t, ok)
	assert.Check(t, is.Equal(sealed.PlainSize, rec.Size))
	assert.Check(t, is.Equal(sealed.PlainSHA256, rec.SHA256))

	readAll := func(f *Folder) (string, error) {
		rc, size, err := f.OpenFile(name)
		if err != nil {
			return "", err
		}
		defer rc.Close()
		b, err := io.ReadAll(rc)
		assert.Check(t, is.Equal(size, rec.Size))
		return string(b), err
	}

	t.Run("round trip", func(t *testing.T) {
		dst := unsealedCopy(t, src, name, rec.Size, rec.SHA256, key)
		disk, err := os.ReadFile(dst.Path(name))
		assert.NilError(t, err)
		assert.Check(t, bytes.HasPrefix(disk, []byte("age-encryption.org/v1")), "ciphertext on disk")
		assert.Check(t, !bytes.Contains(disk, []byte("secret graph")), "plaintext on disk")
		got, err := readAll(dst)
		assert.NilError(t, err)
		assert.Check(t, got == plain, "OpenFile gives the plaintext")

		cat, err := dst.Scan()
		assert.NilError(t, err)
		assert.Assert(t, is.Len(cat.Artifacts, 1))
		assert.Check(t, is.Equal(cat.Artifacts[0].Size, rec.Size), "sizes are the plaintext's")
		rep, err := dst.Verify(nil)
		assert.NilError(t, err)
		assert.Check(t, rep.OK(), "%v", rep.Problems)
		assert.Check(t, is.DeepEqual(rep.Checked, []string{name}))

		m, _ := dst.ReadManifest()
		mrec, _ := m.Lookup(name)
		rc, err := dst.OpenChecked(mrec)
		assert.NilError(t, err)
		b, err := io.ReadAll(rc)
		rc.Close()
		assert.NilError(t, err)
		assert.Check(t, string(b) == plain, "OpenChecked gives the plaintext from its start")

		var buf bytes.Buffer
		assert.NilError(t, dst.SendTar(&buf, []string{name}, nil))
		tr := tar.NewReader(&buf)
		hdr, err := tr.Next()
		assert.NilError(t, err)
		assert.Check(t, is.Equal(hdr.Size, rec.Size))
		b, err = io.ReadAll(tr)
		assert.NilError(t, err)
		assert.Check(t, string(b) == plain, "SendTar streams the plaintext")

		err = dst.Stage(name, filepath.Join(t.TempDir(), name), false, 0o644)
		assert.Check(t, is.ErrorContains(err, "sealed"), "never staged as a file")
	})

	t.Run("wrong key", func(t *testing.T) {
		other, err := age.GenerateX25519Identity()
		assert.NilError(t, err)
		dst := unsealedCopy(t, src, name, rec.Size, rec.SHA256, other)
		_, err = readAll(dst)
		var nomatch *age.NoIdentityMatchError
		assert.Check(t, errors.As(err, &nomatch), "%v", err)
		rep, err := dst.Verify(nil)
		assert.NilError(t, err)
		assert.Check(t, !rep.OK())
		assert.Check(t, is.Error(dst.SendTar(io.Discard, []string{name}, nil), "neo4j-2026-12-01T03-00-00.dump: "+nomatch.Error()))
	})

	t.Run("flipped byte", func(t *testing.T) {
		dst := unsealedCopy(t, src, name, rec.Size, rec.SHA256, key)
		disk, err := os.ReadFile(dst.Path(name))
		assert.NilError(t, err)
		disk[len(disk)/2] ^= 0x01
		assert.NilError(t, os.WriteFile(dst.Path(name), disk, 0o600))
		_, err = readAll(dst)
		assert.Check(t, errors.Is(err, ErrSealed), "%v", err)
		assert.Check(t, is.Equal(exitcode.Of(err), exitcode.Verify))
		rep, err := dst.Verify(nil)
		assert.NilError(t, err)
		assert.Assert(t, is.Len(rep.Problems, 1))
		assert.Check(t, is.Equal(rep.Problems[0].Kind, ProblemChanged))
		err = dst.SendTar(io.Discard, []string{name}, nil)
		assert.Check(t, errors.Is(err, ErrSealed), "%v", err)
		m, _ := dst.ReadManifest()
		mrec, _ := m.Lookup(name)
		_, err = dst.OpenChecked(mrec)
		assert.Check(t, errors.Is(err, ErrSealed), "%v", err)
	})

	t.Run("plaintext checksum mismatch", func(t *testing.T) {
		sum := sha256.Sum256([]byte("something else"))
		dst := unsealedCopy(t, src, name, rec.Size, hex.EncodeToString(sum[:]), key)
		_, err := readAll(dst)
		assert.Check(t, errors.Is(err, ErrSealed), "%v", err)
		assert.Check(t, is.ErrorContains(err, "unsealed content"))
		rep, err := dst.Verify(nil)
		assert.NilError(t, err)
		assert.Assert(t, is.Len(rep.Problems, 1))
		assert.Check(t, is.Equal(rep.Problems[0].Kind, ProblemChanged))
		err = dst.SendTar(io.Discard, []string{name}, nil)
		assert.Check(t, errors.Is(err, ErrSealed), "%v", err)
	})

	t.Run("sealed file needs an unsealing folder", func(t *testing.T) {
		_, _, err := src.OpenFile(name)
		assert.Check(t, is.ErrorContains(err, "no key"))
		plainFolder, err := Create(t.TempDir())
		assert.NilError(t, err)
		pf, err := plainFolder.NewFile(name)
		assert.NilError(t, err)
		_, err = pf.CommitSealed(rec.Size, rec.SHA256)
		assert.Check(t, is.ErrorContains(err, "unseals"))
		_, err = os.Stat(plainFolder.Path(name))
		assert.Check(t, os.IsNotExist(err))
	})
}
