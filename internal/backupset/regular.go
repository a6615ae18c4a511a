package backupset

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// NotRegularError refuses a file of the folder that is not a regular file
// inside it: a symbolic link (it could point anywhere on this machine, and
// its target would be read and sent to the Docker host), a device, a pipe, a
// socket or a directory.
type NotRegularError struct {
	Path string
	Kind string // "symbolic link", "directory", "device", ...
}

func (e *NotRegularError) Error() string {
	return fmt.Sprintf("refusing %s: it is a %s, not a regular file; files of a backup folder are never followed out of it: replace it with a copy of the file itself, or move it out of the folder", e.Path, e.Kind)
}

// OpenRegular opens path for reading if it is a regular file, never
// following a symbolic link and never opening a device or pipe (which could
// block or read forever).
func OpenRegular(path string) (*os.File, os.FileInfo, error) {
	before, err := os.Lstat(path)
	if err != nil {
		return nil, nil, err
	}
	if err := checkRegular(path, before); err != nil {
		return nil, nil, err
	}
	file, err := os.OpenFile(path, os.O_RDONLY|oNoFollow, 0)
	if err != nil {
		return nil, nil, err
	}
	st, err := file.Stat()
	if err == nil && !os.SameFile(before, st) {
		err = fmt.Errorf("%s was replaced while being opened", path) // a link swapped in
	}
	if err == nil {
		err = checkRegular(path, st)
	}
	if err != nil {
		file.Close()
		return nil, nil, err
	}
	return file, st, nil
}

func checkRegular(path string, st fs.FileInfo) error {
	if st.Mode().IsRegular() {
		return nil
	}
	return &NotRegularError{Path: path, Kind: fileKind(st.Mode())}
}

func fileKind(m fs.FileMode) string {
	switch {
	case m&fs.ModeSymlink != 0:
		return "symbolic link"
	case m.IsDir():
		return "directory"
	case m&fs.ModeDevice != 0:
		return "device"
	case m&fs.ModeNamedPipe != 0:
		return "named pipe"
	case m&fs.ModeSocket != 0:
		return "socket"
	}
	return "special file"
}

// Stage puts the folder's file name at dst (outside the folder's own names,
// e.g. a helper's staging directory): a hard link when link is set and the
// file system allows it, else a copy with mode. Only a regular file of the
// folder is staged, never what a link points to.
func (f *Folder) Stage(name, dst string, link bool, mode os.FileMode) error {
	if err := checkBaseName(name); err != nil {
		return err
	}
	if err := f.refuseForwarded(name); err != nil {
		return err
	}
	if _, sealed := f.Sealed(name); sealed {
		// A link or copy would hand the helper ciphertext, and its
		// plaintext may not be put on this machine's disk: SendTar.
		return fmt.Errorf("%s is sealed (encrypted) in %s: it goes to the helper as a stream only (transfer stream)", name, f.Dir)
	}
	if r, fetched := f.Fetched(name); fetched {
		return fmt.Errorf("%s is read from its location (%s) as it is sent: it goes to the helper as a stream only (transfer stream)", name, r.Object.Name)
	}
	in, _, err := OpenRegular(f.Path(name))
	if err != nil {
		return err
	}
	defer in.Close()
	if link && os.Link(f.Path(name), dst) == nil {
		// link(2) does not follow links; check what was linked anyway, in
		// case the name was swapped since it was opened.
		st, err := os.Lstat(dst)
		if err == nil && (!st.Mode().IsRegular() || !sameAsOpen(in, st)) {
			os.Remove(dst)
			err = fmt.Errorf("%s was replaced while being staged", f.Path(name))
		}
		return err
	}
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, mode)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if err == nil {
		err = out.Chmod(mode) // umask must not narrow it
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(dst)
	}
	return err
}

func sameAsOpen(file *os.File, st fs.FileInfo) bool {
	open, err := file.Stat()
	return err == nil && os.SameFile(open, st)
}

// refuseIrregular lists, as one error, the entries of the folder that are
// named like backup artifacts but would be read as something else than a
// regular file of the folder: links, devices, pipes, sockets. (A directory
// cannot be read as a file: Scan lists it as unexpected.)
func (f *Folder) refuseIrregular(entries []os.DirEntry) error {
	var errs []error
	for _, e := range entries {
		if _, _, _, ok := parseArtifactName(e.Name()); !ok || e.Type().IsRegular() || e.IsDir() {
			continue
		}
		errs = append(errs, &NotRegularError{Path: filepath.Join(f.Dir, e.Name()), Kind: fileKind(e.Type())})
	}
	return errors.Join(errs...)
}
