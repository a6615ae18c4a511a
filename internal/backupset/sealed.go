package backupset

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"sync"

	"github.com/opsmill/docker-infrahubdb/internal/exitcode"
)

// A sealed file is one whose bytes on disk are not what was captured but
// what a Sealer made of them (age ciphertext). A sealed folder keeps such
// files only where no plaintext may touch the client's disk: `backup
// s3://… --encrypt-to` stages its run in a folder that seals every file as
// it arrives (Seal), and `restore s3://` of an encrypted run stages the
// ciphertext as stored and reads it through an Unsealer (Unseal): the
// restore, its checks and the helper get the plaintext as a stream, the
// disk never does. The folder's manifest records the plaintext, as in any
// folder; the folder itself knows the record of the bytes on disk.

// Sealer wraps the writer of a file's bytes on disk: what a PartialFile is
// given goes through it, so the folder holds only what it makes of them.
// Close ends the sealed stream.
type Sealer func(disk io.Writer) (io.WriteCloser, error)

// Unsealer wraps the reader of a sealed file's bytes on disk into a reader
// of what was sealed. Its errors say what went wrong (a key that does not
// open it, damage); the folder checks both streams against the file's
// record at their end.
type Unsealer func(disk io.Reader) (io.Reader, error)

// SealedRecord describes a sealed file: its bytes on disk (Size, SHA256)
// and what they unseal to (the plaintext, as the manifest records it).
type SealedRecord struct {
	Size        int64
	SHA256      string
	PlainSize   int64
	PlainSHA256 string
}

// ErrSealed is matched by the errors of reading a sealed file: bytes that
// differ from its record, or that do not unseal (exit code 5).
var ErrSealed = exitcode.New(exitcode.Verify, "sealed file does not match its record")

type sealing struct {
	seal   Sealer   // nil: files are written as given
	unseal Unsealer // nil: sealed files cannot be read
	mu     sync.Mutex
	files  map[string]SealedRecord // files are committed by concurrent fetches
}

func (f *Folder) sealingState() *sealing {
	if f.sealing == nil {
		f.sealing = &sealing{files: map[string]SealedRecord{}}
	}
	return f.sealing
}

// Seal makes every file the folder writes from now on a sealed one. Only a
// folder of this process's own (a staging folder) may be sealed: other runs
// and commands would read ciphertext where the manifest describes plaintext.
func (f *Folder) Seal(s Sealer) { f.sealingState().seal = s }

// Unseal makes the folder read its sealed files through u: OpenFile, and
// every reader of the folder built on it (SendTar, OpenChecked, Verify),
// returns what they unseal to. Sealed files come in with
// PartialFile.CommitSealed. Like Seal, for a staging folder of this
// process's own.
func (f *Folder) Unseal(u Unsealer) { f.sealingState().unseal = u }

// IsSealed says whether the folder holds sealed files (Seal or Unseal): its
// bytes on disk are not what its manifest describes, so nothing may read
// them but the folder itself (no bind mount into a helper).
func (f *Folder) IsSealed() bool { return f.sealing != nil }

// StreamOnly says whether some files of the folder can only be read through
// it, as streams (sealed or fetched files): never staged by a link or a
// copy, never bind-mounted into a helper.
func (f *Folder) StreamOnly() bool { return f.IsSealed() || f.IsFetching() }

// Sealed returns the record of a sealed file.
func (f *Folder) Sealed(name string) (SealedRecord, bool) {
	if f.sealing == nil {
		return SealedRecord{}, false
	}
	f.sealing.mu.Lock()
	defer f.sealing.mu.Unlock()
	r, ok := f.sealing.files[name]
	return r, ok
}

func (f *Folder) recordSealed(name string, r SealedRecord) {
	f.sealing.mu.Lock()
	defer f.sealing.mu.Unlock()
	f.sealing.files[name] = r
}

// readSize is the size reading a file of diskSize bytes on disk gives.
func (f *Folder) readSize(name string, diskSize int64) int64 {
	if r, ok := f.Forwarded(name); ok {
		return r.PlainSize
	}
	if r, ok := f.Sealed(name); ok {
		return r.PlainSize
	}
	if r, ok := f.Fetched(name); ok {
		return r.PlainSize
	}
	return diskSize
}

// OpenFile opens the named file of the folder for reading what it holds,
// and returns the number of bytes reading it gives. A sealed file is
// unsealed as it is read, never on disk; at its end the reader checks the
// bytes on disk and what they unsealed to against the file's SealedRecord
// (an error matching ErrSealed otherwise): read to io.EOF before trusting
// what was read. Only a regular file of the folder is opened, never what a
// link points to.
func (f *Folder) OpenFile(name string) (io.ReadCloser, int64, error) {
	if err := checkBaseName(name); err != nil {
		return nil, 0, err
	}
	if err := f.refuseForwarded(name); err != nil {
		return nil, 0, err
	}
	if r, ok := f.Fetched(name); ok {
		return f.openFetched(name, r)
	}
	file, st, err := OpenRegular(f.Path(name))
	if err != nil {
		return nil, 0, err
	}
	rec, sealed := f.Sealed(name)
	if !sealed {
		return file, st.Size(), nil
	}
	if f.sealing.unseal == nil {
		file.Close()
		return nil, 0, fmt.Errorf("%s is sealed (encrypted) and this folder has no key to read it", f.Path(name))
	}
	disk := &sealCheck{r: file, h: sha256.New(), size: rec.Size, sum: rec.SHA256, what: "the bytes on disk of " + name}
	if st.Size() != rec.Size {
		file.Close()
		return nil, 0, fmt.Errorf("%s: %d bytes on disk, %d were written: %w", f.Path(name), st.Size(), rec.Size, ErrSealed)
	}
	plain, err := f.sealing.unseal(disk)
	if err != nil {
		file.Close()
		return nil, 0, fmt.Errorf("%s: %w", name, err)
	}
	return sealedReader{&sealCheck{r: plain, h: sha256.New(), size: rec.PlainSize, sum: rec.PlainSHA256, what: "the unsealed content of " + name, tail: disk}, file}, rec.PlainSize, nil
}

type sealedReader struct {
	io.Reader
	io.Closer
}

// sealCheck hashes what passes and compares hash and size at EOF.
type sealCheck struct {
	r    io.Reader
	h    hash.Hash
	n    int64
	size int64
	sum  string
	what string
	tail *sealCheck // the bytes on disk under an unsealing: they must end too
	done bool
}

func (c *sealCheck) Read(p []byte) (int, error) {
	if c.done {
		return 0, io.EOF
	}
	n, err := c.r.Read(p)
	c.h.Write(p[:n])
	c.n += int64(n)
	if c.n > c.size {
		return n, fmt.Errorf("%s: more than the %d bytes recorded: %w", c.what, c.size, ErrSealed)
	}
	switch {
	case err == io.EOF:
		if c.tail != nil {
			// The unsealer stops at its last chunk: what follows on disk
			// must be nothing, and the disk's hash cover every byte.
			if _, derr := io.Copy(io.Discard, c.tail); derr != nil {
				return n, derr
			}
		}
		if got := hex.EncodeToString(c.h.Sum(nil)); c.n != c.size || got != c.sum {
			return n, fmt.Errorf("%s: %d bytes with SHA-256 %s, %d bytes with %s were recorded: %w", c.what, c.n, got, c.size, c.sum, ErrSealed)
		}
		c.done = true
	case err != nil && c.tail != nil && !errors.Is(err, ErrSealed) && !errors.Is(err, os.ErrClosed) && !errors.Is(err, ErrUnreachable):
		// The unsealer's error (age: a flipped byte, a truncation) is
		// damage; its text says which. A location that stopped answering
		// under it is not.
		return n, fmt.Errorf("%s: %w (%w)", c.what, err, ErrSealed)
	}
	return n, err
}

// diskCounter hashes and counts the bytes that reach the disk.
type diskCounter struct {
	w io.Writer
	h hash.Hash
	n int64
}

func newDiskCounter(w io.Writer) *diskCounter { return &diskCounter{w: w, h: sha256.New()} }

func (d *diskCounter) Write(b []byte) (int, error) {
	n, err := d.w.Write(b)
	d.h.Write(b[:n])
	d.n += int64(n)
	return n, err
}

func (d *diskCounter) record() SealedRecord {
	return SealedRecord{Size: d.n, SHA256: hex.EncodeToString(d.h.Sum(nil))}
}
