package backupset

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Layout of a location (an S3 bucket prefix, or a folder used as one):
//
//	runs/<run-id>/<artifact>[.age]   the run's artifacts, written first
//	runs/<run-id>/manifest.json      the run's manifest, written last: the commit point
//	runs/<run-id>/.copy/<file>.json  a copy's record of an artifact it uploaded (CopyRecordKey)
//	locks/lock.json                  the lease of the run holding the lock (S3)
//
// Each run has its own manifest, so two writers never read-modify-write one
// shared object, and a run either has its manifest (it exists) or not (its
// objects are leftovers that verify reports and prune removes).
const (
	RunsPrefix       = "runs/"
	RunManifestName  = "manifest.json"
	runManifestLimit = 16 << 20
)

// RunManifest is the manifest of one run in a location. It is plain JSON
// without secrets: list, verify of the stored bytes and prune need no key.
type RunManifest struct {
	Version int       `json:"version"`
	Tool    string    `json:"tool"`
	Written time.Time `json:"written"`
	Run     RunRecord `json:"run"`
	// Files are the run's artifacts; their names are relative to the run
	// (ArtifactKey gives the object name).
	Files []RunFile `json:"files"`
	// Base is the run whose artifacts this one extends (a differential
	// chain), or "" for a run that restores on its own.
	Base string `json:"base,omitempty"`
	// CopiedFrom is the ID of the run this one is a copy of (a folder's
	// run copied with `copy`), so a second copy finds it done.
	CopiedFrom string `json:"copied_from,omitempty"`
}

// RunFile is an artifact of a run. Size and SHA256 are those of the stored
// bytes (the ciphertext when encrypted), so the stored bytes can be verified
// without a key; PlainSize and PlainSHA256 those of what was captured.
type RunFile struct {
	FileRecord
	PlainSize   int64       `json:"plain_size,omitempty"`
	PlainSHA256 string      `json:"plain_sha256,omitempty"`
	Encryption  *Encryption `json:"encryption,omitempty"`
}

// Encryption records how an artifact was encrypted (never a key).
type Encryption struct {
	Scheme     string   `json:"scheme"` // "age"
	Recipients []string `json:"recipients,omitempty"`
}

// NewLocationRunID returns the ID of a run started at t in a location: the
// time, to sort by, and a random suffix, so that two hosts starting in the
// same second never pick one name.
func NewLocationRunID(t time.Time) string {
	var b [4]byte
	rand.Read(b[:])
	return NewRunID(t) + "-" + hex.EncodeToString(b[:])
}

// ArtifactKey is the object name of a run's file.
func ArtifactKey(runID, file string) string { return RunsPrefix + runID + "/" + file }

// RunManifestKey is the object name of a run's manifest.
func RunManifestKey(runID string) string { return ArtifactKey(runID, RunManifestName) }

// CopyRecordDir holds, inside a run, the records a copy from a folder writes
// after each artifact it uploads (what the object was made from, and its
// stored size and SHA-256), so that a copy interrupted before its manifest
// can be resumed by the next one. A record is never an artifact (artifact
// names have no slash), sorts before every artifact (so a prune that dies
// removes records first), belongs to its run: an orphan while the run is
// uncommitted, neither listed nor stray once it is committed, removed with
// the run.
const CopyRecordDir = ".copy/"

// CopyRecordKey is the object name of the copy record of a run's file.
func CopyRecordKey(runID, file string) string {
	return ArtifactKey(runID, CopyRecordDir+file+".json")
}

// isCopyRecord says whether a name relative to a run is a copy record.
func isCopyRecord(rel string) bool {
	name, ok := strings.CutPrefix(rel, CopyRecordDir)
	return ok && strings.HasSuffix(name, ".json") && checkBaseName(name) == nil
}

// CopyRecordFile is the artifact a copy record (a name relative to its run)
// is about, or "" when rel is not a copy record.
func CopyRecordFile(rel string) string {
	if !isCopyRecord(rel) {
		return ""
	}
	return strings.TrimSuffix(strings.TrimPrefix(rel, CopyRecordDir), ".json")
}

func checkRunID(id string) error {
	if id == "" || strings.ContainsAny(id, "/\\") || CheckObjectName(id) != nil {
		return fmt.Errorf("invalid run id %q", id)
	}
	return nil
}

// CommitRun writes the run's manifest, create-only, after checking that every
// file it lists is in the location with the recorded size. This write is the
// commit point of the run.
func CommitRun(ctx context.Context, loc Location, m RunManifest) error {
	if err := checkRunID(m.Run.ID); err != nil {
		return err
	}
	for _, f := range m.Files {
		st, err := loc.Stat(ctx, ArtifactKey(m.Run.ID, f.Name))
		if err != nil {
			return fmt.Errorf("run %s is not complete: %w", m.Run.ID, err)
		}
		if st.Size != f.Size {
			return fmt.Errorf("run %s is not complete: %s has %d bytes in %s, %d were written", m.Run.ID, f.Name, st.Size, loc.Describe(), f.Size)
		}
	}
	m.Version = ManifestVersion
	if m.Written.IsZero() {
		m.Written = time.Now().UTC().Truncate(time.Second)
	}
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	_, err = WriteObject(ctx, loc, RunManifestKey(m.Run.ID), append(data, '\n'))
	return err
}

// ReadRun reads and checks a run's manifest.
func ReadRun(ctx context.Context, loc Location, id string) (*RunManifest, error) {
	if err := checkRunID(id); err != nil {
		return nil, err
	}
	key := RunManifestKey(id)
	data, err := ReadObject(ctx, loc, key, runManifestLimit)
	if err != nil {
		return nil, err
	}
	where := loc.Describe() + ": " + key
	var m RunManifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("%w %s: %v", ErrMalformedManifest, where, err)
	}
	switch {
	case m.Version > ManifestVersion:
		return nil, &newerManifestError{fmt.Errorf("manifest %s has version %d, written by a newer docker-infrahubdb (%s); upgrade the plugin", where, m.Version, m.Tool)}
	case m.Version < 1:
		return nil, fmt.Errorf("%w %s: no version", ErrMalformedManifest, where)
	case m.Run.ID != id:
		return nil, fmt.Errorf("%w %s: it names run %q", ErrMalformedManifest, where, m.Run.ID)
	}
	seen := map[string]bool{}
	for _, f := range m.Files {
		if checkBaseName(f.Name) != nil || f.Name == RunManifestName || seen[f.Name] || f.Size < 0 || !isSHA256(f.SHA256) ||
			(f.PlainSHA256 != "" && !isSHA256(f.PlainSHA256)) {
			return nil, fmt.Errorf("%w %s: file %q has an invalid or repeated name, size or sha256", ErrMalformedManifest, where, f.Name)
		}
		seen[f.Name] = true
	}
	return &m, nil
}

// RunListing is what a location holds under runs/.
type RunListing struct {
	// Runs are the committed runs (with a manifest), oldest first.
	Runs []*RunManifest
	// Unreadable are runs whose manifest exists but cannot be used.
	Unreadable map[string]error
	// Orphans are objects of runs without a manifest: a run that died
	// before its commit, or whose manifest prune already removed.
	Orphans []ObjectInfo
	// Stray are objects of committed runs that their manifest does not list.
	Stray []ObjectInfo
}

// ListRuns reads every run of the location.
func ListRuns(ctx context.Context, loc Location) (*RunListing, error) {
	objs, err := loc.List(ctx, RunsPrefix)
	if err != nil {
		return nil, err
	}
	byRun := map[string][]ObjectInfo{}
	var ids []string
	for _, o := range objs {
		id, file, ok := strings.Cut(strings.TrimPrefix(o.Name, RunsPrefix), "/")
		if !ok || (strings.Contains(file, "/") && !isCopyRecord(file)) {
			continue // not a name this plugin writes
		}
		if _, seen := byRun[id]; !seen {
			ids = append(ids, id)
		}
		byRun[id] = append(byRun[id], o)
	}
	out := &RunListing{Unreadable: map[string]error{}}
	for _, id := range ids {
		has := slices.ContainsFunc(byRun[id], func(o ObjectInfo) bool { return o.Name == RunManifestKey(id) })
		if !has {
			out.Orphans = append(out.Orphans, byRun[id]...)
			continue
		}
		m, err := ReadRun(ctx, loc, id)
		if err != nil {
			if errors.Is(err, ErrObjectNotFound) { // pruned meanwhile
				continue
			}
			out.Unreadable[id] = err
			continue
		}
		out.Runs = append(out.Runs, m)
		for _, o := range byRun[id] {
			name := strings.TrimPrefix(o.Name, ArtifactKey(id, ""))
			if isCopyRecord(name) {
				continue // the upload records of a copy
			}
			if name != RunManifestName && !slices.ContainsFunc(m.Files, func(f RunFile) bool { return f.Name == name }) {
				out.Stray = append(out.Stray, o)
			}
		}
	}
	slices.SortStableFunc(out.Runs, func(a, b *RunManifest) int {
		if c := a.Run.Started.Compare(b.Run.Started); c != 0 {
			return c
		}
		return strings.Compare(a.Run.ID, b.Run.ID)
	})
	return out, nil
}

// DeleteRun removes a run: its manifest first, so the run disappears at once,
// then its artifacts. A crash in between leaves orphans, which the next prune
// removes. Call it only under the lock.
func DeleteRun(ctx context.Context, loc Location, id string) error {
	if err := checkRunID(id); err != nil {
		return err
	}
	if err := loc.Delete(ctx, RunManifestKey(id)); err != nil {
		return err
	}
	objs, err := loc.List(ctx, RunsPrefix+id+"/")
	if err != nil {
		return err
	}
	for _, o := range objs {
		if err := loc.Delete(ctx, o.Name); err != nil {
			return err
		}
	}
	return nil
}
