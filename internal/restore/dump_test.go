package restore_test

import (
	"context"
	"errors"
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
	"github.com/opsmill/docker-infrahubdb/internal/progress"
	"github.com/opsmill/docker-infrahubdb/internal/restore"
)

// communityFixture is a stock Community deployment with a folder holding a
// dump of neo4j ("dumped data") and of system; the live neo4j then changed.
func communityFixture(t *testing.T) *fixture {
	t.Helper()
	f := newFixture(t)
	db := f.eng.Database
	db.Image, db.Env = "neo4j:2025.10.1-community", []string{"NEO4J_EDITION=community"}
	f.eng.Images = map[string][]string{db.Image: {"NEO4J_EDITION=community"}}
	f.useDumps(t)
	f.opts.StopTimeout = time.Minute
	return f
}

// dumpTime is when useDumps' dumps were taken.
var dumpTime = time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)

// useDumps replaces the fixture's folder by one holding Community dumps of
// neo4j ("dumped neo4j") and of system, taken at 09:00.
func (f *fixture) useDumps(t *testing.T) {
	t.Helper()
	folder, err := backupset.Create(filepath.Join(t.TempDir(), "backups"))
	assert.NilError(t, err)
	f.folder = folder
	at := dumpTime
	var recs []backupset.FileRecord
	for _, name := range []string{"neo4j", "system"} {
		fname := backupset.DumpName(name, at)
		assert.NilError(t, os.WriteFile(folder.Path(fname), []byte(helpertest.DumpContent(name, "dumped "+name)), 0o600))
		recs = append(recs, describeFile(t, folder, fname, name, at))
	}
	m, err := folder.ReadManifest()
	assert.NilError(t, err)
	m.Upsert(recs...)
	assert.NilError(t, folder.WriteManifest(m))
	f.eng.Calls, f.eng.Helpers = nil, nil
	f.before = helpertest.FolderState(t, folder)
}

func describeFile(t *testing.T, folder *backupset.Folder, name, db string, at time.Time) backupset.FileRecord {
	t.Helper()
	report, err := folder.Describe(name)
	assert.NilError(t, err)
	report.Database, report.Time, report.Type, report.Edition = db, at, backupset.TypeDump, "community"
	return report
}

func TestCommunityRestoreLoadsTheDumpOffline(t *testing.T) {
	f := communityFixture(t)
	res, err := f.run(context.Background())
	assert.NilError(t, err)

	assert.Check(t, is.Equal(f.eng.Server.Content("neo4j"), "dumped neo4j"))
	assert.Check(t, is.Equal(f.eng.Server.Content("system"), "live system"), "system is never loaded")
	assert.Check(t, is.Equal(res.Plan.Method, "load"))
	assert.Check(t, f.eng.DatabaseRunning())
	assert.Check(t, f.eng.AppRunning("server-id"))
	assert.Check(t, is.Len(f.eng.Running(), 0))
	assertInOrder(t, f.eng.CallLog(), []string{
		"connect", "stop-container server-id", "stop-container db-id",
		"exec neo4j-admin database dump --overwrite-destination=true --to-path=/backups/safety neo4j",
		"exec neo4j-admin database load --overwrite-destination=true --from-path=/backups/load/neo4j neo4j (user 7474:7474)",
		// The helper is on the database's network, not in its namespace:
		// it keeps running; the database's IP is read again after its start.
		"start-container db-id", "inspect db-id",
		"await-reachable 172.18.0.2:7687", // one exec polls the Bolt port: no login per attempt while Neo4j starts
		"connect", "cypher WAIT neo4j",
		"start-container server-id",
	})
	assert.Check(t, !slices.ContainsFunc(f.eng.CallLog(), func(c string) bool { return strings.HasPrefix(c, "stop-helper") }), "the helper is not restarted with the database")
	assert.Assert(t, is.Len(res.Databases, 1))
	assert.Check(t, res.Downtime > 0)
	assert.Check(t, is.Equal(res.Databases[0].Downtime, res.Downtime), "offline, the database was down for the whole outage")
	safety := res.Databases[0].SafetyBackup
	data, err := os.ReadFile(safety)
	assert.NilError(t, err)
	assert.Check(t, is.Contains(string(data), "live data at tx 15"), "the safety dump holds the data before the load")
}

func TestCommunityRestoreLoadFailureRollsBack(t *testing.T) {
	f := communityFixture(t)
	f.eng.Faults["database load"] = &helpertest.Fault{Code: 1, Stderr: "No space left on device", Times: 1}
	before := f.eng.Server.Content("neo4j")
	_, err := f.run(context.Background())
	var rolled *restore.RolledBackError
	assert.Assert(t, errors.As(err, &rolled), "got %v", err)
	assert.Check(t, is.Equal(f.eng.Server.Content("neo4j"), before))
	assert.Check(t, f.eng.DatabaseRunning())
	// The failed load may still run in the helper: the helper stops
	// (killing it) before the database starts; the rollback's load ended.
	assertInOrder(t, f.eng.CallLog(), []string{
		"exec neo4j-admin database load", "stop-helper", "start-container db-id", "start-helper-again",
		"stop-container db-id", "exec neo4j-admin database load", "start-container db-id", "inspect db-id", "await-reachable 172.18.0.2:7687",
	})
	assert.Check(t, f.eng.AppRunning("server-id"))
	assert.Check(t, is.Len(f.eng.Running(), 0))
}

func TestCommunityRestoreRefusesBlockBackupsBeforeStopping(t *testing.T) {
	f := communityFixture(t)
	for _, name := range helpertest.FolderFiles(t, f.folder) {
		_ = os.Remove(f.folder.Path(name))
	}
	// An online backup of a 2025.10 Enterprise server.
	eng := helpertest.New()
	eng.Server.Version = "2025.10.1"
	_, err := backup.Run(context.Background(), eng, f.folder, backup.Options{Transfer: helper.TransferAuto, Type: "auto", IncludeMetadata: "all", Tool: "t"}, progress.Nop)
	assert.NilError(t, err)

	_, err = f.run(context.Background())
	assert.Check(t, is.ErrorContains(err, "block format"))
	var env *helper.EnvironmentError
	assert.Check(t, errors.As(err, &env))
	assert.Check(t, !hasPrefix(f.eng.CallLog(), "stop-container"))
}

func TestCommunityRestoreRefusesANewerDumpBeforeStopping(t *testing.T) {
	f := communityFixture(t)
	setRecordedVersion(t, f.folder, backupset.DumpName("neo4j", dumpTime), "2026.01.0")
	_, err := f.run(context.Background())
	var env *helper.EnvironmentError
	assert.Check(t, errors.As(err, &env), "got %v", err)
	assert.Check(t, is.ErrorContains(err, "downgrade is not supported"))
	assert.Check(t, !hasPrefix(f.eng.CallLog(), "stop-container"))
	assert.Check(t, is.Len(f.eng.Helpers, 0), "refused before any helper starts")
}

func TestCommunityRestoreWrongPasswordStopsNothing(t *testing.T) {
	f := communityFixture(t)
	f.connectErr = neo4j.ErrUnauthorized
	_, err := f.run(context.Background())
	assert.Check(t, errors.Is(err, neo4j.ErrUnauthorized))
	assert.Check(t, !hasPrefix(f.eng.CallLog(), "stop-container"))
}

func hasPrefix(calls []string, p string) bool {
	for _, c := range calls {
		if len(c) >= len(p) && c[:len(p)] == p {
			return true
		}
	}
	return false
}

func assertInOrder(t *testing.T, calls, want []string) {
	t.Helper()
	i := 0
	for _, c := range calls {
		if i < len(want) && len(c) >= len(want[i]) && c[:len(want[i])] == want[i] {
			i++
		}
	}
	assert.Check(t, i == len(want), "missing %q in order in %q", want[min(i, len(want)-1)], calls)
}

// transientFixture is communityFixture with the task manager and the
// message queue running too, beside the cache and the server.
func transientFixture(t *testing.T) *fixture {
	t.Helper()
	f := communityFixture(t)
	f.eng.Apps = append(f.eng.Apps,
		docker.Container{ID: "mq-id", Name: "infrahub-message-queue-1", ComposeProject: "infrahub", ComposeService: "message-queue", Running: true,
			Mounts: []docker.Mount{{Type: docker.MountVolume, Name: "7d2e4b10", Destination: "/var/lib/rabbitmq", RW: true}}},
		docker.Container{ID: "tm-id", Name: "infrahub-task-manager-1", ComposeProject: "infrahub", ComposeService: "task-manager", Running: true})
	return f
}

// A Community load takes the cache and the message queue off the
// downtime's critical path: they stop once the task manager and the
// database have (nothing uses them then), are emptied side by side and
// beside the safety dump, and run again before the applications start.
func TestCommunityRestoreEmptiesTheTransientServicesBesideTheSafetyDump(t *testing.T) {
	f := transientFixture(t)
	var mu sync.Mutex
	var problems []string
	wait := func(ch chan struct{}, problem string) {
		select {
		case <-ch:
		case <-time.After(5 * time.Second):
			mu.Lock()
			problems = append(problems, problem)
			mu.Unlock()
		}
	}
	dumping, both := make(chan struct{}), make(chan struct{})
	in := 0
	f.eng.Faults["database dump"] = &helpertest.Fault{Times: 1, Hook: func() {
		close(dumping)
		wait(both, "the safety dump ran without the emptying beside it")
	}}
	f.eng.Faults["find"] = &helpertest.Fault{Hook: func() {
		mu.Lock()
		if in++; in == 2 {
			close(both)
		}
		mu.Unlock()
		wait(both, "the cache and the message queue were emptied one after the other")
		wait(dumping, "the emptying did not run beside the safety dump")
	}}

	res, err := f.run(context.Background())
	assert.NilError(t, err)
	assert.Check(t, is.Len(problems, 0), "%q", problems)
	calls := f.eng.CallLog()
	for _, c := range []string{"cache-id", "mq-id"} {
		assertInOrder(t, calls, []string{"stop-container tm-id", "stop-container " + c, "start-container " + c, "start-container tm-id", "start-container server-id"})
		assertInOrder(t, calls, []string{"stop-container db-id", "stop-container " + c})
		assert.Check(t, f.eng.AppRunning(c))
	}
	assertInOrder(t, calls, []string{"exec find /transient -mindepth 1 -delete", "exec find /transient -mindepth 1 -delete", "exec neo4j-admin database load"})
	assert.Check(t, is.Equal(f.eng.Server.Content("neo4j"), "dumped neo4j"))
	assert.Check(t, is.Len(res.AppsRestarted, 4))
	assert.Check(t, is.Len(f.eng.Running(), 0), "helpers removed")
}

// When the emptying fails, nothing is loaded and everything runs again.
func TestCommunityRestoreEmptyingFailureLoadsNothing(t *testing.T) {
	f := transientFixture(t)
	f.eng.Faults["find"] = &helpertest.Fault{Code: 1, Stderr: "Read-only file system", Times: 1}
	before := f.eng.Server.Content("neo4j")

	_, err := f.run(context.Background())
	assert.Check(t, is.ErrorContains(err, "nothing was restored"))
	assert.Check(t, !hasPrefix(f.eng.CallLog(), "exec neo4j-admin database load"), "nothing loaded")
	assert.Check(t, is.Equal(f.eng.Server.Content("neo4j"), before))
	assert.Check(t, f.eng.DatabaseRunning())
	for _, c := range []string{"cache-id", "mq-id", "tm-id", "server-id"} {
		assert.Check(t, f.eng.AppRunning(c), c)
	}
	assert.Check(t, is.Len(f.eng.Running(), 0), "helpers removed")
}

// With a guardian, the safety dump is kept for it in the helper: the one
// exec between the end of the dump and its move into the folder links the
// dump where the move takes it, and leaves it where the guardian's
// commands load it from.
func TestCommunityRestoreKeepsTheGuardiansCopyWithOneExec(t *testing.T) {
	f := communityFixture(t)
	g := &guardLog{}
	f.opts.Guard = g
	_, err := f.run(context.Background())
	assert.NilError(t, err)

	calls := f.eng.CallLog()
	dump := slices.IndexFunc(calls, func(c string) bool { return strings.HasPrefix(c, "exec neo4j-admin database dump") })
	load := slices.IndexFunc(calls, func(c string) bool { return strings.HasPrefix(c, "exec neo4j-admin database load") })
	assert.Assert(t, dump >= 0 && load > dump)
	var between []string
	for _, c := range calls[dump+1 : load] {
		// The cache's emptying runs beside, in a helper of its own.
		if strings.HasPrefix(c, "exec ") && !strings.HasPrefix(c, "exec find /transient") {
			between = append(between, c)
		}
	}
	assert.Assert(t, is.Len(between, 1), "%q", between)
	assert.Check(t, strings.HasPrefix(between[0], "exec ln -f /backups/safety/neo4j.dump /backups/neo4j-"), between[0])
	assert.Check(t, is.DeepEqual(g.told, []string{"graph replacing", "graph replaced"}))
	assert.Check(t, is.DeepEqual(g.putBack[0].Cmd, []string{"mkdir", "-p", "/backups/guardian/neo4j/load"}))
	assert.Check(t, is.DeepEqual(g.putBack[1].Cmd, []string{"cp", "-f", "/backups/safety/neo4j.dump", "/backups/guardian/neo4j/load/neo4j.dump"}))
}
