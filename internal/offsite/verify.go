package offsite

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"

	"filippo.io/age"

	"github.com/opsmill/docker-infrahubdb/internal/agecrypt"
	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/progress"
)

// VerifyResult reports a location's verification.
type VerifyResult struct {
	Location  string                 `json:"location"`
	Runs      []VerifiedRun          `json:"runs"`
	Orphans   []backupset.ObjectInfo `json:"orphans,omitempty"`
	Stray     []backupset.ObjectInfo `json:"stray,omitempty"`
	Leftovers []backupset.Leftover   `json:"leftovers,omitempty"`
	Problems  []string               `json:"problems,omitempty"`
	Notes     []string               `json:"notes,omitempty"`
	// Decrypted says whether encrypted files were decrypted and their
	// plaintext checked (with --identity), or only their stored bytes.
	Decrypted bool `json:"decrypted"`
}

// VerifiedRun is one run's verification.
type VerifiedRun struct {
	ID        string `json:"id"`
	Files     int    `json:"files"`
	Bytes     int64  `json:"bytes"`
	Encrypted bool   `json:"encrypted"`
	// Base is the run this differential run depends on ("" none).
	Base string `json:"base,omitempty"`
	OK   bool   `json:"ok"`
}

// VerifyError says a location failed verification (exit code 5).
type VerifyError struct{ Problems []string }

func (e *VerifyError) Error() string {
	if len(e.Problems) == 1 {
		return "verification failed: " + e.Problems[0]
	}
	return fmt.Sprintf("verification failed: %d problems, the first: %s", len(e.Problems), e.Problems[0])
}

// Verify reads every file of every run (or of the runs named) and checks the
// SHA-256 and size of the stored bytes; with identities, it also decrypts
// encrypted files and checks their plaintext. It reports runs that died
// before their manifest, stray objects and interrupted uploads (which prune
// removes). A wrong identity is an error of its own (agecrypt.ErrNoIdentity),
// not damage.
func Verify(ctx context.Context, loc backupset.Location, runs []string, ids []age.Identity, pw progress.Writer) (*VerifyResult, error) {
	listing, err := backupset.ListRuns(ctx, loc)
	if err != nil {
		return nil, err
	}
	res := &VerifyResult{Location: loc.Describe(), Orphans: listing.Orphans, Stray: listing.Stray, Decrypted: len(ids) > 0}
	if res.Leftovers, err = loc.Leftovers(ctx); err != nil {
		// A read-only credential may lack s3:ListBucketMultipartUploads;
		// that is no reason not to verify the runs.
		res.Notes = append(res.Notes, "interrupted uploads not listed: "+err.Error())
	}
	for id, e := range listing.Unreadable {
		res.Problems = append(res.Problems, fmt.Sprintf("run %s: %v", id, e))
	}
	for _, m := range listing.Runs {
		if len(runs) > 0 && !slices.Contains(runs, m.Run.ID) {
			continue
		}
		vr := VerifiedRun{ID: m.Run.ID, Base: m.Base, OK: true}
		if m.Base != "" {
			// A differential run restores only with its bases.
			if _, err := RunChain(ctx, loc, m.Run.ID); err != nil && !prunedMeanwhile(ctx, loc, m.Run.ID) {
				vr.OK = false
				res.Problems = append(res.Problems, fmt.Sprintf("run %s: %v", m.Run.ID, err))
			}
		}
		for _, f := range m.Files {
			vr.Files++
			vr.Bytes += f.Size
			if f.Encryption != nil {
				vr.Encrypted = true
			}
			key := backupset.ArtifactKey(m.Run.ID, f.Name)
			err := progress.RunStep(orNop(pw), progress.Event{ID: "verify " + key, Text: "Verify " + key}, func(s *progress.Step) error {
				return verifyFile(ctx, loc, m.Run.ID, f, ids, s)
			})
			switch {
			case errors.Is(err, agecrypt.ErrNoIdentity):
				return nil, err
			case errors.Is(err, backupset.ErrObjectNotFound) && prunedMeanwhile(ctx, loc, m.Run.ID):
				// A prune removed the run while this verify read it: not damage.
			case err != nil:
				vr.OK = false
				res.Problems = append(res.Problems, fmt.Sprintf("run %s: %v", m.Run.ID, err))
			}
		}
		res.Runs = append(res.Runs, vr)
	}
	if len(res.Problems) > 0 {
		return res, &VerifyError{Problems: res.Problems}
	}
	return res, nil
}

// prunedMeanwhile says whether the run's manifest is gone (verify takes no
// lock: it runs with read-only credentials too).
func prunedMeanwhile(ctx context.Context, loc backupset.Location, runID string) bool {
	_, err := loc.Stat(ctx, backupset.RunManifestKey(runID))
	return errors.Is(err, backupset.ErrObjectNotFound)
}

func verifyFile(ctx context.Context, loc backupset.Location, runID string, f backupset.RunFile, ids []age.Identity, s *progress.Step) error {
	if f.Encryption != nil && len(ids) > 0 {
		rc, err := agecrypt.Open(ctx, loc, runID, f, ids)
		if err != nil {
			return err
		}
		defer rc.Close()
		_, err = io.Copy(io.Discard, &counting{r: rc, step: s, total: f.PlainSize})
		return err
	}
	rc, _, err := loc.Open(ctx, backupset.ArtifactKey(runID, f.Name))
	if err != nil {
		return err
	}
	defer rc.Close()
	h := sha256.New()
	n, err := io.Copy(h, &counting{r: rc, step: s, total: f.Size})
	if err != nil {
		return fmt.Errorf("read %s: %w", f.Name, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); n != f.Size || got != f.SHA256 {
		return fmt.Errorf("%s: %d bytes with SHA-256 %s, the manifest records %d bytes with %s: %w", f.Name, n, got, f.Size, f.SHA256, agecrypt.ErrChecksum)
	}
	return nil
}
