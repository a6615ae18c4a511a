package backupset

import (
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"io"
	"sync"
)

// Sealer wraps the writer of a file's bytes on disk: what a PartialFile is
// given goes through it, so the folder holds only what it makes of them
// (age ciphertext: `backup s3://… --encrypt-to` stages its run in a sealed
// folder, and no plaintext artifact touches the client's disk). Close ends
// the sealed stream.
type Sealer func(disk io.Writer) (io.WriteCloser, error)

// SealedRecord describes the bytes of a sealed file on disk; the folder's
// manifest records those of the plaintext.
type SealedRecord struct {
	Size   int64
	SHA256 string
}

type sealing struct {
	seal  Sealer
	mu    sync.Mutex // files are committed by concurrent fetches
	files map[string]SealedRecord
}

// Seal makes every file the folder writes from now on a sealed one. Only a
// folder of this process's own (a staging folder) may be sealed: other runs
// and commands would read ciphertext where the manifest describes plaintext.
func (f *Folder) Seal(s Sealer) {
	f.sealing = &sealing{seal: s, files: map[string]SealedRecord{}}
}

// IsSealed says whether the folder seals what it writes.
func (f *Folder) IsSealed() bool { return f.sealing != nil }

// Sealed returns the record of the bytes on disk of a file written sealed.
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
