package offsite_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/opsmill/docker-infrahubdb/internal/agecrypt"
	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/offsite"
)

// interrupting stands for a client killed mid-copy: it fails the write of
// artifact number failArtifact (counting from 1), or of the copy record
// number failRecord, as a kill before that write would; and it counts the
// artifacts it saw committed.
type interrupting struct {
	backupset.Location
	failArtifact, failRecord int
	artifacts, records       int
	committed                []string
}

func isRecord(name string) bool { return strings.Contains(name, "/"+backupset.CopyRecordDir) }

func (l *interrupting) Create(ctx context.Context, name string, o backupset.CreateOptions) (backupset.ObjectWriter, error) {
	switch {
	case strings.HasSuffix(name, "/"+backupset.RunManifestName):
	case isRecord(name):
		if l.records++; l.records == l.failRecord {
			return nil, errors.New("killed")
		}
	default:
		if l.artifacts++; l.artifacts == l.failArtifact {
			return nil, errors.New("killed")
		}
	}
	w, err := l.Location.Create(ctx, name, o)
	if err != nil || isRecord(name) || strings.HasSuffix(name, "/"+backupset.RunManifestName) {
		return w, err
	}
	return &countingWriter{ObjectWriter: w, l: l, name: name}, nil
}

type countingWriter struct {
	backupset.ObjectWriter
	l    *interrupting
	name string
}

func (w *countingWriter) Commit() (backupset.FileRecord, error) {
	r, err := w.ObjectWriter.Commit()
	if err == nil {
		w.l.committed = append(w.l.committed, w.name)
	}
	return r, err
}

// orphanRun is the one uncommitted run of a location.
func orphanRun(t *testing.T, loc backupset.Location) (string, []backupset.ObjectInfo) {
	t.Helper()
	listing, err := backupset.ListRuns(t.Context(), loc)
	assert.NilError(t, err)
	assert.Assert(t, is.Len(listing.Runs, 0), "no run without its manifest")
	assert.Assert(t, len(listing.Orphans) > 0)
	id, _, _ := strings.Cut(strings.TrimPrefix(listing.Orphans[0].Name, backupset.RunsPrefix), "/")
	for _, o := range listing.Orphans {
		assert.Assert(t, strings.HasPrefix(o.Name, backupset.ArtifactKey(id, "")), "one interrupted run: %s", o.Name)
	}
	return id, listing.Orphans
}

// verified checks that the location holds exactly one run, complete and
// intact, and nothing else.
func verified(t *testing.T, loc backupset.Location, ids []age.Identity) *offsite.VerifyResult {
	t.Helper()
	vr, err := offsite.Verify(t.Context(), loc, nil, ids, nil)
	assert.NilError(t, err)
	assert.Check(t, is.Len(vr.Runs, 1))
	assert.Check(t, is.Len(vr.Orphans, 0))
	assert.Check(t, is.Len(vr.Stray, 0))
	for _, lo := range vr.Leftovers {
		t.Errorf("leftover %s (%s)", lo.Name, lo.Kind)
	}
	return vr
}

// TestResumeInterruptedCopy: a copy killed after k of n files, run again,
// writes into the interrupted run and uploads only the n−k others; the
// interrupted copy's upload in progress is aborted; the run verifies.
func TestResumeInterruptedCopy(t *testing.T) {
	for _, tg := range targets() {
		t.Run(tg.name, func(t *testing.T) {
			ctx := t.Context()
			src, runID := sourceFolder(t)
			loc := tg.open(t)
			_, err := offsite.ToLocation(ctx, src, &interrupting{Location: loc, failArtifact: 3}, offsite.CopyOptions{Tool: "test"})
			assert.ErrorContains(t, err, "killed")
			dead, orphans := orphanRun(t, loc)
			assert.Check(t, is.Len(orphans, 4), "two files and their records: %v", orphans)
			// The third file was being uploaded when the client died.
			third := runFiles(t, src, runID)[2].Name
			w, err := loc.Create(ctx, backupset.ArtifactKey(dead, third), backupset.CreateOptions{Size: -1})
			assert.NilError(t, err)
			_, err = w.Write(bytes.Repeat([]byte{1}, 6<<20)) // past a part: a multipart upload
			assert.NilError(t, err)

			again := &interrupting{Location: loc}
			res, err := offsite.ToLocation(ctx, src, again, offsite.CopyOptions{Tool: "test"})
			assert.NilError(t, err)
			assert.Assert(t, is.Len(res.Copied, 1))
			c := res.Copied[0]
			assert.Check(t, is.Equal(c.Source, runID))
			assert.Check(t, is.Equal(c.ID, dead), "the interrupted run is the one committed")
			assert.Check(t, is.Equal(c.Files, 3))
			assert.Check(t, is.Len(c.Resumed, 2))
			assert.Check(t, c.ResumedBytes > 0 && c.ResumedBytes < c.Bytes)
			assert.Check(t, is.Len(c.NotResumed, 0))
			assert.Check(t, is.DeepEqual(again.committed, []string{backupset.ArtifactKey(dead, third)}), "only the missing file is uploaded")
			verified(t, loc, nil)

			// Nothing for prune to remove.
			pr, err := backupset.PruneLocation(ctx, loc, backupset.KeepPolicy{Last: 1}, time.Now(), true)
			assert.NilError(t, err)
			assert.Check(t, is.Len(pr.Plan.Orphans, 0))
			assert.Check(t, is.Len(pr.Plan.Stray, 0))
			res, err = offsite.ToLocation(ctx, src, loc, offsite.CopyOptions{})
			assert.NilError(t, err)
			assert.Check(t, is.DeepEqual(res.Present, []string{runID}))
		})
	}
}

// TestResumeWithoutRecord: a copy killed between an artifact and its record
// is resumed when the stored bytes are the folder's (a plain copy): their
// hash is the proof, and the record is written for the next time.
func TestResumeWithoutRecord(t *testing.T) {
	ctx := t.Context()
	src, _ := sourceFolder(t)
	loc := targets()[1].open(t)
	_, err := offsite.ToLocation(ctx, src, &interrupting{Location: loc, failRecord: 2}, offsite.CopyOptions{})
	assert.ErrorContains(t, err, "killed")
	dead, orphans := orphanRun(t, loc)
	assert.Check(t, is.Len(orphans, 3), "two files, one record: %v", orphans)

	again := &interrupting{Location: loc}
	res, err := offsite.ToLocation(ctx, src, again, offsite.CopyOptions{})
	assert.NilError(t, err)
	assert.Assert(t, is.Len(res.Copied, 1))
	assert.Check(t, is.Equal(res.Copied[0].ID, dead))
	assert.Check(t, is.Len(res.Copied[0].Resumed, 2))
	assert.Check(t, is.Len(again.committed, 1))
	verified(t, loc, nil)
	objs, err := loc.List(ctx, backupset.ArtifactKey(dead, backupset.CopyRecordDir))
	assert.NilError(t, err)
	assert.Check(t, is.Len(objs, 3), "a record per file")
}

// TestResumeRefusesDifferentContent: an interrupted copy whose object is not
// what was uploaded (its bytes differ from its record and the folder's file)
// is not resumed, and not overwritten: the copy starts a new run, uploads
// every file, and leaves the interrupted run to prune.
func TestResumeRefusesDifferentContent(t *testing.T) {
	for _, tg := range targets() {
		t.Run(tg.name, func(t *testing.T) {
			ctx := t.Context()
			src, runID := sourceFolder(t)
			loc := tg.open(t)
			_, err := offsite.ToLocation(ctx, src, &interrupting{Location: loc, failArtifact: 3}, offsite.CopyOptions{})
			assert.ErrorContains(t, err, "killed")
			dead, _ := orphanRun(t, loc)
			first := runFiles(t, src, runID)[0].Name
			key := backupset.ArtifactKey(dead, first)
			st, err := loc.Stat(ctx, key)
			assert.NilError(t, err)
			other := bytes.Repeat([]byte("x"), int(st.Size)) // same size, other bytes
			assert.NilError(t, loc.Delete(ctx, key))
			_, err = backupset.WriteObject(ctx, loc, key, other)
			assert.NilError(t, err)

			again := &interrupting{Location: loc}
			res, err := offsite.ToLocation(ctx, src, again, offsite.CopyOptions{})
			assert.NilError(t, err)
			assert.Assert(t, is.Len(res.Copied, 1))
			c := res.Copied[0]
			assert.Check(t, c.ID != dead, "a new run")
			assert.Check(t, is.Len(c.Resumed, 0))
			assert.Check(t, is.Len(again.committed, 3), "every file uploaded")
			assert.Assert(t, is.Len(c.NotResumed, 1))
			assert.Check(t, is.Equal(c.NotResumed[0].ID, dead))
			assert.Check(t, is.Contains(c.NotResumed[0].Reason, first))
			assert.Check(t, is.Contains(c.NotResumed[0].Reason, "left for prune"))
			rc, _, err := loc.Open(ctx, key)
			assert.NilError(t, err)
			kept, _ := io.ReadAll(rc)
			rc.Close()
			assert.Check(t, bytes.Equal(kept, other), "the leftover is not overwritten")

			vr, err := offsite.Verify(ctx, loc, nil, nil, nil)
			assert.NilError(t, err)
			assert.Check(t, is.Len(vr.Runs, 1))
			assert.Check(t, is.Len(vr.Orphans, 4), "the interrupted run, for prune")
		})
	}
}

// TestResumeEncryptedCopy: an encrypted copy is resumed when the records say
// the objects were made from the folder's files for the same recipients;
// the run decrypts.
func TestResumeEncryptedCopy(t *testing.T) {
	ctx := t.Context()
	src, _ := sourceFolder(t)
	loc := targets()[1].open(t)
	key, err := age.GenerateX25519Identity()
	assert.NilError(t, err)
	rcp := agecrypt.Recipients{List: []age.Recipient{key.Recipient()}, Strings: []string{key.Recipient().String()}}
	_, err = offsite.ToLocation(ctx, src, &interrupting{Location: loc, failArtifact: 2}, offsite.CopyOptions{Encrypt: rcp})
	assert.ErrorContains(t, err, "killed")
	dead, _ := orphanRun(t, loc)

	// Other recipients: not resumed (the objects are not theirs).
	otherKey, _ := age.GenerateX25519Identity()
	other := agecrypt.Recipients{List: []age.Recipient{otherKey.Recipient()}, Strings: []string{otherKey.Recipient().String()}}
	_, err = offsite.ToLocation(ctx, src, &interrupting{Location: loc, failArtifact: 1}, offsite.CopyOptions{Encrypt: other})
	assert.ErrorContains(t, err, "killed")

	again := &interrupting{Location: loc}
	res, err := offsite.ToLocation(ctx, src, again, offsite.CopyOptions{Encrypt: rcp})
	assert.NilError(t, err)
	assert.Assert(t, is.Len(res.Copied, 1))
	c := res.Copied[0]
	assert.Check(t, is.Equal(c.ID, dead))
	assert.Check(t, is.Len(c.Resumed, 1))
	assert.Check(t, strings.HasSuffix(c.Resumed[0], agecrypt.Ext))
	assert.Check(t, is.Len(again.committed, 2))
	verified(t, loc, []age.Identity{key})
}

// TestResumeEncryptedOtherRecipients: objects encrypted for other
// recipients are not reused.
func TestResumeEncryptedOtherRecipients(t *testing.T) {
	ctx := t.Context()
	src, _ := sourceFolder(t)
	loc, err := backupset.NewFolderLocation(t.TempDir())
	assert.NilError(t, err)
	keyA, _ := age.GenerateX25519Identity()
	keyB, _ := age.GenerateX25519Identity()
	rcpt := func(k *age.X25519Identity) agecrypt.Recipients {
		return agecrypt.Recipients{List: []age.Recipient{k.Recipient()}, Strings: []string{k.Recipient().String()}}
	}
	_, err = offsite.ToLocation(ctx, src, &interrupting{Location: loc, failArtifact: 3}, offsite.CopyOptions{Encrypt: rcpt(keyA)})
	assert.ErrorContains(t, err, "killed")
	dead, _ := orphanRun(t, loc)
	res, err := offsite.ToLocation(ctx, src, loc, offsite.CopyOptions{Encrypt: rcpt(keyB)})
	assert.NilError(t, err)
	assert.Assert(t, is.Len(res.Copied, 1))
	assert.Check(t, res.Copied[0].ID != dead)
	assert.Check(t, is.Len(res.Copied[0].Resumed, 0))
	assert.Assert(t, is.Len(res.Copied[0].NotResumed, 1))
	assert.Check(t, is.Contains(res.Copied[0].NotResumed[0].Reason, "other recipients"))
}

// TestResumeFindsTheRunCommitted: when the run was committed meanwhile
// (another client copied it), a copy run again reports it present and
// writes nothing.
func TestResumeFindsTheRunCommitted(t *testing.T) {
	ctx := t.Context()
	src, runID := sourceFolder(t)
	open := targets()[1].open
	loc := open(t)
	_, err := offsite.ToLocation(ctx, src, &interrupting{Location: loc, failArtifact: 2}, offsite.CopyOptions{})
	assert.ErrorContains(t, err, "killed")
	_, orphans := orphanRun(t, loc)

	// Another client: the run copied elsewhere, then from there to here.
	elsewhere, err := backupset.NewFolderLocation(t.TempDir())
	assert.NilError(t, err)
	_, err = offsite.ToLocation(ctx, src, elsewhere, offsite.CopyOptions{})
	assert.NilError(t, err)
	_, err = offsite.BetweenLocations(ctx, elsewhere, loc, nil, false, nil)
	assert.NilError(t, err)

	again := &interrupting{Location: loc}
	res, err := offsite.ToLocation(ctx, src, again, offsite.CopyOptions{})
	assert.NilError(t, err)
	assert.Check(t, is.Len(res.Copied, 0))
	assert.Check(t, is.DeepEqual(res.Present, []string{runID}))
	assert.Check(t, is.Len(again.committed, 0))
	listing, err := backupset.ListRuns(ctx, loc)
	assert.NilError(t, err)
	assert.Check(t, is.Len(listing.Runs, 1))
	assert.Check(t, is.DeepEqual(listing.Orphans, orphans), "the interrupted copy is left for prune")
}

func runFiles(t *testing.T, f *backupset.Folder, id string) []backupset.FileRecord {
	t.Helper()
	m, err := f.ReadManifest()
	assert.NilError(t, err)
	return m.RunFiles(id)
}

// TestResumeRefusesAnUnreadableRecord: a record that is not one this plugin
// wrote vouches for nothing: the interrupted copy is not resumed.
func TestResumeRefusesAnUnreadableRecord(t *testing.T) {
	ctx := t.Context()
	src, runID := sourceFolder(t)
	loc, err := backupset.NewFolderLocation(t.TempDir())
	assert.NilError(t, err)
	_, err = offsite.ToLocation(ctx, src, &interrupting{Location: loc, failArtifact: 3}, offsite.CopyOptions{})
	assert.ErrorContains(t, err, "killed")
	dead, _ := orphanRun(t, loc)
	second := runFiles(t, src, runID)[1].Name
	key := backupset.CopyRecordKey(dead, second)
	assert.NilError(t, loc.Delete(ctx, key))
	_, err = backupset.WriteObject(ctx, loc, key, []byte(`{"version": 2}`))
	assert.NilError(t, err)

	res, err := offsite.ToLocation(ctx, src, loc, offsite.CopyOptions{})
	assert.NilError(t, err)
	assert.Assert(t, is.Len(res.Copied, 1))
	assert.Check(t, res.Copied[0].ID != dead)
	assert.Check(t, is.Len(res.Copied[0].Resumed, 0))
	assert.Assert(t, is.Len(res.Copied[0].NotResumed, 1))
	assert.Check(t, is.Contains(res.Copied[0].NotResumed[0].Reason, "cannot be read"))
}
