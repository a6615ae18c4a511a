// Package volumearchive owns the storage component: Infrahub's object
// storage (the volume or bind mount behind infrahub-server's
// INFRAHUB_STORAGE_LOCAL_PATH). A backup streams a tar of the directory,
// read through a helper container that mounts it read-only, into
// storage-<time>.tar; a restore makes the directory's content exactly the
// archive's (files added since are removed; modes, owners and times kept),
// after checking every path of the archive stays inside it.
package volumearchive

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"time"

	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/docker"
	"github.com/opsmill/docker-infrahubdb/internal/helper"
)

// MountPoint is where the helper mounts the storage.
const MountPoint = "/storage"

// Helper is the helper container the archive moves through.
type Helper interface {
	Name() string
	Exec(ctx context.Context, spec docker.ExecSpec) (int, error)
	CopyTo(ctx context.Context, dir string, tarStream io.Reader) error
	CopyFrom(ctx context.Context, path string) (io.ReadCloser, error)
	Remove(ctx context.Context) error
}

// Storage is the object storage of a deployment.
type Storage struct {
	Server docker.Container // infrahub-server
	Path   string           // INFRAHUB_STORAGE_LOCAL_PATH in it
	Mount  docker.Mount     // what is mounted there
	// Image of the helper: one with sleep and find (the database's image).
	Image string
}

// Name is how messages refer to the storage.
func (s Storage) Name() string {
	if s.Mount.Type == docker.MountVolume {
		return "volume " + s.Mount.Name
	}
	return "bind mount " + s.Mount.Source
}

// HelperSpec is a helper with the storage mounted at MountPoint (read only
// unless rw), without network, as root (owners and modes are read and
// restored as they are). A read-only one is only created, never started
// (docker.HelperSpec.CreateOnly): a backup reads it through the archive
// API alone (Take), and nothing runs that could touch the storage.
func HelperSpec(s Storage, command string, rw bool) docker.HelperSpec {
	m := s.Mount
	m.Destination, m.RW = MountPoint, rw
	key := m.Name
	if key == "" {
		key = m.Source
	}
	return docker.HelperSpec{
		Name:       docker.HelperName(command + "-storage"),
		Image:      s.Image,
		Labels:     docker.HelperLabels(command, "storage:"+key, time.Now()),
		NoNetwork:  true,
		Mounts:     []docker.Mount{m},
		User:       "0",
		CreateOnly: !rw,
	}
}

// Take writes the archive of the storage, read through h (StartHelper),
// into the folder as name, atomically, and returns its record. When read
// is not nil, it is called once the whole archive came from h, before the
// file is made durable: a caller done with h removes it meanwhile.
func Take(ctx context.Context, h Helper, folder *backupset.Folder, s Storage, name string, read func()) (backupset.FileRecord, error) {
	pf, err := folder.NewFile(name)
	if err != nil {
		return backupset.FileRecord{}, err
	}
	defer pf.Abort()
	captured := time.Now().UTC()
	rc, err := h.CopyFrom(ctx, MountPoint+"/.")
	if err != nil {
		return backupset.FileRecord{}, fmt.Errorf("read %s: %w", s.Name(), err)
	}
	defer rc.Close()
	ra := newReadAhead(rc)
	defer ra.Close()
	if _, err := Copy(pf, ra); err != nil {
		if ctx.Err() != nil {
			return backupset.FileRecord{}, ctx.Err()
		}
		return backupset.FileRecord{}, fmt.Errorf("archive %s: %w", s.Name(), err)
	}
	if read != nil {
		ra.Close()
		rc.Close() // the engine's archive request ends before h goes
		read()
	}
	rec, err := pf.Commit()
	if err != nil {
		return backupset.FileRecord{}, err
	}
	rec.Component = backupset.ComponentStorage
	rec.Captured = captured
	rec.SourceContainer = s.Server.Name
	if _, t, ok := backupset.ParseComponentFileName(name); ok {
		rec.Time = t
	}
	return rec, nil
}

// Stats count what an archive holds.
type Stats struct {
	Files, Dirs, Links int
	Bytes              int64
	RootModTime        time.Time // of the archive's root directory
}

// Copy re-encodes the tar stream r into w with every entry checked (see
// CheckEntry) and its name made relative to the archive's root ("./x").
// An archive of a directory from the Docker API names the root "./" (for
// a path ending in "/.") or after the directory: both become "./".
func Copy(w io.Writer, r io.Reader) (Stats, error) { return copyAs(w, r, "./") }

// copyBuffer is the size of the chunks Copy moves a file's bytes in.
const copyBuffer = 256 << 10

// copyAs is Copy naming the root rootName ("./" or "storage/").
func copyAs(w io.Writer, r io.Reader, rootName string) (Stats, error) {
	var st Stats
	tr := tar.NewReader(r)
	tw := tar.NewWriter(w)
	links := linkSet{}
	root, seenRoot := "", false
	// Files are copied in chunks of copyBuffer, not io.Copy's 32 KiB:
	// fewer reads of the engine's stream and fewer writes down to the
	// location's part buffer and its hashes.
	buf := make([]byte, copyBuffer)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return st, fmt.Errorf("read archive: %w", err)
		}
		name := strings.TrimPrefix(hdr.Name, "./")
		if !seenRoot {
			// The first entry is the directory itself.
			if hdr.Typeflag != tar.TypeDir {
				return st, fmt.Errorf("archive does not start with its root directory (%q)", hdr.Name)
			}
			root, seenRoot = strings.TrimSuffix(name, "/"), true
			st.RootModTime = hdr.ModTime
			if root == "." {
				root = ""
			}
			hdr.Name = "./"
		} else {
			if root != "" {
				rest, ok := strings.CutPrefix(name, root+"/")
				if !ok {
					return st, fmt.Errorf("entry %q is outside the archive's root %q", hdr.Name, root)
				}
				name = rest
			}
			hdr.Name = "./" + name
		}
		if hdr.Typeflag == tar.TypeLink {
			// Hard link targets are named like entries.
			ln := strings.TrimPrefix(hdr.Linkname, "./")
			if root != "" {
				ln = strings.TrimPrefix(ln, root+"/")
			}
			hdr.Linkname = "./" + ln
		}
		if err := CheckEntry(hdr); err != nil {
			return st, err
		}
		if err := links.add(hdr); err != nil {
			return st, err
		}
		hdr.Name = rootName + strings.TrimPrefix(hdr.Name, "./")
		if hdr.Typeflag == tar.TypeLink {
			hdr.Linkname = rootName + strings.TrimPrefix(hdr.Linkname, "./")
		}
		switch hdr.Typeflag {
		case tar.TypeDir:
			st.Dirs++
		case tar.TypeReg:
			st.Files++
			st.Bytes += hdr.Size
		default:
			st.Links++
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return st, err
		}
		if hdr.Typeflag == tar.TypeReg {
			if _, err := io.CopyBuffer(tw, tr, buf); err != nil {
				return st, err
			}
		}
	}
	if !seenRoot {
		return st, errors.New("empty archive: not even its root directory")
	}
	if err := links.checkTargets(); err != nil {
		return st, err
	}
	return st, tw.Close()
}

// linkSet follows the symbolic links of one archive (clean name -> target).
// CheckEntry judges each entry alone, lexically, but links combine: "t" ->
// "s/.." stays inside by itself, yet with "s" -> "." it names the directory
// above the storage, where infrahub-server (and the extraction, for entries
// written through it) would follow it. So no entry is written through a
// link, no hard link points at a link (it would be a copy of the link,
// whose relative target then counts from another directory), and no
// link's target passes through another link. A tar of a directory never
// holds such entries.
type linkSet map[string]string

// add checks an entry (CheckEntry passed) against the links before it, and
// records it.
func (l linkSet) add(hdr *tar.Header) error {
	name := path.Clean(hdr.Name)
	if through := l.through(name); through != "" {
		return &UnsafeEntryError{Name: hdr.Name, Why: fmt.Sprintf("is written through the link %q", through)}
	}
	if hdr.Typeflag == tar.TypeLink {
		target := path.Clean(hdr.Linkname)
		if _, isLink := l[target]; isLink {
			return &UnsafeEntryError{Name: hdr.Name, Why: fmt.Sprintf("is a hard link to the link %q", hdr.Linkname)}
		}
		if through := l.through(target); through != "" {
			return &UnsafeEntryError{Name: hdr.Name, Why: fmt.Sprintf("is a hard link through the link %q", through)}
		}
	}
	if hdr.Typeflag == tar.TypeSymlink {
		l[name] = hdr.Linkname
	} else {
		delete(l, name) // replaced
	}
	return nil
}

// through returns the first link among the parent directories of name.
func (l linkSet) through(name string) string {
	for dir := path.Dir(name); dir != "." && dir != "/"; dir = path.Dir(dir) {
		if _, ok := l[dir]; ok {
			return dir
		}
	}
	return ""
}

// checkTargets walks every link's target from the link's directory, once
// every link is known: no step before the last may be a link.
func (l linkSet) checkTargets() error {
	for name, target := range l {
		cur := path.Dir(name)
		parts := strings.Split(target, "/")
		for _, part := range parts[:len(parts)-1] {
			switch part {
			case "", ".":
				continue
			case "..":
				cur = path.Dir(cur)
				continue
			}
			cur = path.Join(cur, part)
			if _, ok := l[cur]; ok {
				return &UnsafeEntryError{Name: "./" + name, Why: fmt.Sprintf("is a link to %q, which passes through the link %q: where it leads cannot be told from the archive", target, "./"+cur)}
			}
		}
	}
	return nil
}

// UnsafeEntryError is an archive entry that would land or point outside the
// storage directory, or is no regular file, directory or link.
type UnsafeEntryError struct {
	Name, Why string
}

func (e *UnsafeEntryError) Error() string {
	return fmt.Sprintf("storage archive entry %q %s: the archive was not made by docker infrahubdb or was tampered with; nothing was changed", e.Name, e.Why)
}

// CheckEntry refuses entries whose path leaves the root (absolute, "..")
// and links whose target does (absolute targets, or relative ones climbing
// out), and anything but directories, regular files and links.
func CheckEntry(hdr *tar.Header) error {
	name := hdr.Name
	clean, ok := inside(".", name)
	if !ok {
		return &UnsafeEntryError{Name: name, Why: "leaves the storage directory"}
	}
	switch hdr.Typeflag {
	case tar.TypeDir, tar.TypeReg:
	case tar.TypeSymlink:
		if path.IsAbs(hdr.Linkname) {
			return &UnsafeEntryError{Name: name, Why: fmt.Sprintf("is a link to the absolute path %q, outside the storage directory", hdr.Linkname)}
		}
		if _, ok := inside(path.Dir(clean), hdr.Linkname); !ok {
			return &UnsafeEntryError{Name: name, Why: fmt.Sprintf("is a link to %q, outside the storage directory", hdr.Linkname)}
		}
	case tar.TypeLink:
		if _, ok := inside(".", hdr.Linkname); !ok || path.IsAbs(hdr.Linkname) {
			return &UnsafeEntryError{Name: name, Why: fmt.Sprintf("is a hard link to %q, outside the storage directory", hdr.Linkname)}
		}
	default:
		return &UnsafeEntryError{Name: name, Why: fmt.Sprintf("has type %q (only directories, files and links are archived)", string(hdr.Typeflag))}
	}
	return nil
}

// inside joins rel to dir (both relative to the root) and reports whether
// the result stays inside the root.
func inside(dir, rel string) (string, bool) {
	if path.IsAbs(rel) || strings.Contains(rel, "\x00") {
		return "", false
	}
	p := path.Join(dir, rel)
	if p == ".." || strings.HasPrefix(p, "../") {
		return "", false
	}
	return p, true
}

// Check reads a whole archive and checks every entry (before anything is
// changed).
func Check(r io.Reader) (Stats, error) {
	return Copy(io.Discard, r)
}

// PutBackCopy is the archive in file (a safety archive Take wrote) as the
// tar stream Restore extracts into the parent of MountPoint once the
// storage is emptied (its root named "storage/"): what a guardian keeps
// to put the storage back by itself, with only an extraction to make.
// Its size is counted by a first read of the file; each Open reads it
// again, checked entry by entry as Restore does.
func PutBackCopy(file string) (*docker.Program, error) {
	stream := func(w io.Writer) error {
		f, err := os.Open(file)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = copyAs(w, f, path.Base(MountPoint)+"/")
		return err
	}
	var n countingWriter
	if err := stream(&n); err != nil {
		return nil, fmt.Errorf("read %s: %w", file, err)
	}
	return &docker.Program{Size: int64(n), Open: func() (io.ReadCloser, error) {
		pr, pw := io.Pipe()
		go func() { pw.CloseWithError(stream(pw)) }()
		return pr, nil
	}}, nil
}

type countingWriter int64

func (c *countingWriter) Write(p []byte) (int, error) {
	*c += countingWriter(len(p))
	return len(p), nil
}

// Restore makes the storage's content exactly the archive read from r:
// it removes everything under the mount point, then extracts the archive
// through the Docker API (which keeps modes, owners and times). r must have
// passed Check: entries are checked again on the way, and the first unsafe
// one stops the extraction.
func Restore(ctx context.Context, h Helper, r io.Reader) error {
	var stderr strings.Builder
	code, err := h.Exec(ctx, docker.ExecSpec{Cmd: []string{"find", MountPoint, "-mindepth", "1", "-delete"}, Stderr: &stderr})
	if err != nil {
		return fmt.Errorf("empty the storage in %s: %w", h.Name(), err)
	}
	if code != 0 {
		return fmt.Errorf("empty the storage in %s: %w", h.Name(), &helper.CommandError{Cmd: []string{"find", MountPoint, "-mindepth", "1", "-delete"}, Container: h.Name(), ExitCode: code, Stderr: strings.TrimSpace(stderr.String())})
	}
	pr, pw := io.Pipe()
	go func() {
		// The engine applies an entry's mode, owner and times to the
		// directory it extracts into only when the entry names it: the
		// root goes in as "storage/" into "/", not as "./" into /storage.
		_, err := copyAs(pw, r, path.Base(MountPoint)+"/")
		pw.CloseWithError(err)
	}()
	err = h.CopyTo(ctx, path.Dir(MountPoint), pr)
	pr.CloseWithError(errors.New("extraction ended"))
	if err != nil {
		return fmt.Errorf("extract the archive into the storage: %w", err)
	}
	return nil
}
