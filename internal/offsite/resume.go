package offsite

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/opsmill/docker-infrahubdb/internal/agecrypt"
	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/progress"
)

// Resuming a copy from a folder.
//
// A copy gives the run a new location run ID (backupset.NewLocationRunID:
// the start time and a random suffix), so a second attempt of the same folder
// run would write to new keys. Instead, it first looks among the
// uncommitted runs of the location (objects without a run manifest) for one
// that an interrupted copy of the same folder run left, and writes into that
// run ID: every object it finds there must be provably the folder's file,
// and only what is missing is uploaded.
//
// The proof is a copy record (backupset.CopyRecordKey), written create-only
// by the copy after each artifact committed: the folder run, the size and
// SHA-256 of the folder's file the object was made from, the recipients it
// was encrypted to, and the size and SHA-256 of the stored bytes. On resume
// the record must match the folder's manifest and the copy's recipients, and
// the stored bytes are read back and hashed against it (checked at both
// ends: the record says what was sent, the hash what is stored now; an ETag
// would be a weaker MD5, and a record alone would not see an object deleted
// and written again). An object whose record is missing (the copy died
// between the two writes) is proven by its hash alone when it is stored as
// the folder's bytes (a plain copy); an encrypted one cannot be (its
// plaintext cannot be checked without a key). A sealed folder (the staging
// folder of backup s3://… --encrypt-to) writes no records and resumes
// nothing: its ciphertext is described by its own process only.
//
// Keys are never reused for other content and nothing is overwritten: an
// interrupted run that holds anything not provably the folder's file (a
// differing or unverifiable object, an object of another file, a record
// without its object) is not resumed at all, and left for prune; the copy
// then takes a new run ID, as before. The resumed run's incomplete multipart
// uploads are aborted (under the location's lease no other writer is at
// work, so they are dead; S3 cannot safely continue another client's
// upload, whose parts this copy never saw): an object that was being
// uploaded is uploaded again.

// copyRecord is what a copy records about an artifact it uploaded.
type copyRecord struct {
	Version   int    `json:"version"`
	Tool      string `json:"tool,omitempty"`
	SourceRun string `json:"source_run"` // the folder's run ID
	File      string `json:"file"`       // the artifact's name in the run
	// The stored bytes.
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
	// The folder's file the object was made from (its manifest record).
	PlainSize   int64  `json:"plain_size"`
	PlainSHA256 string `json:"plain_sha256"`
	// Recipients the object is encrypted to (none: stored as in the folder).
	Recipients []string  `json:"recipients,omitempty"`
	Added      time.Time `json:"added"`
}

const copyRecordLimit = 1 << 20

// NotResumed is an interrupted copy of a run that was not resumed.
type NotResumed struct {
	ID     string `json:"id"` // the uncommitted run in the location
	Reason string `json:"reason"`
}

// upload is what a copy writes for one folder file.
type upload struct {
	rec        backupset.FileRecord // the folder's record
	name       string               // the artifact's name in the run
	recipients []string             // those it is encrypted to, if any
	// The stored bytes when known before the upload (a plain copy: the
	// folder's), else size -1.
	size   int64
	sha256 string
}

func plannedUpload(rec backupset.FileRecord, o CopyOptions) upload {
	u := upload{rec: rec, name: rec.Name, size: rec.Size, sha256: rec.SHA256}
	if len(o.Encrypt.List) > 0 {
		u.name += agecrypt.Ext
		u.recipients = o.Encrypt.Strings
		u.size, u.sha256 = -1, ""
	}
	return u
}

// runFile is the manifest entry of an artifact stored as r says.
func (u upload) runFile(r copyRecord) backupset.RunFile {
	out := backupset.RunFile{FileRecord: u.rec}
	out.Name, out.Size, out.SHA256, out.Added = u.name, r.Size, r.SHA256, r.Added
	if len(u.recipients) > 0 {
		out.Encryption = &backupset.Encryption{Scheme: "age", Recipients: u.recipients}
		out.PlainSize, out.PlainSHA256 = u.rec.Size, u.rec.SHA256
	}
	return out
}

func (u upload) record(run string, stored backupset.RunFile, tool string) copyRecord {
	return copyRecord{
		Version: 1, Tool: tool, SourceRun: run, File: u.name,
		Size: stored.Size, SHA256: stored.SHA256, PlainSize: u.rec.Size, PlainSHA256: u.rec.SHA256,
		Recipients: u.recipients, Added: stored.Added,
	}
}

func writeCopyRecord(ctx context.Context, loc backupset.Location, runID string, r copyRecord) error {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	_, err = backupset.WriteObject(ctx, loc, backupset.CopyRecordKey(runID, r.File), append(data, '\n'))
	return err
}

func readCopyRecord(ctx context.Context, loc backupset.Location, runID, file string) (copyRecord, error) {
	var r copyRecord
	data, err := backupset.ReadObject(ctx, loc, backupset.CopyRecordKey(runID, file), copyRecordLimit)
	if err != nil {
		return r, err
	}
	if err := json.Unmarshal(data, &r); err != nil || r.Version != 1 {
		// Not a record this plugin can read: nothing it vouches for is
		// reused.
		return copyRecord{}, errBadRecord
	}
	return r, nil
}

var errBadRecord = errors.New("unreadable copy record")

// interrupted is an uncommitted run of the location.
type interrupted struct {
	id        string
	objects   map[string]backupset.ObjectInfo // artifacts, by name
	records   []string                        // files with a copy record
	first     *copyRecord                     // the first record that could be read, once read
	firstFile string
	unknown   bool // no record could be read
}

// interruptedRuns groups the orphans of a listing by run.
func interruptedRuns(orphans []backupset.ObjectInfo) map[string]*interrupted {
	out := map[string]*interrupted{}
	for _, o := range orphans {
		id, rel, ok := strings.Cut(strings.TrimPrefix(o.Name, backupset.RunsPrefix), "/")
		if !ok {
			continue
		}
		in := out[id]
		if in == nil {
			in = &interrupted{id: id, objects: map[string]backupset.ObjectInfo{}}
			out[id] = in
		}
		if f := backupset.CopyRecordFile(rel); f != "" {
			in.records = append(in.records, f)
		} else {
			in.objects[rel] = o
		}
	}
	return out
}

// resumed is an interrupted copy a copy continues.
type resumed struct {
	id    string
	files map[string]backupset.RunFile // artifacts kept, by name
}

// resume finds the interrupted copy of run to continue, if any, and proves
// what it holds; it returns nil when the run starts over, with the
// interrupted copies of this run it did not resume, and why.
func resume(ctx context.Context, loc backupset.Location, lease backupset.Lease, cands map[string]*interrupted, run string, uploads []upload, o CopyOptions) (*resumed, []NotResumed, error) {
	// Candidates: runs whose records name this folder run, the most
	// records first.
	var mine []*interrupted
	for _, in := range cands {
		if len(in.records) == 0 {
			continue // no record: not a copy this plugin can prove
		}
		if in.first == nil && !in.unknown {
			// Read once per copy, however many runs it copies: the first
			// record that can be read says whose copy this is.
			for _, f := range in.records {
				r, err := readCopyRecord(ctx, loc, in.id, f)
				if errors.Is(err, backupset.ErrObjectNotFound) || errors.Is(err, errBadRecord) {
					continue
				}
				if err != nil {
					return nil, nil, err
				}
				in.first, in.firstFile = &r, f
				break
			}
			in.unknown = in.first == nil // not a copy this plugin can prove
		}
		if in.first != nil && in.first.SourceRun == run {
			mine = append(mine, in)
		}
	}
	slices.SortFunc(mine, func(a, b *interrupted) int {
		return cmp.Or(cmp.Compare(len(b.records), len(a.records)), strings.Compare(a.id, b.id))
	})
	var skipped []NotResumed
	for _, in := range mine {
		got, reason, err := prove(ctx, loc, lease, in, run, uploads, o)
		if err != nil {
			return nil, skipped, err
		}
		if reason != "" {
			skipped = append(skipped, NotResumed{ID: in.id, Reason: reason + "; it is left for prune"})
			continue
		}
		return got, skipped, nil
	}
	return nil, skipped, nil
}

// prove checks every object of an interrupted copy against the folder's
// files; a reason says why it cannot be resumed.
func prove(ctx context.Context, loc backupset.Location, lease backupset.Lease, in *interrupted, run string, uploads []upload, o CopyOptions) (*resumed, string, error) {
	byName := map[string]upload{}
	for _, u := range uploads {
		byName[u.name] = u
	}
	names := make([]string, 0, len(in.objects))
	for name := range in.objects {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if _, ok := byName[name]; !ok {
			return nil, fmt.Sprintf("it holds %s, which is not a file of this copy of the run", name), nil
		}
	}
	records := map[string]copyRecord{in.firstFile: *in.first}
	for _, f := range in.records {
		if _, ok := in.objects[f]; !ok {
			return nil, fmt.Sprintf("it has a record of %s without the object", f), nil
		}
		if _, ok := records[f]; ok {
			continue
		}
		r, err := readCopyRecord(ctx, loc, in.id, f)
		if errors.Is(err, backupset.ErrObjectNotFound) {
			return nil, fmt.Sprintf("the record of %s disappeared", f), nil
		}
		if errors.Is(err, errBadRecord) {
			return nil, fmt.Sprintf("the record of %s cannot be read", f), nil
		}
		if err != nil {
			return nil, "", err
		}
		records[f] = r
	}
	// The records first: they cost no download.
	for _, name := range names {
		u, obj := byName[name], in.objects[name]
		r, ok := records[name]
		if !ok {
			if u.size < 0 {
				return nil, fmt.Sprintf("%s has no record of the plaintext it was encrypted from (the copy died before writing it), so it cannot be checked", name), nil
			}
			continue
		}
		switch {
		case r.SourceRun != run || r.File != name:
			return nil, fmt.Sprintf("the record of %s names another file (%s of run %s)", name, r.File, r.SourceRun), nil
		case r.PlainSize != u.rec.Size || r.PlainSHA256 != u.rec.SHA256:
			return nil, fmt.Sprintf("%s was made from other content (%d bytes, SHA-256 %s) than the folder's %s (%d bytes, %s)", name, r.PlainSize, r.PlainSHA256, u.rec.Name, u.rec.Size, u.rec.SHA256), nil
		case !sameSet(r.Recipients, u.recipients):
			return nil, fmt.Sprintf("%s is encrypted to other recipients than this copy's", name), nil
		case u.size >= 0 && (r.Size != u.size || r.SHA256 != u.sha256):
			return nil, fmt.Sprintf("the record of %s gives stored bytes other than the folder's", name), nil
		case obj.Size != r.Size:
			return nil, fmt.Sprintf("%s has %d bytes, its record %d", name, obj.Size, r.Size), nil
		}
	}
	// Then the stored bytes, read back and hashed.
	got := &resumed{id: in.id, files: map[string]backupset.RunFile{}}
	var unrecorded []copyRecord
	for _, name := range names {
		u, obj := byName[name], in.objects[name]
		r, ok := records[name]
		if !ok {
			r = copyRecord{Version: 1, Tool: o.Tool, SourceRun: run, File: name, Size: u.size, SHA256: u.sha256,
				PlainSize: u.rec.Size, PlainSHA256: u.rec.SHA256, Added: obj.Modified}
		}
		if err := lease.Refresh(ctx); err != nil {
			return nil, "", err
		}
		size, sum, err := hashObject(ctx, loc, backupset.ArtifactKey(in.id, name), r.Size, o.Progress)
		if errors.Is(err, backupset.ErrObjectNotFound) {
			return nil, fmt.Sprintf("%s disappeared", name), nil
		}
		if err != nil {
			return nil, "", err
		}
		if size != r.Size || sum != r.SHA256 {
			return nil, fmt.Sprintf("%s holds %d bytes with SHA-256 %s, not the %d bytes with %s that were uploaded", name, size, sum, r.Size, r.SHA256), nil
		}
		if !ok {
			unrecorded = append(unrecorded, r)
		}
		got.files[name] = u.runFile(r)
	}
	// A record for each object proven by its hash alone, so that the run
	// has one per file whatever happens next.
	for _, r := range unrecorded {
		if err := writeCopyRecord(ctx, loc, in.id, r); err != nil {
			return nil, "", err
		}
	}
	// The interrupted copy's own uploads in progress are dead (we hold the
	// lease): abort them rather than leave them for prune.
	if los, err := loc.Leftovers(ctx); err == nil {
		for _, lo := range los {
			if strings.HasPrefix(lo.Name, backupset.ArtifactKey(in.id, "")) {
				_ = loc.RemoveLeftover(ctx, lo) // else prune removes it
			}
		}
	}
	return got, "", nil
}

// hashObject reads a stored object to its end and hashes it.
func hashObject(ctx context.Context, loc backupset.Location, key string, size int64, pw progress.Writer) (int64, string, error) {
	var (
		n int64
		h = sha256.New()
	)
	err := progress.RunStep(orNop(pw), progress.Event{ID: "check " + key, Text: "Check " + key + " (left by an interrupted copy)"}, func(s *progress.Step) error {
		rc, _, err := loc.Open(ctx, key)
		if err != nil {
			return err
		}
		defer rc.Close()
		n, err = io.Copy(h, &counting{r: rc, step: s, total: size})
		if err != nil {
			return fmt.Errorf("read %s in %s: %w", key, loc.Describe(), err)
		}
		return nil
	})
	return n, hex.EncodeToString(h.Sum(nil)), err
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(slices.Compact(a), slices.Compact(b))
}
