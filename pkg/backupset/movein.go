package backupset

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
)

// ErrNotOwned is wrapped by MoveIn's error for a file that does not belong
// to the user running the plugin: moving it would leave a file in the
// folder that user may not be able to read. Copy it instead (NewFile).
var ErrNotOwned = errors.New("not owned by the current user")

// ErrOtherFileSystem is wrapped by MoveIn's error for a file on another
// file system than the folder: copy it instead (NewFile).
var ErrOtherFileSystem = errors.New("on another file system")

// MoveIn brings a file that already lies in a directory inside the folder
// (a bind-mounted staging directory) into place under name without copying
// it: it is hashed at read speed, fsynced once, made private (0600) and
// renamed, then the folder is synced. A crash leaves it in the staging
// directory, never half-written under name. It refuses a link or anything
// but a regular file, a file owned by another user (ErrNotOwned), a file
// on another file system (ErrOtherFileSystem), and a name that exists.
func (f *Folder) MoveIn(src, name string) (FileRecord, error) {
	if err := checkBaseName(name); err != nil {
		return FileRecord{}, err
	}
	st, err := os.Lstat(src)
	if err != nil {
		return FileRecord{}, err
	}
	if !st.Mode().IsRegular() {
		return FileRecord{}, fmt.Errorf("%s is not a regular file", src)
	}
	if !ownedByCaller(st) {
		return FileRecord{}, fmt.Errorf("%s: %w", src, ErrNotOwned)
	}
	final := f.Path(name)
	if _, err := os.Lstat(final); err == nil {
		return FileRecord{}, fmt.Errorf("%s already exists in %s; backup files are never overwritten: %w", name, f.Dir, os.ErrExist)
	}
	file, err := os.OpenFile(src, os.O_RDONLY|noFollow, 0)
	if err != nil {
		return FileRecord{}, err
	}
	defer file.Close()
	sum := sha256.New()
	n, err := io.Copy(sum, file)
	if err != nil {
		return FileRecord{}, fmt.Errorf("hash %s: %w", src, err)
	}
	if err := file.Sync(); err != nil {
		return FileRecord{}, diskFull(src, fmt.Errorf("sync %s: %w", src, err))
	}
	if err := file.Chmod(0o600); err != nil {
		return FileRecord{}, err
	}
	if err := os.Rename(src, final); err != nil {
		if errors.Is(err, syscall.EXDEV) {
			return FileRecord{}, fmt.Errorf("%s: %w", src, ErrOtherFileSystem)
		}
		return FileRecord{}, err
	}
	if err := f.syncDir(); err != nil {
		return FileRecord{}, err
	}
	rec := FileRecord{Name: name, Size: n, SHA256: hex.EncodeToString(sum.Sum(nil)), Added: f.now().UTC()}
	if db, t, ok := ParseArtifactName(name); ok {
		rec.Database, rec.Time = db, t
	}
	return rec, nil
}
