package e2e

// Faults of a whole-deployment run (issue 13 item 7): Ctrl-C inside each
// component's step of backup and restore, pg_restore failing midway, the
// disk filling up while a task-manager dump or a storage archive arrives,
// and storage archives that would write or point out of the volume. Each
// case runs on its own stock-shaped Compose project (every service, the
// real PostgreSQL) and is judged by the same outcomes
// (assertSetFaultOutcome):
//
//  1. a clear error naming the cause, and the documented exit code; when the
//     case names a step, its progress line ends in error: the fault landed
//     inside it;
//  2. every service of the project running again, no helper container left,
//     and no session left in the task manager's database;
//  3. the deployment as it was when the fault hit: graph nodes, task manager
//     rows, storage files byte for byte (an interrupted or failed restore
//     rolled back what it had replaced);
//  4. no *.partial file, staging dir or lock, and the folder unchanged or
//     grown only by complete files that `docker infrahubdb verify` accepts.
//
// The product has no fault knob. The levers are real: PostgreSQL and the
// storage are made slow by their size (Prefect's log table with a million
// rows, a storage of 200 MiB); pg_restore is held by a lock that another
// session (a long report on flow_run) holds on a table it must drop, and
// fails midway on a view an operator created over a table the dump drops;
// the disk is a tiny tmpfs; the graph step uses the stand-in's knobs, as
// e2e/faults_test.go does. Steps are recognised by their `--progress plain`
// lines.

import (
	"archive/tar"
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/icmd"

	"github.com/opsmill/docker-infrahubdb/e2e/kit"
	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/pgdump/pgdumptest"
)

// setFaultConcurrency is how many cases run at once: each runs a project of
// seven containers and moves tens of MiB.
const setFaultConcurrency = 3

// setFaultCase is one fault of a whole-deployment run and its outcome.
type setFaultCase struct {
	name string
	// enterprise runs the stand-in's Enterprise image (an online backup,
	// neo4j-admin restore and its knobs); default the stock Community.
	enterprise bool
	// standIn, when set, says why the case needs the stand-in (knobs).
	standIn string
	// empty starts with an empty folder; otherwise the folder holds one
	// complete run, and all three components changed since.
	empty bool
	// seed adds to the deployment before that backup (big data).
	seed func(t *testing.T, e *setEnv)
	// prepare runs after the change, before the deployment's state and
	// the folder are recorded.
	prepare func(t *testing.T, e *setEnv)
	run     func(t *testing.T, e *setEnv) *icmd.Result
	want    setFaultOutcome
}

// setFaultOutcome is what the operator must see.
type setFaultOutcome struct {
	code  int
	cause []string // each appears in stderr
	// failedStep is the start of the progress line of the step the fault
	// lands in: that step must end in error.
	failedStep string
	// untouched: refused before anything stopped, so no container of the
	// project was restarted.
	untouched bool
}

// setEnv is one case's world: a project and a backup folder.
type setEnv struct {
	p   *kit.Plugin
	c   *kit.Compose
	db  *kit.Database
	pg  *kit.Postgres
	dir string
	// The deployment when the fault hit.
	nodes   int64
	rows    string
	storage []string
	started map[string]string
	snap    folderState
}

// TestInfrahubFullSetFaults: the faults of a whole-deployment restore in its
// graph step, after the task manager and the storage were replaced.
func TestInfrahubFullSetFaults(t *testing.T) {
	t.Parallel()
	runSetFaultCases(t, graphSetRestoreCases())
}

// TestInfrahubComponentFaults: the faults of the task manager and the
// storage, in backups (on Community inside the graph dump's outage, which
// stops and starts the database container, the same on every release) and
// restores; e2e/run.sh runs them against one release only.
func TestInfrahubComponentFaults(t *testing.T) {
	t.Parallel()
	runSetFaultCases(t, componentFaultCases())
}

func runSetFaultCases(t *testing.T, cases []setFaultCase) {
	runAtOnce(t, setFaultConcurrency, len(cases), func(i int) string { return cases[i].name }, func(t *testing.T, i int) { runSetFaultCase(t, cases[i]) })
}

func runSetFaultCase(t *testing.T, tc setFaultCase) {
	if tc.standIn != "" {
		kit.RequireStandIn(t, tc.standIn)
	}
	opts := kit.ComposeOptions{Services: kit.StockServices}
	if tc.enterprise {
		opts.Neo4jImage = kit.Image(t)
	}
	e := &setEnv{p: kit.InstallPlugin(t), c: kit.StartCompose(t, opts), dir: kit.Folder(t)}
	e.db, e.pg = seedDeployment(t, e.c)
	if tc.seed != nil {
		tc.seed(t, e)
	}
	if !tc.empty {
		e.backup().Assert(t, icmd.Success)
		e.db.Reconnect(t)
		changeDeployment(t, e.c)
	}
	if tc.prepare != nil {
		tc.prepare(t, e)
	}
	e.nodes, e.rows, e.storage = e.db.Count(t, "neo4j"), e.taskManagerState(t), storageState(t, e.c)
	e.started = startedAt(t, e.c)
	e.snap = snapshotFolder(t, e.dir)
	res := tc.run(t, e)
	assertSetFaultOutcome(t, e, res, tc.want)
}

// assertSetFaultOutcome checks the outcomes every fault must have.
func assertSetFaultOutcome(t *testing.T, e *setEnv, res *icmd.Result, want setFaultOutcome) {
	t.Helper()
	// 1. The cause, the exit code, the step.
	assertCauseAndCode(t, res, want.cause, want.code)
	if want.failedStep != "" {
		assert.Check(t, stepFailed(res.Combined(), want.failedStep), "the step %q did not end in error: the fault missed it", want.failedStep)
	}
	// 2. Everything running again, nothing of the plugin left.
	e.db.Reconnect(t)
	all := append([]string{}, kit.StockServices...)
	sort.Strings(all)
	assert.Check(t, is.DeepEqual(e.c.Running(t), all))
	if want.untouched {
		assert.Check(t, is.DeepEqual(startedAt(t, e.c), e.started), "a container was stopped or restarted")
	}
	assertNoHelpers(t, e.c)
	assert.Check(t, is.Equal(e.sessions(t), "0"), "sessions left in the task manager's database")
	// 3. The deployment as it was.
	assert.Check(t, is.Equal(e.db.Status(t, "neo4j"), "online"))
	assert.Check(t, is.Equal(e.db.Count(t, "neo4j"), e.nodes), "nodes in neo4j")
	assert.Check(t, is.Equal(e.taskManagerState(t), e.rows), "the task manager's rows")
	assert.Check(t, is.DeepEqual(storageState(t, e.c), e.storage), "the storage")
	// 4. The folder, and the safety folder a failed restore leaves: a
	// complete run of the copies it took, which verify passes.
	assertFolderKept(t, e.p, e.dir, e.snap)
	for _, s := range safetyDirs(t, e.dir) {
		v := verifyJSON(t, e.p, filepath.Join(e.dir, s), 0)
		assert.Check(t, v.OK, "verify of the safety folder %s: %+v", s, v.Problems)
	}
	if t.Failed() {
		t.Logf("the plugin's output:\n%s", res.Combined())
	}
}

func componentFaultCases() []setFaultCase {
	var cases []setFaultCase
	cases = append(cases, setBackupCases()...)
	cases = append(cases, componentRestoreCases()...)
	cases = append(cases, hostileStorageCases()...)
	cases = append(cases, hostileDumpCases()...)
	return cases
}

var (
	pgDumpStep     = "pg_dump prefect in "
	archiveStep    = "Archive volume "
	pgRestoreStep  = "pg_restore task-manager-"
	storageRestore = "Restore storage-"
)

// setBackupCases: Ctrl-C inside the task manager's dump and inside the
// storage archive (on Community they run inside the dump's outage, on
// Enterprise after the online graph backup), and the disk filling up
// while either arrives.
func setBackupCases() []setFaultCase {
	var cases []setFaultCase
	for _, enterprise := range []bool{false, true} {
		edition, standIn := "community", ""
		if enterprise {
			edition, standIn = "enterprise", "it needs an Enterprise image"
		}
		cases = append(cases,
			setFaultCase{
				name: "ctrl-c/backup/pg_dump/" + edition, enterprise: enterprise, standIn: standIn, empty: true,
				seed: func(t *testing.T, e *setEnv) { e.growLog(t, 1_000_000) },
				run: func(t *testing.T, e *setEnv) *icmd.Result {
					return e.interruptWhen(t, e.backupCmd(), pgDumpStep, e.partialGrows("task-manager-*.pgdump.partial"))
				},
				want: setFaultOutcome{code: 130, cause: []string{"interrupted", "task manager backup"}, failedStep: pgDumpStep},
			},
			setFaultCase{
				name: "ctrl-c/backup/storage archive/" + edition, enterprise: enterprise, standIn: standIn, empty: true,
				seed: func(t *testing.T, e *setEnv) { putBigStorage(t, e.c, "big", 200, 1<<20) },
				run: func(t *testing.T, e *setEnv) *icmd.Result {
					return e.interruptWhen(t, e.backupCmd(), archiveStep, e.partialGrows("storage-*.tar.partial"))
				},
				want: setFaultOutcome{code: 130, cause: []string{"interrupted", "storage backup"}, failedStep: archiveStep},
			},
		)
	}
	// The folder is a 1 MiB tmpfs in the plugin's own mount namespace;
	// the graph (a few nodes) fits, the component does not.
	diskFull := func(t *testing.T, e *setEnv) *icmd.Result {
		return (&faultEnv{p: e.p, dir: e.dir}).inPrivateMount(t, `mount -t tmpfs -o size=1m tmpfs "$dir"`, true, e.backupArgs()...)
	}
	cases = append(cases,
		setFaultCase{
			name: "disk full/backup/task manager", empty: true,
			// Prefect's log table: about 2 MiB once pg_dump compressed it.
			seed: func(t *testing.T, e *setEnv) { e.growLog(t, 60_000) },
			run:  diskFull,
			want: setFaultOutcome{code: 3, cause: []string{"disk full", "task manager backup"}, failedStep: pgDumpStep},
		},
		setFaultCase{
			name: "disk full/backup/storage", empty: true,
			seed: func(t *testing.T, e *setEnv) { putBigStorage(t, e.c, "big", 3, 1<<20) },
			run:  diskFull,
			want: setFaultOutcome{code: 3, cause: []string{"disk full", "storage backup"}, failedStep: archiveStep},
		},
	)
	return cases
}

// componentRestoreCases: Ctrl-C inside pg_restore and inside the storage's
// replacement (the task manager, replaced first, is rolled back), and
// pg_restore failing midway.
func componentRestoreCases() []setFaultCase {
	return []setFaultCase{
		{
			// A report holds a lock on flow_run that pg_restore --clean needs
			// to drop it: pg_restore waits, and is interrupted there. Left
			// running, it would go on once the report ends, and commit.
			name: "ctrl-c/restore/pg_restore",
			prepare: func(t *testing.T, e *setEnv) {
				kit.MustDocker(t, "exec", "-d", "-u", "postgres", "-e", "PGAPPNAME=e2e-report", e.pg.ID,
					"psql", "-X", "-d", e.pg.DB, "-c", "SELECT count(*), pg_sleep(3600) FROM flow_run")
				e.waitSQL(t, "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'e2e-report' AND state = 'active'", "1")
			},
			run: func(t *testing.T, e *setEnv) *icmd.Result {
				run := e.p.Start(t, e.restoreCmd())
				run.WaitForOutput(t, pgRestoreStep, stepTimeout)
				e.waitSQL(t, "SELECT count(*) > 0 FROM pg_stat_activity WHERE wait_event_type = 'Lock'", "t")
				run.Interrupt(t)
				res := run.Wait()
				// The report ends: nothing may be waiting behind it.
				e.pg.Psql(t, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'e2e-report'")
				e.waitSQL(t, "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()", "0")
				return res
			},
			want: setFaultOutcome{code: 130, cause: []string{"interrupted", "restore of the task-manager failed", "the database is as it was"}, failedStep: pgRestoreStep},
		},
		{
			name: "ctrl-c/restore/storage replace",
			seed: func(t *testing.T, e *setEnv) { putBigStorage(t, e.c, "big", 200, 1<<20) },
			prepare: func(t *testing.T, e *setEnv) {
				// Keep the safety archive small: the backup holds 200 MiB.
				kit.MustDocker(t, "run", "--rm", "--label", kit.RunLabel+"="+kit.RunID, "-v", e.c.Volume("storage_data")+":/s",
					"--entrypoint", "rm", kit.PostgresImage(t), "-rf", "/s/big")
			},
			run: func(t *testing.T, e *setEnv) *icmd.Result {
				// Once the backup's first big file is back, the extraction
				// is under way.
				server := e.c.Service(t, kit.ServiceServer).ID
				extracting := func() bool { return kit.Docker("cp", server+":/opt/infrahub/storage/big/0000.bin", "-").ExitCode == 0 }
				return e.interruptWhen(t, e.restoreCmd(), storageRestore, extracting)
			},
			want: setFaultOutcome{code: 130, cause: []string{"interrupted", "restore of the storage failed", rolledBackOthers}, failedStep: storageRestore},
		},
		{
			// An operator's view over flow_run, made after the backup: the
			// dump's DROP TABLE flow_run is refused midway through
			// pg_restore's transaction, which rolls back whole.
			name: "pg_restore fails midway",
			prepare: func(t *testing.T, e *setEnv) {
				e.pg.Psql(t, "CREATE VIEW flow_run_report AS SELECT count(*) AS runs FROM flow_run")
			},
			run:  func(t *testing.T, e *setEnv) *icmd.Result { return icmd.RunCmd(e.restoreCmd()) },
			want: setFaultOutcome{code: 6, cause: []string{"restore of the task-manager failed", "depend", "the task manager is as it was", "every service was started again"}, failedStep: pgRestoreStep},
		},
	}
}

// graphSetRestoreCases: Ctrl-C inside the graph step and the graph failing,
// after the task manager and the storage were replaced (they are rolled
// back).
func graphSetRestoreCases() []setFaultCase {
	return []setFaultCase{
		{
			// neo4j-admin database load is never cut (it would leave half a
			// store): the graph step ends, then rolls back, and so do the
			// task manager and the storage. The slow start keeps the run in
			// the graph step until the signal lands.
			name: "ctrl-c/restore/graph after the others", standIn: "it delays the database's start with a fault knob",
			prepare: func(t *testing.T, e *setEnv) { e.db.SetFaults(t, `{"delay":{"startup":"5s"}}`) },
			run: func(t *testing.T, e *setEnv) *icmd.Result {
				res := e.interruptWhen(t, e.restoreCmd(), "neo4j-admin database load neo4j", nil)
				e.db.SetFaults(t, `{}`)
				return res
			},
			want: setFaultOutcome{code: 130, cause: []string{"interrupted", "restore of the graph failed", rolledBackOthers}},
		},
		{
			// neo4j-admin database restore fails after writing part of the
			// store: the graph rolls back to its safety backup, the storage
			// and the task manager to theirs.
			name: "graph fails after the others", enterprise: true, standIn: "it fails neo4j-admin restore with a fault knob",
			prepare: func(t *testing.T, e *setEnv) { e.db.SetFaults(t, `{"fail":{"restore":1}}`) },
			run: func(t *testing.T, e *setEnv) *icmd.Result {
				res := icmd.RunCmd(e.restoreCmd())
				e.db.SetFaults(t, `{}`)
				return res
			},
			want: setFaultOutcome{code: 6, cause: []string{"restore of the graph failed", rolledBackOthers, "every service was started again"}},
		},
	}
}

// rolledBackOthers is how a restore says it put the components it replaced
// before the one that failed back.
const rolledBackOthers = "rolled back to their state before the restore: storage, task-manager"

// hostileStorageCases: a storage archive in the folder that would write or
// point out of the volume, recorded in the manifest with its true SHA-256
// so that only the check of its content can catch it. Restore refuses it
// before anything stops, and the volume is unchanged.
func hostileStorageCases() []setFaultCase {
	link := func(name, target string) *tar.Header {
		return &tar.Header{Name: name, Typeflag: tar.TypeSymlink, Linkname: target, Mode: 0o777}
	}
	evil := &tar.Header{Name: "./../escaped.txt", Typeflag: tar.TypeReg, Mode: 0o644, Size: 4}
	hostile := map[string][]*tar.Header{
		"../ path":            {evil},
		"link to /etc/passwd": {link("./artifacts/passwd", "/etc/passwd")},
		// Each link stays inside by itself; together, artifacts/up is
		// the directory above the volume.
		"links leading out together": {link("./s", "."), link("./artifacts/up", "../s/..")},
	}
	var cases []setFaultCase
	for name, hdrs := range hostile {
		cases = append(cases, setFaultCase{
			name:    "hostile storage archive/" + name,
			prepare: func(t *testing.T, e *setEnv) { e.forgeStorageArchive(t, hdrs) },
			run:     func(t *testing.T, e *setEnv) *icmd.Result { return icmd.RunCmd(e.restoreCmd()) },
			want:    setFaultOutcome{code: 5, cause: []string{"storage archive entry", "nothing was changed"}, untouched: true},
		})
	}
	return cases
}

// hostileDumpCases: a task-manager dump in the folder that pg_restore would
// fail on after the applications stopped (cut short: the end of its data
// is missing; a plain-SQL dump), recorded with its true SHA-256. Restore
// refuses it before anything stops, with verify's message.
func hostileDumpCases() []setFaultCase {
	var cases []setFaultCase
	for name, forge := range map[string]func([]byte) []byte{
		"cut short":     func(b []byte) []byte { return b[:len(b)*2/3] },
		"plain-SQL":     func([]byte) []byte { return pgdumptest.Plain() },
		"last byte cut": func(b []byte) []byte { return b[:len(b)-1] },
	} {
		cases = append(cases, setFaultCase{
			name:    "hostile task-manager dump/" + name,
			prepare: func(t *testing.T, e *setEnv) { e.forgeTaskManagerDump(t, forge) },
			run:     func(t *testing.T, e *setEnv) *icmd.Result { return icmd.RunCmd(e.restoreCmd()) },
			want:    setFaultOutcome{code: 5, cause: []string{"content: restore refuses it: not a readable pg_dump custom-format archive", "nothing was changed"}, untouched: true},
		})
	}
	return cases
}

// forgeTaskManagerDump rewrites the newest run's task-manager dump with
// forge and records its new size and SHA-256 in the manifest; verify then
// fails on it as restore will.
func (e *setEnv) forgeTaskManagerDump(t *testing.T, forge func([]byte) []byte) {
	t.Helper()
	folder, err := backupset.Open(e.dir)
	assert.NilError(t, err)
	m, err := folder.ReadManifest()
	assert.NilError(t, err)
	assert.Assert(t, is.Len(m.Runs, 1))
	var rec *backupset.FileRecord
	for _, f := range m.RunFiles(m.Runs[0].ID) {
		if f.Component == backupset.ComponentTaskManager {
			rec = &f
		}
	}
	assert.Assert(t, rec != nil, "the run has no task-manager dump")
	whole, err := os.ReadFile(folder.Path(rec.Name))
	assert.NilError(t, err)
	out := forge(whole)
	assert.NilError(t, os.WriteFile(folder.Path(rec.Name), out, 0o600))
	sum := sha256.Sum256(out)
	rec.Size, rec.SHA256 = int64(len(out)), hex.EncodeToString(sum[:])
	m.Upsert(*rec)
	assert.NilError(t, folder.WriteManifest(m))
	p := e.p.Docker("infrahubdb", "verify", e.dir)
	p.Assert(t, icmd.Expected{ExitCode: 5, Out: "restore refuses it: not a readable pg_dump custom-format archive"})
}

// --- commands -------------------------------------------------------------

func (e *setEnv) backupArgs() []string {
	return []string{"infrahubdb", "backup", e.dir, "--project", e.c.Project, "--yes", "--progress", "plain"}
}

func (e *setEnv) backupCmd() icmd.Cmd { return e.p.Cmd(e.backupArgs()...) }

func (e *setEnv) backup() *icmd.Result { return icmd.RunCmd(e.backupCmd()) }

func (e *setEnv) restoreCmd() icmd.Cmd {
	return e.p.Cmd("infrahubdb", "restore", e.dir, "--project", e.c.Project, "--yes", "--progress", "plain")
}

// interruptWhen starts cmd and presses Ctrl-C once line appeared and then,
// when given, inside reports true: the step is moving data.
func (e *setEnv) interruptWhen(t *testing.T, cmd icmd.Cmd, line string, inside func() bool) *icmd.Result {
	t.Helper()
	run := e.p.Start(t, cmd)
	run.WaitForOutput(t, line, stepTimeout)
	for deadline := time.Now().Add(stepTimeout); inside != nil && !inside(); time.Sleep(20 * time.Millisecond) {
		if run.Exited() || time.Now().After(deadline) {
			t.Fatalf("the step %q never moved data:\n%s", line, run.Result.Combined())
		}
	}
	run.Interrupt(t)
	return run.Wait()
}

// partialGrows reports whether a partial file matching pattern holds data
// in the folder: the component's stream is arriving.
func (e *setEnv) partialGrows(pattern string) func() bool {
	return func() bool {
		names, _ := filepath.Glob(filepath.Join(e.dir, pattern))
		for _, n := range names {
			if fi, err := os.Stat(n); err == nil && fi.Size() > 0 {
				return true
			}
		}
		return false
	}
}

// stepFailed reports whether the plain progress shows a step starting with
// text ending in error ("#7 <text>  error 1.2s: ...").
func stepFailed(out, text string) bool {
	for _, line := range strings.Split(out, "\n") {
		if _, step, ok := strings.Cut(line, " "); ok && strings.HasPrefix(line, "#") && strings.HasPrefix(step, text) && strings.Contains(step, "  error") {
			return true
		}
	}
	return false
}

// --- the deployment's data ------------------------------------------------

// taskManagerState is what the task manager's database holds: flow_run's
// rows, and the size of the log table when there is one.
func (e *setEnv) taskManagerState(t *testing.T) string {
	t.Helper()
	state := e.pg.Psql(t, "SELECT string_agg(id || ':' || name, ',' ORDER BY id) FROM flow_run")
	if e.pg.Psql(t, "SELECT to_regclass('public.log') IS NOT NULL") == "t" {
		state += " log:" + e.pg.Psql(t, "SELECT count(*) FROM log")
	}
	return state
}

// sessions counts the client sessions of the task manager's database (the
// question's own left out).
func (e *setEnv) sessions(t *testing.T) string {
	t.Helper()
	return e.pg.Psql(t, "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()")
}

// waitSQL waits until query prints want.
func (e *setEnv) waitSQL(t *testing.T, query, want string) {
	t.Helper()
	deadline := time.Now().Add(stepTimeout)
	for got := e.pg.Psql(t, query); got != want; got = e.pg.Psql(t, query) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: %s, not %s", query, got, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// growLog fills Prefect's log table with rows of 64 random-looking
// characters (about 40 bytes each in a compressed dump).
func (e *setEnv) growLog(t *testing.T, rows int) {
	t.Helper()
	e.pg.Psql(t, fmt.Sprintf(`CREATE TABLE log (id bigint PRIMARY KEY, flow_run_id int, message text);
		INSERT INTO log SELECT g, g %% 7, md5(g::text) || md5((g * 31)::text) FROM generate_series(1, %d) g;`, rows))
}

// putBigStorage adds n files of size random bytes under dir/ of the
// storage, streaming the tar to docker cp as it is made.
func putBigStorage(t *testing.T, c *kit.Compose, dir string, n, size int) {
	t.Helper()
	pr, pw := io.Pipe()
	go func() {
		tw := tar.NewWriter(pw)
		mtime := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
		err := tw.WriteHeader(&tar.Header{Name: dir + "/", Typeflag: tar.TypeDir, Mode: 0o750, Uid: 1000, Gid: 1000, ModTime: mtime})
		buf := make([]byte, size)
		for i := 0; i < n && err == nil; i++ {
			_, _ = rand.Read(buf)
			err = tw.WriteHeader(&tar.Header{Name: fmt.Sprintf("%s/%04d.bin", dir, i), Typeflag: tar.TypeReg, Mode: 0o640, Uid: 1000, Gid: 1000, Size: int64(size), ModTime: mtime})
			if err == nil {
				_, err = tw.Write(buf)
			}
		}
		if err == nil {
			err = tw.Close()
		}
		pw.CloseWithError(err)
	}()
	res := icmd.RunCmd(icmd.Command("docker", "cp", "-", c.Service(t, kit.ServiceServer).ID+":/opt/infrahub/storage"), icmd.WithStdin(pr))
	res.Assert(t, icmd.Success)
}

// forgeStorageArchive rewrites the newest run's storage archive with the
// hostile entries added after its own, and records its new size and
// SHA-256 in the manifest, as if made so by whoever had the folder.
func (e *setEnv) forgeStorageArchive(t *testing.T, hostile []*tar.Header) {
	t.Helper()
	folder, err := backupset.Open(e.dir)
	assert.NilError(t, err)
	m, err := folder.ReadManifest()
	assert.NilError(t, err)
	assert.Assert(t, is.Len(m.Runs, 1))
	var rec *backupset.FileRecord
	for _, f := range m.RunFiles(m.Runs[0].ID) {
		if f.Component == backupset.ComponentStorage {
			rec = &f
		}
	}
	assert.Assert(t, rec != nil, "the run has no storage archive")
	src, err := os.Open(folder.Path(rec.Name))
	assert.NilError(t, err)
	var out bytes.Buffer
	tr, tw := tar.NewReader(src), tar.NewWriter(&out)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		assert.NilError(t, err)
		assert.NilError(t, tw.WriteHeader(hdr))
		_, err = io.Copy(tw, tr)
		assert.NilError(t, err)
	}
	src.Close()
	for _, hdr := range hostile {
		assert.NilError(t, tw.WriteHeader(hdr))
		if hdr.Size > 0 {
			_, err := tw.Write(bytes.Repeat([]byte("!"), int(hdr.Size)))
			assert.NilError(t, err)
		}
	}
	assert.NilError(t, tw.Close())
	assert.NilError(t, os.WriteFile(folder.Path(rec.Name), out.Bytes(), 0o600))
	sum := sha256.Sum256(out.Bytes())
	rec.Size, rec.SHA256 = int64(out.Len()), hex.EncodeToString(sum[:])
	m.Upsert(*rec)
	assert.NilError(t, folder.WriteManifest(m))
	// The checksums are right: only the content is hostile, and verify
	// catches it as restore does (verify fails on what restore refuses).
	p := e.p.Docker("infrahubdb", "verify", e.dir)
	p.Assert(t, icmd.Expected{ExitCode: 5, Out: "restore refuses it"})
}
