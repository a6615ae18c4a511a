package backupset

import (
	"cmp"
	"os"
	"slices"
	"strings"
	"time"
)

// Artifact is a backup artifact file found in the folder.
type Artifact struct {
	Name     string
	Database string
	Time     time.Time // from the name, UTC
	Seq      int       // neo4j-admin's suffix for two backups in one second
	Size     int64
	Record   *FileRecord // the manifest's record; nil when the manifest has none
	// Missing is set for a file the manifest lists but the folder lacks (see
	// Catalog.Chains): it makes its chain incomplete.
	Missing bool
}

// Type is TypeFull or TypeDiff from the manifest, or "" when unknown.
func (a Artifact) Type() string {
	if IsDump(a.Name) {
		return TypeDump // a dump is whole whatever the manifest says
	}
	if a.Record == nil {
		return ""
	}
	return a.Record.Type
}

// Empty reports an empty differential backup (see FileRecord.Empty).
func (a Artifact) Empty() bool { return a.Record != nil && a.Record.Empty }

// Catalog is everything found in a backup folder.
type Catalog struct {
	Dir       string
	Artifacts []Artifact // sorted by database, time
	Manifest  *Manifest  // empty when the folder has no manifest
	// ManifestErr is set when the manifest exists but cannot be used; list
	// still shows the files, restore and verify should refuse.
	ManifestErr error
	HasManifest bool
	Missing     []FileRecord // in the manifest, not in the folder
	Partials    []string     // "*.partial" leftovers of interrupted runs
	Locked      bool         // the lock file exists
	SafetyDirs  []string     // restore's safety backups (see SafetyDirName)
	Unexpected  []string     // anything else
	// DrillReports are the reports verify --drill wrote (DrillReportName).
	DrillReports []string
	// Components are the task-manager and storage artifacts (see
	// ComponentFileName), sorted by name.
	Components []ComponentFile
	// Interrupted are the IDs of the runs whose record is still open
	// though their process no longer holds the folder's lock: runs that
	// died before they ended (see RunRecord.Open). Open runs that are not
	// listed are in progress.
	Interrupted map[string]bool
}

// Scan lists the folder. It does not hash anything (see Verify).
func (f *Folder) Scan() (*Catalog, error) {
	entries, err := os.ReadDir(f.Dir)
	if err != nil {
		return nil, err
	}
	if err := f.refuseIrregular(entries); err != nil {
		return nil, err
	}
	c := &Catalog{Dir: f.Dir}
	c.Manifest, c.ManifestErr = f.ReadManifest()
	if c.ManifestErr != nil {
		c.Manifest = &Manifest{Version: ManifestVersion}
	}
	present := map[string]bool{}
	for _, e := range entries {
		name := e.Name()
		present[name] = true
		switch {
		case name == ManifestName:
			c.HasManifest = true
		case name == LockName:
			c.Locked = true
		case e.IsDir() && IsSafetyDirName(name):
			c.SafetyDirs = append(c.SafetyDirs, name)
		case strings.HasSuffix(name, PartialExt):
			c.Partials = append(c.Partials, name)
		case IsDrillReportName(name) && e.Type().IsRegular():
			c.DrillReports = append(c.DrillReports, name)
		case f.componentFile(name, c):
		default:
			a, ok := f.artifact(name, c.Manifest)
			if !ok {
				c.Unexpected = append(c.Unexpected, name)
				continue
			}
			c.Artifacts = append(c.Artifacts, a)
		}
	}
	for _, r := range c.Manifest.Runs {
		if r.Open && !f.runAlive(r) {
			if c.Interrupted == nil {
				c.Interrupted = map[string]bool{}
			}
			c.Interrupted[r.ID] = true
		}
	}
	for _, r := range c.Manifest.Files {
		if !present[r.Name] {
			c.Missing = append(c.Missing, r)
		}
	}
	sortArtifacts(c.Artifacts)
	return c, nil
}

// artifact stats name, which must be a regular file (never a link) with an
// artifact name.
func (f *Folder) artifact(name string, m *Manifest) (Artifact, bool) {
	db, t, seq, ok := parseArtifactName(name)
	if !ok {
		return Artifact{}, false
	}
	st, err := os.Lstat(f.Path(name))
	if err != nil || !st.Mode().IsRegular() {
		return Artifact{}, false
	}
	a := Artifact{Name: name, Database: db, Time: t, Seq: seq, Size: f.readSize(name, st.Size())}
	if r, ok := m.Lookup(name); ok {
		a.Record = &r
	}
	return a, true
}

// Chains groups the catalog's artifacts into chains (see Chains), counting
// files that the manifest lists but the folder lacks, so that a chain whose
// full backup was deleted is not mistaken for a continuation of an older one.
func (c *Catalog) Chains() map[string][]Chain {
	all := slices.Clone(c.Artifacts)
	for _, r := range c.Missing {
		db, t, seq, ok := parseArtifactName(r.Name)
		if !ok {
			continue
		}
		r := r
		all = append(all, Artifact{Name: r.Name, Database: db, Time: t, Seq: seq, Size: r.Size, Record: &r, Missing: true})
	}
	return Chains(all)
}

// Artifacts lists the artifact files of the folder with their manifest
// records.
func (f *Folder) Artifacts() ([]Artifact, error) {
	c, err := f.Scan()
	if err != nil {
		return nil, err
	}
	return c.Artifacts, c.ManifestErr
}

func sortArtifacts(as []Artifact) {
	slices.SortFunc(as, func(a, b Artifact) int {
		return cmp.Or(
			strings.Compare(a.Database, b.Database),
			a.Time.Compare(b.Time),
			cmp.Compare(a.Seq, b.Seq),
			strings.Compare(a.Name, b.Name),
		)
	})
}
