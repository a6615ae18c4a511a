package backupset

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/opsmill/docker-infrahubdb/internal/exitcode"
)

// ManifestVersion is the manifest format this package writes and reads.
const ManifestVersion = 1

// Backup types recorded in the manifest. An empty Type means unknown: the
// file was made by neo4j-admin or the old tool, not by this plugin.
const (
	TypeFull = "full"
	TypeDiff = "diff"
	// TypeDump is an offline dump (neo4j-admin database dump): a complete
	// chain of its own, restored with neo4j-admin database load.
	TypeDump = "dump"
)

// Manifest records what this plugin wrote to the folder, so verify can prove
// that the files are intact and restore can tell full from differential.
type Manifest struct {
	Version int          `json:"version"`
	Tool    string       `json:"tool"` // "docker-infrahubdb <version>"
	Updated time.Time    `json:"updated"`
	Files   []FileRecord `json:"files"`
	// Runs groups files into backup runs (see RunRecord); manifests written
	// before runs existed have none, and their files no RunID.
	Runs []RunRecord `json:"runs,omitempty"`
}

// FileRecord describes one file of the folder.
type FileRecord struct {
	Name            string    `json:"name"`
	Database        string    `json:"database,omitempty"`
	Type            string    `json:"type,omitempty"` // TypeFull, TypeDiff, TypeDump or "" (unknown)
	Time            time.Time `json:"time"`           // backup time, from the name
	Size            int64     `json:"size"`
	SHA256          string    `json:"sha256"`
	Neo4jVersion    string    `json:"neo4j_version,omitempty"`
	SourceContainer string    `json:"source_container,omitempty"`
	SourceImage     string    `json:"source_image,omitempty"`
	Edition         string    `json:"edition,omitempty"` // Neo4j edition of the source: "community", "enterprise"
	FromTx          int64     `json:"from_tx,omitempty"` // 0 when unknown
	ToTx            int64     `json:"to_tx,omitempty"`
	// Empty marks an empty differential backup: neo4j-admin writes one when
	// the database had no new transaction; it holds no data to restore.
	Empty bool      `json:"empty,omitempty"`
	Added time.Time `json:"added"`
	// RunID, Component and Captured place the file in a backup run (see
	// RunRecord); empty for files written before runs existed (graph).
	RunID     string    `json:"run_id,omitempty"`
	Component string    `json:"component,omitempty"`
	Captured  time.Time `json:"captured,omitzero"`
	// Figures are counts of what the artifact holds, recorded when the
	// capture was consistent ("rows:<table>" of the task manager): a drill
	// checks the restored data against them.
	Figures map[string]int64 `json:"figures,omitempty"`
	// RootID is the uuid of Infrahub's Root node in the graph artifact (its
	// deployment identity), recorded with Figures.
	RootID string `json:"root_id,omitempty"`
	// FiguresNotRecorded says why a graph artifact has no Figures when the
	// backup tried to record them (an online backup whose graph was written
	// while it ran, transaction ids Neo4j did not report, no login): a
	// drill says it instead of comparing.
	FiguresNotRecorded string `json:"figures_not_recorded,omitempty"`
}

// ErrMalformedManifest is wrapped by ReadManifest's error for a manifest that
// cannot be used.
var ErrMalformedManifest = exitcode.New(exitcode.Environment, "malformed manifest")

// ErrNewerManifest is wrapped by ReadManifest's error for a manifest written
// by a newer version of the plugin, in a format this one does not know.
var ErrNewerManifest = exitcode.New(exitcode.Environment, "manifest written by a newer docker-infrahubdb")

// ReadManifest reads the folder's manifest. A missing manifest is an empty
// one (a folder made by neo4j-admin or the old tool has none).
func (f *Folder) ReadManifest() (*Manifest, error) {
	path := f.Path(ManifestName)
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return &Manifest{Version: ManifestVersion}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read manifest: %w", err)
	}
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, malformed(path, err.Error())
	}
	if m.Version > ManifestVersion {
		return nil, &newerManifestError{fmt.Errorf("manifest %s has version %d, written by a newer docker-infrahubdb (%s); upgrade the plugin", path, m.Version, m.Tool)}
	}
	if m.Version < 1 {
		return nil, malformed(path, "no version")
	}
	seen := map[string]bool{}
	for i, r := range m.Files {
		switch {
		case checkBaseName(r.Name) != nil:
			return nil, malformed(path, fmt.Sprintf("file %d has an invalid name %q", i, r.Name))
		case seen[r.Name]:
			return nil, malformed(path, fmt.Sprintf("%s is listed twice", r.Name))
		case r.Size < 0 || !isSHA256(r.SHA256):
			return nil, malformed(path, fmt.Sprintf("%s has an invalid size or sha256", r.Name))
		case r.Type != "" && r.Type != TypeFull && r.Type != TypeDiff && r.Type != TypeDump:
			return nil, malformed(path, fmt.Sprintf("%s has unknown type %q", r.Name, r.Type))
		}
		seen[r.Name] = true
	}
	return &m, nil
}

// newerManifestError keeps ReadManifest's message and matches ErrNewerManifest.
type newerManifestError struct{ error }

func (e *newerManifestError) Is(target error) bool { return target == ErrNewerManifest }

func malformed(path, why string) error {
	return fmt.Errorf("%w %s: %s; move it away and run `docker infrahubdb verify --adopt` to rebuild it from the files", ErrMalformedManifest, path, why)
}

func isSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	return strings.Trim(s, "0123456789abcdef") == ""
}

// WriteManifest replaces the manifest atomically (temporary file, fsync,
// rename, fsync of the folder), with files sorted by database, time and name
// so that the output is stable. It sets Version and Updated.
func (f *Folder) WriteManifest(m *Manifest) error {
	m.Version = ManifestVersion
	m.Updated = f.now().UTC().Truncate(time.Second)
	sortRecords(m.Files)
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	data = append(data, '\n')
	return f.writeAtomic(ManifestName, data)
}

// PutBackManifest writes m as it was read, its Updated time included, when
// it says the same as the manifest now in the folder with one run removed:
// a run that died before it wrote anything leaves the manifest byte for
// byte as it found it. It reports whether it wrote.
func (f *Folder) PutBackManifest(m, now *Manifest) (bool, error) {
	a, b := *m, *now
	b.Updated, b.Version = a.Updated, a.Version
	sortRecords(b.Files)
	ja, err := json.Marshal(&a)
	if err != nil {
		return false, err
	}
	jb, err := json.Marshal(&b)
	if err != nil || string(ja) != string(jb) {
		return false, err
	}
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return false, err
	}
	return true, f.writeAtomic(ManifestName, append(data, '\n'))
}

func sortRecords(recs []FileRecord) {
	slices.SortFunc(recs, func(a, b FileRecord) int {
		if c := strings.Compare(a.Database, b.Database); c != 0 {
			return c
		}
		if c := a.Time.Compare(b.Time); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
}

// writeAtomic replaces name with data. The temporary file is "<name>.partial"
// (a crash leaves it where list shows it, never a torn manifest).
func (f *Folder) writeAtomic(name string, data []byte) error {
	tmp := f.Path(name + PartialExt)
	file, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return diskFull(tmp, err)
	}
	_, err = file.Write(data)
	if err == nil {
		err = file.Sync()
	}
	if cerr := file.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, f.Path(name))
	}
	if err != nil {
		os.Remove(tmp)
		return diskFull(tmp, fmt.Errorf("write %s: %w", f.Path(name), err))
	}
	return f.syncDir()
}

// Upsert adds records, replacing those with the same name.
func (m *Manifest) Upsert(recs ...FileRecord) {
	for _, r := range recs {
		r.Time, r.Added = r.Time.UTC(), r.Added.UTC()
		if i := m.index(r.Name); i >= 0 {
			m.Files[i] = r
		} else {
			m.Files = append(m.Files, r)
		}
	}
}

// Remove drops the records of the named files.
func (m *Manifest) Remove(names ...string) {
	m.Files = slices.DeleteFunc(m.Files, func(r FileRecord) bool { return slices.Contains(names, r.Name) })
}

// Lookup returns the record of the named file.
func (m *Manifest) Lookup(name string) (FileRecord, bool) {
	if i := m.index(name); i >= 0 {
		return m.Files[i], true
	}
	return FileRecord{}, false
}

func (m *Manifest) index(name string) int {
	return slices.IndexFunc(m.Files, func(r FileRecord) bool { return r.Name == name })
}
