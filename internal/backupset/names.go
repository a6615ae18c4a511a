package backupset

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// File names inside a backup folder.
const (
	ArtifactExt  = ".backup"
	DumpExt      = ".dump" // offline dumps (neo4j-admin database dump), see DumpName
	PartialExt   = ".partial"
	ManifestName = "infrahubdb-manifest.json"
	LockName     = "infrahubdb.lock"
	safetyPrefix = "safety-"
)

// timeLayout is the timestamp neo4j-admin 5 puts in artifact names.
const timeLayout = "2006-01-02T15-04-05"

// ParseArtifactName parses "<database>-YYYY-MM-DDTHH-MM-SS[-N].backup", the
// names neo4j-admin 5 gives backup artifacts, and the plugin's dump names
// "<database>-YYYY-MM-DDTHH-MM-SS.dump" (see DumpName). The timestamp is taken from the
// end because database names may contain '-' and '.'. Times are UTC.
func ParseArtifactName(name string) (db string, t time.Time, ok bool) {
	db, t, _, ok = parseArtifactName(name)
	return db, t, ok
}

// parseArtifactName also returns the suffix neo4j-admin appends when two
// artifacts of one database fall in the same second (0 when absent), so those
// can be ordered.
func parseArtifactName(name string) (db string, t time.Time, seq int, ok bool) {
	stem, found := strings.CutSuffix(name, ArtifactExt)
	if !found {
		stem, found = strings.CutSuffix(name, DumpExt)
	}
	if !found || strings.ContainsAny(name, `/\`) {
		return "", time.Time{}, 0, false
	}
	if db, t, ok := splitTimestamp(stem); ok {
		return db, t, 0, true
	}
	// A "-N" suffix after the timestamp.
	i := strings.LastIndexByte(stem, '-')
	if i < 0 {
		return "", time.Time{}, 0, false
	}
	n, err := strconv.Atoi(stem[i+1:])
	if err != nil || n < 0 || stem[i+1] == '+' {
		return "", time.Time{}, 0, false
	}
	db, t, ok = splitTimestamp(stem[:i])
	return db, t, n, ok
}

func splitTimestamp(stem string) (string, time.Time, bool) {
	n := len(timeLayout)
	if len(stem) < n+2 || stem[len(stem)-n-1] != '-' {
		return "", time.Time{}, false
	}
	t, err := time.Parse(timeLayout, stem[len(stem)-n:])
	if err != nil {
		return "", time.Time{}, false
	}
	return stem[:len(stem)-n-1], t, true
}

// ArtifactName is the name neo4j-admin would give a backup of db taken at t.
func ArtifactName(db string, t time.Time) string {
	return db + "-" + t.UTC().Format(timeLayout) + ArtifactExt
}

// DumpName is the name a dump of db taken at t gets in the folder.
// neo4j-admin itself writes "<database>.dump" [S18][S20a]: the plugin adds
// the time so dumps accumulate in one folder like backups do.
func DumpName(db string, t time.Time) string {
	return db + "-" + t.UTC().Format(timeLayout) + DumpExt
}

// IsDump reports whether name is a dump (by its extension).
func IsDump(name string) bool { return strings.HasSuffix(name, DumpExt) }

// SafetyDirName names the sub-folder where restore keeps the backup it takes
// of the current database before overwriting it.
func SafetyDirName(t time.Time) string {
	return safetyPrefix + t.UTC().Format(timeLayout)
}

// IsSafetyDirName reports whether name was made by SafetyDirName.
func IsSafetyDirName(name string) bool {
	rest, ok := strings.CutPrefix(name, safetyPrefix)
	if !ok {
		return false
	}
	_, err := time.Parse(timeLayout, rest)
	return err == nil
}

// checkBaseName rejects names that are not a plain file name in the folder.
func checkBaseName(name string) error {
	switch {
	case name == "" || name == "." || name == "..":
		return fmt.Errorf("invalid file name %q", name)
	case strings.ContainsAny(name, "/\\\x00"):
		return fmt.Errorf("invalid file name %q: must not contain a path separator", name)
	}
	return nil
}
