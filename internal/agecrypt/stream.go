package agecrypt

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"

	"filippo.io/age"

	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/exitcode"
)

// Ext is appended to the name of an encrypted artifact.
const Ext = ".age"

// Writer encrypts what is written to it into a location object:
// SHA-256 of the plaintext → age → the object writer (which hashes what it
// stores). Nothing touches the client's disk.
type Writer struct {
	obj       backupset.ObjectWriter
	enc       io.WriteCloser
	plain     hash.Hash
	plainSize int64
	public    []string
}

// NewWriter starts encrypting into obj for the recipients.
func NewWriter(obj backupset.ObjectWriter, r Recipients) (*Writer, error) {
	if len(r.List) == 0 {
		return nil, errors.New("no recipient to encrypt to")
	}
	enc, err := age.Encrypt(obj, r.List...)
	if err != nil {
		return nil, fmt.Errorf("encrypt: %w", err) // e.g. mixing post-quantum and classic recipients
	}
	return &Writer{obj: obj, enc: enc, plain: sha256.New(), public: r.Strings}, nil
}

func (w *Writer) Write(p []byte) (int, error) {
	n, err := w.enc.Write(p)
	w.plain.Write(p[:n])
	w.plainSize += int64(n)
	return n, err
}

// Commit finishes the age stream (its last chunk is what makes truncation
// detectable), commits the object and returns its record with both hashes.
func (w *Writer) Commit() (backupset.RunFile, error) {
	if err := w.enc.Close(); err != nil {
		w.obj.Abort()
		return backupset.RunFile{}, err
	}
	rec, err := w.obj.Commit()
	if err != nil {
		return backupset.RunFile{}, err
	}
	return backupset.RunFile{
		FileRecord:  rec,
		PlainSize:   w.plainSize,
		PlainSHA256: hex.EncodeToString(w.plain.Sum(nil)),
		Encryption:  &backupset.Encryption{Scheme: "age", Recipients: w.public},
	}, nil
}

// Abort drops the object.
func (w *Writer) Abort() { w.obj.Abort() }

// ErrChecksum is matched when stored or decrypted bytes differ from the
// manifest, or do not decrypt (exit code 5).
var ErrChecksum = exitcode.New(exitcode.Verify, "checksum mismatch")

// ErrNoIdentity is matched when none of the given identities opens an
// artifact, or none is given (exit code 3).
var ErrNoIdentity = exitcode.New(exitcode.Environment, "no identity matches")

// Open streams the plaintext of a run's artifact, checking the SHA-256 and
// size of the stored bytes and, for an encrypted one, of the plaintext. The
// checks complete only at EOF: read to the end, and use nothing read before
// Read returned io.EOF (a restore stages first, then checks, then stops).
// A plain artifact needs no identity.
func Open(ctx context.Context, loc backupset.Location, runID string, f backupset.RunFile, ids []age.Identity) (io.ReadCloser, error) {
	return OpenKeeping(ctx, loc, runID, f, ids, nil)
}

// OpenKeeping is Open that also writes the stored bytes to keep as they
// are read (when keep is not nil): reading the plaintext to its end puts
// the whole ciphertext, as stored, into keep, and proves both it and the
// plaintext against the manifest (restore s3:// of an encrypted run stages
// the ciphertext so, never the plaintext). An error writing to keep is
// returned as it is (a full disk is not damage).
func OpenKeeping(ctx context.Context, loc backupset.Location, runID string, f backupset.RunFile, ids []age.Identity, keep io.Writer) (io.ReadCloser, error) {
	if f.Encryption != nil && len(ids) == 0 {
		return nil, fmt.Errorf("%s is encrypted: give --identity FILE with a key it was encrypted to (%d recipient(s) in the manifest): %w", f.Name, len(f.Encryption.Recipients), ErrNoIdentity)
	}
	rc, _, err := loc.Open(ctx, backupset.ArtifactKey(runID, f.Name))
	if err != nil {
		return nil, err
	}
	var (
		src  io.Reader = rc
		kept *keeping
	)
	if keep != nil {
		kept = &keeping{w: keep}
		src = io.TeeReader(rc, kept)
	}
	stored := &checkingReader{r: src, h: sha256.New(), want: f.SHA256, size: f.Size, what: "stored bytes of " + f.Name}
	if f.Encryption == nil {
		return readCloser{keptErr{stored, kept}, rc}, nil
	}
	dec, err := age.Decrypt(stored, ids...)
	if err != nil {
		rc.Close()
		if kept != nil && kept.err != nil {
			return nil, kept.err
		}
		return nil, decryptError(f, err)
	}
	plain := &checkingReader{r: dec, h: sha256.New(), want: f.PlainSHA256, size: f.PlainSize, what: "decrypted " + f.Name, tail: stored}
	return readCloser{keptErr{plain, kept}, rc}, nil
}

// decryptError says why age.Decrypt refused an artifact's header.
func decryptError(f backupset.RunFile, err error) error {
	var nomatch *age.NoIdentityMatchError
	if errors.As(err, &nomatch) {
		return fmt.Errorf("%s: none of the keys of --identity opens it; it was encrypted to %d other recipient(s): %w", f.Name, len(f.Encryption.Recipients), ErrNoIdentity)
	}
	return fmt.Errorf("%s: cannot read its age header (damaged?): %v: %w", f.Name, err, ErrChecksum)
}

// keeping is the writer a TeeReader copies the stored bytes to; it keeps
// its first error, so that a full disk is not reported as damage.
type keeping struct {
	w   io.Writer
	err error
}

func (k *keeping) Write(p []byte) (int, error) {
	n, err := k.w.Write(p)
	if err != nil && k.err == nil {
		k.err = err
	}
	return n, err
}

// keptErr returns the error of the kept copy in place of what the reader
// made of it.
type keptErr struct {
	r    io.Reader
	kept *keeping
}

func (k keptErr) Read(p []byte) (int, error) {
	n, err := k.r.Read(p)
	if err != nil && err != io.EOF && k.kept != nil && k.kept.err != nil {
		return n, k.kept.err
	}
	return n, err
}

// Unsealer decrypts the sealed files of a staging folder with ids (see
// backupset.Unsealer): `restore s3://` of an encrypted run keeps the
// ciphertext on disk and reads the plaintext as a stream.
func Unsealer(ids []age.Identity) backupset.Unsealer {
	return func(disk io.Reader) (io.Reader, error) {
		if len(ids) == 0 {
			return nil, fmt.Errorf("encrypted: give --identity FILE: %w", ErrNoIdentity)
		}
		dec, err := age.Decrypt(disk, ids...)
		if err != nil {
			var nomatch *age.NoIdentityMatchError
			if errors.As(err, &nomatch) {
				return nil, fmt.Errorf("none of the keys of --identity opens it: %w", ErrNoIdentity)
			}
			return nil, fmt.Errorf("cannot read its age header (damaged?): %v: %w", err, ErrChecksum)
		}
		return dec, nil
	}
}

type readCloser struct {
	io.Reader
	io.Closer
}

// checkingReader hashes what passes and, at EOF, compares hash and size.
type checkingReader struct {
	r    io.Reader
	h    hash.Hash
	n    int64
	want string
	size int64
	what string
	tail *checkingReader // the stored stream under a decryption: must end too
}

func (c *checkingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.h.Write(p[:n])
	c.n += int64(n)
	if err == io.EOF {
		if c.tail != nil {
			// age stops at its last chunk: drain what follows, so the
			// stored hash covers every byte (trailing garbage fails).
			if _, derr := io.Copy(io.Discard, c.tail); derr != nil {
				return n, derr
			}
		}
		if got := hex.EncodeToString(c.h.Sum(nil)); c.n != c.size || got != c.want {
			return n, fmt.Errorf("%s: %d bytes with SHA-256 %s, the manifest records %d bytes with %s: %w", c.what, c.n, got, c.size, c.want, ErrChecksum)
		}
	} else if err != nil && c.tail != nil && !errors.Is(err, ErrChecksum) {
		// An age error (a flipped byte, a truncation) is damage.
		return n, fmt.Errorf("%s: %v: %w", c.what, err, ErrChecksum)
	}
	return n, err
}

// Sealer encrypts the files of a sealed backup folder to r, so that a run
// staged on the client holds only ciphertext (see backupset.Sealer).
func Sealer(r Recipients) backupset.Sealer {
	return func(disk io.Writer) (io.WriteCloser, error) {
		if len(r.List) == 0 {
			return nil, errors.New("no recipient to encrypt to")
		}
		return age.Encrypt(disk, r.List...)
	}
}
