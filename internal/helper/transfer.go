package helper

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/docker"
	"github.com/opsmill/docker-infrahubdb/internal/progress"
)

// workdir moves files between the backup folder and the helper's WorkDir.
type workdir interface {
	// seed puts names into WorkDir/sub; with m, stream transfer checks
	// each file m records while it sends it (backupset.SendTarChecked)
	// and says so (checked), bind transfer never reads them.
	seed(ctx context.Context, folder *backupset.Folder, sub string, names []string, m *backupset.Manifest, pw progress.Writer) (checked bool, err error)
	// prepare starts bringing WorkDir/sub/name into folder: it does all
	// that can be done while the file may still be read in the helper
	// (bind: hash and fsync it where it lies; stream: the whole download),
	// and the returned file's commit puts it in place. keep leaves it in
	// the helper too (a safety backup kept there for a fast rollback).
	prepare(ctx context.Context, folder *backupset.Folder, sub, name string, keep bool, pw progress.Writer) (pendingFile, error)
	// own makes WorkDir/sub/names movable into the folder (bind: files
	// the container wrote as another user are given to the caller).
	own(ctx context.Context, sub string, names []string)
	// local reports whether prepared files are committed without the
	// helper (bind), so that it may go while they are.
	local() bool
	// list lists the regular files directly inside dir, sorted by name.
	list(ctx context.Context, dir string) ([]docker.FileInfo, error)
	// cleanup empties the work dir but for the paths (relative to
	// WorkDir) in busy; with the helper gone (gone), only what the client
	// can remove itself.
	cleanup(ctx context.Context, busy []string, gone bool) error
}

// pendingFile is a file prepare made ready for the folder.
type pendingFile interface {
	// commit puts it in place and returns its record.
	commit(ctx context.Context) (backupset.FileRecord, error)
	// abort undoes what prepare did (a file it put in the folder is
	// removed); it does nothing after a successful commit.
	abort()
}

// fetch is prepare then commit.
func fetch(ctx context.Context, w workdir, folder *backupset.Folder, sub, name string, keep bool, pw progress.Writer) (backupset.FileRecord, error) {
	p, err := w.prepare(ctx, folder, sub, name, keep, pw)
	if err != nil {
		return backupset.FileRecord{}, err
	}
	rec, err := p.commit(ctx)
	if err != nil {
		p.abort()
	}
	return rec, err
}

// placed is a file already in the folder when prepare returns (a download,
// a copy): commit has nothing left to do, abort removes it.
type placed struct {
	folder    *backupset.Folder
	rec       backupset.FileRecord
	committed bool
}

func (p *placed) commit(context.Context) (backupset.FileRecord, error) {
	p.committed = true
	return p.rec, nil
}

func (p *placed) abort() {
	if !p.committed {
		_ = os.Remove(p.folder.Path(p.rec.Name))
	}
}

// bindWork is a staging dir inside the backup folder, bind-mounted at
// WorkDir. neo4j-admin never writes into the folder itself: new artifacts
// are copied from staging into the folder as *.partial, fsynced and renamed,
// so they belong to the user who ran the command and a crash leaves no
// half-written file that looks like a backup.
type bindWork struct {
	staging  string
	readable bool
	helper   Helper
	// followers hash files while neo4j-admin writes them (Session.Follow).
	followMu  sync.Mutex
	followers []*backupset.Follower
}

// follower takes the follower of the file st describes, if any.
func (w *bindWork) follower(st os.FileInfo) *backupset.Follower {
	w.followMu.Lock()
	defer w.followMu.Unlock()
	for i, fl := range w.followers {
		if fl.Is(st) {
			w.followers = slices.Delete(w.followers, i, i+1)
			return fl
		}
	}
	return nil
}

func (w *bindWork) dropFollowers() {
	w.followMu.Lock()
	defer w.followMu.Unlock()
	for _, fl := range w.followers {
		fl.Close()
	}
	w.followers = nil
}

func newBindWork(folder *backupset.Folder, readable bool) (*bindWork, error) {
	staging := filepath.Join(folder.Dir, ".infrahubdb-work-"+randomHex(4))
	if err := os.Mkdir(staging, 0o700); err != nil {
		return nil, fmt.Errorf("create staging dir in %s: %w", folder.Dir, err)
	}
	if readable {
		// neo4j-admin restore runs as the owner of /data, not as root; the
		// folder around the staging dir stays private.
		if err := os.Chmod(staging, 0o755); err != nil {
			return nil, err
		}
	}
	return &bindWork{staging: staging, readable: readable}, nil
}

func (w *bindWork) probe(ctx context.Context) (bool, error) {
	name := ".probe-" + randomHex(8)
	if err := os.WriteFile(filepath.Join(w.staging, name), nil, 0o600); err != nil {
		return false, err
	}
	_, _, exists, err := w.helper.Stat(ctx, path.Join(WorkDir, name))
	_ = os.Remove(filepath.Join(w.staging, name))
	return exists, err
}

func (w *bindWork) seed(ctx context.Context, folder *backupset.Folder, sub string, names []string, _ *backupset.Manifest, pw progress.Writer) (bool, error) {
	dir := filepath.Join(w.staging, sub)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return false, err
	}
	for _, name := range names {
		if err := ctx.Err(); err != nil {
			return false, err
		}
		// A hard link costs nothing; a copy is needed when neo4j-admin runs
		// as another user than the file's owner, or across file systems.
		if err := folder.Stage(name, filepath.Join(dir, name), !w.readable, 0o644); err != nil {
			return false, fmt.Errorf("stage %s: %w", name, err)
		}
	}
	return false, nil
}

// prepare readies the file neo4j-admin wrote in the staging dir to be
// moved into place: the staging dir is inside the folder, so a rename does
// it without a copy; prepare hashes it at read speed and fsyncs it once
// where it lies (backupset.PrepareMove), commit renames it. A file the
// container wrote as another user is first given to the caller (see own);
// when that cannot be done it is copied.
func (w *bindWork) prepare(ctx context.Context, folder *backupset.Folder, sub, name string, keep bool, pw progress.Writer) (pendingFile, error) {
	staged := filepath.Join(w.staging, sub, name)
	if keep {
		return w.copyIn(ctx, folder, staged, name, pw)
	}
	// The one step not run by progress.Run: it starts here and ends in
	// bindMove.commit, so that hashing overlaps backup inspect.
	id, text := "fetch "+name, "Move "+name+" into place"
	pw.Event(progress.Event{ID: id, Text: text, Status: progress.Working})
	prepareMove := folder.PrepareMove
	if st, err := os.Lstat(staged); err == nil {
		if fl := w.follower(st); fl != nil {
			// Hashed while neo4j-admin wrote it: only its end is left.
			defer fl.Close()
			prepareMove = func(ctx context.Context, src, name string) (*backupset.Move, error) {
				return folder.PrepareFollowedMove(ctx, src, name, fl)
			}
		}
	}
	m, err := prepareMove(ctx, staged, name)
	if errors.Is(err, backupset.ErrNotOwned) && w.giveToCaller(ctx, []string{path.Join(WorkDir, sub, name)}) == nil {
		m, err = prepareMove(ctx, staged, name)
	}
	if err == nil {
		return &bindMove{w: w, m: m, folder: folder, staged: staged, name: name, pw: pw}, nil
	}
	if !errors.Is(err, backupset.ErrNotOwned) {
		pw.Event(progress.Event{ID: id, Text: text, Status: progress.Error, Detail: err.Error()})
		return nil, err
	}
	pw.Event(progress.Event{ID: id, Text: text, Status: progress.Done, Detail: "cannot be moved (" + err.Error() + "): copied"})
	return w.copyIn(ctx, folder, staged, name, pw)
}

// bindMove is a staged file hashed and fsynced, waiting to be renamed.
type bindMove struct {
	w            *bindWork
	m            *backupset.Move
	folder       *backupset.Folder
	staged, name string
	pw           progress.Writer
}

func (b *bindMove) commit(ctx context.Context) (backupset.FileRecord, error) {
	id, text := "fetch "+b.name, "Move "+b.name+" into place"
	rec, err := b.m.Commit()
	if errors.Is(err, backupset.ErrOtherFileSystem) {
		b.m.Close()
		b.pw.Event(progress.Event{ID: id, Text: text, Status: progress.Done, Detail: "cannot be moved (" + err.Error() + "): copied"})
		p, err := b.w.copyIn(ctx, b.folder, b.staged, b.name, b.pw)
		if err != nil {
			return backupset.FileRecord{}, err
		}
		return p.commit(ctx)
	}
	if err != nil {
		b.pw.Event(progress.Event{ID: id, Text: text, Status: progress.Error, Detail: err.Error()})
		return backupset.FileRecord{}, err
	}
	b.pw.Event(progress.Event{ID: id, Text: text, Status: progress.Done, Current: rec.Size, Total: rec.Size})
	return rec, nil
}

func (b *bindMove) abort() { b.m.Close() }

// own gives the staged files that the container wrote as another user to
// the caller, in one exec; a file it cannot give is copied by prepare.
func (w *bindWork) own(ctx context.Context, sub string, names []string) {
	var foreign []string
	for _, name := range names {
		st, err := os.Lstat(filepath.Join(w.staging, sub, name))
		if err == nil && st.Mode().IsRegular() && !backupset.OwnedByCaller(st) {
			foreign = append(foreign, path.Join(WorkDir, sub, name))
		}
	}
	if len(foreign) > 0 {
		_ = w.giveToCaller(ctx, foreign)
	}
}

func (w *bindWork) local() bool { return true }

// list reads the staging dir here: no exec in the helper.
func (w *bindWork) list(ctx context.Context, dir string) ([]docker.FileInfo, error) {
	rel, ok := underWorkDir(dir)
	if !ok {
		return w.helper.ListFiles(ctx, dir)
	}
	entries, err := os.ReadDir(filepath.Join(w.staging, filepath.FromSlash(rel)))
	if errors.Is(err, fs.ErrPermission) {
		return w.helper.ListFiles(ctx, dir) // a directory the container made private
	}
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", dir, err)
	}
	var out []docker.FileInfo
	for _, e := range entries { // sorted by name
		if !e.Type().IsRegular() {
			continue
		}
		st, err := e.Info()
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", dir, err)
		}
		out = append(out, docker.FileInfo{Name: e.Name(), Size: st.Size()})
	}
	return out, nil
}

// underWorkDir is dir relative to WorkDir ("" for WorkDir itself).
func underWorkDir(dir string) (string, bool) {
	dir = path.Clean(dir)
	if dir == WorkDir {
		return "", true
	}
	rel, ok := strings.CutPrefix(dir, WorkDir+"/")
	return rel, ok
}

// giveToCaller makes a file in the helper belong to the user running the
// plugin (the daemon sees the same file system: bind mode was proven).
func (w *bindWork) giveToCaller(ctx context.Context, paths []string) error {
	owner := fmt.Sprintf("%d:%d", os.Getuid(), os.Getgid())
	code, err := w.helper.Exec(ctx, docker.ExecSpec{Cmd: append([]string{"chown", owner}, paths...)})
	if err == nil && code != 0 {
		err = fmt.Errorf("chown %s %s in the helper: exit %d", owner, strings.Join(paths, " "), code)
	}
	return err
}

// copyIn copies a staged file into the folder as a new file.
// What the helper wrote is taken only as a regular file: a link it made in
// the staging dir would point at the client's own files.
func (w *bindWork) copyIn(ctx context.Context, folder *backupset.Folder, staged, name string, pw progress.Writer) (pendingFile, error) {
	src, st, err := backupset.OpenRegular(staged)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	dst, err := folder.NewFile(name)
	if err != nil {
		return nil, err
	}
	defer dst.Abort()
	var rec backupset.FileRecord
	err = progress.RunStep(pw, progress.Event{ID: "fetch " + name, Text: "Copy " + name, Total: st.Size()}, func(s *progress.Step) error {
		if _, err := io.Copy(dst, &progressReader{ctx: ctx, r: src, step: s, total: st.Size()}); err != nil {
			return err
		}
		rec, err = dst.Commit()
		if err == nil {
			s.Bytes(rec.Size, rec.Size)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return &placed{folder: folder, rec: rec}, nil
}

// cleanup empties the staging dir from inside the helper first: files that
// neo4j-admin made there belong to the container's user, not to ours. The
// busy files are left (they are still being moved into the folder) and so
// is the staging dir itself then; with the helper gone, the client removes
// what it can.
func (w *bindWork) cleanup(ctx context.Context, busy []string, gone bool) error {
	w.dropFollowers()
	var err error
	if w.helper != nil && !gone && !w.clientCanEmpty() {
		cmd := []string{"find", WorkDir, "-mindepth", "1"}
		for _, b := range busy {
			cmd = append(cmd, "!", "-path", globEscape(path.Join(WorkDir, b)))
		}
		_, err = w.helper.Exec(ctx, docker.ExecSpec{Cmd: append(cmd, "-delete")})
	}
	if len(busy) > 0 {
		return err
	}
	if rmErr := os.RemoveAll(w.staging); rmErr != nil {
		return errors.Join(err, rmErr)
	}
	return nil
}

// clientCanEmpty reports whether the client can remove everything in the
// staging dir itself, sparing an exec: it can as root, or when the staging
// dir is still its own and holds no directory (a file can be unlinked from
// a directory one may write, whoever owns the file; what is inside a
// directory the container made may not).
func (w *bindWork) clientCanEmpty() bool {
	if os.Geteuid() == 0 {
		return true
	}
	st, err := os.Lstat(w.staging)
	if err != nil || !st.IsDir() || !backupset.OwnedByCaller(st) || st.Mode().Perm()&0o300 != 0o300 {
		return false
	}
	entries, err := os.ReadDir(w.staging)
	if err != nil {
		return false
	}
	for _, e := range entries {
		if e.IsDir() {
			return false
		}
	}
	return true
}

// globEscape quotes the pattern characters of find -path.
func globEscape(p string) string {
	var b strings.Builder
	for _, r := range p {
		if strings.ContainsRune(`*?[]\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

func (w *bindWork) removeStaging() { removeAllQuiet(w.staging) }

// streamWork is a directory in the helper's own file system, filled and
// emptied through the Docker API's archive endpoints: it works when the
// daemon runs on another machine.
type streamWork struct {
	helper Helper
}

func (w *streamWork) init(ctx context.Context) error {
	var stderr bytes.Buffer
	code, err := w.helper.Exec(ctx, docker.ExecSpec{Cmd: []string{"mkdir", "-p", WorkDir}, Stderr: &stderr})
	if err == nil && code != 0 {
		err = fmt.Errorf("create %s in the helper: %s", WorkDir, bytes.TrimSpace(stderr.Bytes()))
	}
	return err
}

func (w *streamWork) seed(ctx context.Context, folder *backupset.Folder, sub string, names []string, m *backupset.Manifest, pw progress.Writer) (bool, error) {
	dir := path.Join(WorkDir, sub)
	if sub != "" {
		if code, err := w.helper.Exec(ctx, docker.ExecSpec{Cmd: []string{"mkdir", "-p", dir}}); err != nil || code != 0 {
			return false, fmt.Errorf("create %s in the helper: exit %d %v", dir, code, err)
		}
	}
	text := fmt.Sprintf("Upload %d file(s)", len(names))
	if m != nil {
		text += ", checking their checksums"
	}
	var problem *backupset.ProblemError
	err := progress.RunStep(pw, progress.Event{ID: "upload " + dir, Text: text}, func(s *progress.Step) error {
		pr, pwr := io.Pipe()
		sent := make(chan error, 1)
		go func() {
			err := folder.SendTarChecked(pwr, names, m, func(name string, done, total int64) { s.Update(name, done, total) })
			pwr.CloseWithError(err)
			sent <- err
		}()
		err := w.helper.CopyTo(ctx, dir, pr)
		pr.CloseWithError(err)
		// A file that failed its check is the cause, whatever the engine
		// made of the stream that broke off.
		if serr := <-sent; errors.As(serr, &problem) {
			s.End(progress.Error, problem.Error())
			return problem
		}
		s.Update("", 0, 0)
		return err
	})
	if problem != nil {
		return false, problem
	}
	if err != nil {
		return false, fmt.Errorf("upload to the helper: %w", err)
	}
	return m != nil, nil
}

// prepare downloads the file into the folder: what is left to commit is
// nothing (the download is atomic by itself).
func (w *streamWork) prepare(ctx context.Context, folder *backupset.Folder, sub, name string, _ bool, pw progress.Writer) (pendingFile, error) {
	var rec backupset.FileRecord
	err := progress.RunStep(pw, progress.Event{ID: "fetch " + name, Text: "Download " + name}, func(s *progress.Step) error {
		rc, err := w.helper.CopyFrom(ctx, path.Join(WorkDir, sub, name))
		if err != nil {
			return err
		}
		defer rc.Close()
		recs, err := folder.ReceiveTar(rc, func(n string) bool { return n == name }, func(_ string, done, total int64) { s.Bytes(done, total) })
		if err == nil && len(recs) != 1 {
			err = fmt.Errorf("the helper sent %d files for %s", len(recs), name)
		}
		if err != nil {
			return err
		}
		rec = recs[0]
		s.Bytes(rec.Size, rec.Size)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &placed{folder: folder, rec: rec}, nil
}

func (w *streamWork) own(context.Context, string, []string) {}

func (w *streamWork) local() bool { return false }

func (w *streamWork) list(ctx context.Context, dir string) ([]docker.FileInfo, error) {
	return w.helper.ListFiles(ctx, dir)
}

func (w *streamWork) cleanup(context.Context, []string, bool) error { return nil } // goes with the helper

// progressReader reports bytes read as its step's and stops when ctx is
// cancelled.
type progressReader struct {
	ctx         context.Context
	r           io.Reader
	step        *progress.Step
	done, total int64
}

func (p *progressReader) Read(b []byte) (int, error) {
	if err := p.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := p.r.Read(b)
	p.done += int64(n)
	p.step.Bytes(p.done, p.total)
	return n, err
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Fetches brings files of the helper's work dir into the folder in the
// background, one after another. With bind transfer each file is hashed
// and fsynced where it lies at once, while the caller goes on using the
// helper (backup inspect reads the same files). With stream transfer the
// downloads start at the first Finish: a download and the helper's own work
// compete for the same CPUs, so overlapping them would only slow both.
// Finish puts a file in place; Abort undoes whatever was not finished.
type Fetches struct {
	s      *Session
	sub    string
	names  []string
	slots  map[string]*fetchSlot
	cancel context.CancelFunc
	// start is closed when the work may begin; free once the fetches need
	// the helper no more; done once the background work returned.
	start, free, done chan struct{}
	started           sync.Once
}

type fetchSlot struct {
	ready    chan struct{}
	file     pendingFile
	err      error
	finished bool
}

// errSkipped is the error of a file not fetched after an earlier one failed.
var errSkipped = errors.New("not fetched: an earlier file failed")

// StartFetches starts fetching WorkDir/sub/names into folder in the
// background (FetchCopy's way when keep). Call Finish for each name, in any
// order, and Abort on every path (it does nothing after the last Finish).
func (s *Session) StartFetches(ctx context.Context, folder *backupset.Folder, sub string, names []string, keep bool) *Fetches {
	ctx, cancel := context.WithCancel(ctx)
	f := &Fetches{s: s, sub: sub, names: names, slots: map[string]*fetchSlot{}, cancel: cancel,
		start: make(chan struct{}), free: make(chan struct{}), done: make(chan struct{})}
	for _, n := range names {
		f.slots[n] = &fetchSlot{ready: make(chan struct{})}
	}
	if s.work.local() {
		f.begin()
	}
	go f.run(ctx, folder, keep)
	return f
}

// begin lets the background work start (once).
func (f *Fetches) begin() { f.started.Do(func() { close(f.start) }) }

func (f *Fetches) run(ctx context.Context, folder *backupset.Folder, keep bool) {
	defer close(f.done)
	select {
	case <-f.start:
	case <-ctx.Done():
	}
	freed := false
	release := func() {
		if !freed {
			freed = true
			close(f.free)
		}
	}
	defer release()
	w := f.s.work
	if !keep {
		w.own(ctx, f.sub, f.names)
	}
	if w.local() {
		release()
	}
	var failed error
	for _, n := range f.names {
		slot := f.slots[n]
		switch {
		case failed != nil:
			slot.err = errSkipped
		case ctx.Err() != nil:
			slot.err = ctx.Err()
		default:
			slot.file, slot.err = w.prepare(ctx, folder, f.sub, n, keep, f.s.pw)
			failed = slot.err
		}
		close(slot.ready)
	}
}

// Finish waits until name is prepared and puts it in place.
func (f *Fetches) Finish(ctx context.Context, name string) (backupset.FileRecord, error) {
	slot, ok := f.slots[name]
	if !ok {
		return backupset.FileRecord{}, fmt.Errorf("%s was not being fetched", name)
	}
	f.begin()
	select {
	case <-slot.ready:
	case <-ctx.Done():
		return backupset.FileRecord{}, ctx.Err()
	}
	if slot.err != nil {
		return backupset.FileRecord{}, slot.err
	}
	rec, err := slot.file.commit(ctx)
	slot.finished = err == nil
	return rec, err
}

// Abort stops the background work, waits for it, and undoes every file not
// finished: one downloaded or copied into the folder is removed, one staged
// stays in the work dir (removed with it).
func (f *Fetches) Abort() {
	f.cancel()
	<-f.done
	for _, slot := range f.slots {
		if !slot.finished && slot.file != nil {
			slot.file.abort()
		}
	}
}

// busy lists the files still to be moved out of the work dir, relative to
// WorkDir.
func (f *Fetches) busy() []string {
	var out []string
	for _, n := range f.names {
		out = append(out, path.Join(f.sub, n))
	}
	return out
}

// Release says that the run will use the helper no more once fs does not:
// the helper then empties its work dir but for the files fs is still moving
// into the folder, and is removed in the background while fs finishes.
// Close waits for it. Nothing is released with stream transfer until the
// downloads are done, nor ever for a kept helper (Close reports it).
func (s *Session) Release(ctx context.Context, fs *Fetches) {
	if s.opts.KeepHelper || s.Helper == nil || s.released != nil {
		return
	}
	done := make(chan struct{})
	s.released = done
	go func() {
		defer close(done)
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
		defer cancel()
		<-fs.free
		if err := s.work.cleanup(cctx, fs.busy(), false); err != nil {
			s.pw.Info("could not empty the helper's work dir: " + err.Error())
		}
		s.removeHelper(cctx, s.Helper)
	}()
}
