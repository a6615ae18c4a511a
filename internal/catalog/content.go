package catalog

import (
	"errors"
	"fmt"
	"io"

	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/pgdump"
	"github.com/opsmill/docker-infrahubdb/internal/volumearchive"
)

// ProblemContent: a file matches its checksum but restore would refuse what
// it holds (a storage archive with an unsafe entry, a task-manager dump that
// is not a pg_dump archive).
const ProblemContent = "content"

// CheckContent runs on a task-manager or storage file the checks the
// restore preflight runs before anything stops, without Docker: the
// custom-format header of a pg_dump (pgdump.CheckHeader) and every entry of
// a storage archive (volumearchive.Check: paths and links stay inside the
// storage). A graph file is not read here: its chain is checked from the
// manifest, and neo4j-admin reads it with --check.
//
// pg_restore --list would read the dump's whole table of contents, but needs
// an image with PostgreSQL's client tools and a container: verify stays
// engine-free and proves exactly what restore's preflight proves.
func CheckContent(component string, r io.Reader) error {
	switch component {
	case backupset.ComponentTaskManager:
		head := make([]byte, 5)
		if _, err := io.ReadFull(r, head); err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
				return errors.New("not a pg_dump custom-format archive (shorter than its header)")
			}
			return err
		}
		return pgdump.CheckHeader(head)
	case backupset.ComponentStorage:
		_, err := volumearchive.Check(r)
		return err
	}
	return nil
}

// contentProblems runs CheckContent on every task-manager and storage file
// of the manifest whose checksum matched (checked).
func contentProblems(folder *backupset.Folder, m *backupset.Manifest, checked []string) []backupset.Problem {
	ok := map[string]bool{}
	for _, n := range checked {
		ok[n] = true
	}
	var problems []backupset.Problem
	for _, rec := range m.Files {
		if !ok[rec.Name] || (rec.Component != backupset.ComponentTaskManager && rec.Component != backupset.ComponentStorage) {
			continue
		}
		if err := checkFileContent(folder, rec.Name, rec.Component); err != nil {
			problems = append(problems, backupset.Problem{File: rec.Name, Kind: ProblemContent, Detail: "restore would refuse it: " + err.Error()})
		}
	}
	return problems
}

func checkFileContent(folder *backupset.Folder, name, component string) error {
	f, _, err := folder.OpenFile(name)
	if err != nil {
		return fmt.Errorf("open %s: %w", name, err)
	}
	defer f.Close()
	return CheckContent(component, f)
}
