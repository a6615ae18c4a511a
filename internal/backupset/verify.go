package backupset

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// Kinds of problems Verify reports.
const (
	ProblemMissing    = "missing"    // in the manifest, not in the folder
	ProblemTruncated  = "truncated"  // smaller than recorded
	ProblemChanged    = "changed"    // different content (hash or larger size)
	ProblemUnreadable = "unreadable" // cannot be read
	ProblemExtra      = "extra"      // artifact file not in the manifest
	ProblemChain      = "chain"      // chain continuity broken
	ProblemPartial    = "partial"    // leftover of an interrupted run (warning)
	ProblemUnexpected = "unexpected" // a file that is no backup (warning)
)

// Problem is one finding of Verify.
type Problem struct {
	File   string `json:"file"`
	Kind   string `json:"kind"`
	Detail string `json:"detail"`
}

func (p Problem) String() string { return p.File + ": " + p.Kind + ": " + p.Detail }

// Report is the result of Verify. Warnings do not make it fail.
type Report struct {
	Checked  []string  `json:"checked"` // files whose hash matched
	Problems []Problem `json:"problems"`
	Warnings []Problem `json:"warnings"`
}

// OK reports whether verification found no problem.
func (r Report) OK() bool { return len(r.Problems) == 0 }

// Verify re-hashes every file the manifest lists (m nil: the folder's own
// manifest) and checks the chains; see VerifyContext.
func (f *Folder) Verify(m *Manifest) (Report, error) {
	return f.VerifyContext(context.Background(), m, nil)
}

// VerifyContext is Verify with progress reported while hashing; it stops
// with ctx's error when ctx is cancelled (Ctrl-C), also in the middle of a
// file.
func (f *Folder) VerifyContext(ctx context.Context, m *Manifest, progress func(name string, done, total int64)) (Report, error) {
	c, err := f.Scan()
	if err != nil {
		return Report{}, err
	}
	if m == nil {
		if c.ManifestErr != nil {
			return Report{}, c.ManifestErr
		}
		m = c.Manifest
	} else {
		// Attach the given manifest's records to what was found.
		c.Missing = nil
		present := map[string]bool{}
		for i := range c.Artifacts {
			present[c.Artifacts[i].Name] = true
			c.Artifacts[i].Record = nil
			if r, ok := m.Lookup(c.Artifacts[i].Name); ok {
				c.Artifacts[i].Record = &r
			}
		}
		for i := range c.Components {
			present[c.Components[i].Name] = true
			c.Components[i].Record = nil
			if r, ok := m.Lookup(c.Components[i].Name); ok {
				c.Components[i].Record = &r
			}
		}
		for _, r := range m.Files {
			if !present[r.Name] {
				c.Missing = append(c.Missing, r)
			}
		}
	}
	var rep Report
	for _, rec := range m.Files {
		p := f.checkFile(ctx, rec, progress)
		if err := ctx.Err(); err != nil {
			return Report{}, err
		}
		if p != nil {
			rep.Problems = append(rep.Problems, *p)
		} else {
			rep.Checked = append(rep.Checked, rec.Name)
		}
	}
	for _, a := range c.Artifacts {
		if a.Record == nil {
			rep.Problems = append(rep.Problems, Unrecorded(a.Name))
		}
	}
	// A task-manager dump or storage archive the manifest does not record
	// has no checksum and no run: nothing proves what it holds.
	for _, cf := range c.Components {
		if cf.Record == nil {
			rep.Problems = append(rep.Problems, Problem{cf.Name, ProblemExtra, cf.Component + " file not listed in the manifest"})
		}
	}
	chains := c.Chains()
	for _, db := range sortedKeys(chains) {
		for _, ch := range chains[db] {
			// The one chain check (CheckChain); its unrecorded files are
			// reported above, as every extra file is.
			if p := ch.Refusal(); p != nil {
				rep.Problems = append(rep.Problems, *p)
			}
		}
	}
	for _, name := range c.Partials {
		rep.Warnings = append(rep.Warnings, Problem{name, ProblemPartial, "left by an interrupted run; not a backup"})
	}
	for _, name := range c.Unexpected {
		rep.Warnings = append(rep.Warnings, Problem{name, ProblemUnexpected, "not a backup file"})
	}
	return rep, nil
}

// VerifyWritten verifies the files a backup just wrote: their checksums
// against the manifest and the chains of their databases. Problems of other
// files of the folder are not that backup's business and are left out.
func (f *Folder) VerifyWritten(ctx context.Context, written []FileRecord, progress func(name string, done, total int64)) (Report, error) {
	m, err := f.ReadManifest()
	if err != nil {
		return Report{}, err
	}
	sub := &Manifest{Version: m.Version}
	var rep Report
	var names, dbs []string
	for _, w := range written {
		names = append(names, w.Name)
		if !slices.Contains(dbs, w.Database) {
			dbs = append(dbs, w.Database)
		}
		rec, ok := m.Lookup(w.Name)
		if !ok {
			rep.Problems = append(rep.Problems, Problem{w.Name, ProblemMissing, "written by this backup but not recorded in the manifest"})
			continue
		}
		sub.Files = append(sub.Files, rec)
	}
	all, err := f.VerifyContext(ctx, sub, progress)
	if err != nil {
		return Report{}, err
	}
	rep.Checked = all.Checked
	for _, p := range all.Problems {
		if slices.Contains(names, p.File) || (p.Kind == ProblemChain && slices.ContainsFunc(dbs, func(db string) bool { return fileOf(p.File, db) })) {
			rep.Problems = append(rep.Problems, p)
		}
	}
	return rep, nil
}

// fileOf reports whether an artifact name belongs to db.
func fileOf(name, db string) bool {
	d, _, ok := ParseArtifactName(name)
	return ok && d == db
}

// VerifyError says verification found problems; the CLI maps it to its own
// exit code. The findings are printed separately.
type VerifyError struct{ Problems []Problem }

func (e *VerifyError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return fmt.Sprintf("verification failed: %d problem(s):\n  %s", len(e.Problems), strings.Join(lines, "\n  "))
}

// checkFile compares one file with its record.
func (f *Folder) checkFile(ctx context.Context, rec FileRecord, progress func(string, int64, int64)) *Problem {
	// Through OpenFile: a sealed file is checked as what it unseals to
	// (and its bytes on disk against their own record).
	file, size, err := f.OpenFile(rec.Name)
	if errors.Is(err, os.ErrNotExist) {
		return &Problem{rec.Name, ProblemMissing, "listed in the manifest but not in the folder"}
	}
	if errors.Is(err, ErrSealed) {
		return &Problem{rec.Name, ProblemChanged, err.Error()}
	}
	if err != nil {
		return &Problem{rec.Name, ProblemUnreadable, err.Error()}
	}
	defer file.Close()
	if size < rec.Size {
		return &Problem{rec.Name, ProblemTruncated, fmt.Sprintf("%d bytes, the manifest records %d", size, rec.Size)}
	}
	if size > rec.Size {
		return &Problem{rec.Name, ProblemChanged, fmt.Sprintf("%d bytes, the manifest records %d", size, rec.Size)}
	}
	h := sha256.New()
	var w io.Writer = h
	if progress != nil {
		w = &progressWriter{w: h, name: rec.Name, total: size, report: progress}
		progress(rec.Name, 0, size)
	}
	if _, err := io.Copy(w, ctxReader{ctx, file}); errors.Is(err, ErrSealed) {
		return &Problem{rec.Name, ProblemChanged, err.Error()}
	} else if err != nil {
		return &Problem{rec.Name, ProblemUnreadable, err.Error()}
	}
	if sum := hex.EncodeToString(h.Sum(nil)); sum != rec.SHA256 {
		return &Problem{rec.Name, ProblemChanged, fmt.Sprintf("SHA-256 %s, the manifest records %s", sum, rec.SHA256)}
	}
	return nil
}

// ctxReader stops reading once ctx is cancelled.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(b []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(b)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
