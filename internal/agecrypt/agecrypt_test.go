package agecrypt

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"
	"golang.org/x/crypto/ssh"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/opsmill/docker-infrahubdb/internal/backupset"
)

func folder(t *testing.T) backupset.Location {
	loc, err := backupset.NewFolderLocation(t.TempDir())
	assert.NilError(t, err)
	return loc
}

func writeFile(t *testing.T, content string) string {
	p := filepath.Join(t.TempDir(), "f")
	assert.NilError(t, os.WriteFile(p, []byte(content), 0o600))
	return p
}

// sshKey returns an ed25519 SSH public key line and its private key PEM.
func sshKey(t *testing.T) (string, []byte) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	assert.NilError(t, err)
	sp, err := ssh.NewPublicKey(pub)
	assert.NilError(t, err)
	block, err := ssh.MarshalPrivateKey(priv, "")
	assert.NilError(t, err)
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sp))), pem.EncodeToMemory(block)
}

func encryptTo(t *testing.T, loc backupset.Location, runID, name string, r Recipients, plain []byte) backupset.RunFile {
	obj, err := loc.Create(t.Context(), backupset.ArtifactKey(runID, name), backupset.CreateOptions{Size: -1})
	assert.NilError(t, err)
	w, err := NewWriter(obj, r)
	assert.NilError(t, err)
	defer w.Abort()
	_, err = w.Write(plain)
	assert.NilError(t, err)
	f, err := w.Commit()
	assert.NilError(t, err)
	f.Name = name
	return f
}

func readAll(t *testing.T, loc backupset.Location, runID string, f backupset.RunFile, ids []age.Identity) ([]byte, error) {
	rc, err := Open(t.Context(), loc, runID, f, ids)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

func TestRecipientsFileKinds(t *testing.T) {
	x, err := age.GenerateX25519Identity()
	assert.NilError(t, err)
	sshPub, sshPriv := sshKey(t)
	path := writeFile(t, "# ops team\n"+x.Recipient().String()+"\n\n"+sshPub+"\n")
	r, err := ReadRecipientsFile(path)
	assert.NilError(t, err)
	assert.Check(t, is.Len(r.List, 2))

	loc := folder(t)
	plain := bytes.Repeat([]byte("graph data "), 20000)
	f := encryptTo(t, loc, "run-1", "neo4j.dump.age", r, plain)
	assert.Check(t, f.SHA256 != f.PlainSHA256, "the manifest records the stored and the plain hash")
	assert.Check(t, is.Equal(f.PlainSize, int64(len(plain))))
	assert.Check(t, is.Equal(f.Encryption.Scheme, "age"))

	// Either key opens it: the age key, and the SSH private key.
	got, err := readAll(t, loc, "run-1", f, []age.Identity{x})
	assert.NilError(t, err)
	assert.Check(t, bytes.Equal(got, plain))
	ids, err := ReadIdentitiesFile(writeFile(t, string(sshPriv)))
	assert.NilError(t, err)
	got, err = readAll(t, loc, "run-1", f, ids)
	assert.NilError(t, err)
	assert.Check(t, bytes.Equal(got, plain))

	// No plaintext in the location.
	data, err := backupset.ReadObject(t.Context(), loc, backupset.ArtifactKey("run-1", f.Name), 1<<30)
	assert.NilError(t, err)
	assert.Check(t, !bytes.Contains(data, []byte("graph data")))
}

func TestPostQuantumRecipient(t *testing.T) {
	pq, err := age.GenerateHybridIdentity()
	assert.NilError(t, err)
	r, err := ReadRecipientsFile(writeFile(t, pq.Recipient().String()+"\n"))
	assert.NilError(t, err)
	loc := folder(t)
	f := encryptTo(t, loc, "run-1", "a.age", r, []byte("pq"))
	ids, err := ReadIdentitiesFile(writeFile(t, pq.String()+"\n"))
	assert.NilError(t, err)
	got, err := readAll(t, loc, "run-1", f, ids)
	assert.NilError(t, err)
	assert.Check(t, is.Equal(string(got), "pq"))
}

func TestRecipientsFileErrorsHideSecrets(t *testing.T) {
	x, err := age.GenerateX25519Identity()
	assert.NilError(t, err)
	_, err = ReadRecipientsFile(writeFile(t, x.String()+"\n"))
	assert.Assert(t, err != nil)
	assert.Check(t, !strings.Contains(err.Error(), x.String()), "%v", err)
	assert.Check(t, strings.Contains(err.Error(), "secret key"), "%v", err)

	_, err = ReadRecipientsFile(writeFile(t, "# nothing\n"))
	assert.Check(t, is.ErrorContains(err, "names no recipient"))
	_, err = ReadRecipientsFile(writeFile(t, "not-a-key\n"))
	assert.Check(t, is.ErrorContains(err, "line 1"))
}

func TestWrongIdentityAndDamage(t *testing.T) {
	right, _ := age.GenerateX25519Identity()
	wrong, _ := age.GenerateX25519Identity()
	loc := folder(t)
	r := Recipients{List: []age.Recipient{right.Recipient()}, Strings: []string{right.Recipient().String()}}
	plain := bytes.Repeat([]byte{1, 2, 3, 4}, 100_000)
	f := encryptTo(t, loc, "run-1", "a.age", r, plain)

	_, err := readAll(t, loc, "run-1", f, []age.Identity{wrong})
	assert.Check(t, errors.Is(err, ErrNoIdentity), "%v", err)
	_, err = readAll(t, loc, "run-1", f, nil)
	assert.Check(t, errors.Is(err, ErrNoIdentity), "%v", err)

	// One flipped byte in the ciphertext (past the header).
	p := filepath.Join(loc.(*backupset.FolderLocation).Dir, "runs", "run-1", "a.age")
	data, err := os.ReadFile(p)
	assert.NilError(t, err)
	data[len(data)/2] ^= 1
	assert.NilError(t, os.WriteFile(p, data, 0o600))
	_, err = readAll(t, loc, "run-1", f, []age.Identity{right})
	assert.Check(t, errors.Is(err, ErrChecksum), "%v", err)

	// Truncated: the last chunk is missing.
	assert.NilError(t, os.WriteFile(p, data[:len(data)-100], 0o600))
	_, err = readAll(t, loc, "run-1", f, []age.Identity{right})
	assert.Check(t, errors.Is(err, ErrChecksum), "%v", err)
}

func TestPlainArtifactChecked(t *testing.T) {
	loc := folder(t)
	rec, err := backupset.WriteObject(t.Context(), loc, backupset.ArtifactKey("run-1", "a"), []byte("plain"))
	assert.NilError(t, err)
	f := backupset.RunFile{FileRecord: rec}
	f.Name = "a"
	got, err := readAll(t, loc, "run-1", f, nil)
	assert.NilError(t, err)
	assert.Check(t, is.Equal(string(got), "plain"))
	f.SHA256 = strings.Repeat("0", 64)
	_, err = readAll(t, loc, "run-1", f, nil)
	assert.Check(t, errors.Is(err, ErrChecksum), "%v", err)
}

func TestLocationKey(t *testing.T) {
	scryptWorkFactor = 10 // tests only: age's default costs a second each
	t.Cleanup(func() { scryptWorkFactor = 18 })
	loc := folder(t)

	_, err := UnlockLocationKey(t.Context(), loc, "pass one", false)
	assert.Check(t, errors.Is(err, ErrNoIdentity), "%v", err)
	id, err := UnlockLocationKey(t.Context(), loc, "pass one", true)
	assert.NilError(t, err)
	again, err := UnlockLocationKey(t.Context(), loc, "pass one", true)
	assert.NilError(t, err)
	assert.Check(t, is.Equal(again.String(), id.String()), "the key is made once")

	pub, err := LocationRecipients(t.Context(), loc)
	assert.NilError(t, err)
	assert.Check(t, is.DeepEqual(pub.Strings, []string{id.Recipient().String()}))

	_, err = UnlockLocationKey(t.Context(), loc, "wrong", true)
	assert.Check(t, errors.Is(err, ErrNoIdentity), "a wrong passphrase never makes a second key: %v", err)
	objs, err := loc.List(t.Context(), KeysPrefix)
	assert.NilError(t, err)
	assert.Check(t, is.Len(objs, 2))
	for _, o := range objs {
		data, err := backupset.ReadObject(t.Context(), loc, o.Name, 1<<20)
		assert.NilError(t, err)
		assert.Check(t, !bytes.Contains(data, []byte("AGE-SECRET-KEY")), "%s holds the key in clear", o.Name)
	}
}

func TestReadPassphrase(t *testing.T) {
	p, err := ReadPassphrase(writeFile(t, "s3cret\n"), "X_PASS")
	assert.NilError(t, err)
	assert.Check(t, is.Equal(p, "s3cret"))
	t.Setenv("X_PASS", "from-env")
	p, err = ReadPassphrase("", "X_PASS")
	assert.NilError(t, err)
	assert.Check(t, is.Equal(p, "from-env"))
	t.Setenv("X_PASS", "")
	_, err = ReadPassphrase("", "X_PASS")
	assert.Check(t, is.ErrorContains(err, "--passphrase-file"))
}

func TestCheckConsistent(t *testing.T) {
	plain := &backupset.RunManifest{Run: backupset.RunRecord{ID: "run-a"}, Files: []backupset.RunFile{{}}}
	enc := &backupset.RunManifest{Run: backupset.RunRecord{ID: "run-b"}, Files: []backupset.RunFile{{Encryption: &backupset.Encryption{Scheme: "age"}}}}
	assert.NilError(t, CheckConsistent(nil, true, false))
	assert.NilError(t, CheckConsistent([]*backupset.RunManifest{plain}, false, false))
	assert.Check(t, errors.Is(CheckConsistent([]*backupset.RunManifest{plain}, true, false), ErrMixed))
	assert.Check(t, errors.Is(CheckConsistent([]*backupset.RunManifest{plain, enc}, false, false), ErrMixed))
	assert.NilError(t, CheckConsistent([]*backupset.RunManifest{enc}, false, true))
}
