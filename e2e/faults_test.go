package e2e

// The fault suite: every fault an operator can meet, or provoke, driven
// through the real plugin, and judged each time by the same four outcomes
// (assertFaultOutcome):
//
//  1. a clear error naming the cause;
//  2. the documented exit code;
//  3. the database online with its data intact (the node count it had when
//     the fault hit, or the backup's count when a restore legitimately went
//     through);
//  4. no helper container, no *.partial file, no staging dir and no lock
//     left, and the backup folder unchanged or only grown by complete files
//     that `docker infrahubdb verify` accepts.
//
// Steps are held open with the stand-in's delay knobs so a signal, a removed
// helper or a dropped connection lands inside the step it is meant for; the
// step is recognised by its line in `--progress plain`.

import (
	"archive/tar"
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/icmd"

	"github.com/opsmill/docker-infrahubdb/e2e/kit"
	"github.com/opsmill/docker-infrahubdb/internal/backupset"
)

// faultConcurrency is how many fault cases run at once. The cases spend
// most of their time waiting on delay knobs, so they run several at a time
// whatever -parallel says (2 on a 2-core machine).
const faultConcurrency = 5

// stepTimeout bounds the wait for the progress line of a step.
const stepTimeout = 2 * time.Minute

// faultCase is one fault and the outcome it must have.
type faultCase struct {
	name string
	db   kit.Options
	// standIn, when set, says why the case needs the stand-in (knobs).
	standIn string
	// empty starts with an empty folder; otherwise the folder holds a
	// backup of 10 nodes and the database has 15 when the fault hits.
	empty bool
	// prepare sets knobs or damages the folder before its snapshot.
	prepare func(t *testing.T, e *faultEnv)
	run     func(t *testing.T, e *faultEnv) *icmd.Result
	want    faultOutcome
}

// faultOutcome is what the operator must see.
type faultOutcome struct {
	code  int
	cause []string // each appears in stderr
	// restored: a restore legitimately went through, so the database holds
	// the backup's data rather than what it had when the fault hit.
	restored bool
}

// faultEnv is one case's world: its own database and backup folder.
type faultEnv struct {
	p        *kit.Plugin
	db       *kit.Database
	dir      string
	backedUp int64 // nodes in neo4j in the folder's backup
	before   int64 // nodes in neo4j when the fault hit
	snap     folderState
}

func TestFaults(t *testing.T) {
	t.Parallel()
	runFaultCases(t, faultCases())
}

// TestFolderAndLockFaults: a damaged folder and the locks. What they test
// happens before any Neo4j step, or is the same whatever the release
// (e2e/run.sh runs them against one release only).
func TestFolderAndLockFaults(t *testing.T) {
	t.Parallel()
	runFaultCases(t, append(concurrencyCases(), folderCases()...))
}

func runFaultCases(t *testing.T, cases []faultCase) {
	runAtOnce(t, faultConcurrency, len(cases), func(i int) string { return cases[i].name }, func(t *testing.T, i int) { runFaultCase(t, cases[i]) })
}

// runAtOnce runs n subtests, at most limit at a time whatever -parallel
// says: fault cases spend most of their time waiting.
func runAtOnce(t *testing.T, limit, n int, name func(i int) string, run func(t *testing.T, i int)) {
	sem := make(chan struct{}, limit)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			t.Run(name(i), func(t *testing.T) { run(t, i) })
		}()
	}
	wg.Wait()
}

func runFaultCase(t *testing.T, tc faultCase) {
	if tc.standIn != "" {
		kit.RequireStandIn(t, tc.standIn)
	}
	e := &faultEnv{p: kit.InstallPlugin(t), db: kit.StartDatabase(t, tc.db), dir: kit.Folder(t)}
	if !tc.empty {
		e.db.Seed(t, "neo4j", 10)
		e.backup().Assert(t, icmd.Success)
		e.backedUp = 10
		e.db.Seed(t, "neo4j", 5)
	}
	if tc.prepare != nil {
		tc.prepare(t, e)
	}
	e.before = e.db.Count(t, "neo4j")
	e.snap = snapshotFolder(t, e.dir)
	res := tc.run(t, e)
	assertFaultOutcome(t, e, res, tc.want)
}

// assertFaultOutcome checks the four outcomes every fault must have.
func assertFaultOutcome(t *testing.T, e *faultEnv, res *icmd.Result, want faultOutcome) {
	t.Helper()
	// 1. A clear error naming the cause. 2. The documented exit code.
	assertCauseAndCode(t, res, want.cause, want.code)
	// 3. The database online with its data intact.
	assert.Check(t, is.Equal(e.db.Status(t, "neo4j"), "online"))
	count := e.before
	if want.restored {
		count = e.backedUp
	}
	assert.Check(t, is.Equal(e.db.Count(t, "neo4j"), count), "nodes in neo4j")
	// 4. Nothing left behind; the folder unchanged or grown by verified files.
	assert.Check(t, is.Len(e.db.Helpers(t), 0), "helper containers left behind")
	assertFolderKept(t, e.p, e.dir, e.snap)
}

// assertCauseAndCode checks that stderr names each cause and the exit code
// is code.
func assertCauseAndCode(t *testing.T, res *icmd.Result, cause []string, code int) {
	t.Helper()
	t.Logf("exit %d: %s", res.ExitCode, errorLine(res.Stderr()))
	for _, c := range cause {
		assert.Check(t, is.Contains(res.Stderr(), c), "the error does not name the cause")
	}
	assert.Check(t, is.Equal(res.ExitCode, code), "output:\n%s", res.Combined())
}

// --- the faults ---------------------------------------------------------

func faultCases() []faultCase {
	var cases []faultCase
	cases = append(cases, signalCases()...)
	cases = append(cases, outsideCases()...)
	cases = append(cases, environmentCases()...)
	cases = append(cases, hostileCases()...)
	return cases
}

var interrupted = faultOutcome{code: 130, cause: []string{"interrupted"}}

// signalCases: SIGINT (Ctrl-C: the CLI and the plugin) at each step of
// backup and restore, and SIGTERM (kill of the docker CLI only, which
// forwards it) at the steps marked sigterm. Both end in the plugin's one
// handler (internal/cli cancelOnSignals); what differs, how the signal
// reaches the plugin, does not depend on the step: a backup step and the
// restore's outage prove it.
func signalCases() []faultCase {
	type step struct {
		name, knobs, line string
		sigterm           bool
		command           func(e *faultEnv) icmd.Cmd
		// then, when set, runs once the line appeared, before the signal:
		// it leads the run into the step the signal is for.
		then func(t *testing.T, e *faultEnv, run *kit.Running)
		// rolledBack: the signal lands after STOP, so the restore rolls
		// back to the safety backup.
		rolledBack bool
		// failed is the step the signal must end (the first step the
		// plain progress shows in error): the step of line by default.
		failed string
		// finishes: the step is left to finish on purpose, so no step is
		// in error; the run must go from it straight to the rollback.
		finishes bool
	}
	backupCmd := func(e *faultEnv) icmd.Cmd { return e.backupCmd() }
	streamBackup := func(e *faultEnv) icmd.Cmd { return e.backupCmd("--transfer", "stream", "--database", "neo4j") }
	restoreCmd := func(e *faultEnv) icmd.Cmd { return e.restoreCmd() }
	steps := []step{
		// Starting the helper takes a few hundred milliseconds and has no
		// knob: the signal lands while it starts or right after, and the
		// slow backup port keeps the run from finishing first.
		{name: "backup/helper start", knobs: `{"delay":{"backup":"30s"}}`, line: "Start helper container", command: backupCmd},
		{name: "backup/neo4j-admin backup", knobs: `{"delay":{"backup":"30s"}}`, line: "neo4j-admin database backup", command: backupCmd, sigterm: true},
		{name: "backup/aggregate", knobs: `{"delay":{"aggregate":"30s"}}`, line: aggregateStep(), command: backupCmd},
		{name: "backup/download", line: "Download neo4j-", command: streamBackup},
		{name: "restore/safety backup", knobs: `{"delay":{"backup":"30s"}}`, line: "neo4j-admin database backup", command: restoreCmd},
		// neo4j-admin restore is left to finish (killing it would tear the
		// store), then the run rolls back: keep the delay short. The
		// restore itself must not be the step in error.
		{name: "restore/between STOP and START", knobs: `{"delay":{"restore":"3s"}}`, line: "neo4j-admin database restore neo4j", command: restoreCmd, rolledBack: true,
			finishes: true, sigterm: true},
		{name: "restore/START", knobs: `{"delay":{"start":"3s"}}`, line: "START DATABASE neo4j", command: restoreCmd, rolledBack: true},
		{name: "restore/metadata", knobs: `{"delay":{"start":"2s"}}`, line: "START DATABASE neo4j", command: restoreCmd, rolledBack: true,
			failed: "Replay security metadata of neo4j",
			then: func(t *testing.T, e *faultEnv, run *kit.Running) {
				e.lengthenMetadata(t)
				run.WaitForOutput(t, "Replay security metadata of neo4j", stepTimeout)
			}},
	}
	var cases []faultCase
	for _, s := range steps {
		for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
			if sig == syscall.SIGTERM && !s.sigterm {
				continue
			}
			s, sig := s, sig
			want := interrupted
			if s.rolledBack {
				want.cause = append(want.cause, "rolled back")
			}
			cases = append(cases, faultCase{
				name:    "signal/" + s.name + "/" + sigName(sig),
				standIn: "it holds the step open with a fault knob",
				prepare: func(t *testing.T, e *faultEnv) {
					if s.name == "backup/download" {
						e.growDatabase(t, 64<<20)
					}
					if s.knobs != "" {
						e.db.SetFaults(t, s.knobs)
					}
				},
				run: func(t *testing.T, e *faultEnv) *icmd.Result {
					run := e.p.Start(t, s.command(e))
					run.WaitForOutput(t, s.line, stepTimeout)
					if s.then != nil {
						s.then(t, e, run)
					}
					if sig == syscall.SIGINT {
						run.Interrupt(t)
					} else {
						run.Signal(t, sig)
					}
					res := run.Wait()
					e.db.SetFaults(t, `{}`)
					assertSignalEndedStep(t, res.Stderr(), s.line, s.failed, s.finishes)
					return res
				},
				want: want,
			})
		}
	}
	return cases
}

// assertSignalEndedStep checks that the signal ended the step it was sent
// in (failed, else the step of line). A step left to finish on purpose
// (finishes) ends done, nothing is in error, and the next step of the
// restore runs only once, in the rollback: the restore ran twice (the
// artifact, then the safety backup), the database was created once.
func assertSignalEndedStep(t *testing.T, stderr, line, failed string, finishes bool) {
	t.Helper()
	if finishes {
		assert.Check(t, is.Equal(firstFailedStep(stderr, ""), ""), "no step in error:\n%s", stderr)
		assert.Check(t, is.Equal(strings.Count(stderr, line+"  done"), 2), "the step, then the rollback's:\n%s", stderr)
		assert.Check(t, is.Equal(strings.Count(stderr, "CREATE DATABASE neo4j IF NOT EXISTS  done"), 1), "the rollback's CREATE only:\n%s", stderr)
		return
	}
	if failed == "" {
		failed = line
	}
	assert.Check(t, is.Equal(firstFailedStep(stderr, failed), failed), "the signal must end the step it targets:\n%s", stderr)
}

// stepInError matches a step that ended in error in --progress plain
// output: "#N <text>  error <duration>: <why>".
var stepInError = regexp.MustCompile(`(?m)^#\d+ (.*?)(?: \(.*\))?  error `)

// firstFailedStep returns want when the first step in error starts with
// want, else that step's text ("" when no step failed).
func firstFailedStep(stderr, want string) string {
	m := stepInError.FindStringSubmatch(stderr)
	if m == nil {
		return ""
	}
	if want != "" && strings.HasPrefix(m[1], want) {
		return want
	}
	return m[1]
}

func sigName(sig syscall.Signal) string {
	if sig == syscall.SIGINT {
		return "SIGINT"
	}
	return "SIGTERM"
}

// outsideCases: the helper container removed from outside, the Bolt tunnel
// dropped.
func outsideCases() []faultCase {
	removeHelper := func(t *testing.T, e *faultEnv, cmd icmd.Cmd, line string) *icmd.Result {
		run := e.p.Start(t, cmd)
		run.WaitForOutput(t, line, stepTimeout)
		helpers := e.db.Helpers(t)
		assert.Assert(t, len(helpers) == 1, "helpers: %v", helpers)
		// -v: its anonymous volumes go with it, as the kit checks.
		kit.MustDocker(t, "rm", "-f", "-v", helpers[0])
		res := run.Wait()
		e.db.SetFaults(t, `{}`)
		return res
	}
	return []faultCase{
		{
			name: "helper removed/during neo4j-admin backup", standIn: "it holds the step open with a fault knob",
			prepare: func(t *testing.T, e *faultEnv) { e.db.SetFaults(t, `{"delay":{"backup":"30s"}}`) },
			run: func(t *testing.T, e *faultEnv) *icmd.Result {
				return removeHelper(t, e, e.backupCmd(), "neo4j-admin database backup")
			},
			want: faultOutcome{code: 1, cause: []string{"helper container", "was removed or stopped from outside while neo4j-admin database backup ran"}},
		},
		{
			name: "helper removed/during neo4j-admin restore", standIn: "it holds the step open with a fault knob",
			prepare: func(t *testing.T, e *faultEnv) { e.db.SetFaults(t, `{"delay":{"restore":"3s"}}`) },
			run: func(t *testing.T, e *faultEnv) *icmd.Result {
				return removeHelper(t, e, e.restoreCmd(), "neo4j-admin database restore neo4j")
			},
			want: faultOutcome{code: 6, cause: []string{"was removed or stopped from outside while neo4j-admin database restore ran", "rolled back"}},
		},
		{
			name: "bolt tunnel dropped during metadata", standIn: "it drops a Bolt connection with a fault knob",
			prepare: func(t *testing.T, e *faultEnv) { e.db.SetFaults(t, `{"delay":{"start":"2s"}}`) },
			run: func(t *testing.T, e *faultEnv) *icmd.Result {
				run := e.p.Start(t, e.restoreCmd())
				run.WaitForOutput(t, "START DATABASE neo4j", stepTimeout)
				e.lengthenMetadata(t)
				run.WaitForOutput(t, "Replay security metadata of neo4j", stepTimeout)
				e.db.SetFaults(t, `{"fail":{"bolt":1}}`)
				return run.Wait()
			},
			want: faultOutcome{code: 6, cause: []string{"restore_metadata.cypher", "rolled back"}},
		},
	}
}

// environmentCases: preconditions that are not met. Nothing may change.
func environmentCases() []faultCase {
	return []faultCase{
		{
			name: "disk full", empty: true,
			prepare: func(t *testing.T, e *faultEnv) { e.growDatabase(t, 4<<20) },
			run: func(t *testing.T, e *faultEnv) *icmd.Result {
				// The folder is a 1 MiB tmpfs in the plugin's own mount
				// namespace; what the run left there is copied out after.
				return e.inPrivateMount(t, `mount -t tmpfs -o size=1m tmpfs "$dir"`, true, e.backupArgs("--database", "neo4j")...)
			},
			want: faultOutcome{code: 3, cause: []string{"disk full"}},
		},
		{
			name: "read-only folder",
			run: func(t *testing.T, e *faultEnv) *icmd.Result {
				return e.inPrivateMount(t, `mount --bind "$dir" "$dir" && mount -o remount,bind,ro "$dir"`, false, e.backupArgs()...)
			},
			want: faultOutcome{code: 3, cause: []string{"not writable", "read-only"}},
		},
		{
			name: "wrong credentials",
			run: func(t *testing.T, e *faultEnv) *icmd.Result {
				return icmd.RunCmd(e.restoreCmd(), icmd.WithEnv(append(e.p.Env(), "NEO4J_AUTH=neo4j/not-the-Passw0rd")...))
			},
			want: faultOutcome{code: 3, cause: []string{"Unauthorized"}},
		},
		{
			name: "unreachable backup port",
			run: func(t *testing.T, e *faultEnv) *icmd.Result {
				return icmd.RunCmd(e.backupCmd("--database-backup-port", "6399"))
			},
			want: faultOutcome{code: 3, cause: []string{":6399"}},
		},
		{
			// Over the network (--database-url) the listen address matters;
			// without it the helper shares the database's namespace.
			name: "backup port on 127.0.0.1", empty: true, db: kit.Options{BackupListen: "127.0.0.1:6362"},
			run: func(t *testing.T, e *faultEnv) *icmd.Result {
				return icmd.RunCmd(e.backupCmd("--database-url", e.db.IP(t)))
			},
			want: faultOutcome{code: 3, cause: []string{"127.0.0.1:6362", "NEO4J_server_backup_listen__address=0.0.0.0:6362"}},
		},
		{
			// Community is dumped offline: not without consent.
			name: "community edition without consent", empty: true, db: kit.Options{Community: true}, standIn: "it needs a community image",
			run:  func(t *testing.T, e *faultEnv) *icmd.Result { return icmd.RunCmd(e.backupCmd()) },
			want: faultOutcome{code: 2, cause: []string{"Community", "--yes"}},
		},
		{
			name: "helper image missing",
			run: func(t *testing.T, e *faultEnv) *icmd.Result {
				return icmd.RunCmd(e.backupCmd("--helper-image", "infrahubdb-e2e/missing:0-enterprise"))
			},
			want: faultOutcome{code: 3, cause: []string{"infrahubdb-e2e/missing:0-enterprise", "could not be pulled"}},
		},
		{
			name: "helper image unpullable",
			run: func(t *testing.T, e *faultEnv) *icmd.Result {
				// A registry that refuses connections.
				return icmd.RunCmd(e.restoreCmd("--helper-image", "127.0.0.1:9/neo4j:5.26.0-enterprise"))
			},
			want: faultOutcome{code: 3, cause: []string{"127.0.0.1:9/neo4j:5.26.0-enterprise", "could not be pulled"}},
		},
	}
}

// concurrencyCases: two runs at once on the same folder or database.
func concurrencyCases() []faultCase {
	return []faultCase{
		{
			name: "two backups on one folder", standIn: "it holds the first backup open with a fault knob",
			prepare: func(t *testing.T, e *faultEnv) { e.db.SetFaults(t, `{"delay":{"backup":"3s"}}`) },
			run: func(t *testing.T, e *faultEnv) *icmd.Result {
				first := e.p.Start(t, e.backupCmd("--no-aggregate"))
				first.WaitForOutput(t, "neo4j-admin database backup", stepTimeout)
				second := icmd.RunCmd(e.backupCmd())
				first.Wait().Assert(t, icmd.Success) // the first one is not disturbed
				return second
			},
			want: faultOutcome{code: 4, cause: []string{"locked"}},
		},
		{
			name: "backup during a restore", standIn: "it holds the restore open with a fault knob",
			prepare: func(t *testing.T, e *faultEnv) { e.db.SetFaults(t, `{"delay":{"restore":"3s"}}`) },
			run: func(t *testing.T, e *faultEnv) *icmd.Result {
				restore := e.p.Start(t, e.restoreCmd())
				restore.WaitForOutput(t, "neo4j-admin database restore neo4j", stepTimeout)
				other := kit.Folder(t)
				backup := icmd.RunCmd(e.p.Cmd("infrahubdb", "backup", other, "--database-container", e.db.Name))
				restore.Wait().Assert(t, icmd.Success) // the restore is not disturbed
				assert.Check(t, is.Len(kit.Files(t, other), 0), "the refused backup wrote into its folder")
				return backup
			},
			want: faultOutcome{code: 4, cause: []string{"another docker infrahubdb run"}, restored: true},
		},
	}
}

// folderCases: a damaged backup folder. Restore refuses it before any
// change; backup refuses a manifest it could not update.
func folderCases() []faultCase {
	damaged := func(name string, damage func(t *testing.T, e *faultEnv), want faultOutcome, cmd func(e *faultEnv) icmd.Cmd) faultCase {
		return faultCase{name: name, prepare: damage, run: func(t *testing.T, e *faultEnv) *icmd.Result { return icmd.RunCmd(cmd(e)) }, want: want}
	}
	restore := func(e *faultEnv) icmd.Cmd { return e.restoreCmd() }
	backup := func(e *faultEnv) icmd.Cmd { return e.backupCmd() }
	artifact := func(t *testing.T, e *faultEnv) string {
		files := kit.BackupFiles(t, e.dir, "neo4j")
		assert.Assert(t, is.Len(files, 1))
		return filepath.Join(e.dir, files[0])
	}
	manifest := func(e *faultEnv) string { return filepath.Join(e.dir, backupset.ManifestName) }
	return []faultCase{
		damaged("artifact corrupted", func(t *testing.T, e *faultEnv) { flipByte(t, artifact(t, e)) },
			faultOutcome{code: 5, cause: []string{"neo4j-", "nothing was changed"}}, restore),
		damaged("artifact truncated", func(t *testing.T, e *faultEnv) { assert.NilError(t, os.Truncate(artifact(t, e), 100)) },
			faultOutcome{code: 5, cause: []string{"neo4j-", "nothing was changed"}}, restore),
		damaged("artifact missing", func(t *testing.T, e *faultEnv) {
			// A chain (full + diff) whose diff is gone.
			e.db.Seed(t, "neo4j", 5)
			time.Sleep(1100 * time.Millisecond) // artifact names have one-second resolution
			e.backup("--no-aggregate").Assert(t, icmd.Success)
			e.backedUp = 20
			files := kit.BackupFiles(t, e.dir, "neo4j")
			assert.Assert(t, is.Len(files, 2))
			assert.NilError(t, os.Remove(filepath.Join(e.dir, files[1])))
		}, faultOutcome{code: 5, cause: []string{"missing", "nothing was changed"}}, restore),
		damaged("artifact extra", func(t *testing.T, e *faultEnv) {
			// A newer file the manifest does not know: not a backup of ours.
			assert.NilError(t, os.WriteFile(filepath.Join(e.dir, "neo4j-2030-01-01T00-00-00.backup"), []byte("not a backup"), 0o600))
		}, faultOutcome{code: 5, cause: []string{"neo4j-2030-01-01T00-00-00.backup: extra: backup file not listed in the manifest", "nothing was changed"}}, restore),
		damaged("manifest truncated/restore", func(t *testing.T, e *faultEnv) { assert.NilError(t, os.Truncate(manifest(e), 20)) },
			faultOutcome{code: 3, cause: []string{backupset.ManifestName}}, restore),
		damaged("manifest truncated/backup", func(t *testing.T, e *faultEnv) { assert.NilError(t, os.Truncate(manifest(e), 20)) },
			faultOutcome{code: 3, cause: []string{backupset.ManifestName}}, backup),
		damaged("manifest malformed/restore", func(t *testing.T, e *faultEnv) {
			assert.NilError(t, os.WriteFile(manifest(e), []byte(`{"version": 1, "files": [{"name": "../../etc/passwd", "sha256": "x"}]}`), 0o600))
		}, faultOutcome{code: 3, cause: []string{backupset.ManifestName}}, restore),
		damaged("manifest malformed/backup", func(t *testing.T, e *faultEnv) {
			assert.NilError(t, os.WriteFile(manifest(e), []byte("<html>not json</html>"), 0o600))
		}, faultOutcome{code: 3, cause: []string{backupset.ManifestName}}, backup),
		{
			name: "stale lock/backup",
			prepare: func(t *testing.T, e *faultEnv) {
				host, _ := os.Hostname()
				lock := fmt.Sprintf(`{"host":%q,"pid":999999,"command":"backup","started":"2026-01-01T00:00:00Z"}`, host)
				assert.NilError(t, os.WriteFile(filepath.Join(e.dir, backupset.LockName), []byte(lock), 0o600))
			},
			// Without aggregation, so the folder only gains files.
			run:  func(t *testing.T, e *faultEnv) *icmd.Result { return icmd.RunCmd(e.backupCmd("--no-aggregate")) },
			want: faultOutcome{code: 0, cause: []string{"stale lock"}},
		},
		{
			name: "stale lock/restore",
			prepare: func(t *testing.T, e *faultEnv) {
				host, _ := os.Hostname()
				lock := fmt.Sprintf(`{"host":%q,"pid":999999,"command":"restore","started":"2026-01-01T00:00:00Z"}`, host)
				assert.NilError(t, os.WriteFile(filepath.Join(e.dir, backupset.LockName), []byte(lock), 0o600))
			},
			run:  func(t *testing.T, e *faultEnv) *icmd.Result { return icmd.RunCmd(e.restoreCmd()) },
			want: faultOutcome{code: 0, cause: []string{"stale lock"}, restored: true},
		},
	}
}

// hostileCases: input meant to break out of quoting. Names are refused as
// usage errors before anything runs; a password full of shell and Cypher
// metacharacters just works.
func hostileCases() []faultCase {
	var cases []faultCase
	for _, name := range []string{"a`b", "a'b", `a"b`, "a b"} {
		for _, command := range []string{"backup", "restore"} {
			name, command := name, command
			cases = append(cases, faultCase{
				name: fmt.Sprintf("database name %q/%s", name, command), empty: true,
				run: func(t *testing.T, e *faultEnv) *icmd.Result {
					if command == "backup" {
						return icmd.RunCmd(e.backupCmd("--database", name))
					}
					return icmd.RunCmd(e.restoreCmd("--database", name))
				},
				want: faultOutcome{code: 2, cause: []string{"--database"}},
			})
		}
	}
	const password = `p/a'ss"$word` + "`x"
	cases = append(cases, faultCase{
		// NEO4J_AUTH cannot carry a '/' in the password: the kit sets it
		// with neo4j-admin dbms set-initial-password.
		name: "password with / quotes and $", db: kit.Options{Password: password},
		run: func(t *testing.T, e *faultEnv) *icmd.Result {
			// From --password-stdin.
			res := icmd.RunCmd(e.restoreCmd("--password-stdin"), icmd.WithStdin(strings.NewReader(password+"\n")))
			assert.Check(t, !strings.Contains(res.Combined(), password), "the password is in the output")
			return res
		},
		want: faultOutcome{code: 0, restored: true},
	})
	return cases
}

// A tar stream from the helper that tries to escape the folder cannot be
// produced through the real helper (the Docker daemon builds the archive of
// one named file), so it is driven here at the internal/backupset level, where
// ReceiveTar is also unit-tested: every hostile entry fails the whole
// stream, nothing is written, and no partial file is left.
func TestFaultHostileTarStream(t *testing.T) {
	t.Parallel()
	const name = "neo4j-2026-03-01T00-00-00.backup"
	hostile := []tar.Header{
		{Name: "backups/../../" + name, Typeflag: tar.TypeReg, Size: 4},
		{Name: "/tmp/" + name, Typeflag: tar.TypeReg, Size: 4},
		{Name: "backups/" + name, Typeflag: tar.TypeSymlink, Linkname: "/etc/passwd"},
		{Name: "backups/" + name, Typeflag: tar.TypeLink, Linkname: "../../etc/passwd"},
		{Name: "backups/sub/" + name, Typeflag: tar.TypeReg, Size: 4},
	}
	for _, hdr := range hostile {
		t.Run(hdr.Name+"->"+hdr.Linkname, func(t *testing.T) {
			dir := kit.Folder(t)
			folder, err := backupset.Open(dir)
			assert.NilError(t, err)
			var buf bytes.Buffer
			tw := tar.NewWriter(&buf)
			hdr.Mode = 0o644
			assert.NilError(t, tw.WriteHeader(&hdr))
			if hdr.Size > 0 {
				_, _ = tw.Write([]byte("evil"))
			}
			assert.NilError(t, tw.Close())

			_, err = folder.ReceiveTar(&buf, func(string) bool { return true }, nil)
			assert.Check(t, is.ErrorContains(err, ""), "a hostile entry was accepted")
			assert.Check(t, is.Len(kit.Files(t, dir), 0))
			_, err = os.Lstat(filepath.Join(filepath.Dir(filepath.Dir(dir)), name))
			assert.Check(t, os.IsNotExist(err), "a file was written outside the folder")
		})
	}
}

// errorLine is the first line of the plugin's error message, for the log.
func errorLine(stderr string) string {
	if _, msg, ok := strings.Cut(stderr, "Error: "); ok {
		line, _, _ := strings.Cut(msg, "\n")
		return line
	}
	return "(no error)"
}

// --- commands -----------------------------------------------------------

func (e *faultEnv) backupArgs(extra ...string) []string {
	return append([]string{"infrahubdb", "backup", e.dir, "--database-container", e.db.Name, "--progress", "plain"}, extra...)
}

func (e *faultEnv) backupCmd(extra ...string) icmd.Cmd { return e.p.Cmd(e.backupArgs(extra...)...) }

func (e *faultEnv) backup(extra ...string) *icmd.Result { return icmd.RunCmd(e.backupCmd(extra...)) }

// restoreCmd restores with the database container's own credentials.
func (e *faultEnv) restoreCmd(extra ...string) icmd.Cmd {
	return e.p.Cmd(append([]string{"infrahubdb", "restore", e.dir, "--yes", "--database-container", e.db.Name, "--progress", "plain"}, extra...)...)
}

// inPrivateMount runs the plugin with args in its own mount namespace, after
// mountScript changed the folder ($dir) there. With private set the folder
// there is a mount of its own (a tmpfs), gone with the namespace: what the
// run left in it is copied back into the folder, for the folder assertions.
func (e *faultEnv) inPrivateMount(t *testing.T, mountScript string, private bool, args ...string) *icmd.Result {
	t.Helper()
	out := filepath.Join(t.TempDir(), "after")
	assert.NilError(t, os.Mkdir(out, 0o700))
	script := `dir=$1 out=$2; shift 2; ` + mountScript + ` || exit 99; docker "$@"; code=$?; cp -a "$dir"/. "$out"/ || exit 98; exit $code`
	cmd := e.p.Cmd()
	cmd.Command = append([]string{"unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh", e.dir, out}, args...)
	res := icmd.RunCmd(cmd)
	assert.Assert(t, res.ExitCode != 99 && res.ExitCode != 98, "mount or copy failed: %s", res.Combined())
	if private {
		copyTree(t, out, e.dir)
	}
	return res
}

// --- stand-in devices -----------------------------------------------------

// growDatabase adds about size bytes of incompressible data to neo4j, so
// its artifact is large: a download lasts long enough to be interrupted, a
// small disk fills up.
func (e *faultEnv) growDatabase(t *testing.T, size int) {
	t.Helper()
	chunk := make([]byte, 2<<20) // 4 MiB of hex per node
	for done := 0; done < size; done += 2 * len(chunk) {
		_, _ = rand.Read(chunk)
		e.db.Run(t, "neo4j", "CREATE (:Blob {data: $data})", map[string]any{"data": hex.EncodeToString(chunk)})
	}
}

// lengthenMetadata appends statements to the restore_metadata.cypher that
// neo4j-admin restore just wrote, so replaying it lasts seconds: long
// enough to interrupt it or to drop its connection.
func (e *faultEnv) lengthenMetadata(t *testing.T) {
	t.Helper()
	var b strings.Builder
	for i := 0; i < 3000; i++ {
		b.WriteString("GRANT ACCESS ON DATABASE $database TO `reader`;\n")
	}
	e.db.ExecInput(b.String(), "sh", "-c", "cat >> /data/scripts/neo4j/restore_metadata.cypher").Assert(t, icmd.Success)
}

// --- the backup folder ------------------------------------------------------

// folderState maps each file under a folder (relative path) to its size and
// SHA-256; the lock file is left out (it is checked on its own).
type folderState map[string]string

func snapshotFolder(t *testing.T, dir string) folderState {
	t.Helper()
	s := folderState{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() == backupset.LockName {
			return err
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		h := sha256.New()
		n, err := io.Copy(h, f)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		s[rel] = fmt.Sprintf("%d %x", n, h.Sum(nil))
		return nil
	})
	assert.NilError(t, err)
	return s
}

// assertFolderKept checks that the run left no partial file, staging dir or
// lock, and that the folder is as it was, or only gained complete files (and
// the manifest that records them) that `docker infrahubdb verify` accepts.
func assertFolderKept(t *testing.T, p *kit.Plugin, dir string, before folderState) {
	t.Helper()
	_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		assert.Check(t, !strings.HasSuffix(d.Name(), ".partial"), "partial file left: %s", path)
		assert.Check(t, !strings.HasPrefix(d.Name(), ".infrahubdb-work-"), "staging dir left: %s", path)
		assert.Check(t, d.Name() != backupset.LockName, "lock file left: %s", path)
		return nil
	})
	after := snapshotFolder(t, dir)
	grown := map[string]bool{} // directories with new or rewritten files
	for name, state := range before {
		switch now, ok := after[name]; {
		case !ok:
			t.Errorf("%s was removed from the backup folder", name)
		case now != state && filepath.Base(name) != backupset.ManifestName:
			t.Errorf("%s was changed in the backup folder", name)
		case now != state:
			grown[filepath.Dir(name)] = true
		}
	}
	for name := range after {
		if _, ok := before[name]; !ok {
			grown[filepath.Dir(name)] = true
		}
	}
	var dirs []string
	for d := range grown {
		dirs = append(dirs, d)
	}
	sort.Strings(dirs)
	for _, d := range dirs {
		// Every file the run left is recorded and intact; a folder may
		// still hold no complete run (a failed first backup, a safety
		// folder with one component's copy), which --allow-empty accepts.
		res := p.Docker("infrahubdb", "verify", "--allow-empty", filepath.Join(dir, d))
		assert.Check(t, is.Equal(res.ExitCode, 0), "the folder gained files that fail verification:\n%s", res.Combined())
	}
}

// copyTree replaces the content of dst with that of src.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	entries, err := os.ReadDir(dst)
	assert.NilError(t, err)
	for _, e := range entries {
		assert.NilError(t, os.RemoveAll(filepath.Join(dst, e.Name())))
	}
	err = filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o700)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o600)
	})
	assert.NilError(t, err)
}

// aggregateStep is how the plugin's progress names the aggregate step on the
// release under test: 2025.01 renamed the command ([S5b]).
func aggregateStep() string {
	if strings.HasPrefix(kit.Release(), "5.") {
		return "neo4j-admin database aggregate-backup"
	}
	return "neo4j-admin backup aggregate"
}
