package backupset

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
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

// OwnedByCaller reports whether the file st describes belongs to the user
// running the plugin, as MoveIn requires (true where ownership is unknown).
func OwnedByCaller(st os.FileInfo) bool { return ownedByCaller(st) }

// MoveIn brings a file that already lies in a directory inside the folder
// (a bind-mounted staging directory) into place under name without copying
// it: it is hashed at read speed, fsynced once, made private (0600) and
// renamed, then the folder is synced. A crash leaves it in the staging
// directory, never half-written under name. It refuses a link or anything
// but a regular file, a file owned by another user (ErrNotOwned), a file
// on another file system (ErrOtherFileSystem), and a name that exists.
func (f *Folder) MoveIn(src, name string) (FileRecord, error) {
	m, err := f.PrepareMove(context.Background(), src, name)
	if err != nil {
		return FileRecord{}, err
	}
	defer m.Close()
	return m.Commit()
}

// Move is MoveIn in two steps, so that the slow one can overlap other work
// while the file is still read where it lies (neo4j-admin backup inspect
// reads the staging directory): PrepareMove hashes the file and makes it
// durable there, Commit makes it private and renames it into place. Close
// releases it; a file prepared but not committed stays where it was.
type Move struct {
	folder *Folder
	src    string
	file   *os.File
	st     os.FileInfo // of the file when it was hashed
	rec    FileRecord
	// followed is how many bytes a Follower had hashed (PrepareFollowedMove).
	followed int64
}

// PrepareMove does MoveIn's checks, then reads src once to hash it (in
// ctx: an interrupted hash returns ctx's error), starting the kernel's
// writeback of what was read as it goes so that the fsync at the end has
// little left to do. The file must not change afterwards: Commit refuses
// it if it did.
func (f *Folder) PrepareMove(ctx context.Context, src, name string) (*Move, error) {
	if err := checkBaseName(name); err != nil {
		return nil, err
	}
	st, err := os.Lstat(src)
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", src)
	}
	if !ownedByCaller(st) {
		return nil, fmt.Errorf("%s: %w", src, ErrNotOwned)
	}
	if _, err := os.Lstat(f.Path(name)); err == nil {
		return nil, fmt.Errorf("%s already exists in %s; backup files are never overwritten: %w", name, f.Dir, os.ErrExist)
	}
	file, err := os.OpenFile(src, os.O_RDONLY|noFollow, 0)
	if err != nil {
		return nil, err
	}
	m := &Move{folder: f, src: src, file: file, rec: FileRecord{Name: name}}
	if err := m.hash(ctx, st); err != nil {
		m.Close()
		return nil, err
	}
	return m, nil
}

// hashChunk is how much is read between two checks of the context and two
// starts of writeback.
const hashChunk = 8 << 20

func (m *Move) hash(ctx context.Context, before os.FileInfo) error {
	opened, err := m.file.Stat()
	if err != nil {
		return err
	}
	if !os.SameFile(before, opened) {
		return fmt.Errorf("%s was replaced while being opened", m.src)
	}
	sum := sha256.New()
	buf := make([]byte, 1<<20)
	var n int64
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		c, err := io.CopyBuffer(sum, io.LimitReader(m.file, hashChunk), buf)
		if err != nil {
			return fmt.Errorf("hash %s: %w", m.src, err)
		}
		if c > 0 {
			startWriteback(m.file, n, c)
		}
		n += c
		if c < hashChunk {
			break
		}
	}
	if err := m.file.Sync(); err != nil {
		return diskFull(m.src, fmt.Errorf("sync %s: %w", m.src, err))
	}
	after, err := m.file.Stat()
	if err != nil {
		return err
	}
	if after.Size() != n || !after.ModTime().Equal(opened.ModTime()) {
		return fmt.Errorf("%s changed while it was being hashed", m.src)
	}
	m.st, m.rec.Size, m.rec.SHA256 = after, n, hexSum(sum)
	return nil
}

func hexSum(h hash.Hash) string { return hex.EncodeToString(h.Sum(nil)) }

// Size is the size of the file that was hashed.
func (m *Move) Size() int64 { return m.rec.Size }

// Commit renames the prepared file into place under its name and syncs the
// folder. It refuses a file that changed or was replaced since it was
// hashed: the record always describes what is on disk.
func (m *Move) Commit() (FileRecord, error) {
	if m.file == nil {
		return FileRecord{}, fmt.Errorf("%s: already committed or closed", m.src)
	}
	now, err := os.Lstat(m.src)
	if err != nil {
		return FileRecord{}, err
	}
	if !os.SameFile(now, m.st) || now.Size() != m.st.Size() || !now.ModTime().Equal(m.st.ModTime()) {
		return FileRecord{}, fmt.Errorf("%s changed after it was hashed", m.src)
	}
	if err := m.file.Chmod(0o600); err != nil {
		return FileRecord{}, err
	}
	final := m.folder.Path(m.rec.Name)
	if _, err := os.Lstat(final); err == nil {
		return FileRecord{}, fmt.Errorf("%s already exists in %s; backup files are never overwritten: %w", m.rec.Name, m.folder.Dir, os.ErrExist)
	}
	if err := os.Rename(m.src, final); err != nil {
		if errors.Is(err, syscall.EXDEV) {
			return FileRecord{}, fmt.Errorf("%s: %w", m.src, ErrOtherFileSystem)
		}
		return FileRecord{}, err
	}
	m.Close()
	if err := m.folder.syncDir(); err != nil {
		return FileRecord{}, err
	}
	rec := m.rec
	rec.Added = m.folder.now().UTC()
	if db, t, ok := ParseArtifactName(rec.Name); ok {
		rec.Database, rec.Time = db, t
	}
	return rec, nil
}

// Close releases the file; it is idempotent and does not move anything.
func (m *Move) Close() {
	if m.file != nil {
		m.file.Close()
		m.file = nil
	}
}
