package catalog

import "github.com/opsmill/docker-infrahubdb/internal/backupset"

// ContentProblems runs verify's content checks (contentcheck, restore's
// preflight) on the task-manager and storage files of m whose checksum
// matched (checked): backup --verify runs them on the files it just wrote,
// exactly as verify FOLDER does.
func ContentProblems(folder *backupset.Folder, m *backupset.Manifest, checked []string) []backupset.Problem {
	_, problems, _ := contentProblems(folder, m, checked)
	return problems
}

// ContentCheckOf says what the content check reads in a file of component; ""
// for a component whose files it does not read (the graph: its chain is
// checked from the manifest, its content by neo4j-admin with --check).
func ContentCheckOf(component string) string {
	switch component {
	case backupset.ComponentTaskManager:
		return "pg_dump custom-format archive: header, table of contents and every data block (as pg_restore --list reads it)"
	case backupset.ComponentStorage:
		return "storage archive entries (paths and links stay inside the storage)"
	}
	return ""
}
