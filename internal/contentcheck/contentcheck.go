// Package contentcheck is the one content check of a backup run's
// task-manager and storage files: restore's preflight runs it on the files
// it is about to restore, before anything stops, and verify runs it on every
// such file of the folder, so that verify fails on every file restore
// refuses, with the same message. It needs no Docker engine.
//
// A task-manager dump is read as pg_restore --list reads it (its header and
// whole table of contents, pgdump.ReadArchive), and every data block its
// table of contents announces must be whole in the file. A storage archive
// is read entry by entry (volumearchive.Check: paths and links stay inside
// the storage). A graph file is not read here: its chain is checked from the
// manifest, and neo4j-admin reads it (verify --check, restore's preflight).
package contentcheck

import (
	"fmt"
	"io"

	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/pgdump"
	"github.com/opsmill/docker-infrahubdb/internal/volumearchive"
)

// Kind is the kind of a problem this check finds (backupset.Problem.Kind).
const Kind = "content"

// Result is what the check read in one file.
type Result struct {
	File      string `json:"file"`
	Component string `json:"component"`
	// A task-manager dump: its archive version, the entries of its table
	// of contents (pg_restore --list shows one line per entry), the tables
	// it creates and the data blocks found whole.
	ArchiveVersion string `json:"archive_version,omitempty"`
	TOCEntries     int    `json:"toc_entries,omitempty"`
	Tables         int    `json:"tables,omitempty"`
	DataBlocks     int    `json:"data_blocks,omitempty"`
	// A storage archive: its files and their bytes.
	Files int   `json:"files,omitempty"`
	Bytes int64 `json:"bytes,omitempty"`
	// Warning: the file was checked less than fully (a dump of an archive
	// version newer than the plugin reads: its header only).
	Warning string `json:"warning,omitempty"`
}

// Summary is the result in a few words, for the text output.
func (r Result) Summary() string {
	switch r.Component {
	case backupset.ComponentTaskManager:
		if r.ArchiveVersion != "" && r.TOCEntries == 0 && r.Warning != "" {
			return fmt.Sprintf("pg_dump archive %s, header only", r.ArchiveVersion)
		}
		return fmt.Sprintf("pg_dump archive %s: %d TOC entries, %d table(s), %d data block(s) whole", r.ArchiveVersion, r.TOCEntries, r.Tables, r.DataBlocks)
	case backupset.ComponentStorage:
		return fmt.Sprintf("storage archive: %d file(s), %d bytes, every path inside the storage", r.Files, r.Bytes)
	}
	return ""
}

// Check reads the size bytes of a component file from r. component is
// backupset.ComponentTaskManager or ComponentStorage; any other component
// is not read here (nil error).
func Check(component string, r io.ReaderAt, size int64) (Result, error) {
	res := Result{Component: component}
	switch component {
	case backupset.ComponentTaskManager:
		a, err := pgdump.ReadArchive(r, size)
		if err != nil {
			return res, err
		}
		res.ArchiveVersion, res.Warning = a.Version, a.Warning
		res.TOCEntries, res.Tables, res.DataBlocks = len(a.Entries), a.Tables(), a.DataBlocks
	case backupset.ComponentStorage:
		st, err := volumearchive.Check(io.NewSectionReader(r, 0, size))
		if err != nil {
			return res, err
		}
		res.Files, res.Bytes = st.Files, st.Bytes
	}
	return res, nil
}

// CheckOpen checks an open component file of the folder of size bytes,
// from its start: at random where f is a file, forward only where it is
// read through a decryption (an unsealed staging folder), which the
// plugin's own dumps (written to a pipe: their blocks follow the table of
// contents in order) and archives allow.
func CheckOpen(f io.Reader, size int64, rec backupset.FileRecord) (Result, *backupset.Problem) {
	ra, ok := f.(io.ReaderAt)
	if !ok {
		ra = &forwardReaderAt{r: f}
	}
	res, err := Check(rec.Component, ra, size)
	res.File = rec.Name
	if err != nil {
		p := ProblemOf(rec.Name, err)
		return res, &p
	}
	return res, nil
}

// forwardReaderAt reads a stream at offsets that never go back.
type forwardReaderAt struct {
	r   io.Reader
	pos int64
}

func (f *forwardReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off < f.pos {
		return 0, fmt.Errorf("read at offset %d after %d: this file is decrypted as it is read and can only be read forward", off, f.pos)
	}
	if off > f.pos {
		n, err := io.CopyN(io.Discard, f.r, off-f.pos)
		f.pos += n
		if err != nil {
			return 0, err
		}
	}
	// A stream cut short stays an error (backupset.Fill), not the end.
	n, err := backupset.Fill(f.r, p)
	f.pos += int64(n)
	if err == nil || err == io.EOF && n == len(p) {
		return n, nil
	}
	return n, err
}

// CheckFile opens a component file of the folder (a regular file, without
// following a link; decrypted as it is read in an unsealed folder) and
// checks it. Its checksum is not checked here.
func CheckFile(folder *backupset.Folder, rec backupset.FileRecord) (Result, *backupset.Problem) {
	f, size, err := folder.OpenFile(rec.Name)
	if err != nil {
		return Result{File: rec.Name, Component: rec.Component}, &backupset.Problem{File: rec.Name, Kind: backupset.ProblemUnreadable, Detail: err.Error()}
	}
	defer f.Close()
	return CheckOpen(f, size, rec)
}

// ProblemOf is the problem a failed check reports, the same in verify and
// restore.
func ProblemOf(name string, err error) backupset.Problem {
	return backupset.Problem{File: name, Kind: Kind, Detail: "restore refuses it: " + err.Error()}
}

// Applies reports whether the check reads files of component.
func Applies(component string) bool {
	return component == backupset.ComponentTaskManager || component == backupset.ComponentStorage
}
