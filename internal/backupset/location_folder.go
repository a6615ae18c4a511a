package backupset

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
)

// FolderLocation is a backup folder seen as a Location. It keeps the folder's
// rules: writes go to "<name>.partial" (mode 0600), are fsynced and then
// linked under their name, which fails when the name exists (so create-only
// holds even between two processes); the directory is fsynced; symbolic links
// are never followed, files and directories are created for the owner only.
type FolderLocation struct {
	*Folder
}

// NewFolderLocation opens an existing backup folder as a Location.
func NewFolderLocation(dir string) (*FolderLocation, error) {
	f, err := Open(dir)
	if err != nil {
		return nil, err
	}
	return &FolderLocation{Folder: f}, nil
}

var _ Location = (*FolderLocation)(nil)

// Describe is the folder's absolute path.
func (l *FolderLocation) Describe() string { return l.Dir }

// Capabilities: a folder can be bind-mounted and creates exclusively.
func (l *FolderLocation) Capabilities() Capabilities {
	return Capabilities{LocalDir: l.Dir, CreateOnly: true}
}

// objectPath checks name and returns its path, refusing a symbolic link or
// non-directory among its parents (a link could lead out of the folder).
// With mkdir, missing parents are created with mode 0700.
func (l *FolderLocation) objectPath(name string, mkdir bool) (string, error) {
	if err := CheckObjectName(name); err != nil {
		return "", err
	}
	dir := l.Dir
	segs := strings.Split(name, "/")
	for _, seg := range segs[:len(segs)-1] {
		dir = filepath.Join(dir, seg)
		st, err := os.Lstat(dir)
		if errors.Is(err, fs.ErrNotExist) && mkdir {
			if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
				return "", diskFull(dir, err)
			}
			if st, err = os.Lstat(dir); err != nil {
				return "", err
			}
		}
		if err != nil {
			return "", err
		}
		if !st.IsDir() {
			return "", &NotRegularError{Path: dir, Kind: fileKind(st.Mode()) + " where a directory belongs"}
		}
	}
	return filepath.Join(dir, segs[len(segs)-1]), nil
}

func notFound(loc Location, name string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s in %s: %w", name, loc.Describe(), ErrObjectNotFound)
	}
	return err
}

// Create starts writing "<name>.<random>.partial".
func (l *FolderLocation) Create(_ context.Context, name string, _ CreateOptions) (ObjectWriter, error) {
	p, err := l.objectPath(name, true)
	if err != nil {
		return nil, err
	}
	if _, err := os.Lstat(p); err == nil {
		return nil, fmt.Errorf("%s in %s: %w", name, l.Dir, ErrObjectExists)
	}
	// Each write has its own partial file, so two writers of one name
	// race only at the link, as two uploads to one S3 key do.
	var tag [4]byte
	rand.Read(tag[:])
	partial := p + "." + hex.EncodeToString(tag[:]) + PartialExt
	file, err := os.OpenFile(partial, os.O_WRONLY|os.O_CREATE|os.O_EXCL|oNoFollow, 0o600)
	if err != nil {
		return nil, diskFull(partial, err)
	}
	return &folderWriter{PartialFile: PartialFile{folder: l.Folder, name: name, file: file, sum: sha256.New()}, final: p}, nil
}

// folderWriter is a PartialFile committed by link(2) instead of rename(2):
// link fails when the name exists, rename would replace it.
type folderWriter struct {
	PartialFile
	final string
}

func (w *folderWriter) Commit() (FileRecord, error) {
	if w.committed || w.closed {
		return FileRecord{}, fmt.Errorf("%s: already committed or aborted", w.name)
	}
	partial := w.file.Name()
	defer w.Abort()
	if err := w.file.Sync(); err != nil {
		return FileRecord{}, diskFull(partial, fmt.Errorf("sync %s: %w", partial, err))
	}
	w.closed = true
	if err := w.file.Close(); err != nil {
		return FileRecord{}, diskFull(partial, fmt.Errorf("close %s: %w", partial, err))
	}
	if err := linkExclusive(partial, w.final); err != nil {
		return FileRecord{}, err
	}
	w.committed = true
	os.Remove(partial)
	if err := syncDir(filepath.Dir(w.final)); err != nil {
		return FileRecord{}, err
	}
	return FileRecord{
		Name:   w.name,
		Size:   w.size,
		SHA256: hex.EncodeToString(w.sum.Sum(nil)),
		Added:  w.folder.now().UTC(),
	}, nil
}

// linkExclusive gives partial the name final, failing when final exists.
// File systems without hard links (some network and FAT file systems) fall
// back to a check and a rename, which is exclusive only under the lock.
func linkExclusive(partial, final string) error {
	err := os.Link(partial, final)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, fs.ErrExist):
		return fmt.Errorf("%s appeared while it was being written: %w", final, ErrObjectExists)
	case errors.Is(err, syscall.EPERM), errors.Is(err, syscall.ENOTSUP), errors.Is(err, syscall.EOPNOTSUPP), errors.Is(err, syscall.EMLINK):
		if _, err := os.Lstat(final); err == nil {
			return fmt.Errorf("%s appeared while it was being written: %w", final, ErrObjectExists)
		}
		return os.Rename(partial, final)
	}
	return diskFull(final, err)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

// Open opens a committed object, never following a symbolic link.
func (l *FolderLocation) Open(_ context.Context, name string) (io.ReadCloser, ObjectInfo, error) {
	p, err := l.objectPath(name, false)
	if err != nil {
		return nil, ObjectInfo{}, notFound(l, name, err)
	}
	file, st, err := OpenRegular(p)
	if err != nil {
		return nil, ObjectInfo{}, notFound(l, name, err)
	}
	return file, ObjectInfo{Name: name, Size: st.Size(), Modified: st.ModTime().UTC()}, nil
}

// Stat describes a committed object.
func (l *FolderLocation) Stat(_ context.Context, name string) (ObjectInfo, error) {
	p, err := l.objectPath(name, false)
	if err != nil {
		return ObjectInfo{}, notFound(l, name, err)
	}
	st, err := os.Lstat(p)
	if err != nil {
		return ObjectInfo{}, notFound(l, name, err)
	}
	if err := checkRegular(p, st); err != nil {
		return ObjectInfo{}, err
	}
	return ObjectInfo{Name: name, Size: st.Size(), Modified: st.ModTime().UTC()}, nil
}

// List walks the folder (never following links) and returns its regular
// files under prefix, leaving out partial files, the lock and write probes.
func (l *FolderLocation) List(ctx context.Context, prefix string) ([]ObjectInfo, error) {
	var out []ObjectInfo
	err := l.walk(ctx, func(name string, st fs.FileInfo) {
		if strings.HasPrefix(name, prefix) && !strings.HasSuffix(name, PartialExt) &&
			name != LockName && !strings.HasPrefix(path.Base(name), ".infrahubdb-probe-") {
			out = append(out, ObjectInfo{Name: name, Size: st.Size(), Modified: st.ModTime().UTC()})
		}
	})
	slices.SortFunc(out, func(a, b ObjectInfo) int { return strings.Compare(a.Name, b.Name) })
	return out, err
}

func (l *FolderLocation) walk(ctx context.Context, fn func(name string, st fs.FileInfo)) error {
	return filepath.WalkDir(l.Dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil // directories are walked, links and devices never
		}
		st, err := d.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(l.Dir, p)
		if err != nil {
			return err
		}
		fn(filepath.ToSlash(rel), st)
		return nil
	})
}

// Delete removes an object and then its parent directories that became
// empty (a pruned run leaves no empty directory behind).
func (l *FolderLocation) Delete(_ context.Context, name string) error {
	p, err := l.objectPath(name, false)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	dir := filepath.Dir(p)
	if err := syncDir(dir); err != nil {
		return err
	}
	for dir != l.Dir && os.Remove(dir) == nil {
		dir = filepath.Dir(dir)
	}
	return nil
}

// Lock takes the folder's lock file (see AcquireLock).
func (l *FolderLocation) Lock(_ context.Context, command string) (Lease, error) {
	release, _, err := l.AcquireLock(command)
	if err != nil {
		return nil, err
	}
	return &folderLease{folder: l.Folder, release: release}, nil
}

type folderLease struct {
	folder  *Folder
	release func() error
}

// Refresh checks that the lock file still names this process: a folder lock
// does not expire, but it can be removed by hand.
func (f *folderLease) Refresh(context.Context) error {
	data, err := os.ReadFile(f.folder.Path(LockName))
	var holder LockInfo
	if err != nil || json.Unmarshal(data, &holder) != nil || holder.PID != os.Getpid() {
		return fmt.Errorf("%s: %w", f.folder.Path(LockName), ErrLeaseLost)
	}
	return nil
}

func (f *folderLease) Release(context.Context) error { return f.release() }

// Leftovers lists the "*.partial" files of interrupted writes.
func (l *FolderLocation) Leftovers(ctx context.Context) ([]Leftover, error) {
	var out []Leftover
	err := l.walk(ctx, func(name string, st fs.FileInfo) {
		if target, ok := strings.CutSuffix(name, PartialExt); ok {
			if i := strings.LastIndexByte(target, '.'); i >= 0 && len(target)-i == 9 && isHex(target[i+1:]) {
				target = target[:i]
			}
			out = append(out, Leftover{Name: target, Kind: "partial file", Started: st.ModTime().UTC(), ID: name})
		}
	})
	return out, err
}

// RemoveLeftover removes one partial file.
func (l *FolderLocation) RemoveLeftover(_ context.Context, lo Leftover) error {
	target, ok := strings.CutSuffix(lo.ID, PartialExt)
	if !ok || CheckObjectName(target) != nil {
		return fmt.Errorf("%q is not a partial file of %s", lo.ID, l.Dir)
	}
	p, err := l.objectPath(target, false)
	if err != nil {
		return err
	}
	if err := os.Remove(p + PartialExt); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

func isHex(s string) bool { return s != "" && strings.Trim(s, "0123456789abcdef") == "" }
