package restore_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/opsmill/docker-infrahubdb/internal/backup"
	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/docker"
	"github.com/opsmill/docker-infrahubdb/internal/helper"
	"github.com/opsmill/docker-infrahubdb/internal/helper/helpertest"
	"github.com/opsmill/docker-infrahubdb/internal/neo4j"
	"github.com/opsmill/docker-infrahubdb/internal/neo4jbackup"
	"github.com/opsmill/docker-infrahubdb/internal/progress"
	"github.com/opsmill/docker-infrahubdb/internal/restore"
)

var _ restore.Engine = (*helpertest.Engine)(nil)

const (
	neo4j1 = "neo4j-2026-11-25T10-00-00.backup"
	neo4j2 = "neo4j-2026-11-25T10-01-00.backup"
	neo4j3 = "neo4j-2026-11-25T10-02-00.backup"
	// safetyName is the safety backup taken after one backup run.
	safetyName = "neo4j-2026-11-25T10-01-00.backup"
)

func TestRestoreStepOrder(t *testing.T) {
	for _, transfer := range []string{helper.TransferBind, helper.TransferStream} {
		t.Run(transfer, func(t *testing.T) {
			f := newFixture(t)
			f.opts.Transfer = transfer

			res, err := f.run(context.Background())
			assert.NilError(t, err)

			assert.Check(t, is.DeepEqual(f.steps(), []string{
				"connect 127.0.0.1:17687 neo4j",
				// The full safety backup while the applications run, and
				// on top of it what they wrote until they stopped.
				"exec neo4j-admin database backup --from=127.0.0.1:6362 --to-path=/backups/safety/neo4j --type=FULL --include-metadata=all neo4j",
				"stop-container server-id",
				"stop-container cache-id", // stopped last, started first
				"remove-helper " + f.eng.Helpers[1].Name(),
				"exec neo4j-admin database backup --from=127.0.0.1:6362 --to-path=/backups/safety/neo4j --type=AUTO --include-metadata=all neo4j",
				"cypher STOP neo4j",
				"exec neo4j-admin database restore --from-path=/backups/" + neo4j1 + " --overwrite-destination=true --temp-path=/backups/.restore-tmp-neo4j neo4j (user 7474:7474)",
				"cypher CREATE neo4j",
				"cypher START neo4j",
				"cypher WAIT neo4j",
				"cypher SCRIPT 2 statements database=neo4j",
				"cypher COUNT neo4j",
				"start-container cache-id",
				"start-container server-id",
				"remove-helper " + f.eng.Helpers[0].Name(),
			}))
			assert.Check(t, is.Equal(f.eng.Server.Content("neo4j"), "live data"), "the backed-up data is back")
			assert.Check(t, is.Equal(f.admin.status["neo4j"], "online"))
			assert.Check(t, is.DeepEqual(f.admin.scripts, [][]string{{
				"CREATE ROLE `reader` IF NOT EXISTS",
				"GRANT ACCESS ON DATABASE $database TO `reader`",
			}}))

			assert.Check(t, is.DeepEqual(res.Plan.Skipped, []string{"system"}))
			assert.Check(t, !f.hasCall("cypher STOP system"), "system is never restored")
			assert.Check(t, is.DeepEqual(res.AppsRestarted, []string{"infrahub-cache-1", "infrahub-server-1"}))
			assert.Check(t, f.eng.AppRunning("server-id"))
			assert.Check(t, !f.hasCall("start-container worker-id"), "an app that was not running stays stopped")
			// The cache is emptied while stopped, through its volume.
			assert.Check(t, f.hasCall("exec find /transient -mindepth 1 -delete"))
			assert.Check(t, is.Contains(f.eng.Helpers[1].Spec().Mounts, docker.Mount{Type: docker.MountVolume, Name: "3f1c0a9e", Destination: "/transient", RW: true}))
			assert.Check(t, f.eng.Helpers[1].Spec().NoNetwork)
			assert.Check(t, is.Len(f.eng.Running(), 0), "helper removed")
			assert.Check(t, f.admin.closed)
			spec := f.eng.Helpers[0].Spec()
			assert.Check(t, is.Contains(spec.Mounts, docker.Mount{Type: docker.MountVolume, Name: "database_data", Destination: "/data", RW: true}))
			assert.Check(t, !strings.Contains(fmt.Sprint(f.eng.CallLog(), spec), "s3cret"), "no password in calls or the helper's config")

			assert.Assert(t, is.Len(res.Databases, 1))
			db := res.Databases[0]
			assert.Check(t, is.Equal(db.Restored, neo4j1))
			assert.Check(t, is.Equal(db.Nodes, int64(42)))
			assert.Check(t, is.Equal(db.Statements, 2))
			assert.Check(t, !db.RolledBack)
			assertSafetyBackup(t, f, db.SafetyBackup, "live data at tx 15")
			helpertest.AssertNoLeftovers(t, f.folder)
		})
	}
}

func TestWrongCredentialsStopNothing(t *testing.T) {
	f := newFixture(t)
	f.connectErr = &neo4j.AuthError{Address: "127.0.0.1:17687", User: "neo4j", Err: errors.New("The client is unauthorized due to authentication failure.")}

	_, err := f.run(context.Background())

	assert.Check(t, errors.Is(err, neo4j.ErrUnauthorized), "got %v", err)
	assert.Check(t, is.DeepEqual(f.steps(), []string{"connect 127.0.0.1:17687 neo4j", "remove-helper " + f.eng.Helpers[0].Name()}))
	f.assertUntouched(t)
}

// The database container's NEO4J_AUTH_FILE is read through the engine, as
// the Neo4j image's entrypoint reads it [S13b] (restore once lost this to a
// wrapper that hid the engine's ReadContainerFile).
func TestRestoreReadsNEO4JAuthFile(t *testing.T) {
	for _, key := range []string{"NEO4J_AUTH_FILE", "NEO4J_AUTH_PATH"} {
		t.Run(key, func(t *testing.T) {
			f := newFixture(t)
			f.opts.Credentials = nil
			f.eng.Database.Env = append(f.eng.Database.Env, key+"=/run/secrets/neo4j_auth")
			f.eng.ContainerFiles = map[string][]byte{"db-id:/run/secrets/neo4j_auth": []byte("neo4j/from-file/with-slash\n")}

			_, err := f.run(context.Background())

			assert.NilError(t, err)
			assert.Check(t, is.DeepEqual(f.creds, neo4j.Credentials{User: "neo4j", Password: "from-file/with-slash"}))
			assert.Check(t, is.Equal(f.eng.Server.Content("neo4j"), "live data"), "the backed-up data is back")
		})
	}
}

// changeArtifact changes one byte of neo4j1, keeping its size, and takes
// the folder's state after it.
func (f *fixture) changeArtifact(t *testing.T) {
	t.Helper()
	p := f.folder.Path(neo4j1)
	data, err := os.ReadFile(p)
	assert.NilError(t, err)
	data[len(data)-2] ^= 0x20 // same size, other content
	assert.NilError(t, os.WriteFile(p, data, 0o600))
	f.before = helpertest.FolderState(t, f.folder)
}

func TestChecksumMismatchStopsBeforeAnything(t *testing.T) {
	f := newFixture(t)
	f.changeArtifact(t)

	_, err := f.run(context.Background())

	var verr *restore.VerifyError
	assert.Assert(t, errors.As(err, &verr), "got %v", err)
	assert.Check(t, is.ErrorContains(err, neo4j1))
	assert.Check(t, is.Len(f.eng.Helpers, 0), "no helper started")
	assert.Check(t, is.Len(f.steps(), 0))
	f.assertUntouched(t)
}

// A newer artifact the manifest does not record (copied in by hand, or by
// another tool) is refused, not restored unchecked; a manifest that cannot
// be read is a precondition error, as for backup.
func TestUnrecordedArtifactOrBadManifestStopsBeforeAnything(t *testing.T) {
	f := newFixture(t)
	assert.NilError(t, os.WriteFile(f.folder.Path("neo4j-2030-01-01T00-00-00.backup"), []byte("not ours"), 0o600))
	f.before = helpertest.FolderState(t, f.folder)

	_, err := f.run(context.Background())
	var verr *restore.VerifyError
	assert.Assert(t, errors.As(err, &verr), "got %v", err)
	assert.Check(t, is.ErrorContains(err, "neo4j-2030-01-01T00-00-00.backup: extra: backup file not listed in the manifest"))
	assert.Check(t, is.Len(f.eng.Helpers, 0), "no helper started")
	f.assertUntouched(t)

	assert.NilError(t, os.WriteFile(f.folder.Path(backupset.ManifestName), []byte("{"), 0o600))
	f.before = helpertest.FolderState(t, f.folder)
	_, err = f.run(context.Background())
	assert.Check(t, errors.Is(err, backupset.ErrMalformedManifest), "got %v", err)
	assert.Check(t, is.Len(f.eng.Helpers, 0), "no helper started")
	f.assertUntouched(t)
}

// A symbolic link named like a backup would have its target, a file
// anywhere on the client, uploaded to the Docker host: it is refused by name
// before any helper starts.
func TestLinkNamedLikeABackupStopsBeforeAnything(t *testing.T) {
	f := newFixture(t)
	outside := filepath.Join(t.TempDir(), "secret")
	assert.NilError(t, os.WriteFile(outside, []byte("not a backup"), 0o600))
	link := f.folder.Path("neo4j-2030-01-01T00-00-00.backup")
	assert.NilError(t, os.Symlink(outside, link))
	f.before = helpertest.FolderState(t, f.folder)

	_, err := f.run(context.Background())
	var nr *backupset.NotRegularError
	assert.Assert(t, errors.As(err, &nr), "got %v", err)
	assert.Check(t, is.ErrorContains(err, link+": it is a symbolic link"))
	assert.Check(t, is.Len(f.eng.Helpers, 0), "no helper started")
	assert.Check(t, is.Len(helpertest.CallsWith(f.eng.CallLog(), "copy-to"), 0), "nothing uploaded")
	f.assertUntouched(t)
}

func TestRestoreFailureRollsBack(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(f *fixture)
		want  string
	}{
		{
			name: "neo4j-admin restore fails",
			setup: func(f *fixture) {
				f.eng.Faults["restore"] = &helpertest.Fault{Code: 1, Stderr: "Restore failed: disk I/O error", Times: 1}
			},
			want: "neo4j-admin database restore failed with exit code 1",
		},
		{
			name:  "metadata fails",
			setup: func(f *fixture) { f.admin.scriptErr = errors.New("role already exists"); f.admin.scriptFailures = 1 },
			want:  "role already exists",
		},
		{
			name:  "database does not come online",
			setup: func(f *fixture) { f.admin.waitFailures = 1 },
			want:  "did not come online",
		},
	} {
		for _, transfer := range []string{helper.TransferBind, helper.TransferStream} {
			t.Run(tc.name+"/"+transfer, func(t *testing.T) {
				f := newFixture(t)
				f.opts.Transfer = transfer
				tc.setup(f)

				res, err := f.run(context.Background())

				var rb *restore.RolledBackError
				assert.Assert(t, errors.As(err, &rb), "got %v", err)
				assert.Check(t, is.ErrorContains(err, tc.want))
				assert.Check(t, is.Equal(rb.Database, "neo4j"))
				assert.Check(t, is.Equal(rb.Safety, filepath.Join(res.Plan.SafetyDir, safetyName)))
				assert.Check(t, is.Equal(f.eng.Server.Content("neo4j"), "live data at tx 15"), "rolled back to the data before the restore")
				assert.Check(t, f.hasCall("exec neo4j-admin database restore --from-path=/backups/safety/neo4j/"+safetyName+" --overwrite-destination=true --temp-path=/backups/.restore-tmp-neo4j neo4j (user 7474:7474)"))
				assert.Check(t, is.Equal(f.admin.status["neo4j"], "online"))
				assert.Check(t, is.Equal(lastWith(f.steps(), "cypher START"), "cypher START neo4j"))
				assert.Check(t, f.eng.AppRunning("server-id"), "apps started again")
				assert.Check(t, is.Len(f.eng.Running(), 0), "helper removed")
				assert.Assert(t, is.Len(res.Databases, 1))
				assert.Check(t, res.Databases[0].RolledBack)
				assertSafetyBackup(t, f, rb.Safety, "live data at tx 15")
				helpertest.AssertNoLeftovers(t, f.folder)
			})
		}
	}
}

func TestRollbackFailingTooIsDegraded(t *testing.T) {
	for _, transfer := range []string{helper.TransferBind, helper.TransferStream} {
		t.Run(transfer, func(t *testing.T) { testRollbackFailingTooIsDegraded(t, transfer) })
	}
}

func testRollbackFailingTooIsDegraded(t *testing.T, transfer string) {
	f := newFixture(t)
	f.opts.Transfer = transfer
	f.eng.Faults["restore"] = &helpertest.Fault{Code: 1, Stderr: "Restore failed: disk I/O error"}

	res, err := f.run(context.Background())

	var deg *restore.DegradedError
	assert.Assert(t, errors.As(err, &deg), "got %v", err)
	assert.Check(t, is.Equal(deg.Database, "neo4j"))
	assert.Check(t, is.Equal(deg.Safety, filepath.Join(res.Plan.SafetyDir, safetyName)))
	assert.Check(t, is.Equal(deg.State, "online (requested online)"))
	assert.Check(t, is.ErrorContains(err, "could not be rolled back"))
	assert.Check(t, is.ErrorContains(err, "docker infrahubdb restore "+res.Plan.SafetyDir+" --database neo4j"))
	assert.Check(t, is.Len(helpertest.CallsWith(f.steps(), "exec neo4j-admin database restore"), 2), "restore, then rollback")
	assert.Check(t, is.Equal(lastWith(f.steps(), "cypher"), "cypher WAIT neo4j"), "started again")
	assert.Check(t, f.eng.AppRunning("server-id"))
	assert.Check(t, is.Len(f.eng.Running(), 0))
	assertSafetyBackup(t, f, deg.Safety, "live data at tx 15")
}

// A helper container removed from outside while neo4j-admin restore runs
// takes the tool and the Bolt tunnel with it: the rollback starts a new one.
func TestHelperRemovedFromOutsideIsReplacedForTheRollback(t *testing.T) {
	f := newFixture(t)
	f.eng.Faults["restore"] = &helpertest.Fault{Code: 137, Times: 1, Hook: func() { f.eng.Helpers[0].Lose() }}

	_, err := f.run(context.Background())

	var rb *restore.RolledBackError
	assert.Assert(t, errors.As(err, &rb), "got %v", err)
	assert.Check(t, is.ErrorContains(err, "was removed or stopped from outside while neo4j-admin database restore ran"))
	assert.Check(t, is.Len(f.eng.Helpers, 3), "the cache's helper, then a new helper for the rollback")
	assert.Check(t, is.Equal(f.eng.Server.Content("neo4j"), "live data at tx 15"), "rolled back to the data before the restore")
	assert.Check(t, is.Equal(f.admin.status["neo4j"], "online"))
	assert.Check(t, f.eng.AppRunning("server-id"))
	assert.Check(t, is.Len(f.eng.Running(), 0))
}

// The Docker engine stops answering while neo4j-admin restore runs (the
// ssh link to a remote engine cut): the helper was not removed from
// outside, and no new one is started for a rollback the engine would not
// hear; the error says the engine does not answer.
func TestEngineUnreachableIsNotTakenForARemovedHelper(t *testing.T) {
	f := newFixture(t)
	unreachable := fmt.Errorf("%w at ssh://infra@host: error during connect: EOF", docker.ErrDaemonUnreachable)
	f.eng.Faults["restore"] = &helpertest.Fault{Err: errors.New("exec stream ended: EOF"), Times: 1, Hook: func() { f.eng.Unreachable = unreachable }}

	_, err := f.run(context.Background())

	var deg *restore.DegradedError
	assert.Assert(t, errors.As(err, &deg), "got %v", err)
	assert.Check(t, is.ErrorContains(err, "the Docker engine stopped answering while neo4j-admin database restore ran"))
	assert.Check(t, is.ErrorContains(err, "the Docker engine does not answer"))
	assert.Check(t, !strings.Contains(err.Error(), "from outside"), "%v", err)
	assert.Check(t, is.Len(f.eng.Helpers, 2), "the cache's helper and the restore's: no new one")
}

func TestStartFailingOnceIsRetried(t *testing.T) {
	f := newFixture(t)
	f.admin.startFailures = 1

	_, err := f.run(context.Background())
	assert.NilError(t, err)

	assert.Check(t, is.Len(helpertest.CallsWith(f.steps(), "cypher START neo4j"), 2))
	assert.Check(t, is.Equal(f.eng.Server.Content("neo4j"), "live data"))
	assert.Check(t, is.Equal(f.admin.status["neo4j"], "online"))
}

func TestStartFailingAlwaysIsDegraded(t *testing.T) {
	f := newFixture(t)
	f.admin.startFailures = 100

	_, err := f.run(context.Background())

	var deg *restore.DegradedError
	assert.Assert(t, errors.As(err, &deg), "got %v", err)
	assert.Check(t, is.Equal(deg.State, "offline (requested offline)"))
	assert.Check(t, is.ErrorContains(err, "database state: offline"))
	assert.Check(t, f.eng.AppRunning("server-id"), "apps started again")
	assert.Check(t, is.Len(f.eng.Running(), 0))
}

func TestCancelBetweenStopAndStart(t *testing.T) {
	for _, safety := range []bool{true, false} {
		t.Run(fmt.Sprintf("safety backup %v", safety), func(t *testing.T) {
			f := newFixture(t)
			f.opts.SafetyBackup = safety
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			f.eng.Faults["restore"] = &helpertest.Fault{Hook: cancel, Times: 1}

			_, err := f.run(ctx)

			assert.Check(t, errors.Is(err, context.Canceled), "got %v", err)
			steps := f.steps()
			assert.Check(t, slices.Index(steps, "cypher STOP neo4j") < slices.Index(steps, "cypher START neo4j"))
			assert.Check(t, is.Equal(lastWith(steps, "cypher WAIT"), "cypher WAIT neo4j"), "started again")
			assert.Check(t, is.Equal(f.admin.status["neo4j"], "online"))
			assert.Check(t, f.admin.liveCtxStart, "START ran with a live context")
			assert.Check(t, f.eng.AppRunning("server-id"), "apps started again")
			assert.Check(t, f.hasCall("start-container server-id"))
			assert.Check(t, is.Len(f.eng.Running(), 0), "helper removed")
			if safety {
				var rb *restore.RolledBackError
				assert.Check(t, errors.As(err, &rb), "got %v", err)
				assert.Check(t, is.Equal(f.eng.Server.Content("neo4j"), "live data at tx 15"))
			}
		})
	}
}

func TestNoSafetyBackup(t *testing.T) {
	f := newFixture(t)
	f.opts.SafetyBackup = false

	res, err := f.run(context.Background())
	assert.NilError(t, err)

	assert.Check(t, is.Equal(res.Plan.SafetyDir, ""))
	assert.Check(t, is.Equal(res.Databases[0].SafetyBackup, ""))
	assert.Check(t, !f.hasCall("exec neo4j-admin database backup"))
	assert.Check(t, is.Equal(f.eng.Server.Content("neo4j"), "live data"))
	assert.Check(t, is.DeepEqual(helpertest.FolderFiles(t, f.folder), []string{backupset.ManifestName, neo4j1, "system-2026-11-25T10-00-00.backup"}))
}

func TestNoSafetyBackupFailureStartsTheDatabase(t *testing.T) {
	f := newFixture(t)
	f.opts.SafetyBackup = false
	f.eng.Faults["restore"] = &helpertest.Fault{Code: 1, Stderr: "Restore failed"}

	_, err := f.run(context.Background())

	assert.Check(t, is.ErrorContains(err, "the database was started again"))
	assert.Check(t, is.Equal(f.admin.status["neo4j"], "online"))
	assert.Check(t, f.eng.AppRunning("server-id"))
}

func TestDryRunChangesNothing(t *testing.T) {
	f := newFixture(t)
	f.opts.DryRun = true

	res, err := f.run(context.Background())
	assert.NilError(t, err)

	assert.Check(t, res.DryRun)
	assert.Assert(t, is.Len(res.Plan.Databases, 1))
	assert.Check(t, is.DeepEqual(res.Plan.Databases[0].Files, []string{neo4j1}))
	assert.Check(t, is.DeepEqual(res.Plan.AppNames, []string{"infrahub-cache-1", "infrahub-server-1"}))
	assert.Check(t, strings.HasPrefix(res.Plan.SafetyDir, f.folder.Dir+string(filepath.Separator)+"safety-"), res.Plan.SafetyDir)
	// The dry run proves the helper starts and the credentials log in, then
	// removes the helper and changes nothing.
	assert.Check(t, is.Len(f.eng.Helpers, 1))
	assert.Check(t, is.Len(f.eng.Running(), 0))
	assert.Check(t, f.connected)
	f.assertUntouched(t)
}

func TestNotConfirmedChangesNothing(t *testing.T) {
	f := newFixture(t)
	var asked *restore.Plan
	f.opts.Confirm = func(p *restore.Plan) (bool, error) { asked = p; return false, nil }

	_, err := f.run(context.Background())

	assert.Check(t, errors.Is(err, restore.ErrNotConfirmed), "got %v", err)
	assert.Check(t, asked != nil)
	f.assertUntouched(t)
	assert.Check(t, is.Len(f.eng.Running(), 0))
}

func TestDatabaseFilter(t *testing.T) {
	f := newFixture(t, "infra-hub")
	f.opts.Databases = []string{"infra-hub"}

	res, err := f.run(context.Background())
	assert.NilError(t, err)

	assert.Assert(t, is.Len(res.Plan.Databases, 1))
	assert.Check(t, is.Equal(res.Plan.Databases[0].Name, "infra-hub"))
	assert.Check(t, f.hasCall("cypher STOP infra-hub"))
	assert.Check(t, !f.hasCall("cypher STOP neo4j"))
	assert.Check(t, is.Equal(f.eng.Server.Content("neo4j"), "live data at tx 15"), "neo4j untouched")

	f = newFixture(t)
	f.opts.Databases = []string{"nope"}
	_, err = f.run(context.Background())
	var envErr *helper.EnvironmentError
	assert.Check(t, errors.As(err, &envErr), "got %v", err)
	assert.Check(t, is.ErrorContains(err, `holds no backup of database "nope" (it has: neo4j, system)`))
	f.assertUntouched(t)
}

func TestUntilChoosesTheChain(t *testing.T) {
	for _, tc := range []struct {
		name      string
		until     time.Time
		wantFiles []string
		wantData  string
		wantArg   string
	}{
		{name: "newest chain", wantFiles: []string{neo4j2, neo4j3}, wantData: "live data at tx 30"},
		{
			name: "older chain", until: time.Date(2026, 11, 25, 10, 0, 30, 0, time.UTC),
			wantFiles: []string{neo4j1}, wantData: "live data", wantArg: " --restore-until=2026-11-25 10:00:30",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Chains: full 10:00 | full 10:01, diff 10:02.
			f := newFixture(t)
			f.eng.Server.Write("neo4j", 5)
			f.backup(t, func(o *backup.Options) { o.Type = neo4jbackup.TypeFull })
			f.eng.Server.Write("neo4j", 10)
			f.backup(t, func(o *backup.Options) { o.Aggregate = false })
			f.eng.Server.Write("neo4j", 1)
			f.eng.Calls = nil
			f.opts.Until = tc.until
			f.opts.Transfer = helper.TransferStream

			res, err := f.run(context.Background())
			assert.NilError(t, err)

			assert.Check(t, is.DeepEqual(res.Plan.Databases[0].Files, tc.wantFiles))
			assert.Check(t, is.DeepEqual(helpertest.CallsWith(f.eng.CallLog(), "copy-to /backups "), []string{"copy-to /backups " + strings.Join(tc.wantFiles, " ")}))
			last := tc.wantFiles[len(tc.wantFiles)-1]
			assert.Check(t, f.hasCall("exec neo4j-admin database restore --from-path=/backups/"+last+" --overwrite-destination=true"+tc.wantArg+" --temp-path=/backups/.restore-tmp-neo4j neo4j"))
			assert.Check(t, is.Equal(f.eng.Server.Content("neo4j"), tc.wantData))
		})
	}
}

func TestFolderWithoutManifestRestores(t *testing.T) {
	f := newFixture(t)
	assert.NilError(t, os.Remove(f.folder.Path(backupset.ManifestName)))

	res, err := f.run(context.Background())
	assert.NilError(t, err)

	assert.Check(t, res.Plan.Databases[0].Unverified)
	assert.Check(t, is.Equal(res.Databases[0].Restored, neo4j1))
	assert.Check(t, is.Equal(f.eng.Server.Content("neo4j"), "live data"))
}

func TestAppStopFailureRestartsWhatWasStopped(t *testing.T) {
	f := newFixture(t)
	f.eng.Apps = append(f.eng.Apps, docker.Container{ID: "worker2-id", Name: "infrahub-task-worker-2", ComposeProject: "infrahub", ComposeService: "task-worker", Running: true})
	f.eng.Faults["stop-container"] = &helpertest.Fault{Skip: 1, Err: errors.New("permission denied")}

	res, err := f.run(context.Background())

	// Workers stop before the server (dependency order, docs/outage.md);
	// the server's failed stop may have stopped it anyway: both start again.
	assert.Check(t, is.ErrorContains(err, "stop application container infrahub-server-1: permission denied"))
	assert.Check(t, is.DeepEqual(res.AppsRestarted, []string{"infrahub-server-1", "infrahub-task-worker-2"}))
	assert.Check(t, f.eng.AppRunning("server-id"))
	assert.Check(t, f.eng.AppRunning("worker2-id"))
	assert.Check(t, !f.hasCall("exec find /transient"), "nothing emptied")
	assert.Check(t, !f.hasCall("cypher STOP"))
	assert.Check(t, is.Equal(f.eng.Server.Content("neo4j"), "live data at tx 15"))
}

func TestSecondDatabaseFailingRollsBackOnlyIt(t *testing.T) {
	f := newFixture(t, "infra-hub")
	f.eng.Faults["restore"] = &helpertest.Fault{Skip: 1, Times: 1, Code: 1, Stderr: "Restore failed"}

	res, err := f.run(context.Background())

	var rb *restore.RolledBackError
	assert.Assert(t, errors.As(err, &rb), "got %v", err)
	assert.Check(t, is.Equal(rb.Database, "neo4j"))
	assert.Check(t, is.Equal(f.eng.Server.Content("infra-hub"), "data of infra-hub"), "the first database is restored")
	assert.Check(t, is.Equal(f.eng.Server.Content("neo4j"), "live data at tx 15"), "the second is rolled back")
	assert.Assert(t, is.Len(res.Databases, 2))
	assert.Check(t, !res.Databases[0].RolledBack)
	assert.Check(t, res.Databases[1].RolledBack)
	safety, err := backupset.Open(res.Plan.SafetyDir)
	assert.NilError(t, err)
	m, err := safety.ReadManifest()
	assert.NilError(t, err)
	// Per database a full safety backup, taken before the applications
	// stopped, and a differential one on top (empty: nothing was written).
	assert.Check(t, is.Len(m.Files, 4), "two safety backups per database: %+v", m.Files)
	for _, rec := range m.Files {
		assert.Check(t, rec.Type == backupset.TypeFull || rec.Empty, "%s: %s", rec.Name, rec.Type)
	}
	for _, db := range res.Databases {
		_, err := os.Stat(db.SafetyBackup)
		assert.Check(t, err, db.Name)
	}
}

func TestDatabaseMissingOnTheServerIsCreated(t *testing.T) {
	f := newFixture(t, "infra-hub")
	delete(f.admin.status, "infra-hub")
	delete(f.eng.Server.Tx, "infra-hub")
	delete(f.eng.Server.Data, "infra-hub")
	f.opts.Databases = []string{"infra-hub"}

	res, err := f.run(context.Background())
	assert.NilError(t, err)

	assert.Check(t, is.DeepEqual(helpertest.CallsWith(f.steps(), "cypher"), []string{
		"cypher CREATE infra-hub", "cypher START infra-hub", "cypher WAIT infra-hub",
		"cypher SCRIPT 2 statements database=infra-hub", "cypher COUNT infra-hub",
	}), "no safety backup and no STOP for a database that does not exist")
	assert.Check(t, is.Equal(res.Databases[0].SafetyBackup, ""))
	assert.Check(t, is.Equal(f.eng.Server.Content("infra-hub"), "data of infra-hub"))
	_, err = os.Stat(res.Plan.SafetyDir)
	assert.Check(t, errors.Is(err, os.ErrNotExist), "no empty safety dir left")
}

// fixture is a backup folder made by the backup workflow from a Neo4j whose
// data then changed ("live data" → "live data at tx 15"), a fake engine
// with Infrahub app containers, and a fake Neo4j admin connection.
type fixture struct {
	eng        *helpertest.Engine
	admin      *fakeAdmin
	folder     *backupset.Folder
	opts       restore.Options
	connectErr error
	connected  bool
	creds      neo4j.Credentials // of the last connect
	before     map[string]string
}

func newFixture(t *testing.T, extraDBs ...string) *fixture {
	t.Helper()
	eng := helpertest.New()
	eng.Apps = []docker.Container{
		{ID: "server-id", Name: "infrahub-server-1", ComposeProject: "infrahub", ComposeService: "infrahub-server", Running: true},
		{ID: "worker-id", Name: "infrahub-task-worker-1", ComposeProject: "infrahub", ComposeService: "task-worker", Running: false},
		{ID: "cache-id", Name: "infrahub-cache-1", ComposeProject: "infrahub", ComposeService: "cache", Running: true,
			Mounts: []docker.Mount{{Type: docker.MountVolume, Name: "3f1c0a9e", Destination: "/data", RW: true}}},
		{ID: "other-id", Name: "other-server-1", ComposeProject: "other", ComposeService: "infrahub-server", Running: true},
	}
	for _, db := range extraDBs {
		eng.Server.Tx[db], eng.Server.Data[db] = 3, "data of "+db
	}
	folder, err := backupset.Create(filepath.Join(t.TempDir(), "backups"))
	assert.NilError(t, err)
	f := &fixture{eng: eng, folder: folder}
	f.backup(t, nil)
	for _, db := range append([]string{"neo4j"}, extraDBs...) {
		eng.Server.Write(db, 5)
	}
	eng.Calls, eng.Helpers = nil, nil

	f.admin = &fakeAdmin{eng: eng, status: map[string]string{"system": "online"}}
	for _, db := range eng.Server.Databases() {
		f.admin.status[db] = "online"
	}
	f.opts = restore.Options{
		Transfer:     helper.TransferAuto,
		Credentials:  &neo4j.Credentials{User: "neo4j", Password: "s3cret/with/slashes"},
		BoltAddress:  "127.0.0.1:17687",
		SafetyBackup: true,
		StopApps:     true,
		Tool:         "docker-infrahubdb test",
		OnlineWait:   time.Second,
		RetryPause:   time.Nanosecond,
	}
	f.before = helpertest.FolderState(t, folder)
	return f
}

func (f *fixture) backup(t *testing.T, mod func(*backup.Options)) {
	t.Helper()
	o := backup.Options{Transfer: helper.TransferAuto, Type: neo4jbackup.TypeAuto, IncludeMetadata: "all", Aggregate: true, Tool: "docker-infrahubdb test"}
	if mod != nil {
		mod(&o)
	}
	_, err := backup.Run(context.Background(), f.eng, f.folder, o, progress.Nop)
	assert.NilError(t, err)
}

func (f *fixture) run(ctx context.Context) (*restore.Result, error) {
	connect := func(ctx context.Context, address string, creds neo4j.Credentials) (restore.Admin, error) {
		f.eng.Record("connect %s %s", address, creds.User)
		f.creds = creds
		if f.connectErr != nil {
			return nil, f.connectErr
		}
		f.connected = true
		return f.admin, nil
	}
	return restore.Run(ctx, f.eng, connect, f.folder, f.opts, progress.Nop)
}

// steps are the calls that change something or talk to Neo4j, in order.
func (f *fixture) steps() []string {
	var out []string
	for _, c := range f.eng.CallLog() {
		for _, p := range []string{"connect", "stop-container", "start-container", "cypher", "remove-helper",
			"exec neo4j-admin database backup", "exec neo4j-admin database restore"} {
			if strings.HasPrefix(c, p) {
				out = append(out, c)
				break
			}
		}
	}
	return out
}

func (f *fixture) hasCall(prefix string) bool {
	return len(helpertest.CallsWith(f.eng.CallLog(), prefix)) > 0
}

// assertUntouched checks that nothing was stopped, restored or written.
// assertUntouched checks that nothing stopped or changed, in the database
// and in the folder: a full safety backup taken beside the checks (online,
// see basesAlongside) is gone with its safety folder.
func (f *fixture) assertUntouched(t *testing.T) {
	t.Helper()
	for _, c := range f.eng.CallLog() {
		for _, p := range []string{"stop-container", "cypher STOP", "exec neo4j-admin database restore", "exec neo4j-admin database load", "exec neo4j-admin database dump"} {
			assert.Check(t, !strings.HasPrefix(c, p), c)
		}
	}
	assert.Check(t, is.Equal(f.eng.Server.Content("neo4j"), "live data at tx 15"))
	assert.Check(t, f.eng.AppRunning("server-id"))
	assert.Check(t, is.DeepEqual(helpertest.FolderState(t, f.folder), f.before))
}

// assertSafetyBackup checks the safety backup file and its manifest.
func assertSafetyBackup(t *testing.T, f *fixture, p, wantData string) {
	t.Helper()
	assert.Check(t, is.Equal(filepath.Base(p), safetyName))
	assert.Check(t, backupset.IsSafetyDirName(filepath.Base(filepath.Dir(p))), p)
	data, err := os.ReadFile(p)
	assert.NilError(t, err)
	assert.Check(t, is.Contains(string(data), "full=true"))
	assert.Check(t, is.Contains(string(data), wantData))
	safety, err := backupset.Open(filepath.Dir(p))
	assert.NilError(t, err)
	m, err := safety.ReadManifest()
	assert.NilError(t, err)
	rec, ok := m.Lookup(safetyName)
	assert.Check(t, ok)
	assert.Check(t, is.Equal(rec.Type, backupset.TypeFull))
}

func lastWith(calls []string, prefix string) string {
	found := helpertest.CallsWith(calls, prefix)
	if len(found) == 0 {
		return ""
	}
	return found[len(found)-1]
}

// fakeAdmin is the Neo4j administration connection: database states, and
// injectable failures.
type fakeAdmin struct {
	eng    *helpertest.Engine
	mu     sync.Mutex
	status map[string]string

	rootIDs        map[string]string // Root uuid per database, set by ResetDeploymentID
	startFailures  int               // START fails this many times
	waitFailures   int               // WaitOnline fails this many times
	scriptErr      error
	scriptFailures int // RunScript fails this many times with scriptErr
	scripts        [][]string
	liveCtxStart   bool // the last START got a live context
	closed         bool
	// lateStarts: a START that was interrupted completes after this many
	// STOPs (the server was still starting the database).
	lateStarts int
}

func (a *fakeAdmin) Database(ctx context.Context, name string) (neo4j.Database, bool, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	s, ok := a.status[name]
	return neo4j.Database{Name: name, CurrentStatus: s, RequestedStatus: s}, ok, nil
}

func (a *fakeAdmin) Stop(ctx context.Context, name string) error {
	a.eng.Record("cypher STOP %s", name)
	a.mu.Lock()
	late := a.lateStarts > 0
	a.lateStarts--
	a.mu.Unlock()
	if late {
		return a.set(name, "online")
	}
	return a.set(name, "offline")
}

func (a *fakeAdmin) Start(ctx context.Context, name string) error {
	a.eng.Record("cypher START %s", name)
	a.mu.Lock()
	a.liveCtxStart = ctx.Err() == nil
	fail := a.startFailures > 0
	a.startFailures--
	a.mu.Unlock()
	if fail {
		return errors.New("Neo.TransientError.General.DatabaseUnavailable: database is starting")
	}
	return a.set(name, "online")
}

func (a *fakeAdmin) Create(ctx context.Context, name string) error {
	a.eng.Record("cypher CREATE %s", name)
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := a.status[name]; !ok {
		a.status[name] = "online"
	}
	return nil
}

func (a *fakeAdmin) WaitOnline(ctx context.Context, name string, timeout time.Duration) error {
	a.eng.Record("cypher WAIT %s", name)
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.waitFailures > 0 {
		a.waitFailures--
		return fmt.Errorf("database %s did not come online: quarantined", name)
	}
	if a.status[name] != "online" {
		return fmt.Errorf("database %s did not come online: %s", name, a.status[name])
	}
	return nil
}

func (a *fakeAdmin) RunScript(ctx context.Context, statements []string, params map[string]any) (int, error) {
	a.eng.Record("cypher SCRIPT %d statements database=%v", len(statements), params["database"])
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.scriptFailures > 0 {
		a.scriptFailures--
		return 0, a.scriptErr
	}
	a.scripts = append(a.scripts, statements)
	return len(statements), nil
}

func (a *fakeAdmin) CountNodes(ctx context.Context, db string) (int64, error) {
	a.eng.Record("cypher COUNT %s", db)
	return 42, nil
}

func (a *fakeAdmin) ResetDeploymentID(ctx context.Context, db, id, updatedAt string) (int64, error) {
	a.eng.Record("cypher ROOT %s", db)
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.rootIDs == nil {
		a.rootIDs = map[string]string{}
	}
	a.rootIDs[db] = id
	return 1, nil
}

func (a *fakeAdmin) Close(ctx context.Context) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.closed = true
	return nil
}

func (a *fakeAdmin) set(name, status string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := a.status[name]; !ok {
		return fmt.Errorf("Neo.ClientError.Database.DatabaseNotFound: %s", name)
	}
	a.status[name] = status
	// STOP DATABASE releases the store to neo4j-admin dump and load [S19].
	a.eng.Server.SetStopped(name, status == "offline")
	return nil
}

// A folder without a manifest whose only file is not a backup artifact at
// all: backup inspect in the preflight finds out, before anything stops.
func TestUnverifiedFileThatIsNotABackupStopsBeforeStop(t *testing.T) {
	f := newFixture(t)
	assert.NilError(t, os.Remove(f.folder.Path(backupset.ManifestName)))
	for _, name := range helpertest.FolderFiles(t, f.folder) {
		assert.NilError(t, os.Remove(f.folder.Path(name)))
	}
	assert.NilError(t, os.WriteFile(f.folder.Path(neo4j1), []byte("not a backup at all\n"), 0o600))
	f.before = helpertest.FolderState(t, f.folder)

	_, err := f.run(context.Background())
	var verr *restore.VerifyError
	assert.Assert(t, errors.As(err, &verr), "%v", err)
	assert.Check(t, is.Contains(err.Error(), neo4j1+": not a Neo4j backup artifact"))
	f.assertUntouched(t)
	assert.Check(t, is.Len(f.eng.Running(), 0))
}

// Without a manifest every file is of unknown type: the chain comes from
// the headers (full, diff, empty), and the newest file with data is restored.
func TestUnverifiedChainIsToldByItsHeaders(t *testing.T) {
	f := newFixture(t)
	noAgg := func(o *backup.Options) { o.Aggregate = false; o.Databases = []string{"neo4j"} }
	f.backup(t, noAgg) // a diff of the 5 writes
	f.backup(t, noAgg) // nothing new: empty
	assert.NilError(t, os.Remove(f.folder.Path(backupset.ManifestName)))
	files := helpertest.FolderFiles(t, f.folder)
	var neo4jFiles []string
	for _, n := range files {
		if strings.HasPrefix(n, "neo4j-") {
			neo4jFiles = append(neo4jFiles, n)
		}
	}
	assert.Assert(t, is.Len(neo4jFiles, 3))
	f.eng.Server.Write("neo4j", 2)
	f.opts.Databases = []string{"neo4j"}

	res, err := f.run(context.Background())
	assert.NilError(t, err)
	assert.Check(t, is.Equal(res.Databases[0].Restored, neo4jFiles[1]), "the diff, not the empty backup after it")
	assert.Check(t, is.Equal(f.eng.Server.Content("neo4j"), "live data at tx 15"))
}

// An interrupted START may complete after the rollback's STOP: the rollback
// stops the database again until it is offline, then restores.
func TestRollbackStopsADatabaseThatCameOnlineLate(t *testing.T) {
	f := newFixture(t)
	f.admin.waitFailures = 1
	f.admin.lateStarts = 2 // the STOP of the restore is fine; the first rollback STOP is overtaken

	_, err := f.run(context.Background())
	var rb *restore.RolledBackError
	assert.Assert(t, errors.As(err, &rb), "%v", err)
	stops := helpertest.CallsWith(f.eng.CallLog(), "cypher STOP")
	assert.Check(t, len(stops) >= 3, "%v", stops)
	assert.Check(t, is.Equal(f.eng.Server.Content("neo4j"), "live data at tx 15"))
}

// The rollback's restore finds the database in use (a START finished on
// the server behind the rollback's STOP): it stops it again and retries.
// What neo4j-admin prints then is undocumented (research NEO4J.md §7):
// SHOW DATABASES decides, whatever the message says.
func TestRollbackRetriesADatabaseInUse(t *testing.T) {
	for _, tc := range []struct {
		name     string
		message  string
		cameBack bool // the database is online again when restore refuses
		restores int
	}{
		{name: "documented message, online", message: "The database is in use. Stop database 'neo4j' and try again.", cameBack: true, restores: 3},
		{name: "another message, online", message: "org.neo4j.io.locker.FileLockException: Lock file has been locked by another process", cameBack: true, restores: 3},
		{name: "in use message, but offline", message: "The database is in use. Stop database 'neo4j' and try again.", restores: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.admin.waitFailures = 1
			f.eng.Faults["restore"] = &helpertest.Fault{Skip: 1, Times: 1, Code: 1, Stderr: tc.message, Hook: func() {
				if tc.cameBack {
					_ = f.admin.set("neo4j", "online")
				}
			}}

			_, err := f.run(context.Background())
			assert.Check(t, is.Len(helpertest.CallsWith(f.eng.CallLog(), "exec neo4j-admin database restore"), tc.restores))
			if !tc.cameBack {
				var rb *restore.RolledBackError
				assert.Check(t, !errors.As(err, &rb), "a refusal while offline is not retried: %v", err)
				assert.Check(t, is.ErrorContains(err, "in use"))
				return
			}
			var rb *restore.RolledBackError
			assert.Assert(t, errors.As(err, &rb), "%v", err)
			assert.Check(t, is.Equal(f.eng.Server.Content("neo4j"), "live data at tx 15"))
		})
	}
}

// --until chooses what is restored; the safety backup, taken after it, is
// rolled back whole (a --restore-until would drop every transaction of it).
func TestRollbackRestoresTheWholeSafetyBackup(t *testing.T) {
	f := newFixture(t)
	f.opts.Until = time.Date(2026, 11, 25, 10, 0, 30, 0, time.UTC)
	f.eng.Faults["restore"] = &helpertest.Fault{Code: 1, Stderr: "Restore failed", Times: 1}

	_, err := f.run(context.Background())

	var rb *restore.RolledBackError
	assert.Assert(t, errors.As(err, &rb), "got %v", err)
	restores := helpertest.CallsWith(f.eng.CallLog(), "exec neo4j-admin database restore")
	assert.Assert(t, is.Len(restores, 2))
	assert.Check(t, is.Contains(restores[0], "--restore-until=2026-11-25 10:00:30"))
	assert.Check(t, strings.Contains(restores[1], "/safety/") && !strings.Contains(restores[1], "--restore-until"), restores[1])
	assert.Check(t, is.Equal(f.eng.Server.Content("neo4j"), "live data at tx 15"))
}
