package helper

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"

	"github.com/opsmill/docker-infrahubdb/pkg/backupset"
	"github.com/opsmill/docker-infrahubdb/pkg/docker"
	"github.com/opsmill/docker-infrahubdb/pkg/progress"
)

// workdir moves files between the backup folder and the helper's WorkDir.
type workdir interface {
	seed(ctx context.Context, folder *backupset.Folder, sub string, names []string, pw progress.Writer) error
	// fetch brings WorkDir/sub/name into folder; keep leaves it in the
	// helper too (a safety backup kept there for a fast rollback).
	fetch(ctx context.Context, folder *backupset.Folder, sub, name string, keep bool, pw progress.Writer) (backupset.FileRecord, error)
	cleanup(ctx context.Context) error
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

func (w *bindWork) seed(ctx context.Context, folder *backupset.Folder, sub string, names []string, pw progress.Writer) error {
	dir := filepath.Join(w.staging, sub)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, name := range names {
		if err := ctx.Err(); err != nil {
			return err
		}
		// A hard link costs nothing; a copy is needed when neo4j-admin runs
		// as another user than the file's owner, or across file systems.
		if err := folder.Stage(name, filepath.Join(dir, name), !w.readable, 0o644); err != nil {
			return fmt.Errorf("stage %s: %w", name, err)
		}
	}
	return nil
}

// fetch moves the file neo4j-admin wrote in the staging dir into place:
// the staging dir is inside the folder, so a rename does it without a copy
// (backupset.MoveIn hashes it at read speed and fsyncs it once). A file the
// container wrote as another user is first given to the caller (chown in
// the helper, which runs as root); when that cannot be done it is copied.
func (w *bindWork) fetch(ctx context.Context, folder *backupset.Folder, sub, name string, keep bool, pw progress.Writer) (backupset.FileRecord, error) {
	staged := filepath.Join(w.staging, sub, name)
	if keep {
		return w.copyIn(ctx, folder, staged, name, pw)
	}
	id, text := "fetch "+name, "Move "+name+" into place"
	pw.Event(progress.Event{ID: id, Text: text, Status: progress.Working})
	rec, err := folder.MoveIn(staged, name)
	if errors.Is(err, backupset.ErrNotOwned) && w.giveToCaller(ctx, path.Join(WorkDir, sub, name)) == nil {
		rec, err = folder.MoveIn(staged, name)
	}
	if err == nil {
		pw.Event(progress.Event{ID: id, Text: text, Status: progress.Done, Current: rec.Size, Total: rec.Size})
		return rec, nil
	}
	if !errors.Is(err, backupset.ErrNotOwned) && !errors.Is(err, backupset.ErrOtherFileSystem) {
		pw.Event(progress.Event{ID: id, Text: text, Status: progress.Error, Detail: err.Error()})
		return backupset.FileRecord{}, err
	}
	pw.Event(progress.Event{ID: id, Text: text, Status: progress.Done, Detail: "cannot be moved (" + err.Error() + "): copied"})
	return w.copyIn(ctx, folder, staged, name, pw)
}

// giveToCaller makes a file in the helper belong to the user running the
// plugin (the daemon sees the same file system: bind mode was proven).
func (w *bindWork) giveToCaller(ctx context.Context, p string) error {
	owner := fmt.Sprintf("%d:%d", os.Getuid(), os.Getgid())
	code, err := w.helper.Exec(ctx, docker.ExecSpec{Cmd: []string{"chown", owner, p}})
	if err == nil && code != 0 {
		err = fmt.Errorf("chown %s %s in the helper: exit %d", owner, p, code)
	}
	return err
}

// copyIn copies a staged file into the folder as a new file.
// What the helper wrote is taken only as a regular file: a link it made in
// the staging dir would point at the client's own files.
func (w *bindWork) copyIn(ctx context.Context, folder *backupset.Folder, staged, name string, pw progress.Writer) (backupset.FileRecord, error) {
	src, st, err := backupset.OpenRegular(staged)
	if err != nil {
		return backupset.FileRecord{}, err
	}
	defer src.Close()
	dst, err := folder.NewFile(name)
	if err != nil {
		return backupset.FileRecord{}, err
	}
	defer dst.Abort()
	id := "fetch " + name
	pw.Event(progress.Event{ID: id, Text: "Copy " + name, Status: progress.Working, Total: st.Size()})
	if _, err := io.Copy(dst, &progressReader{ctx: ctx, r: src, pw: pw, id: id, text: "Copy " + name, total: st.Size()}); err != nil {
		pw.Event(progress.Event{ID: id, Text: "Copy " + name, Status: progress.Error, Detail: err.Error()})
		return backupset.FileRecord{}, err
	}
	rec, err := dst.Commit()
	if err != nil {
		pw.Event(progress.Event{ID: id, Text: "Copy " + name, Status: progress.Error, Detail: err.Error()})
		return backupset.FileRecord{}, err
	}
	pw.Event(progress.Event{ID: id, Text: "Copy " + name, Status: progress.Done, Current: rec.Size, Total: rec.Size})
	return rec, nil
}

// cleanup empties the staging dir from inside the helper first: files that
// neo4j-admin made there belong to the container's user, not to ours.
func (w *bindWork) cleanup(ctx context.Context) error {
	var err error
	if w.helper != nil {
		_, err = w.helper.Exec(ctx, docker.ExecSpec{Cmd: []string{"find", WorkDir, "-mindepth", "1", "-delete"}})
	}
	if rmErr := os.RemoveAll(w.staging); rmErr != nil {
		return errors.Join(err, rmErr)
	}
	return nil
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

func (w *streamWork) seed(ctx context.Context, folder *backupset.Folder, sub string, names []string, pw progress.Writer) error {
	dir := path.Join(WorkDir, sub)
	if sub != "" {
		if code, err := w.helper.Exec(ctx, docker.ExecSpec{Cmd: []string{"mkdir", "-p", dir}}); err != nil || code != 0 {
			return fmt.Errorf("create %s in the helper: exit %d %v", dir, code, err)
		}
	}
	pr, pwr := io.Pipe()
	id := "upload " + dir
	text := fmt.Sprintf("Upload %d file(s)", len(names))
	pw.Event(progress.Event{ID: id, Text: text, Status: progress.Working})
	go func() {
		pwr.CloseWithError(folder.SendTar(pwr, names, func(name string, done, total int64) {
			pw.Event(progress.Event{ID: id, Text: text, Detail: name, Status: progress.Working, Current: done, Total: total})
		}))
	}()
	err := w.helper.CopyTo(ctx, dir, pr)
	pr.CloseWithError(err)
	if err != nil {
		pw.Event(progress.Event{ID: id, Text: text, Status: progress.Error, Detail: err.Error()})
		return fmt.Errorf("upload to the helper: %w", err)
	}
	pw.Event(progress.Event{ID: id, Text: text, Status: progress.Done})
	return nil
}

func (w *streamWork) fetch(ctx context.Context, folder *backupset.Folder, sub, name string, _ bool, pw progress.Writer) (backupset.FileRecord, error) {
	id := "fetch " + name
	text := "Download " + name
	pw.Event(progress.Event{ID: id, Text: text, Status: progress.Working})
	rc, err := w.helper.CopyFrom(ctx, path.Join(WorkDir, sub, name))
	if err != nil {
		pw.Event(progress.Event{ID: id, Text: text, Status: progress.Error, Detail: err.Error()})
		return backupset.FileRecord{}, err
	}
	defer rc.Close()
	recs, err := folder.ReceiveTar(rc, func(n string) bool { return n == name }, func(_ string, done, total int64) {
		pw.Event(progress.Event{ID: id, Text: text, Status: progress.Working, Current: done, Total: total})
	})
	if err == nil && len(recs) != 1 {
		err = fmt.Errorf("the helper sent %d files for %s", len(recs), name)
	}
	if err != nil {
		pw.Event(progress.Event{ID: id, Text: text, Status: progress.Error, Detail: err.Error()})
		return backupset.FileRecord{}, err
	}
	pw.Event(progress.Event{ID: id, Text: text, Status: progress.Done, Current: recs[0].Size, Total: recs[0].Size})
	return recs[0], nil
}

func (w *streamWork) cleanup(context.Context) error { return nil } // goes with the helper

// progressReader reports bytes read and stops when ctx is cancelled.
type progressReader struct {
	ctx         context.Context
	r           io.Reader
	pw          progress.Writer
	id, text    string
	done, total int64
}

func (p *progressReader) Read(b []byte) (int, error) {
	if err := p.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := p.r.Read(b)
	p.done += int64(n)
	p.pw.Event(progress.Event{ID: p.id, Text: p.text, Status: progress.Working, Current: p.done, Total: p.total})
	return n, err
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
