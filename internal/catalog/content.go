package catalog

import (
	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/contentcheck"
)

// ProblemContent: a file matches its checksum but restore refuses what it
// holds (a storage archive with an unsafe entry, a task-manager dump that
// is not a whole pg_dump custom-format archive). The check and its message
// are restore's own (contentcheck).
const ProblemContent = contentcheck.Kind

// contentProblems runs restore's content check (contentcheck) on every
// task-manager and storage file of the manifest whose checksum matched
// (checked): what it read, the problems, and the warnings of files checked
// less than fully.
func contentProblems(folder *backupset.Folder, m *backupset.Manifest, checked []string) (results []contentcheck.Result, problems, warnings []backupset.Problem) {
	ok := map[string]bool{}
	for _, n := range checked {
		ok[n] = true
	}
	for _, rec := range m.Files {
		if !ok[rec.Name] || !contentcheck.Applies(rec.Component) {
			continue
		}
		res, p := contentcheck.CheckFile(folder, rec)
		if p != nil {
			problems = append(problems, *p)
			continue
		}
		results = append(results, res)
		if res.Warning != "" {
			warnings = append(warnings, backupset.Problem{File: rec.Name, Kind: ProblemContent, Detail: res.Warning})
		}
	}
	return results, problems, warnings
}
