package backupset

import (
	"context"
	"crypto/sha256"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"os"
	"sync"
	"time"
)

// Follower hashes a file while another process still writes it (Follow):
// neo4j-admin's safety dump, which a restore must prove durable and hashed
// before its load deletes the store. PrepareFollowedMove then hashes only
// what was written after the follower stopped, and proves the part it
// hashed unchanged by reading it again for a CRC-32C (a fraction of the
// SHA-256's cost): a writer that went back and rewrote a byte, truncated
// the file or replaced it makes it hash the whole file again. The part it
// read already has its writeback started, so the fsync at the end has
// little left to do.
type Follower struct {
	path string
	stop chan struct{}
	done chan struct{}
	once sync.Once

	// Owned by run until done is closed.
	file *os.File
	sha  hash.Hash
	crc  hash.Hash32
	mu   sync.Mutex // n is read while run goes on (tests)
	n    int64      // bytes hashed
}

// followPoll is how often a follower looks for the file and for what was
// appended to it.
const followPoll = 50 * time.Millisecond

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Follow starts following path, which need not exist yet. Stop, or
// PrepareFollowedMove, ends it; Close releases it.
func Follow(path string) *Follower {
	f := &Follower{path: path, stop: make(chan struct{}), done: make(chan struct{})}
	go f.run()
	return f
}

func (f *Follower) run() {
	defer close(f.done)
	buf := make([]byte, 1<<20)
	for {
		if f.file == nil {
			f.open()
		}
		if f.file != nil && !f.read(buf) {
			f.drop()
			return
		}
		select {
		case <-f.stop:
			return
		case <-time.After(followPoll):
		}
	}
}

func (f *Follower) open() {
	file, err := os.OpenFile(f.path, os.O_RDONLY|noFollow, 0)
	if err != nil {
		return // not written yet (or not readable: the move hashes it all)
	}
	if st, err := file.Stat(); err != nil || !st.Mode().IsRegular() {
		file.Close()
		return
	}
	f.file, f.sha, f.crc = file, sha256.New(), crc32.New(castagnoli)
}

// read hashes what was appended since the last read, up to the end of the
// file as it is now; false when the file cannot be read.
func (f *Follower) read(buf []byte) bool {
	w := io.MultiWriter(f.sha, f.crc)
	for {
		select {
		case <-f.stop:
			return true
		default:
		}
		c, err := io.CopyBuffer(w, io.LimitReader(f.file, hashChunk), buf)
		if err != nil {
			return false
		}
		if c > 0 {
			startWriteback(f.file, f.n, c)
		}
		f.mu.Lock()
		f.n += c
		f.mu.Unlock()
		if c < hashChunk {
			return true
		}
	}
}

func (f *Follower) drop() {
	if f.file != nil {
		f.file.Close()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.file, f.sha, f.crc, f.n = nil, nil, nil, 0
}

// Stop ends the following (the writer is done) and waits for it.
func (f *Follower) Stop() {
	f.once.Do(func() { close(f.stop) })
	<-f.done
}

// Close stops the follower and releases the file, unless a move took it.
func (f *Follower) Close() {
	f.Stop()
	f.drop()
}

// Is reports whether the follower follows the file st describes (under
// whatever name it was moved or linked to since).
func (f *Follower) Is(st os.FileInfo) bool {
	f.Stop()
	if f.file == nil {
		return false
	}
	opened, err := f.file.Stat()
	return err == nil && os.SameFile(st, opened)
}

// PrepareFollowedMove is PrepareMove for a file fl followed while it was
// written (src may be another link to it, or its new name): only the end
// written after fl stopped is hashed now, once the part fl hashed is proven
// unchanged; else, or when fl did not follow this file, it is PrepareMove.
// The file must not be written any more. fl is stopped; it keeps its file
// when the checks refuse src (ErrNotOwned: the caller may make it its own
// and try again), and gives it to the Move otherwise.
func (f *Folder) PrepareFollowedMove(ctx context.Context, src, name string, fl *Follower) (*Move, error) {
	if err := checkBaseName(name); err != nil {
		return nil, err
	}
	st, err := os.Lstat(src)
	if err != nil {
		return nil, err
	}
	if !fl.Is(st) {
		return f.PrepareMove(ctx, src, name)
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
	m := &Move{folder: f, src: src, file: fl.file, rec: FileRecord{Name: name}}
	sum, crc, n := fl.sha, fl.crc, fl.n
	fl.file, fl.sha, fl.crc, fl.n = nil, nil, nil, 0
	ok, err := m.hashFollowed(ctx, sum, crc, n)
	if err == nil && !ok {
		// Changed behind the follower: hash it all, from the start.
		if _, err = m.file.Seek(0, io.SeekStart); err == nil {
			err = m.hash(ctx, st)
		}
	}
	if err != nil {
		m.Close()
		return nil, err
	}
	return m, nil
}

// hashFollowed ends the hash of a followed file: the first n bytes are in
// sum and crc; it hashes the rest, proves the first n bytes unchanged (a
// CRC-32C of them read again), fsyncs the file and checks it did not change
// meanwhile. false: the first n bytes changed (or the file shrank).
func (m *Move) hashFollowed(ctx context.Context, sum hash.Hash, crc hash.Hash32, n int64) (bool, error) {
	opened, err := m.file.Stat()
	if err != nil {
		return false, err
	}
	if opened.Size() < n {
		return false, nil
	}
	want := crc.Sum32()
	if _, err := m.file.Seek(n, io.SeekStart); err != nil {
		return false, err
	}
	total, err := m.feed(ctx, sum, n)
	if err != nil {
		return false, err
	}
	again := crc32.New(castagnoli)
	buf := make([]byte, 1<<20)
	if _, err := io.CopyBuffer(again, io.NewSectionReader(m.file, 0, n), buf); err != nil {
		return false, fmt.Errorf("read %s again: %w", m.src, err)
	}
	if again.Sum32() != want {
		return false, nil
	}
	if err := m.file.Sync(); err != nil {
		return false, diskFull(m.src, fmt.Errorf("sync %s: %w", m.src, err))
	}
	after, err := m.file.Stat()
	if err != nil {
		return false, err
	}
	if after.Size() != total || !after.ModTime().Equal(opened.ModTime()) {
		return false, fmt.Errorf("%s changed while it was being hashed", m.src)
	}
	m.st, m.rec.Size, m.rec.SHA256 = after, total, hexSum(sum)
	m.followed = n
	return true, nil
}

// feed hashes the file from its offset, which is off, to its end into sum,
// starting the writeback of what it read, and returns the offset reached.
func (m *Move) feed(ctx context.Context, sum hash.Hash, off int64) (int64, error) {
	buf := make([]byte, 1<<20)
	for {
		if err := ctx.Err(); err != nil {
			return off, err
		}
		c, err := io.CopyBuffer(sum, io.LimitReader(m.file, hashChunk), buf)
		if err != nil {
			return off, fmt.Errorf("hash %s: %w", m.src, err)
		}
		if c > 0 {
			startWriteback(m.file, off, c)
		}
		off += c
		if c < hashChunk {
			return off, nil
		}
	}
}
