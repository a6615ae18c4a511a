package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/opsmill/docker-infrahubdb/e2e/standin/artifact"
	"github.com/opsmill/docker-infrahubdb/e2e/standin/store"
)

// chain makes a full backup, a differential and an empty backup of neo4j.
func (f *fixture) chain() {
	f.seed("neo4j", 2)
	assert.Equal(f.t, f.admin("database", "backup", "--from="+f.addr, "--to-path="+f.backup, "neo4j").code, 0)
	f.seed("neo4j", 3)
	assert.Equal(f.t, f.admin("database", "backup", "--from="+f.addr, "--to-path="+f.backup, "neo4j").code, 0)
	assert.Equal(f.t, f.admin("database", "backup", "--from="+f.addr, "--to-path="+f.backup, "neo4j").code, 0)
}

func TestInspectPerRelease(t *testing.T) {
	for _, tc := range []struct {
		version   string
		recovered bool // RECOVERED column
		always    bool // metadata without --show-metadata
	}{{"5.26.0", false, false}, {"2025.06.0", true, false}, {"2025.10.1", true, true}} {
		t.Run(tc.version, func(t *testing.T) {
			f := newFixture(t)
			f.version = tc.version
			f.chain()
			r := f.admin("backup", "inspect", "--show-metadata", "--empty", "--format=JSON", f.backup)
			assert.Equal(t, r.code, 0, r.stderr)
			var rows []map[string]any
			assert.NilError(t, json.Unmarshal([]byte(r.stdout), &rows))
			assert.Assert(t, is.Len(rows, 3))
			for _, v := range rows[0] {
				_, isString := v.(string)
				assert.Check(t, isString, "every value is a string: %v", rows[0])
			}
			// newest first: the empty backup, FULL false, TX 0-0
			assert.Check(t, is.Equal(rows[0]["FULL"], "false"))
			assert.Check(t, is.Equal(rows[0]["LOWEST TX"], "0"))
			assert.Check(t, is.Equal(rows[0]["HIGHEST TX"], "0"))
			assert.Check(t, strings.HasPrefix(rows[0]["FILE"].(string), "file:///"))
			_, has := rows[0]["RECOVERED"]
			assert.Check(t, is.Equal(has, tc.recovered))
			if tc.recovered {
				assert.Check(t, is.Equal(rows[2]["RECOVERED"], "true"), "a 2025 full backup is recovered")
				assert.Check(t, is.Equal(rows[1]["RECOVERED"], "false"))
			}
			if tc.version == "2025.10.1" {
				assert.Check(t, is.Contains(r.stderr, "--show-metadata is deprecated and ignored"))
			}

			r = f.admin("backup", "inspect", f.backup)
			lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
			assert.Assert(t, is.Len(lines, 3), "the empty backup is hidden without --empty")
			if tc.always {
				want := "| DATABASE |                          DATABASE ID |          TIME (UTC) |  FULL | COMPRESSED | LOWEST TX | HIGHEST TX | RECOVERED |"
				assert.Check(t, strings.HasSuffix(lines[0], want), "%q", lines[0])
			} else {
				assert.Check(t, !strings.Contains(lines[0], "DATABASE"), "%q", lines[0])
			}
		})
	}
}

func TestAggregatePerRelease(t *testing.T) {
	f := newFixture(t)
	f.version = "2025.10.1"
	f.chain()
	newest := f.newest("neo4j")
	r := f.admin("database", "aggregate-backup", "--from-path="+f.backup, "neo4j")
	assert.Equal(t, r.code, 0, r.stdout+r.stderr)
	assert.Check(t, is.Contains(r.stderr, "deprecated"))
	// 2025.09+: "a new, recovered backup alongside the existing one" (the
	// manual), then the old chain goes (no --keep-old-backup).
	arts := f.artifacts()
	assert.Assert(t, is.Len(arts, 1), "%v", arts)
	assert.Check(t, arts[0] != filepath.Base(newest), "a new file, not the newest's name")
	assert.Check(t, is.Contains(r.stdout, "new artifact: '"+filepath.Join(f.backup, arts[0])+"'"))
	rows := f.inspect(f.backup)
	assert.Check(t, rows[0].b("FULL") && rows[0].b("RECOVERED") && rows[0].n("HIGHEST TX") == 2)
	left, _ := filepath.Glob(filepath.Join(f.backup, ".*"))
	assert.Check(t, is.Len(left, 0), "the temp dir is removed: %v", left)

	r = f.admin("backup", "aggregate", "--from-path="+f.backup, "--temp-path="+filepath.Join(f.backup, "nope"))
	assert.Check(t, is.Equal(r.code, exitFailed))
	assert.Check(t, is.Contains(r.stderr, "Temp path"))
}

func TestCheckRefusals(t *testing.T) {
	for _, v := range []string{"5.26.0", "2025.10.1"} {
		t.Run(v, func(t *testing.T) {
			f := newFixture(t)
			f.version = v
			f.seed("neo4j", 2)
			assert.Equal(t, f.admin("database", "backup", "--from="+f.addr, "--to-path="+f.backup, "neo4j").code, 0)
			full := f.newest("neo4j")
			f.seed("neo4j", 1)
			assert.Equal(t, f.admin("database", "backup", "--from="+f.addr, "--to-path="+f.backup, "neo4j").code, 0)
			diff := f.newest("neo4j")

			r := f.admin("database", "check", "--from-path="+f.backup, "neo4j")
			assert.Check(t, is.Equal(r.code, exitFailed))
			assert.Check(t, is.Contains(r.stderr, "Multiple archives match"))

			only := t.TempDir()
			assert.NilError(t, os.Rename(diff, filepath.Join(only, filepath.Base(diff))))
			report := t.TempDir()
			r = f.admin("database", "check", "--from-path="+only, "--report-path="+report, "neo4j")
			assert.Check(t, is.Equal(r.code, exitFailed))
			assert.Check(t, is.Contains(r.stderr, "Consistency check is not supported for differential backups"))
			assert.Check(t, !strings.Contains(r.stderr, "Inconsistencies found"))
			reports, _ := filepath.Glob(filepath.Join(report, "*"))
			assert.Check(t, is.Len(reports, 0), "no report for a refusal")

			// A full backup taken with --skip-recovery (2025.11) is unrecovered;
			// 5.26 full backups are unrecovered too but 5.26 checks them.
			r = f.admin("database", "check", "--from-path="+f.backup, "neo4j")
			assert.Check(t, is.Equal(r.code, 0), r.stderr)
			_ = full
		})
	}
	f := newFixture(t)
	f.version = "2025.11.0"
	f.seed("neo4j", 1)
	assert.Equal(t, f.admin("database", "backup", "--skip-recovery", "--from="+f.addr, "--to-path="+f.backup, "neo4j").code, 0)
	r := f.admin("database", "check", "--from-path="+f.backup, "neo4j")
	assert.Check(t, is.Equal(r.code, exitFailed))
	assert.Check(t, is.Contains(r.stderr, "Consistency check is not supported for unrecovered full backups"))
	assert.Equal(t, f.admin("backup", "aggregate", "--from-path="+f.backup, "neo4j").code, 0)
	r = f.admin("database", "check", "--from-path="+f.newest("neo4j"), "neo4j") // a file: 2025.09+
	assert.Check(t, is.Equal(r.code, 0), r.stderr)
}

func TestRestoreFolderAndTempPath(t *testing.T) {
	f := newFixture(t)
	f.seed("neo4j", 2)
	assert.Equal(t, f.admin("database", "backup", "--from="+f.addr, "--to-path="+f.backup, "neo4j").code, 0)
	r := f.admin("database", "restore", "--from-path="+f.backup, "copy")
	assert.Check(t, is.Equal(r.code, exitFailed), "5.26 takes artifact files only")
	f.version = "2025.10.1"
	r = f.admin("database", "restore", "--from-path="+f.backup, "copy")
	assert.Check(t, is.Equal(r.code, 0), r.stdout+r.stderr)
	tmp := t.TempDir()
	r = f.admin("database", "restore", "--from-path="+f.newest("neo4j"), "--temp-path="+tmp, "--overwrite-destination", "copy")
	assert.Check(t, is.Equal(r.code, 0), r.stdout+r.stderr)
	left, _ := os.ReadDir(tmp)
	assert.Check(t, is.Len(left, 0))
	hidden, _ := filepath.Glob(filepath.Join(f.backup, ".*"))
	assert.Check(t, is.Len(hidden, 0))
	assert.Check(t, is.Equal(f.count("copy"), int64(2)))
}

func TestDumpAndLoad(t *testing.T) {
	f := newFixture(t)
	f.seed("neo4j", 7)
	dumps := t.TempDir()
	unlock := f.lock("neo4j")
	r := f.admin("database", "dump", "--to-path="+dumps, "neo4j")
	assert.Check(t, is.Equal(r.code, exitFailed))
	assert.Check(t, is.Contains(r.stderr, "The database is in use. Stop database 'neo4j' and try again."))
	unlock()

	f.st.MarkActive("neo4j") // as after a SIGKILL
	r = f.admin("database", "dump", "--to-path="+dumps, "neo4j")
	assert.Check(t, is.Contains(r.stderr, "Active logical log detected"))
	f.st.MarkClean("neo4j")

	r = f.admin("database", "dump", "--to-path="+filepath.Join(dumps, "nope"), "neo4j")
	assert.Check(t, is.Contains(r.stderr, "is not an existing directory"))
	r = f.admin("database", "dump", "--to-path="+dumps, "neo4j")
	assert.Equal(t, r.code, 0, r.stderr)
	assert.Check(t, is.Contains(r.stderr, "Done: "))
	_, err := os.Stat(filepath.Join(dumps, "neo4j.dump"))
	assert.NilError(t, err)
	r = f.admin("database", "dump", "--to-path="+dumps, "neo4j")
	assert.Check(t, is.Contains(r.stderr, "Archive already exists"))

	r = f.admin("database", "load", "--from-path="+dumps, "--info", "neo4j")
	assert.Equal(t, r.code, 0, r.stderr)
	assert.Check(t, is.Contains(r.stdout, "Format: Neo4j ZSTD Dump."))

	f.seed("neo4j", 100)
	r = f.admin("database", "load", "--from-path="+dumps, "neo4j")
	assert.Check(t, is.Contains(r.stderr, "already exists"))
	r = f.admin("database", "load", "--from-path="+dumps, "--overwrite-destination", "neo4j")
	assert.Equal(t, r.code, 0, r.stderr)
	assert.Check(t, is.Equal(f.count("neo4j"), int64(7)))

	// Community: block format refused; full backups load, differentials not.
	assert.NilError(t, f.st.SetFormat("neo4j", "block"))
	assert.Equal(t, f.admin("database", "dump", "--to-path="+dumps, "--overwrite-destination", "neo4j").code, 0)
	community := []string{"NEO4J_CONF=" + f.conf, "NEO4J_EDITION=community"}
	r = f.adminEnv(community, "database", "load", "--from-path="+dumps, "--overwrite-destination", "neo4j")
	assert.Check(t, is.Contains(r.stderr, "Block format detected for database neo4j but unavailable in this edition."))
	assert.NilError(t, f.st.SetFormat("neo4j", "aligned"))

	assert.Equal(t, f.admin("database", "backup", "--from="+f.addr, "--to-path="+f.backup, "neo4j").code, 0)
	r = f.adminEnv(community, "database", "load", "--from-path="+f.backup, "--overwrite-destination", "neo4j")
	assert.Equal(t, r.code, 0, r.stderr)
	f.seed("neo4j", 1)
	assert.Equal(t, f.admin("database", "backup", "--from="+f.addr, "--to-path="+f.backup, "neo4j").code, 0)
	r = f.adminEnv(community, "database", "load", "--from-path="+f.backup, "--overwrite-destination", "neo4j")
	assert.Check(t, is.Contains(r.stderr, "Multiple archives match"))
	only := t.TempDir()
	diff := f.newest("neo4j")
	assert.NilError(t, os.Rename(diff, filepath.Join(only, filepath.Base(diff))))
	r = f.adminEnv(community, "database", "load", "--from-path="+only, "--overwrite-destination", "neo4j")
	assert.Check(t, is.Contains(r.stderr, "Loading of differential Neo4j backup is not supported. Use restore database instead."))
	r = f.adminEnv(community, "database", "load", "--from-path="+t.TempDir(), "neo4j")
	assert.Check(t, is.Contains(r.stderr, "No matching archives found"))

	// Community: the whole DBMS must be down.
	dbms, err := store.Lock(f.st.DBMSLockPath())
	assert.NilError(t, err)
	r = f.adminEnv(community, "database", "dump", "--to-path="+dumps, "--overwrite-destination", "neo4j")
	assert.Check(t, is.Contains(r.stderr, "The database is in use."))
	store.Unlock(dbms)
}

func TestConfigurationComesFromTheConfFile(t *testing.T) {
	f := newFixture(t)
	other := t.TempDir()
	// NEO4J_* settings in the environment are ignored by neo4j-admin [S8].
	r := f.adminEnv([]string{"NEO4J_CONF=" + f.conf, "NEO4J_server_directories_data=" + other}, "database", "dump", "--to-path="+t.TempDir(), "neo4j")
	assert.Equal(t, r.code, 0, r.stderr)
}

// [S3] §5.8: an online backup of a newer release is refused by restore,
// as load refuses a newer dump, and nothing is written.
func TestRestoreRefusesANewerReleasesBackup(t *testing.T) {
	f := newFixture(t)
	f.seed("neo4j", 2)
	assert.Equal(t, f.admin("database", "backup", "--from="+f.addr, "--to-path="+f.backup, "neo4j").code, 0)
	// As written by a server of a later release than this neo4j-admin.
	h, txs, err := artifact.ReadRaw(f.newest("neo4j"))
	assert.NilError(t, err)
	h.Neo4jVersion = "2026.01.0"
	_, err = artifact.WriteRawFile(f.newest("neo4j"), h, txs, false)
	assert.NilError(t, err)
	f.version = "2025.10.1"
	r := f.admin("database", "restore", "--from-path="+f.newest("neo4j"), "copy")
	assert.Check(t, is.Equal(r.code, exitFailed))
	assert.Check(t, is.Contains(r.stdout+r.stderr, "The loaded database is of a newer version than the current binaries. Downgrade is not supported."))
	_, err = os.Stat(f.st.DatabaseDir("copy"))
	assert.Check(t, os.IsNotExist(err), "nothing written: %v", err)
}
