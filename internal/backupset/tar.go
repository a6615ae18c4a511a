package backupset

import (
	"archive/tar"
	"errors"
	"fmt"
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
	tw := tar.NewWriter(w)
	for _, name := range names {
		if err := f.sendFile(tw, name, progress); err != nil {
			return err
		}
	}
	return tw.Close()
}

func (f *Folder) sendFile(tw *tar.Writer, name string, progress func(string, int64, int64)) error {
	if err := checkBaseName(name); err != nil {
		return err
	}
	// What the folder holds: a sealed file goes out unsealed, as a
	// stream, and is checked at its end.
	file, size, err := f.OpenFile(name)
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
	// CopyN: a file that grows while sent must not break the tar stream.
	if _, err := io.CopyN(dst, file, size); err != nil {
		return fmt.Errorf("sending %s: %w", name, err)
	}
	if _, sealed := f.Sealed(name); sealed {
		// Its checks run at its end: read it (nothing more) to EOF.
		if n, err := io.Copy(io.Discard, io.LimitReader(file, 1)); err != nil || n != 0 {
			if err == nil {
				err = fmt.Errorf("more than %d bytes: %w", size, ErrSealed)
			}
			return fmt.Errorf("sending %s: %w", name, err)
		}
	}
	return nil
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
