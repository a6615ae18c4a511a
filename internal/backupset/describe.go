package backupset

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
)

// Describe hashes a file already in the folder and returns its record
// (name, size, SHA-256, and database and time when the name is an
// artifact's), for adopting files this plugin did not write (verify --adopt).
func (f *Folder) Describe(name string) (FileRecord, error) {
	if err := checkBaseName(name); err != nil {
		return FileRecord{}, err
	}
	file, _, err := f.OpenFile(name)
	if err != nil {
		return FileRecord{}, err
	}
	defer file.Close()
	h := sha256.New()
	n, err := io.Copy(h, file)
	if err != nil {
		return FileRecord{}, fmt.Errorf("read %s: %w", f.Path(name), err)
	}
	rec := FileRecord{Name: name, Size: n, SHA256: hex.EncodeToString(h.Sum(nil)), Added: f.now().UTC()}
	if db, t, ok := ParseArtifactName(name); ok {
		rec.Database, rec.Time = db, t
	}
	return rec, nil
}
