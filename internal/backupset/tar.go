package backupset

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path"
	"strings"
)

// ReceiveTar writes the files of a tar stream into the folder, as a helper
// container sends them (docker's CopyFromContainer: "backups/<file>" when a
// directory is copied, "<file>" for a single file; exactly one leading
// directory is stripped). Only regular files whose name passes accept are
// written, each atomically; an accepted name that already exists is an error,
// so pass an accept that skips files the folder has. Entries that could
// escape the folder or are not plain files (absolute paths, "..", links,
// devices, nested directories) fail the whole call. All or nothing: on any
// error the files this call committed are removed again.
//
// progress, when not nil, is called as bytes of each file are written.
func (f *Folder) ReceiveTar(r io.Reader, accept func(name string) bool, progress func(name string, done, total int64)) (recs []FileRecord, err error) {
	defer func() {
		if err != nil {
			for _, rec := range recs {
				os.Remove(f.Path(rec.Name))
			}
			f.syncDir()
			recs = nil
		}
	}()
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return recs, nil
		}
		if err != nil {
			return recs, fmt.Errorf("reading tar stream from the helper container: %w", err)
		}
		name, isFile, err := tarEntryName(hdr)
		if err != nil {
			return recs, err
		}
		if !isFile || !accept(name) {
			continue
		}
		rec, err := f.receiveFile(tr, name, hdr.Size, progress)
		if err != nil {
			return recs, err
		}
		recs = append(recs, rec)
	}
}

// tarEntryName checks one entry and returns the file name it maps to, and
// whether it is a regular file to consider (false for the top directory and
// pax global headers).
func tarEntryName(hdr *tar.Header) (string, bool, error) {
	raw := hdr.Name
	bad := func(why string) (string, bool, error) {
		return "", false, fmt.Errorf("refusing tar entry %q from the helper container: %s", raw, why)
	}
	if strings.HasPrefix(raw, "/") || strings.Contains(raw, `\`) || strings.ContainsRune(raw, 0) {
		return bad("absolute path or invalid characters")
	}
	var parts []string
	for _, p := range strings.Split(raw, "/") {
		switch p {
		case "", ".":
		case "..":
			return bad(`".." in the path`)
		default:
			parts = append(parts, p)
		}
	}
	switch hdr.Typeflag {
	case tar.TypeXGlobalHeader:
		return "", false, nil
	case tar.TypeDir:
		if len(parts) <= 1 {
			return "", false, nil
		}
		return bad("nested directory")
	case tar.TypeReg, tar.TypeRegA: //nolint:staticcheck // old archivers write TypeRegA
	default:
		return bad(fmt.Sprintf("not a regular file (type %q)", hdr.Typeflag))
	}
	if len(parts) == 2 {
		parts = parts[1:]
	}
	if len(parts) != 1 {
		return bad("file in a nested directory")
	}
	name := path.Clean(parts[0])
	if err := checkBaseName(name); err != nil {
		return bad(err.Error())
	}
	return name, true, nil
}

func (f *Folder) receiveFile(r io.Reader, name string, size int64, progress func(string, int64, int64)) (FileRecord, error) {
	pf, err := f.NewFile(name)
	if err != nil {
		return FileRecord{}, err
	}
	defer pf.Abort()
	var w io.Writer = pf
	if progress != nil {
		w = &progressWriter{w: pf, name: name, total: size, report: progress}
		progress(name, 0, size)
	}
	n, err := pipelinedCopy(w, r)
	if err != nil {
		return FileRecord{}, fmt.Errorf("receiving %s: %w", name, err)
	}
	if n != size {
		return FileRecord{}, fmt.Errorf("receiving %s: got %d of %d bytes", name, n, size)
	}
	return pf.Commit()
}

// SendTar writes the named files of the folder as a tar stream (flat names,
// regular files, mode 0644, owned by root) for CopyToContainer.
func (f *Folder) SendTar(w io.Writer, names []string, progress func(name string, done, total int64)) error {
	return f.SendTarChecked(w, names, nil, progress)
}

// SendTarChecked is SendTar that checks each file m records while it sends
// it, as Verify would: its size before the first byte goes, its SHA-256
// once the last has, so that a restore reads its chain once rather than
// hashing it and then sending it. A file that does not match fails the
// stream with a *ProblemError before its tar entry is complete (the
// receiver never gets a whole entry of it). Files m does not record (nil m:
// all) are sent unchecked.
func (f *Folder) SendTarChecked(w io.Writer, names []string, m *Manifest, progress func(name string, done, total int64)) error {
	tw := tar.NewWriter(w)
	for _, name := range names {
		var rec *FileRecord
		if m != nil {
			if r, ok := m.Lookup(name); ok {
				rec = &r
			}
		}
		if err := f.sendFile(tw, name, rec, progress); err != nil {
			return err
		}
	}
	return tw.Close()
}

// sendChunk is what sendFile reads and writes at a time: large enough that
// hashing a chunk beside its write costs nothing to start.
const sendChunk = 1 << 20

// hashingWriter hashes what it writes in another goroutine while it writes
// it: the SHA-256 of a file sent into a helper runs beside the tar stream's
// write instead of before it (one core hashes, the other sends).
type hashingWriter struct {
	w io.Writer
	h hash.Hash
}

func (w *hashingWriter) Write(p []byte) (int, error) {
	done := make(chan struct{})
	go func() {
		w.h.Write(p)
		close(done)
	}()
	n, err := w.w.Write(p)
	<-done
	return n, err
}

// ProblemError is a file that failed its check while it was sent.
type ProblemError struct{ Problem Problem }

func (e *ProblemError) Error() string { return e.Problem.String() }

func (f *Folder) sendFile(tw *tar.Writer, name string, rec *FileRecord, progress func(string, int64, int64)) error {
	if err := checkBaseName(name); err != nil {
		return err
	}
	// What the folder holds: a sealed file goes out unsealed, as a
	// stream, and is checked at its end.
	file, size, err := f.OpenFile(name)
	if rec != nil {
		// The problems checkFile reports, word for word.
		switch {
		case errors.Is(err, os.ErrNotExist):
			return &ProblemError{Problem{name, ProblemMissing, "listed in the manifest but not in the folder"}}
		case errors.Is(err, ErrSealed):
			return &ProblemError{Problem{name, ProblemChanged, err.Error()}}
		case err != nil:
			return &ProblemError{Problem{name, ProblemUnreadable, err.Error()}}
		case size < rec.Size:
			file.Close()
			return &ProblemError{Problem{name, ProblemTruncated, fmt.Sprintf("%d bytes, the manifest records %d", size, rec.Size)}}
		case size > rec.Size:
			file.Close()
			return &ProblemError{Problem{name, ProblemChanged, fmt.Sprintf("%d bytes, the manifest records %d", size, rec.Size)}}
		}
	}
	if err != nil {
		return err
	}
	defer file.Close()
	modTime := f.now()
	if st, err := os.Lstat(f.Path(name)); err == nil {
		modTime = st.ModTime()
	}
	hdr := &tar.Header{
		Typeflag: tar.TypeReg,
		Name:     name,
		Size:     size,
		Mode:     0o644,
		ModTime:  modTime.Truncate(1e9),
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	var dst io.Writer = tw
	if progress != nil {
		dst = &progressWriter{w: tw, name: name, total: size, report: progress}
		progress(name, 0, size)
	}
	src := &readSide{r: file}
	var h hash.Hash
	if rec != nil {
		// Hashed as it is sent, beside its write: the bytes checked are
		// the bytes sent, read once.
		h = sha256.New()
		dst = &hashingWriter{w: dst, h: h}
	}
	// At most size bytes: a file that grows while sent must not break the
	// tar stream. The last byte is held back until the file is checked,
	// so that a receiver never holds a complete entry of a file that
	// failed.
	last := size
	if h != nil && size > 0 {
		last = size - 1
	}
	if n, err := io.CopyBuffer(dst, io.LimitReader(src, last), make([]byte, sendChunk)); err != nil || n < last {
		if err == nil {
			err = io.EOF // shorter than when it was opened
		}
		return sendError(name, rec, src, err)
	}
	var tail [1]byte
	if last < size {
		if _, err := io.ReadFull(src, tail[:]); err != nil {
			return sendError(name, rec, src, err)
		}
		h.Write(tail[:])
	}
	if f.checkedAtEOF(name) {
		// Its checks run at its end: read it (nothing more) to EOF.
		if n, err := io.Copy(io.Discard, io.LimitReader(src, 1)); err != nil || n != 0 {
			if err == nil {
				err = fmt.Errorf("more than %d bytes: %w", size, ErrSealed)
			}
			return sendError(name, rec, src, err)
		}
	}
	if h != nil {
		if sum := hex.EncodeToString(h.Sum(nil)); sum != rec.SHA256 {
			return &ProblemError{Problem{name, ProblemChanged, fmt.Sprintf("SHA-256 %s, the manifest records %s", sum, rec.SHA256)}}
		}
	}
	if last < size {
		if _, err := dst.Write(tail[:]); err != nil {
			return fmt.Errorf("sending %s: %w", name, err)
		}
	}
	return nil
}

// sendError is a read error of a file being sent: a problem of that file
// when it is being checked (what checkFile would report).
// An error of the receiving end is not the file's.
func sendError(name string, rec *FileRecord, src *readSide, err error) error {
	if rec != nil && src.err != nil {
		if errors.Is(src.err, ErrUnreachable) {
			// A location that stopped answering says nothing of the file.
			return fmt.Errorf("sending %s: %w", name, src.err)
		}
		if errors.Is(src.err, ErrSealed) {
			return &ProblemError{Problem{name, ProblemChanged, src.err.Error()}}
		}
		if errors.Is(src.err, io.EOF) {
			// Shorter than it was when opened: changed under the run.
			return &ProblemError{Problem{name, ProblemTruncated, fmt.Sprintf("ended before the %d bytes it had", rec.Size)}}
		}
		return &ProblemError{Problem{name, ProblemUnreadable, src.err.Error()}}
	}
	return fmt.Errorf("sending %s: %w", name, err)
}

// readSide remembers the error of the file being sent, to tell it from one
// of the stream it is written to.
type readSide struct {
	r   io.Reader
	err error
}

func (s *readSide) Read(b []byte) (int, error) {
	n, err := s.r.Read(b)
	if err != nil && s.err == nil {
		s.err = err
	}
	return n, err
}

// progressWriter reports progress at most every 1 MiB and at the end.
type progressWriter struct {
	w      io.Writer
	name   string
	done   int64
	last   int64
	total  int64
	report func(name string, done, total int64)
}

func (p *progressWriter) Write(b []byte) (int, error) {
	n, err := p.w.Write(b)
	p.done += int64(n)
	if p.done-p.last >= 1<<20 || p.done == p.total {
		p.last = p.done
		p.report(p.name, p.done, p.total)
	}
	return n, err
}
