package backupset

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"
)

// Components of an Infrahub deployment that a run backs up.
const (
	ComponentGraph       = "graph"        // Neo4j: *.backup or *.dump files
	ComponentTaskManager = "task-manager" // the Prefect PostgreSQL: task-manager-<time>.pgdump
	ComponentStorage     = "storage"      // the object storage volume: storage-<time>.tar
)

// Components lists every component in restore order (task manager, storage,
// graph).
var Components = []string{ComponentTaskManager, ComponentStorage, ComponentGraph}

// File name extensions of the component artifacts.
const (
	PgDumpExt  = ".pgdump" // pg_dump --format=custom
	ArchiveExt = ".tar"    // a tar of a volume's content, paths relative to its root
)

// ComponentFileName is the name of the artifact of a non-graph component
// captured at t: "task-manager-<time>.pgdump" or "storage-<time>.tar".
func ComponentFileName(component string, t time.Time) (string, error) {
	stamp := t.UTC().Format(timeLayout)
	switch component {
	case ComponentTaskManager:
		return component + "-" + stamp + PgDumpExt, nil
	case ComponentStorage:
		return component + "-" + stamp + ArchiveExt, nil
	}
	return "", fmt.Errorf("component %q has no file of its own", component)
}

// ParseComponentFileName parses a name made by ComponentFileName.
func ParseComponentFileName(name string) (component string, t time.Time, ok bool) {
	for _, c := range []struct{ component, ext string }{{ComponentTaskManager, PgDumpExt}, {ComponentStorage, ArchiveExt}} {
		stem, found := strings.CutSuffix(name, c.ext)
		if !found {
			continue
		}
		rest, found := strings.CutPrefix(stem, c.component+"-")
		if !found {
			continue
		}
		t, err := time.Parse(timeLayout, rest)
		if err != nil {
			return "", time.Time{}, false
		}
		return c.component, t, true
	}
	return "", time.Time{}, false
}

// CheckComponents validates a list of component names (from --component).
func CheckComponents(list []string) error {
	for _, c := range list {
		if !slices.Contains(Components, c) {
			return fmt.Errorf("unknown component %q: use %s", c, strings.Join(Components, ", "))
		}
	}
	return nil
}

// Skipped is a component a run did not capture, and why.
type Skipped struct {
	Component string `json:"component"`
	Reason    string `json:"reason"`
}

// RunRecord groups the artifacts of one backup run (see FileRecord.RunID).
type RunRecord struct {
	ID      string    `json:"id"`
	Started time.Time `json:"started"`
	// Components captured by the run; its files carry the run's ID.
	Components []string  `json:"components"`
	Skipped    []Skipped `json:"skipped,omitempty"`
	// Complete is set once every component the run took is in the folder.
	Complete bool `json:"complete"`
	// Open is set by the record a run writes when it starts, and cleared
	// by the one it writes when it ends, whichever way. A record still
	// open when its process no longer holds the folder's lock is of a run
	// that died (killed, its machine stopped): see Catalog.Interrupted.
	Open bool `json:"open,omitempty"`
	// Host and PID are the open run's process, as in the folder's lock.
	Host string `json:"host,omitempty"`
	PID  int    `json:"pid,omitempty"`
	// Step is the component the open run was taking last ("" before the
	// first one).
	Step            string `json:"step,omitempty"`
	Consistent      bool   `json:"consistent,omitempty"` // applications stopped for the capture
	InfrahubVersion string `json:"infrahub_version,omitempty"`
	Neo4jEdition    string `json:"neo4j_edition,omitempty"`
	Neo4jVersion    string `json:"neo4j_version,omitempty"`
	Project         string `json:"compose_project,omitempty"`
	// Volumes are the named volumes of the deployment's services, each
	// captured by a component or skipped with its reason.
	Volumes []VolumeRecord `json:"volumes,omitempty"`
}

// VolumeRecord says what a run did with one named volume of the
// deployment.
type VolumeRecord struct {
	Name    string `json:"name"`
	Service string `json:"service"`
	Path    string `json:"path"` // where the service mounts it
	// Component that captures its content; "" when skipped.
	Component string `json:"component,omitempty"`
	Skipped   string `json:"skipped,omitempty"` // why not captured
}

// NewRunID returns the ID of a run started at t.
func NewRunID(t time.Time) string { return "run-" + t.UTC().Format(timeLayout) }

// UpsertRun adds a run record, replacing one with the same ID.
func (m *Manifest) UpsertRun(r RunRecord) {
	r.Started = r.Started.UTC()
	if i := slices.IndexFunc(m.Runs, func(x RunRecord) bool { return x.ID == r.ID }); i >= 0 {
		m.Runs[i] = r
		return
	}
	m.Runs = append(m.Runs, r)
	slices.SortFunc(m.Runs, func(a, b RunRecord) int { return a.Started.Compare(b.Started) })
}

// RemoveRun drops the record of run id (its files' records stay).
func (m *Manifest) RemoveRun(id string) {
	m.Runs = slices.DeleteFunc(m.Runs, func(x RunRecord) bool { return x.ID == id })
}

// Run returns the record of run id.
func (m *Manifest) Run(id string) (RunRecord, bool) {
	i := slices.IndexFunc(m.Runs, func(x RunRecord) bool { return x.ID == id })
	if i < 0 {
		return RunRecord{}, false
	}
	return m.Runs[i], true
}

// RunFiles lists the records of run id, in restore order of their components.
func (m *Manifest) RunFiles(id string) []FileRecord {
	var out []FileRecord
	for _, r := range m.Files {
		if r.RunID == id {
			out = append(out, r)
		}
	}
	slices.SortStableFunc(out, func(a, b FileRecord) int {
		return slices.Index(Components, componentOf(a)) - slices.Index(Components, componentOf(b))
	})
	return out
}

func componentOf(r FileRecord) string {
	if r.Component != "" {
		return r.Component
	}
	return ComponentGraph
}

// ComponentFile is a task-manager or storage artifact found in the folder.
type ComponentFile struct {
	Name      string
	Component string
	Time      time.Time
	Size      int64
	Record    *FileRecord
}

// componentFile adds name to c.Components when it is a component artifact
// (a regular file with a component's name).
func (f *Folder) componentFile(name string, c *Catalog) bool {
	component, t, ok := ParseComponentFileName(name)
	if !ok {
		return false
	}
	st, err := os.Lstat(f.Path(name))
	if err != nil || !st.Mode().IsRegular() {
		return false
	}
	cf := ComponentFile{Name: name, Component: component, Time: t, Size: f.readSize(name, st.Size())}
	if r, ok := c.Manifest.Lookup(name); ok {
		cf.Record = &r
	}
	c.Components = append(c.Components, cf)
	return true
}

// OpenChecked reads the named file whole against its record and, when it
// matches, returns it open for reading from its start (through OpenFile: a
// sealed file is unsealed on both reads, and checked again at the end of
// the second).
func (f *Folder) OpenChecked(rec FileRecord) (io.ReadCloser, error) {
	file, size, err := f.OpenFile(rec.Name)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", rec.Name, err)
	}
	h := sha256.New()
	n, err := io.Copy(h, file)
	switch {
	case err != nil:
		err = fmt.Errorf("read %s: %w", rec.Name, err)
	case n != rec.Size || size != rec.Size:
		err = fmt.Errorf("%s has %d bytes, the manifest records %d: run `docker infrahubdb verify`", rec.Name, n, rec.Size)
	case hex.EncodeToString(h.Sum(nil)) != rec.SHA256:
		err = fmt.Errorf("%s does not match its SHA-256 in the manifest: the file changed since the backup; run `docker infrahubdb verify`", rec.Name)
	}
	if plain, ok := file.(*os.File); ok && err == nil {
		// The very file that was hashed, from its start.
		if _, err = plain.Seek(0, io.SeekStart); err == nil {
			return plain, nil
		}
	}
	file.Close()
	if err != nil {
		return nil, err
	}
	// A sealed file is unsealed again; its second read is checked at its
	// end against the record the first one matched.
	file, _, err = f.OpenFile(rec.Name)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", rec.Name, err)
	}
	return file, nil
}

// HasComponentRuns reports runs that hold more than the graph (the task
// manager, the storage): only then do restore and prune work by runs. A
// folder whose runs hold the graph alone is a folder of Neo4j backups, with
// chains as its unit.
func (m *Manifest) HasComponentRuns() bool {
	for _, r := range m.Runs {
		for _, c := range r.Components {
			if c != ComponentGraph {
				return true
			}
		}
	}
	return false
}
