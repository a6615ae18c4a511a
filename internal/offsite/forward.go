package offsite

import (
	"context"
	"fmt"
	"sync"

	"github.com/opsmill/docker-infrahubdb/internal/agecrypt"
	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/progress"
)

// Forwarding is the streamed path of `backup s3://…`: the run is taken into
// a folder that forwards every file to the location as it arrives
// (backupset.Folder.Forward), under a run ID chosen before the first byte,
// while the caller holds the location's lease from the first object to
// the manifest (a prune would otherwise take the run's objects for a dead
// run's leftovers). Nothing of the artifacts is staged on this machine.
type Forwarding struct {
	loc     backupset.Location
	lease   backupset.Lease
	runID   string
	encrypt agecrypt.Recipients

	mu       sync.Mutex
	uploaded []string // object names (in the run) Commit uploaded
}

// Forward makes folder forward what it receives into loc, as the files of
// run runID (a new backupset.NewLocationRunID), encrypted to rcp when it
// has recipients (the folder's Sealer, set by the caller, makes the
// ciphertext; the object names get agecrypt.Ext). The caller holds lease.
func Forward(ctx context.Context, folder *backupset.Folder, loc backupset.Location, lease backupset.Lease, runID string, rcp agecrypt.Recipients) *Forwarding {
	fw := &Forwarding{loc: loc, lease: lease, runID: runID, encrypt: rcp}
	folder.Forward(func(name string) (backupset.ObjectWriter, error) {
		if err := lease.Refresh(ctx); err != nil {
			return nil, err
		}
		return loc.Create(ctx, backupset.ArtifactKey(runID, fw.objectName(name)), backupset.CreateOptions{Size: -1})
	})
	return fw
}

// RunID is the location's ID of the run being forwarded.
func (fw *Forwarding) RunID() string { return fw.runID }

func (fw *Forwarding) objectName(name string) string {
	if len(fw.encrypt.List) > 0 {
		return name + agecrypt.Ext
	}
	return name
}

// Commit uploads the files the folder staged locally (during an outage:
// Folder.StageLocally) and writes the run's manifest, last: from then on
// the run exists. The folder's run (its only one with files) must be
// complete, and each forwarded file must have carried the plaintext the
// folder's manifest records.
func (fw *Forwarding) Commit(ctx context.Context, folder *backupset.Folder, tool string, pw progress.Writer) (*CopyResult, error) {
	man, err := folder.ReadManifest()
	if err != nil {
		return nil, err
	}
	var run backupset.RunRecord
	var files []backupset.FileRecord
	for _, r := range man.Runs {
		if fs := man.RunFiles(r.ID); len(fs) > 0 {
			run, files = r, fs
		}
	}
	if len(files) == 0 || !run.Complete {
		return nil, fmt.Errorf("the backup recorded no complete run in %s: nothing to commit to %s", folder.Dir, fw.loc.Describe())
	}
	m := backupset.RunManifest{Tool: tool, CopiedFrom: run.ID, Run: run}
	m.Run.ID = fw.runID
	c := CopiedRun{Source: run.ID, ID: fw.runID}
	for _, rec := range files {
		fr, ok := folder.Forwarded(rec.Name)
		if !ok {
			// Staged here during an outage (Folder.StageLocally): it
			// goes up now, checked against its record, as copy does.
			if err := fw.lease.Refresh(ctx); err != nil {
				return nil, err
			}
			rf, err := copyFile(ctx, folder, fw.loc, fw.runID, rec, CopyOptions{Encrypt: fw.encrypt, Progress: pw})
			if err != nil {
				return nil, err
			}
			fw.mu.Lock()
			fw.uploaded = append(fw.uploaded, rf.Name)
			fw.mu.Unlock()
			m.Files = append(m.Files, rf)
			c.Files++
			c.Bytes += rf.Size
			continue
		}
		switch {
		case fr.PlainSize != rec.Size || fr.PlainSHA256 != rec.SHA256:
			return nil, fmt.Errorf("%s: %d bytes with SHA-256 %s went to %s, the run records %d bytes with %s; nothing was committed; run the backup again: %w",
				rec.Name, fr.PlainSize, fr.PlainSHA256, fw.loc.Describe(), rec.Size, rec.SHA256, ErrChecksum)
		case fr.Sealed != (len(fw.encrypt.List) > 0):
			return nil, fmt.Errorf("%s went to %s %s, the run is %s", rec.Name, fw.loc.Describe(), sealedWord(fr.Sealed), sealedWord(!fr.Sealed))
		}
		out := backupset.RunFile{FileRecord: rec}
		out.Name, out.Size, out.SHA256, out.Added = fw.objectName(rec.Name), fr.Object.Size, fr.Object.SHA256, fr.Object.Added
		if fr.Sealed {
			out.PlainSize, out.PlainSHA256 = rec.Size, rec.SHA256
			out.Encryption = &backupset.Encryption{Scheme: "age", Recipients: fw.encrypt.Strings}
		}
		m.Files = append(m.Files, out)
		c.Files++
		c.Bytes += out.Size
	}
	if err := fw.lease.Refresh(ctx); err != nil {
		return nil, err
	}
	if err := backupset.CommitRun(ctx, fw.loc, m); err != nil {
		return nil, err
	}
	return &CopyResult{Copied: []CopiedRun{c}}, nil
}

func sealedWord(sealed bool) string {
	if sealed {
		return "encrypted"
	}
	return "not encrypted"
}

// Discard removes the objects a failed run forwarded (it has no manifest,
// so they are no run; prune would remove them too). It reports what it
// could not remove.
func (fw *Forwarding) Discard(ctx context.Context, folder *backupset.Folder) error {
	var failed []string
	var names []string
	for name := range folder.ForwardedFiles() {
		names = append(names, fw.objectName(name))
	}
	fw.mu.Lock()
	names = append(names, fw.uploaded...)
	fw.mu.Unlock()
	for _, name := range names {
		key := backupset.ArtifactKey(fw.runID, name)
		if err := fw.loc.Delete(ctx, key); err != nil {
			failed = append(failed, key)
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d object(s) of the failed run stay in %s until `docker infrahubdb prune` removes them: %v", len(failed), fw.loc.Describe(), failed)
	}
	return nil
}
