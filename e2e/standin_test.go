package e2e

// Tests of the Neo4j stand-in itself, through real containers: each one is
// also true of the real neo4j:5.26-enterprise image (run them against it
// with INFRAHUBDB_E2E_NEO4J_IMAGE), except those that use the stand-in's
// fault knobs, which say so and skip there.

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/icmd"
	"gotest.tools/v3/poll"

	"github.com/opsmill/docker-infrahubdb/e2e/kit"
)

const (
	unauthorized         = "Neo.ClientError.Security.Unauthorized"
	databaseUnavailable  = "Neo.TransientError.General.DatabaseUnavailable"
	databaseNotFound     = "Neo.ClientError.Database.DatabaseNotFound"
	existingDatabase     = "Neo.ClientError.Database.ExistingDatabaseFound"
	syntaxError          = "Neo.ClientError.Statement.SyntaxError"
	unsupportedAdminCode = "Neo.ClientError.Statement.UnsupportedAdministrationCommand"
	// backupDir is where helpers keep backups.
	backupDir = "/backups"
	// neo4jUser is the uid:gid of the neo4j user in the image; restores run
	// as that user so the server can still write the files they create.
	neo4jUser = "7474:7474"
)

func TestStandinAuthenticates(t *testing.T) {
	t.Parallel()
	db := kit.StartDatabase(t, kit.Options{})
	ctx := context.Background()

	info, err := db.Driver(t).GetServerInfo(ctx)
	assert.NilError(t, err)
	assert.Check(t, strings.HasPrefix(info.Agent(), "Neo4j/"), "agent %q", info.Agent())

	rows := db.Run(t, "system", "CALL dbms.components()", nil)
	assert.Assert(t, is.Len(rows, 1))
	name, _ := rows[0].Get("name")
	edition, _ := rows[0].Get("edition")
	assert.Check(t, is.Equal(name, "Neo4j Kernel"))
	assert.Check(t, is.Equal(edition, "enterprise"))

	db.Seed(t, "neo4j", 3)
	assert.Check(t, is.Equal(db.Count(t, "neo4j"), int64(3)))
}

func TestStandinRefusesWrongPassword(t *testing.T) {
	t.Parallel()
	db := kit.StartDatabase(t, kit.Options{Password: "right-password"})
	ctx := context.Background()

	wrong, err := neo4j.NewDriverWithContext(db.BoltURL(t), neo4j.BasicAuth("neo4j", "wrong-password", ""))
	assert.NilError(t, err)
	defer wrong.Close(ctx)
	s := wrong.NewSession(ctx, neo4j.SessionConfig{DatabaseName: "neo4j"})
	defer s.Close(ctx)
	_, err = s.Run(ctx, "MATCH (n) RETURN count(n)", nil)
	assert.Check(t, is.Equal(kit.Code(err), unauthorized), "error: %v", err)

	// The right password still works after a failed login.
	assert.Check(t, is.Equal(db.Count(t, "neo4j"), int64(0)))
}

func TestStandinAuthNone(t *testing.T) {
	t.Parallel()
	db := kit.StartDatabase(t, kit.Options{Auth: "none"})
	db.Seed(t, "neo4j", 2)
	assert.Check(t, is.Equal(db.Count(t, "neo4j"), int64(2)))
}

func TestStandinRefusesBadStartupSettings(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		opts    kit.Options
		message string
	}{
		{
			name:    "licence not accepted",
			opts:    kit.Options{Env: []string{"NEO4J_ACCEPT_LICENSE_AGREEMENT=no"}},
			message: "NEO4J_ACCEPT_LICENSE_AGREEMENT=yes",
		},
		{
			name:    "password too short",
			opts:    kit.Options{Password: "short"},
			message: "The minimum password length is 8 characters.",
		},
		{
			// [S13b] the entrypoint's pattern has no '/' in the password.
			name:    "slash in password",
			opts:    kit.Options{Auth: "neo4j/pass/word-long"},
			message: "Invalid value for NEO4J_AUTH: 'neo4j/pass/word-long'",
		},
		{
			name:    "user other than neo4j",
			opts:    kit.Options{Auth: "admin/long-password"},
			message: "Invalid admin username, it must be neo4j.",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.opts.NoWait = true
			db := kit.StartDatabase(t, tc.opts)
			poll.WaitOn(t, func(poll.LogT) poll.Result {
				if db.Running(t) {
					return poll.Continue("container still running")
				}
				return poll.Success()
			}, poll.WithTimeout(2*time.Minute))
			assert.Check(t, is.Contains(db.Logs(), tc.message))
			assert.Check(t, db.Inspect(t, "{{.State.ExitCode}}") != "0", "exit code 0")
		})
	}
}

func TestStandinDatabaseLifecycle(t *testing.T) {
	t.Parallel()
	db := kit.StartDatabase(t, kit.Options{})
	db.Seed(t, "neo4j", 5)

	rows := db.Run(t, "system", "SHOW DATABASES", nil)
	assert.Assert(t, len(rows) >= 2)
	for _, col := range []string{"name", "type", "access", "address", "role", "requestedStatus",
		"currentStatus", "statusMessage", "default", "home"} {
		assert.Check(t, is.Contains(rows[0].Keys, col))
	}
	assert.Check(t, is.DeepEqual(db.Statuses(t), map[string]string{"system": "online", "neo4j": "online"}))
	def := db.Run(t, "system", "SHOW DATABASE neo4j", nil)
	assert.Assert(t, is.Len(def, 1))
	isDefault, _ := def[0].Get("default")
	assert.Check(t, is.Equal(isDefault, true))

	t.Log("a stopped database refuses queries and keeps its data")
	db.Run(t, "system", "STOP DATABASE neo4j WAIT", nil)
	assert.Check(t, is.Equal(db.Status(t, "neo4j"), "offline"))
	_, err := db.RunErr("neo4j", "MATCH (n) RETURN count(n)", nil)
	assert.Check(t, is.Equal(kit.Code(err), databaseUnavailable), "error: %v", err)
	db.Run(t, "system", "START DATABASE neo4j WAIT", nil)
	assert.Check(t, is.Equal(db.Status(t, "neo4j"), "online"))
	assert.Check(t, is.Equal(db.Count(t, "neo4j"), int64(5)))

	t.Log("create, create again, drop")
	db.Run(t, "system", "CREATE DATABASE `e2e-db` WAIT", nil)
	assert.Check(t, is.Equal(db.Status(t, "e2e-db"), "online"))
	assert.Check(t, is.Equal(db.Count(t, "e2e-db"), int64(0)))
	db.Seed(t, "e2e-db", 3)
	assert.Check(t, is.Equal(db.Count(t, "e2e-db"), int64(3)))
	assert.Check(t, is.Equal(db.Count(t, "neo4j"), int64(5)))
	db.Run(t, "system", "CREATE DATABASE `e2e-db` IF NOT EXISTS", nil)
	_, err = db.RunErr("system", "CREATE DATABASE `e2e-db`", nil)
	assert.Check(t, is.Equal(kit.Code(err), existingDatabase), "error: %v", err)
	db.Run(t, "system", "DROP DATABASE `e2e-db`", nil)
	assert.Check(t, is.Equal(db.Status(t, "e2e-db"), ""))
	db.Run(t, "system", "DROP DATABASE `e2e-db` IF EXISTS", nil)

	_, err = db.RunErr("e2e-db", "MATCH (n) RETURN count(n)", nil)
	assert.Check(t, is.Equal(kit.Code(err), databaseNotFound), "error: %v", err)
	_, err = db.RunErr("neo4j", "THIS IS NOT CYPHER", nil)
	assert.Check(t, is.Equal(kit.Code(err), syntaxError), "error: %v", err)
}

func TestStandinKeepsStateAcrossRestart(t *testing.T) {
	t.Parallel()
	db := kit.StartDatabase(t, kit.Options{})
	db.Seed(t, "neo4j", 7)
	db.Run(t, "system", "CREATE DATABASE kept WAIT", nil)
	db.Seed(t, "kept", 2)
	db.Run(t, "system", "STOP DATABASE kept WAIT", nil)

	db.Stop(t)
	db.Start(t)

	assert.Check(t, is.Equal(db.Count(t, "neo4j"), int64(7)))
	assert.Check(t, is.Equal(db.Status(t, "kept"), "offline"), "a stopped database stays stopped")
	db.Run(t, "system", "START DATABASE kept WAIT", nil)
	assert.Check(t, is.Equal(db.Count(t, "kept"), int64(2)))
}

// newHelper starts a helper container next to db, like the plugin's, with
// an empty backup folder at backupDir.
func newHelper(t *testing.T, db *kit.Database, mountData bool) *kit.Container {
	t.Helper()
	h := kit.Helper(t, db, mountData)
	h.MustExec(t, "sh", "-c", "mkdir -p "+backupDir+" && chmod 777 "+backupDir)
	return h
}

// backup runs neo4j-admin database backup in helper against db's backup port.
func backup(t *testing.T, h *kit.Container, db *kit.Database, args ...string) *icmd.Result {
	t.Helper()
	cmd := append([]string{"neo4j-admin", "database", "backup", "--from=" + db.IP(t) + ":6362", "--to-path=" + backupDir}, args...)
	return h.Exec(cmd...)
}

// backups lists the backup artifacts of database name in the helper.
func backups(t *testing.T, h *kit.Container, name string) []string {
	t.Helper()
	var out []string
	pattern := regexp.MustCompile(`^` + regexp.QuoteMeta(name) + `-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}\.backup$`)
	for _, f := range strings.Fields(h.MustExec(t, "ls", backupDir)) {
		if pattern.MatchString(f) {
			out = append(out, f)
		}
	}
	return out
}

// restore is the old tool's restore of database name from one artifact:
// stop, neo4j-admin restore in a helper that mounts the data volume, create
// if missing, start.
func restore(t *testing.T, db *kit.Database, h *kit.Container, name, artifact string) {
	t.Helper()
	db.Run(t, "system", "STOP DATABASE `"+name+"` WAIT", nil)
	h.ExecAs(neo4jUser, "neo4j-admin", "database", "restore", "--from-path="+backupDir+"/"+artifact,
		"--overwrite-destination=true", name).Assert(t, icmd.Success)
	db.Run(t, "system", "CREATE DATABASE `"+name+"` IF NOT EXISTS", nil)
	db.Run(t, "system", "START DATABASE `"+name+"` WAIT", nil)
	db.WaitStatus(t, name, "online")
}

func TestStandinBackupRestoreRoundTrip(t *testing.T) {
	t.Parallel()
	db := kit.StartDatabase(t, kit.Options{})
	db.Seed(t, "neo4j", 10)
	h := newHelper(t, db, true)

	backup(t, h, db, "neo4j").Assert(t, icmd.Success)
	files := backups(t, h, "neo4j")
	assert.Assert(t, is.Len(files, 1))
	h.Exec("neo4j-admin", "database", "check", "--from-path="+backupDir, "neo4j").Assert(t, icmd.Success)

	db.Seed(t, "neo4j", 5)
	assert.Assert(t, is.Equal(db.Count(t, "neo4j"), int64(15)))

	t.Log("restore refuses a running database")
	res := h.ExecAs(neo4jUser, "neo4j-admin", "database", "restore", "--from-path="+backupDir+"/"+files[0],
		"--overwrite-destination=true", "neo4j")
	assert.Check(t, res.ExitCode != 0, "restore of a running database succeeded: %s", res.Combined())
	assert.Check(t, is.Contains(res.Combined(), "The database is in use. Stop database 'neo4j' and try again."))
	assert.Check(t, is.Equal(db.Count(t, "neo4j"), int64(15)))

	restore(t, db, h, "neo4j", files[0])
	assert.Check(t, is.Equal(db.Count(t, "neo4j"), int64(10)))
	if !kit.RealNeo4j() {
		script := h.MustExec(t, "cat", "/data/scripts/neo4j/restore_metadata.cypher")
		assert.Check(t, is.Contains(script, "$database"))
	}
	// The restored database takes writes again.
	db.Seed(t, "neo4j", 1)
	assert.Check(t, is.Equal(db.Count(t, "neo4j"), int64(11)))
}

func TestStandinDifferentialChainAndAggregation(t *testing.T) {
	t.Parallel()
	db := kit.StartDatabase(t, kit.Options{})
	h := newHelper(t, db, true)

	t.Log("a full backup, then two differential ones after more writes")
	for _, n := range []int{10, 5, 3} {
		db.Seed(t, "neo4j", n)
		backup(t, h, db, "neo4j").Assert(t, icmd.Success)
		time.Sleep(time.Second) // artifact names have a one-second resolution
	}
	chain := backups(t, h, "neo4j")
	assert.Assert(t, is.Len(chain, 3), "after three backups: %v", chain)
	if !kit.RealNeo4j() { // the real tool's JSON keys are not documented
		assertChain(t, h.MustExec(t, "neo4j-admin", "backup", "inspect", "--show-metadata", "--format=JSON", backupDir))
	}

	t.Log("the newest artifact restores the whole chain")
	restore(t, db, h, "neo4j", chain[2])
	assert.Check(t, is.Equal(db.Count(t, "neo4j"), int64(18)))

	t.Log("aggregation folds the chain into one artifact that restores alone")
	h.Exec("neo4j-admin", "database", "aggregate-backup", "--from-path="+backupDir, "neo4j").Assert(t, icmd.Success)
	aggregated := backups(t, h, "neo4j")
	assert.Assert(t, is.Len(aggregated, 1), "after aggregation: %v", aggregated)
	h.Exec("neo4j-admin", "database", "check", "--from-path="+backupDir, "neo4j").Assert(t, icmd.Success)

	db.Run(t, "neo4j", "MATCH (n) DETACH DELETE n", nil)
	assert.Assert(t, is.Equal(db.Count(t, "neo4j"), int64(0)))
	restore(t, db, h, "neo4j", aggregated[0])
	assert.Check(t, is.Equal(db.Count(t, "neo4j"), int64(18)))
}

// assertChain checks `backup inspect --format=JSON` output: one full backup
// followed by differential ones, each starting where the previous ended.
func assertChain(t *testing.T, inspect string) {
	t.Helper()
	// The stand-in's keys are the table's column headers, every value a
	// string (undocumented; see standin/cmd/neo4j-admin/inspect.go).
	var rows []map[string]string
	assert.NilError(t, json.Unmarshal([]byte(inspect), &rows), inspect)
	sort.Slice(rows, func(i, j int) bool { return rows[i]["FILE"] < rows[j]["FILE"] })
	assert.Assert(t, is.Len(rows, 3), inspect)
	num := func(s string) int64 { n, _ := strconv.ParseInt(s, 10, 64); return n }
	for i, r := range rows {
		assert.Check(t, is.Equal(r["FULL"], strconv.FormatBool(i == 0)), "artifact %d: %s", i, inspect)
		if i > 0 {
			assert.Check(t, is.Equal(num(r["LOWEST TX"]), num(rows[i-1]["HIGHEST TX"])+1), "artifact %d: %s", i, inspect)
		}
	}
}

func TestStandinBacksUpEveryDatabase(t *testing.T) {
	t.Parallel()
	db := kit.StartDatabase(t, kit.Options{})
	db.Run(t, "system", "CREATE DATABASE `other-db` WAIT", nil)
	h := newHelper(t, db, false)

	backup(t, h, db, "*").Assert(t, icmd.Success)
	for _, name := range []string{"neo4j", "system", "other-db"} {
		assert.Check(t, is.Len(backups(t, h, name), 1), "backups of %s", name)
	}
}

func TestStandinCheckCatchesCorruption(t *testing.T) {
	t.Parallel()
	kit.RequireStandIn(t, "it corrupts an artifact with a fault knob")
	db := kit.StartDatabase(t, kit.Options{})
	db.Seed(t, "neo4j", 4)
	h := newHelper(t, db, false)

	db.SetFaults(t, `{"fail": {"corrupt": 1}}`)
	backup(t, h, db, "neo4j").Assert(t, icmd.Success)
	assert.Assert(t, is.Len(backups(t, h, "neo4j"), 1))

	res := h.Exec("neo4j-admin", "database", "check", "--from-path="+backupDir, "neo4j")
	assert.Check(t, res.ExitCode != 0, "check passed a corrupted artifact: %s", res.Combined())
}

func TestStandinBackupPortDefaultsToLoopback(t *testing.T) {
	t.Parallel()
	db := kit.StartDatabase(t, kit.Options{BackupListen: kit.Unset})
	db.Seed(t, "neo4j", 2)
	h := newHelper(t, db, false)

	res := backup(t, h, db, "neo4j")
	assert.Check(t, res.ExitCode != 0, "backup through %s:6362 succeeded: %s", db.IP(t), res.Combined())
	assert.Check(t, is.Len(backups(t, h, "neo4j"), 0))

	t.Log("from inside the database container, 127.0.0.1:6362 answers")
	db.Exec("neo4j-admin", "database", "backup", "--from=127.0.0.1:6362", "--to-path=/logs", "neo4j").
		Assert(t, icmd.Success)
}

func TestStandinCommunityEdition(t *testing.T) {
	t.Parallel()
	db := kit.StartDatabase(t, kit.Options{Community: true})
	db.Seed(t, "neo4j", 3)
	assert.Check(t, is.Equal(db.Count(t, "neo4j"), int64(3)))
	assert.Check(t, is.Equal(db.Status(t, "neo4j"), "online"))

	rows := db.Run(t, "system", "CALL dbms.components()", nil)
	assert.Assert(t, is.Len(rows, 1))
	edition, _ := rows[0].Get("edition")
	assert.Check(t, is.Equal(edition, "community"))

	for _, stmt := range []string{"STOP DATABASE neo4j", "CREATE DATABASE other"} {
		_, err := db.RunErr("system", stmt, nil)
		assert.Check(t, is.Equal(kit.Code(err), unsupportedAdminCode), "%s: %v", stmt, err)
	}

	h := newHelper(t, db, false)
	res := backup(t, h, db, "neo4j")
	assert.Check(t, res.ExitCode != 0, "community backup succeeded: %s", res.Combined())
	assert.Check(t, is.Contains(res.Combined(), "Unmatched argument"))
}

func TestStandinCypherShell(t *testing.T) {
	t.Parallel()
	db := kit.StartDatabase(t, kit.Options{Password: "cypher-shell-pw"})
	db.Seed(t, "neo4j", 3)

	res := db.Exec("cypher-shell", "-u", "neo4j", "-p", "cypher-shell-pw", "-d", "neo4j", "MATCH (n) RETURN count(n)")
	res.Assert(t, icmd.Success)
	assert.Check(t, is.DeepEqual(strings.Fields(res.Stdout()), []string{"count(n)", "3"}))

	t.Log("statements from stdin, credentials from the environment, a parameter")
	res = db.ExecInput("UNWIND range(1, $n) AS i CREATE (:L {i: i});\n",
		"env", "NEO4J_USERNAME=neo4j", "NEO4J_PASSWORD=cypher-shell-pw",
		"cypher-shell", "-a", "bolt://127.0.0.1:7687", "--param", "n => 4")
	res.Assert(t, icmd.Success)
	assert.Check(t, is.Equal(db.Count(t, "neo4j"), int64(7)))

	res = db.Exec("cypher-shell", "-u", "neo4j", "-p", "wrong-password", "MATCH (n) RETURN count(n)")
	assert.Check(t, res.ExitCode != 0, "wrong password accepted: %s", res.Combined())
	assert.Check(t, is.Contains(strings.ToLower(res.Stderr()), "unauthorized"))
}

func TestStandinFaultKnobs(t *testing.T) {
	t.Parallel()
	kit.RequireStandIn(t, "it tests the stand-in's fault knobs")
	db := kit.StartDatabase(t, kit.Options{})
	db.Seed(t, "neo4j", 6)
	h := newHelper(t, db, true)
	backup(t, h, db, "neo4j").Assert(t, icmd.Success)
	artifact := backups(t, h, "neo4j")[0]

	t.Log("START fails once, then works")
	db.Run(t, "system", "STOP DATABASE neo4j WAIT", nil)
	db.SetFaults(t, `{"fail": {"start": 1}}`)
	_, err := db.RunErr("system", "START DATABASE neo4j WAIT", nil)
	assert.Check(t, err != nil, "START with a start fault succeeded")
	db.Run(t, "system", "START DATABASE neo4j WAIT", nil)
	db.WaitStatus(t, "neo4j", "online")

	t.Log("restore fails once, then works")
	db.Seed(t, "neo4j", 1)
	db.Run(t, "system", "STOP DATABASE neo4j WAIT", nil)
	db.SetFaults(t, `{"fail": {"restore": 1}}`)
	res := h.ExecAs(neo4jUser, "neo4j-admin", "database", "restore", "--from-path="+backupDir+"/"+artifact,
		"--overwrite-destination=true", "neo4j")
	assert.Check(t, res.ExitCode != 0, "restore with a restore fault succeeded: %s", res.Combined())
	restore(t, db, h, "neo4j", artifact)
	assert.Check(t, is.Equal(db.Count(t, "neo4j"), int64(6)))
}

// Per-release behaviours and what the stand-in no longer hides
// (../shared/research/NEO4J.md §4, §5); true of the real images too.

// imageVersion is the release in the image tag (…:<version>-enterprise).
func imageVersion(t *testing.T) string {
	ref := kit.Image(t)
	tag := ref[strings.LastIndex(ref, ":")+1:]
	return strings.TrimSuffix(strings.TrimSuffix(tag, "-enterprise"), "-community")
}

func TestStandinReportsItsRelease(t *testing.T) {
	t.Parallel()
	v := imageVersion(t)
	db := kit.StartDatabase(t, kit.Options{})
	info, err := db.Driver(t).GetServerInfo(context.Background())
	assert.NilError(t, err)
	assert.Check(t, is.Equal(info.Agent(), "Neo4j/"+v))
	rows := db.Run(t, "system", "CALL dbms.components()", nil)
	versions, _ := rows[0].Get("versions")
	assert.Check(t, is.DeepEqual(versions, []any{v}))
	h := newHelper(t, db, false)
	assert.Check(t, is.Equal(strings.TrimSpace(h.MustExec(t, "neo4j-admin", "--version")), v))

	// [S5b] backup aggregate exists from 2025.01; the old name is deprecated there.
	res := h.Exec("neo4j-admin", "backup", "aggregate", "--help")
	calver := !strings.HasPrefix(v, "5.")
	assert.Check(t, is.Equal(res.ExitCode == 0, calver), res.Combined())
}

func TestStandinInfrahubPasswordWithShorterMinimum(t *testing.T) {
	t.Parallel()
	// Infrahub's compose: NEO4J_AUTH=neo4j/admin with a minimum of 4 [S16b].
	db := kit.StartDatabase(t, kit.Options{Password: "admin",
		Env: []string{"NEO4J_dbms_security_auth__minimum__password__length=4"}})
	assert.Check(t, is.Equal(db.Count(t, "neo4j"), int64(0)))
	// The server wrote the variable into neo4j.conf, which neo4j-admin reads.
	conf := db.MustExec(t, "cat", "/var/lib/neo4j/conf/neo4j.conf")
	assert.Check(t, is.Contains(conf, "dbms.security.auth_minimum_password_length=4"))
}

func TestStandinRestoreTempDirIsInTheBackupFolder(t *testing.T) {
	t.Parallel()
	db := kit.StartDatabase(t, kit.Options{})
	db.Seed(t, "neo4j", 3)
	h := kit.Helper(t, db, true)
	h.MustExec(t, "mkdir", "-p", backupDir) // root-owned 0755: neo4j cannot write there
	backup(t, h, db, "neo4j").Assert(t, icmd.Success)
	files := backups(t, h, "neo4j")
	assert.Assert(t, is.Len(files, 1))

	// [S3] 5.24+: without --temp-path the temp dir is inside --from-path's folder.
	res := h.ExecAs(neo4jUser, "neo4j-admin", "database", "restore", "--from-path="+backupDir+"/"+files[0], "copy")
	assert.Check(t, res.ExitCode != 0, res.Combined())
	assert.Check(t, is.Contains(res.Combined(), "AccessDeniedException"))

	h.MustExec(t, "sh", "-c", "mkdir -p /tmp/restore && chown 7474:7474 /tmp/restore")
	h.ExecAs(neo4jUser, "neo4j-admin", "database", "restore", "--from-path="+backupDir+"/"+files[0],
		"--temp-path=/tmp/restore", "copy").Assert(t, icmd.Success)
	assert.Check(t, is.Equal(strings.TrimSpace(h.MustExec(t, "ls", "-A", "/tmp/restore")), ""), "temp dir removed")
}

func TestStandinEmptyBackupsAreHiddenByInspect(t *testing.T) {
	t.Parallel()
	db := kit.StartDatabase(t, kit.Options{})
	db.Seed(t, "neo4j", 3)
	h := newHelper(t, db, false)
	backup(t, h, db, "neo4j").Assert(t, icmd.Success)
	time.Sleep(time.Second)
	backup(t, h, db, "neo4j").Assert(t, icmd.Success) // nothing new: an empty differential
	assert.Assert(t, is.Len(backups(t, h, "neo4j"), 2))
	plain := h.MustExec(t, "neo4j-admin", "backup", "inspect", "--show-metadata", backupDir)
	assert.Check(t, is.Len(strings.Split(strings.TrimSpace(plain), "\n"), 2), plain)
	all := h.MustExec(t, "neo4j-admin", "backup", "inspect", "--show-metadata", "--empty", backupDir)
	lines := strings.Split(strings.TrimSpace(all), "\n")
	assert.Assert(t, is.Len(lines, 3), all)
	assert.Check(t, is.Contains(lines[1], "| false |       true |         0 |          0 |"), all)
}

func TestStandinDataOwnershipFollowsTheEntrypoint(t *testing.T) {
	t.Parallel()
	kit.RequireStandIn(t, "it bind-mounts a host folder")
	if os.Geteuid() != 0 {
		t.Skip("needs a root-owned host folder")
	}
	dir := t.TempDir()
	assert.NilError(t, os.Chmod(dir, 0o777))
	name := kit.UniqueName(t, "e2e-owner")
	kit.MustDocker(t, "run", "-d", "--name", name, "--label", kit.RunLabel+"="+kit.RunID,
		"-e", "NEO4J_ACCEPT_LICENSE_AGREEMENT=yes", "-e", "NEO4J_AUTH=neo4j/long-password",
		"-v", dir+":/data", kit.Image(t))
	t.Cleanup(func() { kit.Docker("rm", "-f", "-v", name) })
	poll.WaitOn(t, func(poll.LogT) poll.Result {
		if strings.Contains(kit.Docker("logs", name).Combined(), "Started.") {
			return poll.Success()
		}
		return poll.Continue("not started")
	}, poll.WithTimeout(time.Minute))
	// [S13b] /data is writable by neo4j (0777): it stays root's; what the
	// server creates in it is neo4j's.
	st, err := os.Stat(dir)
	assert.NilError(t, err)
	assert.Check(t, is.Equal(ownerOf(st), 0))
	db, err := os.Stat(filepath.Join(dir, "databases"))
	assert.NilError(t, err)
	assert.Check(t, is.Equal(ownerOf(db), 7474))
}

func TestStandinCommunityDumpAndLoad(t *testing.T) {
	t.Parallel()
	db := kit.StartDatabase(t, kit.Options{Community: true})
	db.Seed(t, "neo4j", 5)
	h := newHelper(t, db, true)

	t.Log("Community: the whole DBMS must be offline to dump [S18]")
	res := h.Exec("neo4j-admin", "database", "dump", "--to-path="+backupDir, "neo4j")
	assert.Check(t, res.ExitCode != 0, res.Combined())
	assert.Check(t, is.Contains(res.Combined(), "The database is in use. Stop database 'neo4j' and try again."))

	t.Log("docker stop: a clean shutdown; dump needs no server, works as root")
	db.Stop(t)
	assert.Check(t, is.Contains(db.Logs(), "Stopped."))
	assert.Check(t, is.Equal(db.Inspect(t, "{{.State.ExitCode}}"), "0"))
	h.MustExec(t, "neo4j-admin", "database", "dump", "--to-path="+backupDir, "neo4j")
	assert.Check(t, is.Contains(h.MustExec(t, "ls", backupDir), "neo4j.dump"))
	info := h.MustExec(t, "neo4j-admin", "database", "load", "--info", "--from-path="+backupDir, "neo4j")
	assert.Check(t, is.Contains(info, "Format: Neo4j ZSTD Dump."))

	db.Start(t)
	db.Seed(t, "neo4j", 10)
	db.Stop(t)
	h.ExecAs(neo4jUser, "neo4j-admin", "database", "load", "--from-path="+backupDir, "--overwrite-destination", "neo4j").Assert(t, icmd.Success)
	db.Start(t)
	assert.Check(t, is.Equal(db.Count(t, "neo4j"), int64(5)))

	t.Log("after SIGKILL the store needs recovery: dump refuses until a clean start and stop")
	kit.MustDocker(t, "kill", db.ID)
	res = h.Exec("neo4j-admin", "database", "dump", "--overwrite-destination", "--to-path="+backupDir, "neo4j")
	assert.Check(t, res.ExitCode != 0, res.Combined())
	assert.Check(t, is.Contains(res.Combined(), "Active logical log detected"))
	db.Start(t)
	db.Stop(t)
	h.MustExec(t, "neo4j-admin", "database", "dump", "--overwrite-destination", "--to-path="+backupDir, "neo4j")
}

func TestStandinEnterpriseDumpNeedsOnlyTheDatabaseStopped(t *testing.T) {
	t.Parallel()
	db := kit.StartDatabase(t, kit.Options{})
	db.Seed(t, "neo4j", 2)
	h := newHelper(t, db, true)
	res := h.Exec("neo4j-admin", "database", "dump", "--to-path="+backupDir, "neo4j")
	assert.Check(t, is.Contains(res.Combined(), "The database is in use. Stop database 'neo4j' and try again."))
	db.Run(t, "system", "STOP DATABASE neo4j WAIT", nil)
	h.MustExec(t, "neo4j-admin", "database", "dump", "--to-path="+backupDir, "neo4j")
	db.Run(t, "system", "START DATABASE neo4j WAIT", nil)
}

func ownerOf(fi os.FileInfo) int {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int(st.Uid)
	}
	return -1
}
