package backup_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/opsmill/docker-infrahubdb/internal/backup"
	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/deployment"
	"github.com/opsmill/docker-infrahubdb/internal/docker"
	"github.com/opsmill/docker-infrahubdb/internal/helper/helpertest"
	"github.com/opsmill/docker-infrahubdb/internal/neo4j"
	"github.com/opsmill/docker-infrahubdb/internal/progress"
)

// fakeBolt answers like a Community server of the fake engine: online when
// the database container runs.
type fakeBolt struct {
	eng *helpertest.Engine
	mu  sync.Mutex
	// noTxn: SHOW DATABASES has no lastCommittedTxn (NULL or absent).
	noTxn bool
	// counted runs after each count of the graph (a writer there writes
	// while the graph is counted).
	counted func(db string)
}

func (b *fakeBolt) connect(ctx context.Context, addr string, creds neo4j.Credentials) (backup.Bolt, error) {
	b.eng.Record("connect %s %s", addr, creds.User)
	if creds.Password != "admin" {
		return nil, neo4j.ErrUnauthorized
	}
	if !b.eng.DatabaseRunning() {
		return nil, errors.New("connection refused")
	}
	return b, nil
}

func (b *fakeBolt) ServerInfo(context.Context) (string, string, error) {
	return "2025.10.1", "community", nil
}

func (b *fakeBolt) Databases(context.Context) ([]neo4j.Database, error) {
	var out []neo4j.Database
	for _, db := range b.eng.Server.Databases() {
		out = append(out, neo4j.Database{Name: db, CurrentStatus: "online", RequestedStatus: "online"})
	}
	return out, nil
}

func (b *fakeBolt) WaitOnline(ctx context.Context, name string, timeout time.Duration) error {
	b.eng.Record("wait-online %s", name)
	return nil
}

// CountNodes grows with the database's transactions: 42 at the fake's
// first state (transaction 10), so that a count tells which state it saw.
func (b *fakeBolt) CountNodes(ctx context.Context, db string) (int64, error) {
	b.eng.Record("count-nodes %s", db)
	return 32 + b.eng.Server.LastTx(db), nil
}

func (b *fakeBolt) LastCommittedTxn(ctx context.Context, db string) (int64, bool, error) {
	if b.noTxn {
		return 0, false, nil
	}
	return b.eng.Server.LastTx(db), true, nil
}

func (b *fakeBolt) CountByLabel(ctx context.Context, db string) (map[string]int64, error) {
	return map[string]int64{"Root": 1, "Branch": 41}, nil
}

func (b *fakeBolt) RootID(ctx context.Context, db string) (string, bool, error) {
	return "root-of-" + db, true, nil
}

func (b *fakeBolt) BranchNames(ctx context.Context, db string) ([]string, error) {
	return []string{"feature", "main"}, nil
}

func (b *fakeBolt) CountRelationshipsByType(ctx context.Context, db string) (map[string]int64, error) {
	if b.counted != nil {
		b.counted(db)
	}
	return map[string]int64{"IS_PART_OF": 7}, nil
}

func (b *fakeBolt) Close(context.Context) error { return nil }

// communityEngine is a stock Infrahub project: a Community database with no
// label, infrahub-server, task-worker and task-manager running.
func communityEngine() *helpertest.Engine {
	eng := helpertest.New()
	db := eng.Database
	db.Image = "neo4j:2025.10.1-community"
	db.Env = []string{"NEO4J_EDITION=community", "NEO4J_AUTH=neo4j/admin"}
	db.Labels = map[string]string{}
	eng.Images = map[string][]string{db.Image: {"NEO4J_EDITION=community"}}
	for _, svc := range []string{"task-worker", "infrahub-server", "task-manager", "cache"} {
		eng.Apps = append(eng.Apps, docker.Container{ID: svc + "-id", Name: "infrahub-" + svc + "-1", Running: true, ComposeProject: "infrahub", ComposeService: svc})
	}
	return eng
}

func offlineOptions(eng *helpertest.Engine, mod func(*backup.Options)) backup.Options {
	bolt := &fakeBolt{eng: eng}
	return options(func(o *backup.Options) {
		o.Offline = backup.OfflineOptions{Connect: bolt.connect, BoltAddress: "127.0.0.1:17687", AppServices: []string{"infrahub-server", "task-worker"}, OnlineWait: time.Second}
		if mod != nil {
			mod(o)
		}
	})
}

func TestCommunityBackupIsAnOfflineDump(t *testing.T) {
	eng := communityEngine()
	folder := newFolder(t)
	var asked *backup.DumpPlan

	res, err := backup.Run(context.Background(), eng, folder, offlineOptions(eng, func(o *backup.Options) {
		o.Offline.Confirm = func(p *backup.DumpPlan) (bool, error) { asked = p; return true, nil }
	}), progress.Nop)
	assert.NilError(t, err)

	assert.Assert(t, asked != nil)
	assert.Check(t, is.DeepEqual(asked.Apps, []string{"infrahub-task-manager-1", "infrahub-infrahub-server-1", "infrahub-task-worker-1"}))
	assert.Check(t, is.Equal(asked.Found, deployment.RuleCompose))
	assert.Check(t, is.Equal(asked.Version, "2025.10.1"))
	assert.Check(t, is.Equal(asked.StoreSize, int64(2<<20)))
	assert.Check(t, is.Equal(res.Method, "dump"))
	assert.Check(t, is.DeepEqual(res.Databases, []string{"neo4j", "system"}))

	calls := eng.CallLog()
	order := []string{
		"connect 127.0.0.1:17687 neo4j",
		"stop-container task-worker-id", "stop-container infrahub-server-id",
		"count-nodes neo4j", // the applications are stopped: what the dump holds
		"stop-container db-id",
		"exec neo4j-admin database dump --overwrite-destination=true --to-path=/backups/dump neo4j (user 7474:7474)",
		"exec neo4j-admin database dump --overwrite-destination=true --to-path=/backups/dump system (user 7474:7474)",
		// The helper is on the database's network, not in its namespace:
		// it keeps running; the database's IP is read again after its start.
		"start-container db-id", "inspect db-id",
		"await-reachable 172.18.0.2:7687", // one exec polls the Bolt port: no login per attempt while Neo4j starts
		"wait-online neo4j", "wait-online system",
		"start-container infrahub-server-id", "start-container task-worker-id",
	}
	assertInOrder(t, calls, order)
	// The task manager ranks with the database: with nothing captured
	// beside the dump it stops beside it, after the server, before the dump;
	assertInOrder(t, calls, []string{"stop-container infrahub-server-id", "stop-container task-manager-id", "exec neo4j-admin database dump"})
	// it starts with the database, while Neo4j starts (it does not use
	// it), before the server (docs/outage.md).
	assertInOrder(t, calls, []string{"start-container db-id", "start-container task-manager-id", "start-container infrahub-server-id"})
	assertInOrder(t, calls, []string{"wait-online system", "start-container infrahub-server-id"})
	assert.Check(t, !hasCall(eng, "stop-container cache-id"), "only application services stop")
	assert.Check(t, !hasCall(eng, "count-nodes system"))
	assert.Check(t, !hasCall(eng, "stop-helper"), "the helper is not restarted with the database")
	assert.Check(t, !hasCall(eng, "start-helper-again"))
	m, err := folder.ReadManifest()
	assert.NilError(t, err)
	for _, r := range m.Files {
		if r.Database == "neo4j" {
			assert.Check(t, is.DeepEqual(r.Figures, map[string]int64{"nodes:neo4j": 42, "nodes:neo4j:Root": 1, "nodes:neo4j:Branch": 41, "branch:neo4j:main": 1, "relationships:neo4j:IS_PART_OF": 7}), "recorded for a drill")
			assert.Check(t, is.Equal(r.RootID, "root-of-neo4j"))
		}
	}
	assert.Check(t, eng.DatabaseRunning())
	for _, a := range eng.Apps {
		assert.Check(t, a.Running, a.Name)
	}
	assert.Check(t, is.Len(eng.Running(), 0), "helper removed")

	m, err = folder.ReadManifest()
	assert.NilError(t, err)
	assert.Assert(t, is.Len(m.Files, 2))
	for _, rec := range m.Files {
		assert.Check(t, backupset.IsDump(rec.Name), rec.Name)
		assert.Check(t, is.Equal(rec.Type, backupset.TypeDump))
		assert.Check(t, is.Equal(rec.Edition, "community"))
		assert.Check(t, is.Equal(rec.Neo4jVersion, "2025.10.1"))
		data, err := os.ReadFile(folder.Path(rec.Name))
		assert.NilError(t, err)
		assert.Check(t, is.Equal(string(data), helpertest.DumpContent(rec.Database, eng.Server.Content(rec.Database))))
	}
	spec := eng.Helpers[0].Spec()
	assert.Check(t, is.Equal(spec.JoinContainer, ""), "on the database's networks, not in its namespace")
	assert.Check(t, is.DeepEqual(spec.Networks, []string{"net-id"}))
	assert.Check(t, is.Equal(spec.Image, "neo4j:2025.10.1-community"), "the database's own image")
}

func TestCommunityBackupWithoutConsentChangesNothing(t *testing.T) {
	eng := communityEngine()
	folder := newFolder(t)
	_, err := backup.Run(context.Background(), eng, folder, offlineOptions(eng, func(o *backup.Options) {
		o.Offline.Confirm = func(p *backup.DumpPlan) (bool, error) { return false, nil }
	}), progress.Nop)
	assert.Check(t, errors.Is(err, backup.ErrNotConfirmed), "got %v", err)
	assert.Check(t, !hasCall(eng, "stop-container"))
	assert.Check(t, is.Len(eng.Running(), 0))
	assert.Check(t, is.DeepEqual(helpertest.FolderFiles(t, folder), []string(nil)))
}

func TestCommunityBackupFaultsBringEverythingBack(t *testing.T) {
	for _, tc := range []struct {
		name     string
		fault    string
		f        *helpertest.Fault
		cancel   bool
		want     string
		wantDBUp bool
		// wantAppsDown: the applications cannot be started either, and
		// the message does not say they were.
		wantAppsDown bool
	}{
		{name: "dump fails", fault: "database dump", f: &helpertest.Fault{Code: 1, Stderr: "Active logical log detected"}, want: "Active logical log detected", wantDBUp: true},
		{name: "ctrl-c during the dump", fault: "database dump", f: &helpertest.Fault{Block: true}, cancel: true, want: "context canceled", wantDBUp: true},
		{name: "database does not start", fault: "start-database", f: &helpertest.Fault{Err: errors.New("port is already allocated")}, want: "did not come back online"},
		{name: "nothing starts (the Docker host is out of reach)", fault: "start-container", f: &helpertest.Fault{Err: errors.New("ssh: connect to host: Connection refused")}, want: "application containers not started again", wantAppsDown: true},
		{name: "helper gone", fault: "await-reachable", f: &helpertest.Fault{Err: errors.New("No such container")}, want: "removed from outside", wantDBUp: true},
		// A dump that fails may still run in the helper: it is stopped
		// (and the dump with it) before the database starts; gone, another
		// helper waits for the database.
		{name: "helper gone during the dump", fault: "database dump", f: &helpertest.Fault{Err: errors.New("No such container")}, want: "No such container", wantDBUp: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eng := communityEngine()
			folder := newFolder(t)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tc.cancel {
				tc.f.Hook = cancel
			}
			if tc.name == "helper gone" || tc.name == "helper gone during the dump" {
				tc.f.Hook = func() { eng.Helpers[0].Lose() } // docker rm -f from outside
			}
			eng.Faults[tc.fault] = tc.f
			_, err := backup.Run(ctx, eng, folder, offlineOptions(eng, nil), progress.Nop)
			assert.Check(t, is.ErrorContains(err, tc.want))
			assert.Check(t, is.Equal(eng.DatabaseRunning(), tc.wantDBUp))
			assert.Check(t, hasCall(eng, "start-container db-id"), "database started again")
			down := 0
			for _, a := range eng.Apps {
				if tc.wantAppsDown && !a.Running {
					down++
					assert.Check(t, is.ErrorContains(err, a.Name), "the stopped application is named")
					continue
				}
				assert.Check(t, a.Running, "%s started again", a.Name)
			}
			if tc.wantAppsDown {
				assert.Check(t, down > 0)
				assert.Check(t, !strings.Contains(err.Error(), "were started again"), err.Error())
			}
			assert.Check(t, is.Len(eng.Running(), 0), "no helper left")
			for _, f := range helpertest.FolderFiles(t, folder) {
				assert.Check(t, !strings.HasSuffix(f, ".dump"), "no dump written: %s", f)
			}
			if !tc.wantDBUp {
				var down *deployment.DatabaseDownError
				assert.Check(t, errors.As(err, &down))
			}
			if tc.fault == "database dump" {
				// The dump may still run: the helper stops (killing it,
				// and with it the store lock) before the database starts.
				assertInOrder(t, eng.CallLog(), []string{"stop-helper ", "start-container db-id", "start-helper-again "})
			}
		})
	}
}

// The database container may get another IP when it starts again (Docker
// gives its old one to a container started meanwhile): the helper, on its
// network, waits for it and logs in at the new one.
func TestCommunityBackupFollowsTheDatabasesNewIP(t *testing.T) {
	eng := communityEngine()
	eng.Faults["start-database"] = &helpertest.Fault{Hook: func() {
		eng.Database.Networks = []docker.Network{{Name: "infrahub_default", ID: "net-id", IP: "172.18.0.9"}}
	}}
	_, err := backup.Run(context.Background(), eng, newFolder(t), offlineOptions(eng, nil), progress.Nop)
	assert.NilError(t, err)
	assertInOrder(t, eng.CallLog(), []string{"start-container db-id", "inspect db-id", "await-reachable 172.18.0.9:7687", "wait-online neo4j"})
}

// A database container with no IP on a network (network_mode: none, or
// another container's namespace) is reached from inside its namespace:
// the helper stops before it starts and joins its new namespace after.
func TestCommunityBackupWithoutIPSharesTheNamespace(t *testing.T) {
	eng := communityEngine()
	eng.Database.Networks = nil
	_, err := backup.Run(context.Background(), eng, newFolder(t), offlineOptions(eng, nil), progress.Nop)
	assert.NilError(t, err)
	assertInOrder(t, eng.CallLog(), []string{"stop-helper ", "start-container db-id", "start-helper-again ", "await-reachable 127.0.0.1:7687", "wait-online neo4j"})
	assert.Check(t, is.Equal(eng.Helpers[0].Spec().JoinContainer, "db-id"))
}

func TestCommunityBackupKilledDatabaseIsRefused(t *testing.T) {
	eng := communityEngine()
	eng.DatabaseExitCode = 137
	_, err := backup.Run(context.Background(), eng, newFolder(t), offlineOptions(eng, nil), progress.Nop)
	assert.Check(t, is.ErrorContains(err, "was killed (exit code 137)"))
	assert.Check(t, is.ErrorContains(err, "--stop-timeout"))
	assert.Check(t, !hasCall(eng, "exec neo4j-admin database dump"))
	assert.Check(t, eng.DatabaseRunning())
}

// assertInOrder checks that each of want (a prefix) appears in calls after the previous one.
func assertInOrder(t *testing.T, calls, want []string) {
	t.Helper()
	i := 0
	for _, c := range calls {
		if i < len(want) && strings.HasPrefix(c, want[i]) {
			i++
		}
	}
	assert.Check(t, i == len(want), "calls out of order; missing %q in\n%s", want[min(i, len(want)-1)], strings.Join(calls, "\n"))
}
