package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/opsmill/docker-infrahubdb/e2e/standin/artifact"
	"github.com/opsmill/docker-infrahubdb/e2e/standin/backupport"
	"github.com/opsmill/docker-infrahubdb/e2e/standin/faults"
	"github.com/opsmill/docker-infrahubdb/e2e/standin/store"
)

// backupPort serves the backup port with the real server (package
// backupport). Database listing ("*"), which the server may not answer
// yet, is answered here from the registry as the protocol describes.
func backupPort(t *testing.T, st *store.Store) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	assert.NilError(t, err)
	t.Cleanup(func() { l.Close() })
	srv := &backupport.Server{Store: st}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				r := bufio.NewReader(c)
				line, _ := r.Peek(16)
				if !bytes.HasPrefix(line, []byte(`{"database":"*"`)) {
					srv.ServeConn(&peekedConn{Conn: c, r: r})
					return
				}
				defer c.Close()
				dbs, _ := st.Databases()
				names := []string{}
				for _, d := range dbs {
					names = append(names, d.Name)
				}
				json.NewEncoder(c).Encode(names)
			}()
		}
	}()
	return l.Addr().String()
}

// peekedConn reads through the buffered reader that peeked at the request.
type peekedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *peekedConn) Read(b []byte) (int, error) { return c.r.Read(b) }

type fixture struct {
	t       *testing.T
	version string // the release neo4j-admin behaves like ("" = default)
	conf    string // NEO4J_CONF: a neo4j.conf pointing at data
	data    string
	st      *store.Store
	addr    string
	backup  string
	clock   time.Time
}

func newFixture(t *testing.T) *fixture {
	f := &fixture{t: t, data: t.TempDir(), backup: t.TempDir(), clock: time.Date(2024, 10, 7, 16, 0, 0, 0, time.UTC)}
	var err error
	f.st, err = store.Open(f.data)
	assert.NilError(t, err)
	f.conf = t.TempDir()
	assert.NilError(t, os.WriteFile(filepath.Join(f.conf, "neo4j.conf"), []byte("server.directories.data="+f.data+"\n"), 0o644))
	for _, db := range []string{"neo4j", "system"} {
		f.createDB(db)
	}
	f.addr = backupPort(t, f.st)
	return f
}

func (f *fixture) createDB(db string) {
	assert.NilError(f.t, f.st.EnsureStore(db))
	assert.NilError(f.t, f.st.UpdateDatabase(db, func(d *store.DatabaseInfo) bool {
		d.RequestedStatus, d.CurrentStatus = "online", "online"
		return true
	}))
}

func (f *fixture) setStatus(db, status string) {
	assert.NilError(f.t, f.st.UpdateDatabase(db, func(d *store.DatabaseInfo) bool {
		d.RequestedStatus, d.CurrentStatus = status, status
		return true
	}))
}

func (f *fixture) seed(db string, n int) {
	_, err := f.st.Append(db, []store.Op{{Kind: "create", Labels: []string{"L"}, Count: n}})
	assert.NilError(f.t, err)
}

func (f *fixture) count(db string) int64 {
	total, _, err := f.st.Counts(db)
	assert.NilError(f.t, err)
	return total
}

type result struct {
	code           int
	stdout, stderr string
}

// admin runs neo4j-admin in-process; every run is 1 second after the last
// so artifact names differ like they do for real runs.
func (f *fixture) admin(args ...string) result {
	return f.adminEnv([]string{"NEO4J_CONF=" + f.conf, "NEO4J_EDITION=enterprise"}, args...)
}

func (f *fixture) adminEnv(environ []string, args ...string) result {
	var out, errb bytes.Buffer
	e := newEnv(environ, &out, &errb)
	if f.version != "" {
		e.version = f.version
	}
	f.clock = f.clock.Add(time.Second)
	now := f.clock
	e.now = func() time.Time { return now }
	code := run(args, e)
	return result{code: code, stdout: out.String(), stderr: errb.String()}
}

func (f *fixture) artifacts() []string {
	m, _ := filepath.Glob(filepath.Join(f.backup, "*.backup"))
	for i := range m {
		m[i] = filepath.Base(m[i])
	}
	return m
}

func (f *fixture) inspect(args ...string) []inspectRow {
	r := f.admin(append([]string{"backup", "inspect", "--format=JSON", "--show-metadata"}, args...)...)
	assert.Equal(f.t, r.code, 0, r.stderr)
	var rows []inspectRow
	assert.NilError(f.t, json.Unmarshal([]byte(r.stdout), &rows))
	return rows
}

func (r inspectRow) b(col string) bool { return r[col] == "true" }

func (r inspectRow) n(col string) int64 {
	v, _ := strconv.ParseInt(r[col], 10, 64)
	return v
}

// lock holds db's database lock like a server with db online does.
func (f *fixture) lock(db string) func() {
	l, err := store.Lock(f.st.DatabaseLockPath(db))
	assert.NilError(f.t, err)
	return func() { store.Unlock(l) }
}

// newest is the newest artifact of db in the backup folder.
func (f *fixture) newest(db string) string {
	infos, err := artifact.List(f.backup)
	assert.NilError(f.t, err)
	newest := ""
	for _, in := range infos {
		if in.Database == db {
			newest = in.Path
		}
	}
	assert.Assert(f.t, newest != "", "no artifact of %s", db)
	return newest
}

func TestBackupChainAggregateRestore(t *testing.T) {
	f := newFixture(t)
	f.seed("neo4j", 10)

	r := f.admin("database", "backup", "--from="+f.addr, "--to-path="+f.backup, "*")
	assert.Equal(t, r.code, 0, r.stdout+r.stderr)
	assert.Check(t, is.Contains(r.stdout, "INFO  [c.n.b.b.BackupOutputMonitor] [neo4j] Doing full backup..."))
	assert.Check(t, is.Contains(r.stdout, "Finished artifact creation 'neo4j-"))
	assert.Check(t, is.Len(f.artifacts(), 2), "one artifact each for neo4j and system")

	f.seed("neo4j", 5)
	r = f.admin("database", "backup", "--from="+f.addr, "--to-path="+f.backup, "neo4j")
	assert.Equal(t, r.code, 0, r.stdout+r.stderr)
	assert.Check(t, is.Contains(r.stdout, "Doing differential backup from transaction 2..."))
	rows := f.inspect(f.backup, "--database=neo4j")
	assert.Assert(t, is.Len(rows, 2))
	assert.Check(t, !rows[0].b("FULL") && rows[0].n("LOWEST TX") == 2 && rows[0].n("HIGHEST TX") == 2, "%+v", rows[0])
	assert.Check(t, rows[1].b("FULL") && rows[1].n("LOWEST TX") == 1 && rows[1].n("HIGHEST TX") == 1)

	// Nothing new: an empty differential backup records the history, hidden unless --empty.
	r = f.admin("database", "backup", "--from="+f.addr, "--to-path="+f.backup, "neo4j")
	assert.Equal(t, r.code, 0, r.stdout+r.stderr)
	assert.Check(t, is.Len(f.inspect(f.backup, "--database=neo4j"), 2))
	assert.Check(t, is.Len(f.inspect(f.backup, "--database=neo4j", "--empty"), 3))

	r = f.admin("database", "aggregate-backup", "--from-path="+f.backup, "neo4j")
	assert.Equal(t, r.code, 0, r.stdout+r.stderr)
	rows = f.inspect(f.backup, "--database=neo4j", "--empty")
	assert.Assert(t, is.Len(rows, 1), "the old chain is removed")
	assert.Check(t, rows[0].b("FULL") && rows[0].n("HIGHEST TX") == 2)

	// Restore over a stopped database: the server's database lock says
	// whether it is in use.
	f.seed("neo4j", 100)
	unlock := f.lock("neo4j")
	r = f.admin("database", "restore", "--from-path="+f.newest("neo4j"), "--overwrite-destination=true", "neo4j")
	assert.Equal(t, r.code, 1)
	assert.Check(t, is.Contains(r.stderr, "The database is in use. Stop database 'neo4j' and try again."))
	unlock()

	f.setStatus("neo4j", "offline")
	r = f.admin("database", "restore", "--from-path="+f.newest("neo4j"), "neo4j")
	assert.Equal(t, r.code, 1)
	assert.Check(t, is.Contains(r.stderr, "already exists"))

	file := filepath.Join(f.backup, f.artifacts()[0])
	if !strings.HasPrefix(f.artifacts()[0], "neo4j-") {
		file = filepath.Join(f.backup, f.artifacts()[1])
	}
	r = f.admin("database", "restore", "--from-path="+file, "--overwrite-destination", "neo4j")
	assert.Equal(t, r.code, 0, r.stdout+r.stderr)
	assert.Check(t, is.Contains(r.stdout, "successful"))
	assert.Check(t, is.Equal(f.count("neo4j"), int64(15)))
	script, err := os.ReadFile(f.st.ScriptPath("neo4j"))
	assert.NilError(t, err)
	assert.Check(t, is.Contains(string(script), "GRANT ACCESS ON DATABASE $database TO `admin`;"))
	assert.Check(t, is.Contains(r.stdout, "You need to execute "+f.st.ScriptPath("neo4j")))
}

func TestBackupWithKeepOldBackupAndNewAlias(t *testing.T) {
	f := newFixture(t)
	// [S5b] `backup aggregate` exists from 2025.01 only.
	r := f.admin("backup", "aggregate", "--from-path="+f.backup, "neo4j")
	assert.Check(t, is.Equal(r.code, exitUsage))
	assert.Check(t, is.Contains(r.stderr, "Unmatched arguments from index 1: 'aggregate'"))
	f.version = "2025.10.1"
	f.seed("neo4j", 1)
	assert.Equal(t, f.admin("database", "backup", "--from="+f.addr, "--to-path="+f.backup, "--type=FULL", "neo4j").code, 0)
	f.seed("neo4j", 1)
	assert.Equal(t, f.admin("database", "backup", "--from="+f.addr, "--to-path="+f.backup, "--compress=false", "neo4j").code, 0)
	r = f.admin("backup", "aggregate", "--from-path="+f.backup, "--keep-old-backup", "neo4j")
	assert.Equal(t, r.code, 0, r.stdout+r.stderr)
	assert.Check(t, is.Equal(r.stderr, ""))
	assert.Check(t, is.Len(f.artifacts(), 3))
	rows := f.inspect(f.backup, "--latest-backup")
	assert.Assert(t, is.Len(rows, 1))
	assert.Check(t, rows[0].b("FULL") && rows[0].n("HIGHEST TX") == 2 && !rows[0].b("COMPRESSED"))
}

func TestDiffNeedsAChainAndFollowsStoreChanges(t *testing.T) {
	f := newFixture(t)
	r := f.admin("database", "backup", "--from="+f.addr, "--to-path="+f.backup, "--type=DIFF", "neo4j")
	assert.Equal(t, r.code, 1)
	assert.Check(t, is.Contains(r.stdout, "a differential backup needs a previous backup"))

	assert.Equal(t, f.admin("database", "backup", "--from="+f.addr, "--to-path="+f.backup, "neo4j").code, 0)
	// The database is recreated: AUTO takes a new full backup.
	assert.NilError(t, f.st.ReplaceStore("neo4j", nil, store.NewStoreID()))
	f.seed("neo4j", 3)
	r = f.admin("database", "backup", "--from="+f.addr, "--to-path="+f.backup, "neo4j")
	assert.Equal(t, r.code, 0, r.stdout+r.stderr)
	rows := f.inspect(f.backup)
	assert.Assert(t, is.Len(rows, 2))
	assert.Check(t, rows[0].b("FULL") && rows[1].b("FULL"))
	assert.Check(t, rows[0]["DATABASE ID"] != rows[1]["DATABASE ID"])
}

func TestBackupFailures(t *testing.T) {
	f := newFixture(t)
	f.setStatus("neo4j", "offline")
	r := f.admin("database", "backup", "--from="+f.addr, "--to-path="+f.backup, "neo4j", "missing", "system")
	assert.Equal(t, r.code, 1)
	assert.Check(t, is.Contains(r.stdout, "Database 'neo4j' is unavailable."))
	assert.Check(t, is.Contains(r.stdout, "Database 'missing' not found."))
	assert.Check(t, is.Contains(r.stderr, "neo4j, missing"))
	assert.Check(t, is.Len(f.artifacts(), 1), "system is still backed up")

	l, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := l.Addr().String()
	l.Close()
	r = f.admin("database", "backup", "--from="+closed, "--to-path="+f.backup, "system")
	assert.Equal(t, r.code, 1)
	assert.Check(t, is.Contains(r.stdout, "unable to connect to "+closed))

	// Servers are tried in order.
	r = f.admin("database", "backup", "--from="+closed+","+f.addr, "--to-path="+f.backup, "system")
	assert.Equal(t, r.code, 0, r.stdout+r.stderr)

	r = f.admin("database", "backup", "--from="+f.addr, "--to-path="+filepath.Join(f.backup, "nope"), "system")
	assert.Equal(t, r.code, 1)
	assert.Check(t, is.Contains(r.stderr, "does not exist"))
}

func TestCorruptArtifactIsCaught(t *testing.T) {
	f := newFixture(t)
	f.seed("neo4j", 4)
	assert.NilError(t, os.WriteFile(filepath.Join(f.data, faults.File), []byte(`{"fail":{"corrupt":1}}`), 0o644))
	assert.Equal(t, f.admin("database", "backup", "--from="+f.addr, "--to-path="+f.backup, "neo4j").code, 0)

	report := t.TempDir()
	r := f.admin("database", "check", "--from-path="+f.backup, "--report-path="+report, "neo4j")
	assert.Equal(t, r.code, 1)
	assert.Check(t, is.Contains(r.stderr, "Inconsistencies found: 1. See '"+report+"/inconsistencies-"))
	reports, _ := filepath.Glob(filepath.Join(report, "inconsistencies-*.report"))
	assert.Assert(t, is.Len(reports, 1))
	b, _ := os.ReadFile(reports[0])
	assert.Check(t, is.Contains(string(b), "checksum mismatch"))

	// backup inspect reads headers only [S6]: it does not notice.
	r = f.admin("backup", "inspect", "--format=JSON", "--show-metadata", f.backup)
	assert.Equal(t, r.code, 0, r.stderr)

	r = f.admin("database", "restore", "--from-path="+f.newest("neo4j"), "neo4j2")
	assert.Equal(t, r.code, 1)
	assert.Check(t, is.Contains(r.stderr, "checksum mismatch"))

	// The next backup is good again.
	f.backup = t.TempDir()
	assert.Equal(t, f.admin("database", "backup", "--type=FULL", "--from="+f.addr, "--to-path="+f.backup, "neo4j").code, 0)
	r = f.admin("database", "check", "--from-path="+f.backup, "--report-path="+report, "neo4j")
	assert.Equal(t, r.code, 0, r.stdout+r.stderr)
	assert.Check(t, is.Contains(r.stdout, ".................... 100%"))
}

func TestRestoreFaultLeavesTornLog(t *testing.T) {
	f := newFixture(t)
	f.seed("neo4j", 1)
	f.seed("neo4j", 1)
	assert.Equal(t, f.admin("database", "backup", "--from="+f.addr, "--to-path="+f.backup, "neo4j").code, 0)
	assert.NilError(t, os.WriteFile(filepath.Join(f.data, faults.File), []byte(`{"fail":{"restore":1}}`), 0o644))

	r := f.admin("database", "restore", "--from-path="+f.newest("neo4j"), "copy")
	assert.Equal(t, r.code, 1)
	assert.Check(t, is.Contains(r.stdout, "failed"))
	b, err := os.ReadFile(f.st.LogPath("copy"))
	assert.NilError(t, err)
	assert.Check(t, strings.HasSuffix(string(b), `{"tx":`), "torn log: %q", b)

	r = f.admin("database", "restore", "--from-path="+f.newest("neo4j"), "--overwrite-destination=true", "copy")
	assert.Equal(t, r.code, 0, r.stdout+r.stderr)
	assert.Check(t, is.Equal(f.count("copy"), int64(2)))
}

func TestRestoreUntil(t *testing.T) {
	f := newFixture(t)
	for i := 0; i < 5; i++ {
		f.seed("neo4j", 1)
	}
	assert.Equal(t, f.admin("database", "backup", "--from="+f.addr, "--to-path="+f.backup, "neo4j").code, 0)
	r := f.admin("database", "restore", "--from-path="+f.newest("neo4j"), "--restore-until=4", "older")
	assert.Equal(t, r.code, 0, r.stdout+r.stderr)
	assert.Check(t, is.Equal(f.count("older"), int64(3)))

	r = f.admin("database", "restore", "--from-path="+f.newest("neo4j"), "--restore-until=yesterday", "older")
	assert.Equal(t, r.code, exitUsage)
}

func TestCommandLine(t *testing.T) {
	f := newFixture(t)
	r := f.admin("--version")
	assert.Check(t, is.Equal(r.stdout, "5.26.0\n"))

	r = f.admin("database", "backup", "--to-path="+f.backup, "--bogus", "neo4j")
	assert.Check(t, is.Equal(r.code, exitUsage))
	assert.Check(t, is.Contains(r.stderr, "Unknown option: '--bogus'"))

	r = f.admin("database", "backup", "neo4j")
	assert.Check(t, is.Equal(r.code, exitUsage))
	assert.Check(t, is.Contains(r.stderr, "Missing required option: '--to-path=<path>'"))

	r = f.admin("database", "backup", "--type=weekly", "--to-path=/x")
	assert.Check(t, is.Equal(r.code, exitUsage))

	r = f.admin("database", "restore", "--help")
	assert.Check(t, is.Equal(r.code, 0))
	assert.Check(t, is.Contains(r.stdout, "--overwrite-destination"))

	r = f.admin("server", "start")
	assert.Check(t, is.Equal(r.code, exitFailed))
	assert.Check(t, is.Contains(r.stderr, "not supported by the Neo4j stand-in"))

	r = f.admin("database", "frobnicate")
	assert.Check(t, is.Equal(r.code, exitUsage))
	assert.Check(t, is.Contains(r.stderr, "Unmatched argument at index 1: 'frobnicate'"))
}

func TestCommunityHasNoBackup(t *testing.T) {
	f := newFixture(t)
	community := []string{"NEO4J_CONF=" + f.conf, "NEO4J_EDITION=community"}
	r := f.adminEnv(community, "database", "backup", "--to-path="+f.backup, "*")
	assert.Check(t, is.Equal(r.code, exitUsage))
	assert.Check(t, is.Contains(r.stderr, "Unmatched arguments from index 1: 'backup', '--to-path="))
	r = f.adminEnv(community, "backup", "inspect", f.backup)
	assert.Check(t, is.Equal(r.code, exitUsage))
	r = f.adminEnv(community, "database", "aggregate-backup", "--from-path="+f.backup)
	assert.Check(t, is.Equal(r.code, exitUsage))
	r = f.adminEnv(community, "--version")
	assert.Check(t, is.Equal(r.code, 0))
}

func TestInspectLatestChainAndTable(t *testing.T) {
	f := newFixture(t)
	f.seed("neo4j", 1)
	assert.Equal(t, f.admin("database", "backup", "--from="+f.addr, "--to-path="+f.backup, "neo4j", "system").code, 0)
	f.seed("neo4j", 1)
	assert.Equal(t, f.admin("database", "backup", "--from="+f.addr, "--to-path="+f.backup, "neo4j").code, 0)

	r := f.admin("backup", "inspect", "--latest-chain", f.backup)
	assert.Equal(t, r.code, 1)
	assert.Check(t, is.Contains(r.stderr, "--database"))

	// [S6b] --latest-chain --database on a folder: oldest first; on a file: newest first.
	rows := f.inspect("--latest-chain", "--database=neo4j", f.backup)
	assert.Assert(t, is.Len(rows, 2))
	assert.Check(t, rows[0].b("FULL") && !rows[1].b("FULL"), "oldest first")
	rows = f.inspect("--latest-chain", f.newest("neo4j"))
	assert.Assert(t, is.Len(rows, 2))
	assert.Check(t, !rows[0].b("FULL") && rows[1].b("FULL"), "newest first")

	r = f.admin("backup", "inspect", "--show-metadata", f.backup)
	assert.Equal(t, r.code, 0, r.stderr)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	assert.Check(t, is.Len(lines, 4))
	assert.Check(t, is.Contains(lines[0], "| DATABASE |"))
	assert.Check(t, is.Contains(lines[0], "TIME (UTC) |  FULL | COMPRESSED | LOWEST TX | HIGHEST TX |"))

	r = f.admin("backup", "inspect", "--format=JSON", f.backup)
	var plain []map[string]any
	assert.NilError(t, json.Unmarshal([]byte(r.stdout), &plain))
	assert.Check(t, is.Len(plain[0], 1), "without --show-metadata only the file: %v", plain[0])
}

var _ = artifact.Ext
