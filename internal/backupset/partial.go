package backupset

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"strings"
)

// PartialFile is a file being written to the folder. It lives as
// "<name>.partial" until Commit renames it, so a crash never leaves a
// half-written file under an artifact's name. It hashes and counts what is
// written.
type PartialFile struct {
	folder    *Folder
	name      string
	file      *os.File
	sum       hash.Hash
	size      int64
	flushed   int64 // bytes whose writeback was started
	committed bool
	closed    bool

	sealed io.WriteCloser // the Sealer's writer, in a sealed folder
	disk   *diskCounter   // what reaches the disk (or the location) under it
	// obj is the location's write, in a forwarding folder: the bytes go
	// there, and file stays empty (the placeholder).
	obj         ObjectWriter
	plainSHA256 string // of a forwarded file, once committed
}

// NewFile creates "<name>.partial" (mode 0600). It fails when name or its
// partial already exists: artifacts are immutable, and a leftover partial
// means an interrupted run (see RemovePartials).
func (f *Folder) NewFile(name string) (*PartialFile, error) {
	if err := checkBaseName(name); err != nil {
		return nil, err
	}
	if strings.HasSuffix(name, PartialExt) {
		return nil, fmt.Errorf("invalid file name %q: must not end in %s", name, PartialExt)
	}
	if _, err := os.Lstat(f.Path(name)); err == nil {
		return nil, fmt.Errorf("%s already exists in %s; backup files are never overwritten: %w", name, f.Dir, os.ErrExist)
	}
	path := f.Path(name + PartialExt)
	file, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return nil, fmt.Errorf("%s exists, left by an interrupted run or being written by another one; remove it if no other run is active: %w", path, err)
	}
	if err != nil {
		return nil, diskFull(path, err)
	}
	p := &PartialFile{folder: f, name: name, file: file, sum: sha256.New()}
	sealing := f.sealing != nil && f.sealing.seal != nil
	var sealTo io.Writer
	switch to := f.forwarder(); {
	case to != nil:
		if p.obj, err = to(name); err != nil {
			p.Abort()
			return nil, fmt.Errorf("forward %s: %w", name, err)
		}
		sealTo = p.obj // which hashes and counts what it stores
	case sealing:
		p.disk = newDiskCounter(file)
		sealTo = p.disk
	}
	if sealing {
		if p.sealed, err = f.sealing.seal(sealTo); err != nil {
			p.Abort()
			return nil, fmt.Errorf("seal %s: %w", name, err)
		}
	} else if p.obj != nil {
		// The location's writer hashes the very same bytes: one SHA-256
		// pass, not two (its record gives the file's).
		p.sum = nil
	}
	return p, nil
}

// Name is the final name of the file.
func (p *PartialFile) Name() string { return p.name }

// Size is the number of bytes written so far.
func (p *PartialFile) Size() int64 { return p.size }

// SHA256 is the hex SHA-256 of the bytes written so far (the plaintext, in
// a sealed folder): a download checks it against its record before Commit
// gives the file its name, instead of hashing the same bytes twice.
// Not for a file forwarded as it is (the location hashes it; Commit's
// record has it): "".
func (p *PartialFile) SHA256() string {
	if p.sum == nil {
		return ""
	}
	return hex.EncodeToString(p.sum.Sum(nil))
}

// writebackEvery is how often a PartialFile starts the writeback of what
// it wrote (see startWriteback).
const writebackEvery = 8 << 20

func (p *PartialFile) Write(b []byte) (int, error) {
	var w io.Writer = p.file
	switch {
	case p.sealed != nil:
		w = p.sealed
	case p.obj != nil:
		w = p.obj
	}
	n, err := w.Write(b)
	if p.sum != nil {
		p.sum.Write(b[:n])
	}
	p.size += int64(n)
	if p.obj != nil {
		return n, err // nothing reaches the disk
	}
	onDisk := p.size
	if p.disk != nil {
		onDisk = p.disk.n
	}
	if onDisk-p.flushed >= writebackEvery {
		startWriteback(p.file, p.flushed, onDisk-p.flushed)
		p.flushed = onDisk
	}
	return n, diskFull(p.file.Name(), err)
}

// Commit makes the file durable under its final name and returns its record
// (name, size, SHA-256, and database and time when the name is an artifact's).
func (p *PartialFile) Commit() (FileRecord, error) {
	if p.committed || p.closed {
		return FileRecord{}, fmt.Errorf("%s: already committed or aborted", p.name)
	}
	partial := p.file.Name()
	if p.sealed != nil {
		if err := p.sealed.Close(); err != nil { // the sealed stream's end
			p.Abort()
			return FileRecord{}, diskFull(partial, fmt.Errorf("seal %s: %w", p.name, err))
		}
	}
	if p.obj != nil {
		// The location's commit first: a placeholder gets its name only
		// for bytes that are there.
		stored, err := p.obj.Commit()
		if err != nil {
			p.Abort()
			return FileRecord{}, fmt.Errorf("forward %s: %w", p.name, err)
		}
		// Recorded now, so that a run that fails from here on still
		// knows the object to remove.
		if p.sum == nil {
			// Forwarded as it is: the stored bytes are the file's.
			if stored.Size != p.size {
				p.Abort()
				return FileRecord{}, fmt.Errorf("forward %s: %d bytes were written, %d stored", p.name, p.size, stored.Size)
			}
			p.plainSHA256 = stored.SHA256
		} else {
			p.plainSHA256 = p.SHA256()
		}
		p.folder.recordForwarded(p.name, ForwardedRecord{Object: stored, PlainSize: p.size, PlainSHA256: p.plainSHA256, Sealed: p.sealed != nil})
	}
	if err := p.file.Sync(); err != nil {
		p.Abort()
		return FileRecord{}, diskFull(partial, fmt.Errorf("sync %s: %w", partial, err))
	}
	p.closed = true
	if err := p.file.Close(); err != nil {
		os.Remove(partial)
		return FileRecord{}, diskFull(partial, fmt.Errorf("close %s: %w", partial, err))
	}
	final := p.folder.Path(p.name)
	if _, err := os.Lstat(final); err == nil {
		os.Remove(partial)
		return FileRecord{}, fmt.Errorf("%s appeared in %s while it was being written; backup files are never overwritten: %w", p.name, p.folder.Dir, os.ErrExist)
	}
	if err := os.Rename(partial, final); err != nil {
		os.Remove(partial)
		return FileRecord{}, err
	}
	p.committed = true
	sum := p.plainSHA256
	if sum == "" {
		sum = p.SHA256()
	}
	if p.disk != nil {
		r := p.disk.record()
		r.PlainSize, r.PlainSHA256 = p.size, sum
		p.folder.recordSealed(p.name, r)
	}
	if err := p.folder.syncDir(); err != nil {
		return FileRecord{}, err
	}
	rec := FileRecord{
		Name:   p.name,
		Size:   p.size,
		SHA256: sum,
		Added:  p.folder.now().UTC(),
	}
	if db, t, ok := ParseArtifactName(p.name); ok {
		rec.Database, rec.Time = db, t
	}
	return rec, nil
}

// CommitSealed commits a file whose bytes were sealed elsewhere (the
// ciphertext of an encrypted run, as stored in a location) into a folder
// that unseals (Folder.Unseal), and records it as sealed: reads of it give
// the plaintext of plainSize bytes with SHA-256 plainSHA256, checked at
// their end. It returns the record of the bytes on disk; the manifest gets
// the plaintext's, from the caller, who proved it while the file came in.
func (p *PartialFile) CommitSealed(plainSize int64, plainSHA256 string) (SealedRecord, error) {
	s := p.folder.sealing
	if s == nil || s.unseal == nil || s.seal != nil {
		p.Abort()
		return SealedRecord{}, fmt.Errorf("%s: a sealed file comes only into a folder that unseals what it reads and seals nothing itself", p.name)
	}
	if !isSHA256(plainSHA256) || plainSize < 0 {
		p.Abort()
		return SealedRecord{}, fmt.Errorf("%s: invalid plaintext record", p.name)
	}
	rec, err := p.Commit()
	if err != nil {
		return SealedRecord{}, err
	}
	r := SealedRecord{Size: rec.Size, SHA256: rec.SHA256, PlainSize: plainSize, PlainSHA256: plainSHA256}
	p.folder.recordSealed(p.name, r)
	return r, nil
}

// Abort closes and removes the partial file. It does nothing after Commit, so
// `defer pf.Abort()` is always right.
func (p *PartialFile) Abort() {
	if p.committed {
		return
	}
	if p.obj != nil {
		p.obj.Abort()
	}
	if !p.closed {
		p.closed = true
		p.file.Close()
	}
	os.Remove(p.file.Name())
}

// RemovePartials deletes "*.partial" files left by interrupted runs. Call it
// only while holding the folder lock.
func (f *Folder) RemovePartials() ([]string, error) {
	entries, err := os.ReadDir(f.Dir)
	if err != nil {
		return nil, err
	}
	var removed []string
	for _, e := range entries {
		if e.Type().IsRegular() && strings.HasSuffix(e.Name(), PartialExt) {
			if err := os.Remove(f.Path(e.Name())); err != nil && !errors.Is(err, os.ErrNotExist) {
				return removed, err
			}
			removed = append(removed, e.Name())
		}
	}
	return removed, nil
}

// ReadFrom copies r into the file with reading and writing overlapped
// (pipelinedCopy), so io.Copy into a PartialFile reads the next chunks (from
// S3, through its own checks) while the previous one is hashed and written.
// r is read from another goroutine until ReadFrom returns.
func (p *PartialFile) ReadFrom(r io.Reader) (int64, error) { return pipelinedCopy(writerOnly{p}, r) }

// writerOnly hides ReadFrom, so nothing copies through it twice.
type writerOnly struct{ io.Writer }
