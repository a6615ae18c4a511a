// Package offsite moves backup runs between a backup folder and a location
// (backupset.Location: an S3 bucket prefix, or a folder used as one), and
// verifies a location: the copy, list, verify and prune of `s3://` FOLDER
// arguments.
//
// A run copied to a location is self-contained: it carries, besides its own
// files, the earlier files of any differential graph chain it needs, so it
// restores without any other run. Only backup s3://… --type diff writes a
// run that depends on another one of the location (chain.go).
// Every file is checked against the folder's manifest as it is read, and
// against the location's record as it is written; the run's manifest is
// written last.
package offsite

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"filippo.io/age"

	"github.com/opsmill/docker-infrahubdb/internal/agecrypt"
	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/progress"
)

// CopyOptions drive a copy from a folder to a location.
type CopyOptions struct {
	// Runs are the folder's run IDs to copy; empty copies every restorable
	// run the location does not have yet.
	Runs []string
	// Encrypt, when it has recipients, encrypts every file to them.
	Encrypt agecrypt.Recipients
	// AllowMixed lets encrypted and plain runs share a location.
	AllowMixed bool
	Tool       string
	// Progress receives one step per file, with bytes; nil reports nothing.
	Progress progress.Writer
}

// CopiedRun is one run a copy wrote.
type CopiedRun struct {
	Source string `json:"source"` // the folder's run ID
	ID     string `json:"id"`     // the location's run ID
	Files  int    `json:"files"`
	Bytes  int64  `json:"bytes"` // stored bytes
	// Resumed are the files an interrupted copy of the run had uploaded
	// already, into the same location run (ID): their records matched the
	// folder's and their stored bytes were read back and hashed; they were
	// not uploaded again. ResumedBytes are their stored bytes.
	Resumed      []string `json:"resumed,omitempty"`
	ResumedBytes int64    `json:"resumed_bytes,omitempty"`
	// NotResumed are interrupted copies of the run that were not resumed,
	// and why; prune removes them.
	NotResumed []NotResumed `json:"not_resumed,omitempty"`
}

// CopyResult reports a copy.
type CopyResult struct {
	Copied  []CopiedRun `json:"copied"`
	Present []string    `json:"already_present,omitempty"` // folder runs the location already had
}

// lockAndScan takes the folder's lock and the location's lease (an upload
// holds both from its first read to its last write) and reads the folder;
// release gives both back.
func lockAndScan(ctx context.Context, folder *backupset.Folder, loc backupset.Location) (cat *backupset.Catalog, lease backupset.Lease, release func(), err error) {
	unlock, err := folder.Lock("copy")
	if err != nil {
		return nil, nil, nil, err
	}
	if lease, err = loc.Lock(ctx, "copy"); err != nil {
		unlock()
		return nil, nil, nil, err
	}
	release = func() {
		lease.Release(context.WithoutCancel(ctx))
		unlock()
	}
	if cat, err = folder.Scan(); err == nil && cat.ManifestErr != nil {
		err = cat.ManifestErr
	}
	if err != nil {
		release()
		return nil, nil, nil, err
	}
	return cat, lease, release, nil
}

// ToLocation copies runs of a folder into a location, under both locks.
func ToLocation(ctx context.Context, folder *backupset.Folder, loc backupset.Location, o CopyOptions) (*CopyResult, error) {
	cat, lease, release, err := lockAndScan(ctx, folder, loc)
	if err != nil {
		return nil, err
	}
	defer release()
	listing, err := backupset.ListRuns(ctx, loc)
	if err != nil {
		return nil, err
	}
	encrypting := len(o.Encrypt.List) > 0
	if err := agecrypt.CheckConsistent(listing.Runs, encrypting, o.AllowMixed); err != nil {
		return nil, err
	}
	interruptedCopies := interruptedRuns(listing.Orphans)
	present := map[string]bool{}
	for _, m := range listing.Runs {
		present[m.CopiedFrom] = true
		present[m.Run.ID] = true
	}
	missing := map[string]bool{}
	for _, r := range cat.Missing {
		missing[r.Name] = true
	}
	for _, id := range o.Runs {
		if _, ok := cat.Manifest.Run(id); !ok {
			return nil, fmt.Errorf("run %s is not in %s; `docker infrahubdb list %s` shows its runs", id, folder.Dir, folder.Dir)
		}
	}
	res := &CopyResult{}
	for _, run := range cat.Manifest.Runs {
		if len(o.Runs) > 0 && !slices.Contains(o.Runs, run.ID) {
			continue
		}
		if present[run.ID] {
			res.Present = append(res.Present, run.ID)
			continue
		}
		files, err := runFiles(cat, run.ID)
		if err != nil {
			return res, err
		}
		if !run.Complete || len(files) == 0 || slices.ContainsFunc(files, func(f backupset.FileRecord) bool { return missing[f.Name] }) {
			if len(o.Runs) > 0 {
				return res, fmt.Errorf("run %s of %s is not restorable (incomplete or missing files); run verify", run.ID, folder.Dir)
			}
			continue
		}
		c, err := copyRun(ctx, folder, loc, lease, run, files, interruptedCopies, o)
		if err != nil {
			return res, err
		}
		res.Copied = append(res.Copied, c)
	}
	return res, nil
}

// runFiles lists a run's files, with the earlier files of any differential
// graph chain they continue.
func runFiles(cat *backupset.Catalog, id string) ([]backupset.FileRecord, error) {
	own := cat.Manifest.RunFiles(id)
	var out []backupset.FileRecord
	seen := map[string]bool{}
	add := func(r backupset.FileRecord) {
		if !seen[r.Name] {
			seen[r.Name] = true
			out = append(out, r)
		}
	}
	chains := cat.Chains()
	for _, f := range own {
		if f.Type == backupset.TypeDiff {
			found := false
			for _, ch := range chains[f.Database] {
				i := slices.IndexFunc(ch.Files, func(a backupset.Artifact) bool { return a.Name == f.Name })
				if i < 0 {
					continue
				}
				found = true
				for _, a := range ch.Files[:i] {
					if a.Record == nil {
						return nil, fmt.Errorf("%s, in the chain of run %s, has no manifest record; run verify --adopt", a.Name, id)
					}
					add(*a.Record)
				}
			}
			if !found {
				return nil, fmt.Errorf("differential backup %s of run %s has no chain in the folder", f.Name, id)
			}
		}
		add(f)
	}
	return out, nil
}

// ErrChecksum is matched when a file read for a copy differs from its record.
var ErrChecksum = agecrypt.ErrChecksum

// copyRun copies a run's files and then writes its manifest. It resumes an
// interrupted copy of the run when one is left and proven (resume.go).
func copyRun(ctx context.Context, folder *backupset.Folder, loc backupset.Location, lease backupset.Lease, run backupset.RunRecord, files []backupset.FileRecord, cands map[string]*interrupted, o CopyOptions) (CopiedRun, error) {
	uploads := make([]upload, len(files))
	for i, rec := range files {
		uploads[i] = plannedUpload(rec, o)
	}
	c := CopiedRun{Source: run.ID}
	// A sealed folder (the staging folder of backup s3://… --encrypt-to)
	// is described by this process only: no later copy can resume it.
	resumable := !folder.IsSealed()
	var prev *resumed
	if resumable {
		var err error
		prev, c.NotResumed, err = resume(ctx, loc, lease, cands, run.ID, uploads, o)
		if err != nil {
			return c, err
		}
	}
	id := backupset.NewLocationRunID(run.Started)
	if prev != nil {
		id = prev.id
	}
	c.ID = id
	m := backupset.RunManifest{Tool: o.Tool, CopiedFrom: run.ID, Run: run}
	m.Run.ID = id
	for _, u := range uploads {
		if err := lease.Refresh(ctx); err != nil {
			return c, err
		}
		rf, ok := prev.file(u.name)
		if ok {
			c.Resumed = append(c.Resumed, u.name)
			c.ResumedBytes += rf.Size
		} else {
			var err error
			if rf, err = copyFile(ctx, folder, loc, id, u.rec, o); err != nil {
				return c, err
			}
			// The record that lets a later copy resume this one.
			if resumable {
				if err := writeCopyRecord(ctx, loc, id, u.record(run.ID, rf, o.Tool)); err != nil {
					return c, err
				}
			}
		}
		m.Files = append(m.Files, rf)
		c.Files++
		c.Bytes += rf.Size
	}
	if err := lease.Refresh(ctx); err != nil {
		return c, err
	}
	return c, backupset.CommitRun(ctx, loc, m)
}

func (r *resumed) file(name string) (backupset.RunFile, bool) {
	if r == nil {
		return backupset.RunFile{}, false
	}
	f, ok := r.files[name]
	return f, ok
}

func copyFile(ctx context.Context, folder *backupset.Folder, loc backupset.Location, runID string, rec backupset.FileRecord, o CopyOptions) (backupset.RunFile, error) {
	src, _, err := backupset.OpenRegular(folder.Path(rec.Name))
	if err != nil {
		return backupset.RunFile{}, err
	}
	defer src.Close()
	// A sealed folder's file (backup s3://… --encrypt-to) is age
	// ciphertext already: its bytes go up as they are, checked against the
	// record of what was written to disk.
	sealed, isSealed := folder.Sealed(rec.Name)
	if isSealed && len(o.Encrypt.List) == 0 {
		return backupset.RunFile{}, fmt.Errorf("%s in %s is sealed, but the copy names no recipients for its manifest", rec.Name, folder.Dir)
	}
	encrypt := len(o.Encrypt.List) > 0 && !isSealed
	name, hint, wantSize, wantSHA := rec.Name, sizeHint(rec.Size, encrypt), rec.Size, rec.SHA256
	if isSealed {
		hint, wantSize, wantSHA = sealed.Size, sealed.Size, sealed.SHA256
	}
	if len(o.Encrypt.List) > 0 {
		name += agecrypt.Ext
	}
	obj, err := loc.Create(ctx, backupset.ArtifactKey(runID, name), backupset.CreateOptions{Size: hint})
	if err != nil {
		return backupset.RunFile{}, err
	}
	var (
		w      io.Writer = obj
		commit           = func() (backupset.RunFile, error) {
			r, err := obj.Commit()
			out := backupset.RunFile{FileRecord: r}
			if isSealed {
				out.Encryption = &backupset.Encryption{Scheme: "age", Recipients: o.Encrypt.Strings}
			}
			return out, err
		}
	)
	if encrypt {
		enc, err := agecrypt.NewWriter(obj, o.Encrypt)
		if err != nil {
			obj.Abort()
			return backupset.RunFile{}, err
		}
		w, commit = enc, enc.Commit
	}
	defer obj.Abort()
	h := sha256.New()
	var n int64
	err = progress.RunStep(orNop(o.Progress), progress.Event{ID: "upload " + rec.Name, Text: "Upload " + rec.Name + " to " + backupset.ArtifactKey(runID, name)}, func(s *progress.Step) error {
		n, err = io.Copy(w, &counting{r: io.TeeReader(src, h), step: s, total: wantSize})
		return err
	})
	if err != nil {
		return backupset.RunFile{}, fmt.Errorf("copy %s to %s: %w", rec.Name, loc.Describe(), err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); n != wantSize || got != wantSHA {
		return backupset.RunFile{}, fmt.Errorf("%s in %s: %d bytes with SHA-256 %s, the manifest records %d bytes with %s; nothing of this run was committed; run verify: %w",
			rec.Name, folder.Dir, n, got, wantSize, wantSHA, ErrChecksum)
	}
	stored, err := commit()
	if err != nil {
		return backupset.RunFile{}, err
	}
	out := backupset.RunFile{FileRecord: rec, Encryption: stored.Encryption}
	out.Name, out.Size, out.SHA256, out.Added = name, stored.Size, stored.SHA256, stored.Added
	if stored.Encryption != nil {
		out.PlainSize, out.PlainSHA256 = rec.Size, rec.SHA256
	}
	return out, nil
}

// sizeHint bounds the stored size, so that the location sizes its parts
// for it: an encrypted file grows by age's header (kept under 64 KiB here:
// a few recipients take a few hundred bytes) and 16 bytes per 64 KiB chunk.
func sizeHint(size int64, encrypted bool) int64 {
	if encrypted {
		return size + (size/(64<<10)+1)*16 + 64<<10
	}
	return size
}

// originalName is a run file's name in a folder (without the .age suffix).
func originalName(f backupset.RunFile) string {
	if f.Encryption != nil {
		return strings.TrimSuffix(f.Name, agecrypt.Ext)
	}
	return f.Name
}

// ToFolder copies a location's run into a folder, decrypting with ids, so
// that `restore FOLDER` restores it. Every file is checked (stored and
// plaintext SHA-256) before it gets its name in the folder; a file the
// folder already holds with the same checksum is not copied again.
//
// Into a sealed folder (backupset.Folder.Unseal: the staging folder of
// restore s3://), an encrypted file is kept as stored, ciphertext, while it
// is decrypted once end to end for the checks: the folder decrypts it again
// whenever it is read, and no plaintext reaches the disk.
func ToFolder(ctx context.Context, loc backupset.Location, runID string, folder *backupset.Folder, ids []age.Identity, pw progress.Writer) (*backupset.RunManifest, error) {
	m, err := backupset.ReadRun(ctx, loc, runID)
	if err != nil {
		return nil, err
	}
	// Fail on keys before writing anything.
	for _, f := range m.Files {
		if f.Encryption != nil && len(ids) == 0 {
			return nil, fmt.Errorf("run %s is encrypted: give --identity FILE: %w", runID, agecrypt.ErrNoIdentity)
		}
	}
	unlock, err := folder.Lock("copy")
	if err != nil {
		return nil, err
	}
	defer unlock()
	man, err := folder.ReadManifest()
	if err != nil {
		return nil, err
	}
	var (
		recs      []backupset.FileRecord
		committed []string
	)
	for _, f := range m.Files {
		name := originalName(f)
		want := f.SHA256
		if f.Encryption != nil {
			want = f.PlainSHA256
		}
		if have, ok := man.Lookup(name); ok && have.SHA256 == want {
			continue
		}
		rec, err := stageFile(ctx, loc, runID, f, folder, name, ids, pw)
		if err != nil {
			// Take back what this copy put in the folder: files without
			// manifest records would only confuse list and restore.
			if derr := folder.Delete(man, committed...); derr != nil {
				return nil, errors.Join(err, derr)
			}
			return nil, err
		}
		committed = append(committed, name)
		r := f.FileRecord
		r.Name, r.Size, r.SHA256, r.Added = name, rec.Size, rec.SHA256, rec.Added
		recs = append(recs, r)
	}
	run := m.Run
	if m.CopiedFrom != "" {
		run.ID = m.CopiedFrom // the files' RunID
	}
	man.Upsert(recs...)
	man.UpsertRun(run)
	man.Tool = m.Tool
	if err := folder.WriteManifest(man); err != nil {
		return nil, err
	}
	return m, nil
}

// stageFile puts file f of run runID into the folder as name: downloaded
// and checked; or, into a fetching folder (restore s3://), a graph file is
// recorded to be read from the location when it is sent into the helper,
// and checked then (backupset.Folder.Fetch).
func stageFile(ctx context.Context, loc backupset.Location, runID string, f backupset.RunFile, folder *backupset.Folder, name string, ids []age.Identity, pw progress.Writer) (backupset.FileRecord, error) {
	if folder.IsFetching() && isGraphFile(f) {
		return addFetched(folder, runID, f, name)
	}
	var rec backupset.FileRecord
	err := progress.RunStep(orNop(pw), progress.Event{ID: "download " + name, Text: "Download " + backupset.ArtifactKey(runID, f.Name)}, func(s *progress.Step) error {
		var err error
		rec, err = fetchFile(ctx, loc, runID, f, folder, name, ids, s)
		return err
	})
	return rec, err
}

// isGraphFile says whether a run's file is the graph's (a chain file or a
// dump of a database).
func isGraphFile(f backupset.RunFile) bool {
	return f.Component == "" || f.Component == backupset.ComponentGraph
}

// addFetched records f of run runID in a fetching folder as name: its
// object (the stored bytes) and its plaintext, checked when it is read.
func addFetched(folder *backupset.Folder, runID string, f backupset.RunFile, name string) (backupset.FileRecord, error) {
	stored := f.FileRecord
	stored.Name = backupset.ArtifactKey(runID, f.Name)
	r := backupset.ForwardedRecord{Object: stored, PlainSize: f.Size, PlainSHA256: f.SHA256}
	if f.Encryption != nil {
		r.PlainSize, r.PlainSHA256, r.Sealed = f.PlainSize, f.PlainSHA256, true
	}
	if err := folder.AddFetched(name, r); err != nil {
		return backupset.FileRecord{}, err
	}
	rec := f.FileRecord
	rec.Name, rec.Size, rec.SHA256, rec.Added = name, r.PlainSize, r.PlainSHA256, time.Now().UTC()
	return rec, nil
}

// Fetcher reads a location's objects for a fetching folder
// (backupset.Folder.Fetch): the staging folder of restore s3:// streams
// the run's graph files from the location into the helper.
func Fetcher(ctx context.Context, loc backupset.Location) backupset.Fetcher {
	return func(object string) (io.ReadCloser, error) {
		rc, _, err := loc.Open(ctx, object)
		return rc, err
	}
}

func fetchFile(ctx context.Context, loc backupset.Location, runID string, f backupset.RunFile, folder *backupset.Folder, name string, ids []age.Identity, s *progress.Step) (backupset.FileRecord, error) {
	if folder.IsSealed() && f.Encryption != nil {
		return fetchSealed(ctx, loc, runID, f, folder, name, ids, s)
	}
	if f.Encryption == nil {
		return fetchPlain(ctx, loc, runID, f, folder, name, s)
	}
	src, err := agecrypt.Open(ctx, loc, runID, f, ids)
	if err != nil {
		return backupset.FileRecord{}, err
	}
	defer src.Close()
	pf, err := folder.NewFile(name)
	if err != nil {
		return backupset.FileRecord{}, err
	}
	defer pf.Abort()
	if _, err := io.Copy(pf, &counting{r: src, step: s, total: max(f.PlainSize, f.Size)}); err != nil {
		return backupset.FileRecord{}, fmt.Errorf("copy %s from %s: %w", f.Name, loc.Describe(), err)
	}
	// The checks ran at EOF: only now does the file get its name.
	return pf.Commit()
}

// fetchPlain downloads an unencrypted file: its bytes are hashed once, by
// the partial file that writes them (the stored bytes are the file's), and
// checked against the record before the file gets its name.
func fetchPlain(ctx context.Context, loc backupset.Location, runID string, f backupset.RunFile, folder *backupset.Folder, name string, s *progress.Step) (backupset.FileRecord, error) {
	src, _, err := loc.Open(ctx, backupset.ArtifactKey(runID, f.Name))
	if err != nil {
		return backupset.FileRecord{}, err
	}
	defer src.Close()
	pf, err := folder.NewFile(name)
	if err != nil {
		return backupset.FileRecord{}, err
	}
	defer pf.Abort()
	if _, err := io.Copy(pf, &counting{r: src, step: s, total: f.Size}); err != nil {
		return backupset.FileRecord{}, fmt.Errorf("copy %s from %s: %w", f.Name, loc.Describe(), err)
	}
	if got := pf.SHA256(); pf.Size() != f.Size || got != f.SHA256 {
		return backupset.FileRecord{}, fmt.Errorf("stored bytes of %s: %d bytes with SHA-256 %s, the manifest records %d bytes with %s: %w", f.Name, pf.Size(), got, f.Size, f.SHA256, ErrChecksum)
	}
	return pf.Commit()
}

// fetchSealed keeps the ciphertext of f in the folder as it is downloaded,
// and decrypts it on the way, for nothing but the checks: the file gets its
// name once both the stored bytes and the plaintext matched the manifest.
func fetchSealed(ctx context.Context, loc backupset.Location, runID string, f backupset.RunFile, folder *backupset.Folder, name string, ids []age.Identity, s *progress.Step) (backupset.FileRecord, error) {
	pf, err := folder.NewFile(name)
	if err != nil {
		return backupset.FileRecord{}, err
	}
	defer pf.Abort()
	plain, err := agecrypt.OpenKeeping(ctx, loc, runID, f, ids, pf)
	if err != nil {
		return backupset.FileRecord{}, err
	}
	defer plain.Close()
	if _, err := io.Copy(io.Discard, &counting{r: plain, step: s, total: f.PlainSize}); err != nil {
		return backupset.FileRecord{}, fmt.Errorf("copy %s from %s: %w", f.Name, loc.Describe(), err)
	}
	if _, err := pf.CommitSealed(f.PlainSize, f.PlainSHA256); err != nil {
		return backupset.FileRecord{}, err
	}
	rec := f.FileRecord
	rec.Name, rec.Size, rec.SHA256, rec.Added = name, f.PlainSize, f.PlainSHA256, time.Now().UTC()
	return rec, nil
}

func orNop(w progress.Writer) progress.Writer {
	if w == nil {
		return progress.Nop
	}
	return w
}

// counting reports the bytes read through it to a progress step, every MiB.
type counting struct {
	r        io.Reader
	step     *progress.Step
	n, total int64
	last     int64
}

func (c *counting) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.step != nil && (c.n-c.last >= 1<<20 || err != nil) {
		c.last = c.n
		c.step.Update("", c.n, c.total)
	}
	return n, err
}
