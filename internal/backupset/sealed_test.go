package backupset

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"strings"
	"testing"

	"filippo.io/age"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
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
