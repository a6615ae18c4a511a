package backup_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
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
	"github.com/opsmill/docker-infrahubdb/internal/neo4jbackup"
	"github.com/opsmill/docker-infrahubdb/internal/progress"
)

// Names the fake neo4j-admin gives the artifacts of the first and second run.
const (
	neo4j1  = "neo4j-2026-11-25T10-00-00.backup"
	system1 = "system-2026-11-25T10-00-00.backup"
	neo4j2  = "neo4j-2026-11-25T10-01-00.backup"
	system2 = "system-2026-11-25T10-01-00.backup"
)

var _ helper.Engine = (*helpertest.Engine)(nil)

func TestFirstBackupWritesFilesAndManifest(t *testing.T) {
	for _, tc := range []struct {
		name        string
		transfer    string
		bindVisible bool
		wantMode    string
		wantHelpers int
	}{
		{name: "bind", transfer: helper.TransferAuto, bindVisible: true, wantMode: helper.TransferBind, wantHelpers: 1},
		{name: "auto falls back to stream", transfer: helper.TransferAuto, bindVisible: false, wantMode: helper.TransferStream, wantHelpers: 2},
		{name: "stream", transfer: helper.TransferStream, bindVisible: true, wantMode: helper.TransferStream, wantHelpers: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eng := helpertest.New()
			eng.BindVisible = tc.bindVisible
			folder := newFolder(t)

			res, err := backup.Run(context.Background(), eng, folder, options(func(o *backup.Options) { o.Transfer = tc.transfer }), progress.Nop)
			assert.NilError(t, err)

			assert.Check(t, is.Equal(res.Transfer, tc.wantMode))
			assert.Check(t, is.DeepEqual(res.Databases, []string{"neo4j", "system"}))
			assert.Check(t, is.Equal(res.Neo4jVersion, "5.26.0"))
			assert.Check(t, is.DeepEqual(helpertest.FolderFiles(t, folder), []string{backupset.ManifestName, neo4j1, system1}))
			m, err := folder.ReadManifest()
			assert.NilError(t, err)
			assert.Check(t, is.Equal(m.Tool, "docker-infrahubdb test"))
			assert.Assert(t, is.Len(m.Files, 2))
			for _, rec := range m.Files {
				data, err := os.ReadFile(folder.Path(rec.Name))
				assert.NilError(t, err)
				sum := sha256.Sum256(data)
				assert.Check(t, is.Equal(rec.Size, int64(len(data))), rec.Name)
				assert.Check(t, is.Equal(rec.SHA256, hex.EncodeToString(sum[:])), rec.Name)
				assert.Check(t, is.Equal(rec.Type, backupset.TypeFull), rec.Name)
				assert.Check(t, is.Equal(rec.Database, strings.SplitN(rec.Name, "-", 2)[0]))
				assert.Check(t, is.Equal(rec.SourceContainer, "database"))
				assert.Check(t, is.Equal(rec.Neo4jVersion, "5.26.0"))
				st, err := os.Stat(folder.Path(rec.Name))
				assert.NilError(t, err)
				assert.Check(t, is.Equal(st.Mode().Perm(), os.FileMode(0o600)), rec.Name)
			}
			assert.Check(t, is.Len(eng.Helpers, tc.wantHelpers))
			assert.Check(t, is.Len(eng.Running(), 0), "helper removed")
			assert.Check(t, is.Len(res.Helper, 0), "no kept helper")
			spec := eng.Helpers[len(eng.Helpers)-1].Spec()
			assert.Check(t, is.Len(spec.Networks, 0))
			assert.Check(t, is.Equal(spec.JoinContainer, "db-id"), "shares the database's network namespace")
			assert.Check(t, is.Equal(spec.Labels[docker.LabelTarget], "db-id"))
			assert.Check(t, is.Equal(spec.Image, "neo4j:5.26.0-enterprise"), "the database's own enterprise image")
			assert.Check(t, hasCall(eng, "exec neo4j-admin database backup --from=127.0.0.1:6362 --to-path=/backups --type=AUTO --include-metadata=all *"))
			assert.Check(t, !hasCall(eng, "exec neo4j-admin database aggregate-backup"), "nothing to aggregate in a first backup")
		})
	}
}

func TestSecondBackupSeedsNewestChainAndAggregates(t *testing.T) {
	for _, transfer := range []string{helper.TransferBind, helper.TransferStream} {
		t.Run(transfer, func(t *testing.T) {
			eng := helpertest.New()
			folder := newFolder(t)
			opts := options(func(o *backup.Options) { o.Transfer = transfer })
			_, err := backup.Run(context.Background(), eng, folder, opts, progress.Nop)
			assert.NilError(t, err)

			eng.Server.Write("neo4j", 5)
			eng.Server.Write("system", 1)
			eng.Calls = nil
			res, err := backup.Run(context.Background(), eng, folder, opts, progress.Nop)
			assert.NilError(t, err)
			// One aggregate per database: it takes one name ([S5]).
			assert.Check(t, hasCall(eng, "exec neo4j-admin database aggregate-backup --from-path=/backups neo4j"))
			assert.Check(t, hasCall(eng, "exec neo4j-admin database aggregate-backup --from-path=/backups system"))

			if transfer == helper.TransferStream {
				assert.Check(t, is.DeepEqual(helpertest.CallsWith(eng.CallLog(), "copy-to"), []string{"copy-to /backups " + neo4j1 + " " + system1}))
			}
			assert.Check(t, is.DeepEqual(res.Removed, []string{neo4j1, system1}))
			assert.Check(t, is.DeepEqual(helpertest.FolderFiles(t, folder), []string{backupset.ManifestName, neo4j2, system2}))
			data, err := os.ReadFile(folder.Path(neo4j2))
			assert.NilError(t, err)
			assert.Check(t, is.Contains(string(data), "full=true from=1 to=15"), "the aggregate of the chain")
			assert.Check(t, is.Contains(string(data), "live data at tx 15"))

			m, err := folder.ReadManifest()
			assert.NilError(t, err)
			assert.Check(t, is.DeepEqual(recordNames(m), []string{neo4j2, system2}))
			for _, rec := range m.Files {
				assert.Check(t, is.Equal(rec.Type, backupset.TypeFull), rec.Name)
			}
			assert.Check(t, is.Len(eng.Running(), 0))
			helpertest.AssertNoLeftovers(t, folder)
		})
	}
}

func TestNoAggregateKeepsTheChain(t *testing.T) {
	eng := helpertest.New()
	folder := newFolder(t)
	opts := options(func(o *backup.Options) { o.Aggregate = false })
	_, err := backup.Run(context.Background(), eng, folder, opts, progress.Nop)
	assert.NilError(t, err)
	eng.Server.Write("neo4j", 5)
	res, err := backup.Run(context.Background(), eng, folder, opts, progress.Nop)
	assert.NilError(t, err)

	assert.Check(t, is.Len(res.Removed, 0))
	assert.Check(t, !hasCall(eng, "exec neo4j-admin database aggregate-backup"))
	assert.Check(t, is.DeepEqual(helpertest.FolderFiles(t, folder), []string{backupset.ManifestName, neo4j1, neo4j2, system1, system2}))
	m, err := folder.ReadManifest()
	assert.NilError(t, err)
	rec, ok := m.Lookup(neo4j2)
	assert.Assert(t, ok)
	assert.Check(t, is.Equal(rec.Type, backupset.TypeDiff))
	assert.Check(t, is.Equal(rec.FromTx, int64(11)))
	assert.Check(t, is.Equal(rec.ToTx, int64(15)))
}

// A chain written by another Neo4j release is not continued: a differential
// backup on it would make a chain of two releases, which verify and restore
// refuse (backupset.Chains). neo4j-admin gets no seeded chain and takes a
// full backup.
func TestBackupDoesNotContinueAChainOfAnotherRelease(t *testing.T) {
	eng := helpertest.New()
	folder := newFolder(t)
	opts := options(func(o *backup.Options) { o.Aggregate = false })
	_, err := backup.Run(context.Background(), eng, folder, opts, progress.Nop)
	assert.NilError(t, err)
	// The first backup was taken before the deployment moved to 5.26.0.
	m, err := folder.ReadManifest()
	assert.NilError(t, err)
	for i := range m.Files {
		m.Files[i].Neo4jVersion = "5.25.0"
	}
	assert.NilError(t, folder.WriteManifest(m))
	eng.Server.Write("neo4j", 5)

	_, err = backup.Run(context.Background(), eng, folder, opts, progress.Nop)
	assert.NilError(t, err)
	m, err = folder.ReadManifest()
	assert.NilError(t, err)
	rec, ok := m.Lookup(neo4j2)
	assert.Assert(t, ok)
	assert.Check(t, is.Equal(rec.Type, backupset.TypeFull), "a new chain of the new release")
	rep, err := folder.Verify(nil)
	assert.NilError(t, err)
	assert.Check(t, rep.OK(), "%v", rep.Problems)
}

// Files that aggregation replaced stay until the aggregate is in the folder:
// a failure while fetching it leaves the previous backup as it was.
func TestReplacedFilesStayWhenTheAggregateIsNotFetched(t *testing.T) {
	eng := helpertest.New()
	folder := newFolder(t)
	opts := options(func(o *backup.Options) { o.Transfer = helper.TransferStream })
	_, err := backup.Run(context.Background(), eng, folder, opts, progress.Nop)
	assert.NilError(t, err)
	before := helpertest.FolderState(t, folder)

	eng.Server.Write("neo4j", 5)
	eng.Server.Write("system", 1)
	eng.Calls = nil
	eng.Faults["copy-from"] = &helpertest.Fault{Skip: 1, Err: errors.New("connection reset")}
	_, err = backup.Run(context.Background(), eng, folder, opts, progress.Nop)
	assert.ErrorContains(t, err, "connection reset")

	assert.Check(t, is.DeepEqual(helpertest.FolderState(t, folder), before), "the first fetched file is removed again, the replaced ones stay")
	assert.Check(t, is.Len(helpertest.CallsWith(eng.CallLog(), "copy-from"), 2), "failed on the second of two files")
	assert.Check(t, is.Len(eng.Running(), 0))
}

func TestFailuresLeaveTheFolderAsItWas(t *testing.T) {
	for _, tc := range []struct {
		name  string
		key   string
		fault helpertest.Fault
		want  string
	}{
		{name: "backup fails", key: "backup", fault: helpertest.Fault{Code: 1, Stderr: "Execution of backup failed. connection refused"}, want: "NEO4J_server_backup_listen__address"},
		{name: "aggregate fails", key: "aggregate", fault: helpertest.Fault{Code: 1, Stderr: "Execution of aggregate failed."}, want: "aggregate-backup failed with exit code 1"},
		{name: "version fails", key: "version", fault: helpertest.Fault{Code: 127, Stderr: "neo4j-admin: not found"}, want: "is it a Neo4j Enterprise image"},
		{name: "first download fails", key: "copy-from", fault: helpertest.Fault{Err: errors.New("daemon gone")}, want: "daemon gone"},
		{name: "second download fails", key: "copy-from", fault: helpertest.Fault{Skip: 1, Err: errors.New("daemon gone")}, want: "daemon gone"},
		{name: "upload fails", key: "copy-to", fault: helpertest.Fault{Err: errors.New("no space left on device")}, want: "upload to the helper"},
	} {
		for _, transfer := range []string{helper.TransferBind, helper.TransferStream} {
			if transfer == helper.TransferBind && strings.HasPrefix(tc.key, "copy-") {
				continue // bind mode copies on the local file system
			}
			t.Run(tc.name+"/"+transfer, func(t *testing.T) {
				eng := helpertest.New()
				folder := newFolder(t)
				opts := options(func(o *backup.Options) { o.Transfer = transfer })
				_, err := backup.Run(context.Background(), eng, folder, opts, progress.Nop)
				assert.NilError(t, err)
				before := helpertest.FolderState(t, folder)

				eng.Server.Write("neo4j", 5)
				eng.Server.Write("system", 1)
				fault := tc.fault
				eng.Faults[tc.key] = &fault
				_, err = backup.Run(context.Background(), eng, folder, opts, progress.Nop)
				assert.ErrorContains(t, err, tc.want)

				assert.Check(t, is.DeepEqual(helpertest.FolderState(t, folder), before))
				helpertest.AssertNoLeftovers(t, folder)
				assert.Check(t, is.Len(eng.Running(), 0), "helper removed on failure")
			})
		}
	}
}

func TestCancelMidExecRemovesHelper(t *testing.T) {
	for _, transfer := range []string{helper.TransferBind, helper.TransferStream} {
		t.Run(transfer, func(t *testing.T) {
			eng := helpertest.New()
			folder := newFolder(t)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			eng.Faults["backup"] = &helpertest.Fault{Hook: cancel, Block: true}

			_, err := backup.Run(ctx, eng, folder, options(func(o *backup.Options) { o.Transfer = transfer }), progress.Nop)
			assert.Check(t, errors.Is(err, context.Canceled), "got %v", err)

			assert.Assert(t, is.Len(eng.Helpers, 1))
			h := eng.Helpers[0]
			assert.Check(t, h.Removed())
			assert.Check(t, h.RemoveCtxErr, "removed with a fresh context")
			assert.Check(t, is.DeepEqual(helpertest.FolderFiles(t, folder), []string(nil)))
			helpertest.AssertNoLeftovers(t, folder)
		})
	}
}

func TestKeepHelperContainer(t *testing.T) {
	eng := helpertest.New()
	pw := &recorder{}
	res, err := backup.Run(context.Background(), eng, newFolder(t), options(func(o *backup.Options) { o.KeepHelper = true }), pw)
	assert.NilError(t, err)

	assert.Assert(t, is.Len(eng.Helpers, 1))
	name := eng.Helpers[0].Name()
	assert.Check(t, is.Equal(res.Helper, name))
	assert.Check(t, is.DeepEqual(eng.Running(), []string{name}))
	assert.Check(t, is.Contains(pw.text(), "kept helper container "+name))
}

func TestLiveHelperOfAnotherRunIsALockConflict(t *testing.T) {
	eng := helpertest.New()
	other := docker.Container{ID: "other", Name: "infrahubdb-restore-1234", Labels: map[string]string{
		docker.LabelHelper: "restore", docker.LabelTarget: "db-id", docker.LabelOwner: "laptop:42",
	}}
	eng.Live = []docker.Container{other}
	folder := newFolder(t)

	_, err := backup.Run(context.Background(), eng, folder, options(nil), progress.Nop)

	var lockErr *helper.HelperLockError
	assert.Assert(t, errors.As(err, &lockErr), "got %v", err)
	assert.Check(t, is.Equal(lockErr.Database, "database"))
	assert.Check(t, is.ErrorContains(err, "infrahubdb-restore-1234 (restore, owner laptop:42)"))
	assert.Check(t, is.Len(eng.Helpers, 0), "nothing started")
	assert.Check(t, is.Len(eng.Removed, 0), "the other run's helper is left alone")
	assert.Check(t, is.DeepEqual(helpertest.FolderFiles(t, folder), []string(nil)), "lock file released")
}

func TestStaleHelperIsRemoved(t *testing.T) {
	eng := helpertest.New()
	eng.Stale = []docker.Container{{ID: "stale-id", Name: "infrahubdb-backup-dead", Labels: map[string]string{docker.LabelOwner: "laptop:7"}}}
	pw := &recorder{}

	_, err := backup.Run(context.Background(), eng, newFolder(t), options(nil), pw)
	assert.NilError(t, err)

	assert.Check(t, is.DeepEqual(eng.Removed, []string{"stale-id"}))
	assert.Check(t, is.Contains(pw.text(), "removed helper container infrahubdb-backup-dead left by a crashed run"))
	calls := eng.CallLog()
	assert.Check(t, slices.Index(calls, "remove-container stale-id") < firstIndex(calls, "start-helper"))
}

func TestBackupPortUnreachable(t *testing.T) {
	for _, tc := range []struct {
		name   string
		listen string // "" : not set
		want   string
	}{
		{name: "default listen address", want: "listens on 127.0.0.1 only by default: set NEO4J_server_backup_listen__address=0.0.0.0:6362 on the database container database"},
		{name: "loopback", listen: "127.0.0.1:6362", want: "listens on 127.0.0.1:6362 only: set NEO4J_server_backup_listen__address=0.0.0.0:6362"},
		{name: "open", listen: "0.0.0.0:6362", want: "NEO4J_server_backup_listen__address=0.0.0.0:6362, or pass --database-url"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eng := helpertest.New()
			eng.Database.Env = []string{"NEO4J_EDITION=enterprise"}
			if tc.listen != "" {
				eng.Database.Env = append(eng.Database.Env, "NEO4J_server_backup_listen__address="+tc.listen)
			}
			eng.ReachErr = &docker.UnreachableError{Target: "172.18.0.2:6362", Refused: true, Detail: "Connection refused"}
			folder := newFolder(t)

			// --database-url at the container's IP: the helper joins its
			// networks, so the listen address matters.
			_, err := backup.Run(context.Background(), eng, folder, options(func(o *backup.Options) { o.Target.DatabaseURL = "172.18.0.2" }), progress.Nop)

			var envErr *helper.EnvironmentError
			assert.Assert(t, errors.As(err, &envErr), "got %v", err)
			assert.Check(t, is.ErrorContains(err, "backup port 172.18.0.2:6362"))
			assert.Check(t, is.ErrorContains(err, tc.want))
			assert.Check(t, !hasCall(eng, "exec neo4j-admin database backup"))
			assert.Check(t, is.Len(eng.Running(), 0))
			assert.Check(t, is.DeepEqual(helpertest.FolderFiles(t, folder), []string(nil)))
		})
	}
}

func TestCommunityDatabaseRefusedWithDatabaseURL(t *testing.T) {
	eng := helpertest.New()
	eng.Database.Image = "neo4j:5.26.0-community"
	eng.Database.Env = []string{"NEO4J_EDITION=community"}

	_, err := backup.Run(context.Background(), eng, newFolder(t), options(func(o *backup.Options) { o.Target.DatabaseURL = "172.18.0.2" }), progress.Nop)

	var envErr *helper.EnvironmentError
	assert.Assert(t, errors.As(err, &envErr), "got %v", err)
	assert.Check(t, is.ErrorContains(err, "runs Neo4j Community"))
	assert.Check(t, is.Len(eng.Helpers, 0))
}

func TestMissingHelperImageIsPulled(t *testing.T) {
	eng := helpertest.New()
	_, err := backup.Run(context.Background(), eng, newFolder(t), options(func(o *backup.Options) { o.HelperImage = "neo4j:2026.01.0-enterprise" }), progress.Nop)
	assert.NilError(t, err)
	assert.Check(t, hasCall(eng, "pull neo4j:2026.01.0-enterprise"))
	assert.Check(t, is.Equal(eng.Helpers[0].Spec().Image, "neo4j:2026.01.0-enterprise"))

	eng = helpertest.New()
	eng.PullErr = errors.New("pull access denied")
	_, err = backup.Run(context.Background(), eng, newFolder(t), options(func(o *backup.Options) { o.HelperImage = "neo4j:nope-enterprise" }), progress.Nop)
	var envErr *helper.EnvironmentError
	assert.Assert(t, errors.As(err, &envErr), "got %v", err)
	assert.Check(t, is.ErrorContains(err, "could not be pulled: pull access denied"))
	assert.Check(t, is.Len(eng.Helpers, 0))
}

func TestBackupPortUnreachableInSharedNamespace(t *testing.T) {
	eng := helpertest.New()
	eng.Database.Env = []string{"NEO4J_EDITION=enterprise"}
	eng.ReachErr = &docker.UnreachableError{Target: "127.0.0.1:6362", Refused: true, Detail: "Connection refused"}
	folder := newFolder(t)

	_, err := backup.Run(context.Background(), eng, folder, options(nil), progress.Nop)

	var envErr *helper.EnvironmentError
	assert.Assert(t, errors.As(err, &envErr), "got %v", err)
	assert.Check(t, is.ErrorContains(err, "backup port 127.0.0.1:6362"))
	assert.Check(t, !strings.Contains(err.Error(), "listen__address"), "the listen address is not the cause: %v", err)
	assert.Check(t, is.ErrorContains(err, "NEO4J_server_backup_enabled"))
	assert.Check(t, is.Len(eng.Running(), 0))
}

func options(mod func(*backup.Options)) backup.Options {
	o := backup.Options{
		Transfer: helper.TransferAuto, Type: neo4jbackup.TypeAuto, IncludeMetadata: "all",
		Aggregate: true, Tool: "docker-infrahubdb test",
	}
	if mod != nil {
		mod(&o)
	}
	return o
}

func newFolder(t *testing.T) *backupset.Folder {
	t.Helper()
	f, err := backupset.Create(filepath.Join(t.TempDir(), "backups"))
	assert.NilError(t, err)
	return f
}

func recordNames(m *backupset.Manifest) []string {
	var names []string
	for _, r := range m.Files {
		names = append(names, r.Name)
	}
	return names
}

func hasCall(eng *helpertest.Engine, prefix string) bool {
	return len(helpertest.CallsWith(eng.CallLog(), prefix)) > 0
}

func firstIndex(calls []string, prefix string) int {
	return slices.IndexFunc(calls, func(c string) bool { return strings.HasPrefix(c, prefix) })
}

// recorder is a progress.Writer that keeps messages.
type recorder struct {
	mu    sync.Mutex
	lines []string
}

func (r *recorder) Event(e progress.Event) {
	r.add(e.ID + " " + e.Status.String() + ": " + e.Text + " " + e.Detail)
}
func (r *recorder) Log(id, line string) { r.add(id + " | " + line) }
func (r *recorder) Info(msg string)     { r.add("info: " + msg) }
func (r *recorder) Close()              {}

func (r *recorder) add(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lines = append(r.lines, s)
}

func (r *recorder) text() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.lines, "\n")
}

func TestUnusableManifestChangesNothing(t *testing.T) {
	eng := helpertest.New()
	folder := newFolder(t)
	assert.NilError(t, os.WriteFile(folder.Path(backupset.ManifestName), []byte("{not json"), 0o600))
	before := helpertest.FolderState(t, folder)

	_, err := backup.Run(context.Background(), eng, folder, options(nil), progress.Nop)
	assert.Check(t, errors.Is(err, backupset.ErrMalformedManifest), "got %v", err)

	assert.Check(t, is.DeepEqual(helpertest.FolderState(t, folder), before))
	assert.Check(t, is.Len(eng.Running(), 0))
}

func TestDatabaseURLWithoutContainer(t *testing.T) {
	eng := helpertest.New()
	eng.Database = nil
	res, err := backup.Run(context.Background(), eng, newFolder(t), options(func(o *backup.Options) {
		o.Target.DatabaseURL = "10.0.0.5:16362"
	}), progress.Nop)
	assert.NilError(t, err)

	assert.Check(t, is.Equal(res.Database, ""))
	assert.Check(t, hasCall(eng, "can-reach 10.0.0.5:16362"))
	assert.Check(t, hasCall(eng, "exec neo4j-admin database backup --from=10.0.0.5:16362 "))
	spec := eng.Helpers[0].Spec()
	assert.Check(t, is.Equal(spec.Labels[docker.LabelTarget], "10.0.0.5:16362"), "the address is the lock key")
	assert.Check(t, is.Len(spec.Networks, 0))
}

// M2: several --database values aggregate one database at a time.
func TestSeveralDatabasesAggregateOneByOne(t *testing.T) {
	eng := helpertest.New()
	folder := newFolder(t)
	opts := options(func(o *backup.Options) { o.Databases = []string{"neo4j", "system"} })
	_, err := backup.Run(context.Background(), eng, folder, opts, progress.Nop)
	assert.NilError(t, err)
	eng.Server.Write("neo4j", 5) // system has no new transaction: its backup is empty
	_, err = backup.Run(context.Background(), eng, folder, opts, progress.Nop)
	assert.NilError(t, err)
	assert.Check(t, is.DeepEqual(helpertest.FolderFiles(t, folder), []string{backupset.ManifestName, neo4j2, system1}))
}

// M1: --include-metadata none reaches neo4j-admin (its default is all).
func TestIncludeMetadataNoneIsPassed(t *testing.T) {
	eng := helpertest.New()
	folder := newFolder(t)
	_, err := backup.Run(context.Background(), eng, folder, options(func(o *backup.Options) { o.IncludeMetadata = "none" }), progress.Nop)
	assert.NilError(t, err)
	assert.Check(t, hasCall(eng, "exec neo4j-admin database backup --from=127.0.0.1:6362 --to-path=/backups --type=AUTO --include-metadata=none *"), strings.Join(eng.CallLog(), "\n"))
}

// H2 and M3: a backup with no new transaction is empty; it joins its chain,
// and a later aggregate may write its result under the name of a file of
// the old chain: the folder then holds that aggregate, recorded as full.
func TestEmptyBackupThenAggregateUnderAnOldName(t *testing.T) {
	eng := helpertest.New()
	folder := newFolder(t)
	noAgg := options(func(o *backup.Options) { o.Aggregate = false; o.Databases = []string{"neo4j"} })
	_, err := backup.Run(context.Background(), eng, folder, noAgg, progress.Nop)
	assert.NilError(t, err)
	eng.Server.Write("neo4j", 5)
	_, err = backup.Run(context.Background(), eng, folder, noAgg, progress.Nop)
	assert.NilError(t, err)
	_, err = backup.Run(context.Background(), eng, folder, noAgg, progress.Nop) // nothing new: empty
	assert.NilError(t, err)
	m, err := folder.ReadManifest()
	assert.NilError(t, err)
	assert.Assert(t, is.Len(m.Files, 3))
	assert.Check(t, m.Files[2].Empty, "the third backup is empty")
	cat, err := folder.Scan()
	assert.NilError(t, err)
	chains := cat.Chains()["neo4j"]
	assert.Assert(t, is.Len(chains, 1), "an empty backup never starts a chain")
	assert.Check(t, is.Equal(chains[0].RestorePoint().Name, m.Files[1].Name))

	// Aggregate: the result goes under the second file's name (the newest
	// with data), which was seeded from the folder.
	agg := options(func(o *backup.Options) { o.Databases = []string{"neo4j"} })
	_, err = backup.Run(context.Background(), eng, folder, agg, progress.Nop)
	assert.NilError(t, err)
	m, err = folder.ReadManifest()
	assert.NilError(t, err)
	assert.Assert(t, is.Len(m.Files, 1), "%v", recordNames(m))
	assert.Check(t, is.Equal(m.Files[0].Type, backupset.TypeFull))
	data, err := os.ReadFile(folder.Path(m.Files[0].Name))
	assert.NilError(t, err)
	assert.Check(t, is.Contains(string(data), "full=true from=1 to=15"))
	rep, err := folder.Verify(m)
	assert.NilError(t, err)
	assert.Check(t, is.Len(rep.Problems, 0))
}

// M5: a helper older than the database is refused before anything runs.
func TestHelperOlderThanTheDatabaseIsRefused(t *testing.T) {
	eng := helpertest.New()
	eng.Server.Version = "2025.10.1"
	eng.HelperVersion = "5.26.0"
	folder := newFolder(t)
	_, err := backup.Run(context.Background(), eng, folder, options(nil), progress.Nop)
	var env *helper.EnvironmentError
	assert.Assert(t, errors.As(err, &env), "%v", err)
	assert.Check(t, is.Contains(err.Error(), "neo4j-admin 5.26.0, older than the database's Neo4j 2025.10.1"))
	assert.Check(t, !hasCall(eng, "exec neo4j-admin database backup"))
	assert.Check(t, is.DeepEqual(helpertest.FolderFiles(t, folder), []string(nil)))
	assert.Check(t, is.Len(eng.Running(), 0))

	eng.HelperVersion = "2026.01.0" // newer is fine
	_, err = backup.Run(context.Background(), eng, folder, options(nil), progress.Nop)
	assert.NilError(t, err)
}

// A backup is all or nothing: when the manifest cannot be written at the
// end (disk full), the artifacts it fetched go again, or the next restore
// would refuse a folder holding files the manifest does not record.
func TestFailedManifestWriteRemovesFetchedFiles(t *testing.T) {
	for _, tc := range []struct {
		name  string
		first bool
	}{
		{name: "first backup", first: true},
		{name: "second backup with aggregation"},
	} {
		for _, transfer := range []string{helper.TransferBind, helper.TransferStream} {
			t.Run(tc.name+"/"+transfer, func(t *testing.T) {
				eng := helpertest.New()
				folder := newFolder(t)
				opts := options(func(o *backup.Options) { o.Transfer = transfer })
				if !tc.first {
					_, err := backup.Run(context.Background(), eng, folder, opts, progress.Nop)
					assert.NilError(t, err)
					eng.Server.Write("neo4j", 5)
				}
				before := helpertest.FolderState(t, folder)
				// The manifest's temporary file cannot be created once
				// neo4j-admin ran: the write fails as on a full disk.
				eng.Faults["backup"] = &helpertest.Fault{Hook: func() {
					assert.Check(t, os.Mkdir(folder.Path(backupset.ManifestName+backupset.PartialExt), 0o700))
				}}

				_, err := backup.Run(context.Background(), eng, folder, opts, progress.Nop)
				assert.ErrorContains(t, err, backupset.ManifestName)
				assert.NilError(t, os.Remove(folder.Path(backupset.ManifestName+backupset.PartialExt)))

				assert.Check(t, is.DeepEqual(helpertest.FolderState(t, folder), before), "no artifact without its manifest record")
				helpertest.AssertNoLeftovers(t, folder)
				assert.Check(t, is.Len(eng.Running(), 0))
			})
		}
	}
}

// backup --verify re-hashes what it wrote, in the backup's own run, and
// reports it in the result.
func TestBackupVerifyChecksWhatItWrote(t *testing.T) {
	eng := helpertest.New()
	folder := newFolder(t)
	res, err := backup.Run(context.Background(), eng, folder, options(func(o *backup.Options) { o.Verify = true }), progress.Nop)
	assert.NilError(t, err)
	assert.Assert(t, res.Verified != nil)
	assert.Check(t, res.Verified.OK)
	assert.Check(t, is.DeepEqual(res.Verified.Checked, []string{neo4j1, system1}))
	assert.Check(t, is.Len(res.Verified.Problems, 0))
	assert.Check(t, is.Len(res.Verified.Checks, 0), "no neo4j-admin check without Check")
}

// The helper goes as soon as the backup needs it no more, while the files
// are put in place, but only when nothing runs in it afterwards: --check
// does (--verify only re-hashes here). neo4j-admin --version runs once.
func TestHelperIsReleasedUnlessCheckNeedsIt(t *testing.T) {
	for _, transfer := range []string{helper.TransferBind, helper.TransferStream} {
		for _, mode := range []string{"plain", "verify", "check"} {
			t.Run(transfer+"/"+mode, func(t *testing.T) {
				eng := helpertest.New()
				folder := newFolder(t)
				_, err := backup.Run(context.Background(), eng, folder, options(func(o *backup.Options) {
					o.Transfer = transfer
					o.Verify = mode != "plain"
					o.Check = mode == "check"
				}), progress.Nop)
				calls := eng.CallLog()
				if mode == "check" {
					// The fake has no neo4j-admin database check: the
					// backup fails its check, after running it in the helper.
					assert.Check(t, err != nil)
					checked := firstIndex(calls, "exec neo4j-admin database check")
					assert.Check(t, checked >= 0, strings.Join(calls, "\n"))
					assert.Check(t, checked < firstIndex(calls, "remove-helper"), "the helper serves --check")
				} else {
					assert.NilError(t, err)
					assert.Check(t, is.DeepEqual(helpertest.FolderFiles(t, folder), []string{backupset.ManifestName, neo4j1, system1}))
				}
				helpertest.AssertNoLeftovers(t, folder)
				assert.Check(t, is.Len(eng.Running(), 0))
				assert.Check(t, is.Len(helpertest.CallsWith(calls, "remove-helper"), 1))
				assert.Check(t, is.Len(helpertest.CallsWith(calls, "exec neo4j-admin --version"), 1))
				assert.Check(t, is.Len(helpertest.CallsWith(calls, "exec-in db-id neo4j-admin --version"), 1))
			})
		}
	}
}

// The name of an aggregate's result is undocumented (research NEO4J.md §7):
// whichever name neo4j-admin chooses, the old chain is deleted only when the
// run recorded a new full artifact of that database; otherwise the backup
// fails and the folder keeps everything.
func TestAggregateNamingVariants(t *testing.T) {
	const (
		neo4j3  = "neo4j-2026-11-25T10-02-00.backup"
		system4 = "system-2026-11-25T10-03-00.backup"
	)
	for _, tc := range []struct {
		naming      helpertest.AggregateNaming
		silent      bool
		wantErr     string
		wantFiles   []string // after the second run
		wantRemoved []string
	}{
		{naming: helpertest.AggregateInPlace, wantFiles: []string{neo4j2, system2}, wantRemoved: []string{neo4j1, system1}},
		{naming: helpertest.AggregateNewName, wantFiles: []string{neo4j3, system4}, wantRemoved: []string{neo4j1, system1}},
		{naming: helpertest.AggregateKeepOld, wantFiles: []string{neo4j1, neo4j2, neo4j3, system1, system2, system4}},
		// Named in the output: renamed to an artifact name, recorded.
		{naming: helpertest.AggregateUnparsable, wantRemoved: []string{neo4j1, system1}},
		// Not named anywhere: the chain stays, the backup fails.
		{naming: helpertest.AggregateUnparsable, silent: true, wantErr: "no new full backup"},
		{naming: helpertest.AggregateNewName, silent: true, wantFiles: []string{neo4j3, system4}, wantRemoved: []string{neo4j1, system1}},
	} {
		for _, transfer := range []string{helper.TransferBind, helper.TransferStream} {
			t.Run(fmt.Sprintf("%s/silent=%t/%s", tc.naming, tc.silent, transfer), func(t *testing.T) {
				eng := helpertest.New()
				eng.Server.Variants.Aggregate = tc.naming
				eng.Server.Variants.AggregateSilent = tc.silent
				folder := newFolder(t)
				opts := options(func(o *backup.Options) { o.Transfer = transfer })
				_, err := backup.Run(context.Background(), eng, folder, opts, progress.Nop)
				assert.NilError(t, err)
				before := helpertest.FolderState(t, folder)

				eng.Server.Write("neo4j", 5)
				eng.Server.Write("system", 1)
				res, err := backup.Run(context.Background(), eng, folder, opts, progress.Nop)
				assert.Check(t, is.Len(eng.Running(), 0))
				if tc.wantErr != "" {
					assert.ErrorContains(t, err, tc.wantErr)
					assert.Check(t, is.ErrorContains(err, helpertest.UnparsableAggregateName("neo4j")), "names what neo4j-admin left")
					assert.Check(t, is.DeepEqual(helpertest.FolderState(t, folder), before), "the folder keeps its chain")
					helpertest.AssertNoLeftovers(t, folder)
					return
				}
				assert.NilError(t, err)
				assert.Check(t, is.DeepEqual(res.Removed, tc.wantRemoved))
				m, err := folder.ReadManifest()
				assert.NilError(t, err)
				if tc.wantFiles != nil {
					assert.Check(t, is.DeepEqual(recordNames(m), tc.wantFiles))
					assert.Check(t, is.DeepEqual(helpertest.FolderFiles(t, folder), append([]string{backupset.ManifestName}, tc.wantFiles...)))
				} else {
					assert.Check(t, is.Len(m.Files, 2), "one aggregate per database: %v", recordNames(m))
				}
				for _, db := range []string{"neo4j", "system"} {
					cat, err := folder.Scan()
					assert.NilError(t, err)
					chain, err := backupset.ChooseChain(cat.Chains()[db], time.Time{})
					assert.NilError(t, err, db)
					assert.Check(t, is.Len(chain.Files, 1), "the newest chain of %s is the aggregate", db)
					assert.Check(t, is.Equal(chain.Files[0].Type(), backupset.TypeFull))
				}
				rep, err := folder.Verify(m)
				assert.NilError(t, err)
				assert.Check(t, is.Len(rep.Problems, 0))
			})
		}
	}
}

// The layout of backup inspect is undocumented beyond the table (research
// NEO4J.md §7): a layout the plugin reads records types; one it cannot read
// fails the backup with what inspect printed, never an empty type.
func TestInspectLayoutVariants(t *testing.T) {
	for _, tc := range []struct {
		layout  helpertest.InspectLayout
		wantErr string
		noTx    bool // the range is not printed: recorded as unknown (0 to 0), not empty
	}{
		{layout: helpertest.InspectTable},
		{layout: helpertest.InspectJSONStrings},
		{layout: helpertest.InspectJSONTyped},
		{layout: helpertest.InspectNoTx, noTx: true},
		{layout: helpertest.InspectUnknown, wantErr: "Backup: " + neo4j2},
		{layout: helpertest.InspectURIOnly, wantErr: `{"uri":"file:///backups/` + neo4j2 + `"}`},
	} {
		t.Run(string(tc.layout), func(t *testing.T) {
			eng := helpertest.New()
			folder := newFolder(t)
			opts := options(nil)
			_, err := backup.Run(context.Background(), eng, folder, opts, progress.Nop)
			assert.NilError(t, err)
			before := helpertest.FolderState(t, folder)

			eng.Server.Variants.Inspect = tc.layout
			eng.Server.Write("neo4j", 5)
			_, err = backup.Run(context.Background(), eng, folder, options(func(o *backup.Options) { o.Aggregate = false }), progress.Nop)
			if tc.wantErr != "" {
				assert.ErrorContains(t, err, "does not say whether")
				assert.Check(t, is.ErrorContains(err, tc.wantErr), "the error holds inspect's output")
				assert.Check(t, is.DeepEqual(helpertest.FolderState(t, folder), before))
				helpertest.AssertNoLeftovers(t, folder)
				return
			}
			assert.NilError(t, err)
			m, err := folder.ReadManifest()
			assert.NilError(t, err)
			rec, ok := m.Lookup(neo4j2)
			assert.Assert(t, ok)
			assert.Check(t, is.Equal(rec.Type, backupset.TypeDiff))
			assert.Check(t, !rec.Empty, "a diff holding writes is never recorded as empty")
			if tc.noTx {
				assert.Check(t, is.Equal(rec.FromTx, int64(0)))
				assert.Check(t, is.Equal(rec.ToTx, int64(0)))
				return
			}
			assert.Check(t, is.Equal(rec.FromTx, int64(11)))
			assert.Check(t, is.Equal(rec.ToTx, int64(15)))
		})
	}
}

// neo4j-admin database backup may exit 0 although it wrote nothing for a
// database (neo4j/neo4j#13107), or exit 1: both fail the run, and a
// database whose chain is in the folder counts as asked for even with "*".
func TestBackupWithoutArtifactForADatabase(t *testing.T) {
	for _, code := range []int{0, 1} {
		for _, dbs := range [][]string{nil, {"neo4j", "system"}} {
			t.Run(fmt.Sprintf("exit %d/%v", code, dbs), func(t *testing.T) {
				eng := helpertest.New()
				folder := newFolder(t)
				opts := options(func(o *backup.Options) { o.Databases = dbs })
				_, err := backup.Run(context.Background(), eng, folder, opts, progress.Nop)
				assert.NilError(t, err)
				before := helpertest.FolderState(t, folder)

				eng.Server.Variants.BackupSkips, eng.Server.Variants.BackupSkipExit = []string{"system"}, code
				eng.Server.Write("neo4j", 5)
				_, err = backup.Run(context.Background(), eng, folder, opts, progress.Nop)
				if code == 0 {
					assert.ErrorContains(t, err, "wrote no backup artifact for database system")
				} else {
					assert.ErrorContains(t, err, "exit code 1")
				}
				assert.Check(t, is.DeepEqual(helpertest.FolderState(t, folder), before))
				helpertest.AssertNoLeftovers(t, folder)
			})
		}
	}
}

// aggregate may decline a chain with nothing to aggregate (a full backup
// and empty ones) with a non-zero exit, as Neo4j's own backup job expects:
// the backup succeeds and the chain stays whole.
func TestAggregateWithNothingToAggregate(t *testing.T) {
	for _, code := range []int{0, 1} {
		t.Run(fmt.Sprintf("exit %d", code), func(t *testing.T) {
			eng := helpertest.New()
			eng.Server.Variants.AggregateNothingExit = code
			folder := newFolder(t)
			opts := options(func(o *backup.Options) { o.Databases = []string{"neo4j"} })
			_, err := backup.Run(context.Background(), eng, folder, opts, progress.Nop)
			assert.NilError(t, err)
			res, err := backup.Run(context.Background(), eng, folder, opts, progress.Nop) // nothing new: an empty backup
			assert.NilError(t, err)
			m, err := folder.ReadManifest()
			assert.NilError(t, err)
			cat, err := folder.Scan()
			assert.NilError(t, err)
			chain, err := backupset.ChooseChain(cat.Chains()["neo4j"], time.Time{})
			assert.NilError(t, err)
			assert.Check(t, is.Equal(chain.Files[0].Type(), backupset.TypeFull))
			if code != 0 {
				assert.Check(t, is.Len(res.Removed, 0))
				assert.Check(t, is.Len(m.Files, 2), "the full and the empty backup: %v", recordNames(m))
			}
			rep, err := folder.Verify(m)
			assert.NilError(t, err)
			assert.Check(t, is.Len(rep.Problems, 0))
		})
	}
}
