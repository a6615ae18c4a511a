package drill

import (
	"context"
	"fmt"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/opsmill/docker-infrahubdb/internal/progress"
)

// fakeAdmin is a fresh Neo4j Enterprise as the drill starts it: it knows
// its default database and system; a database restored offline is on disk
// but comes online only once created and started.
type fakeAdmin struct {
	Admin
	known []string
	calls []string
}

func (a *fakeAdmin) Create(_ context.Context, name string) error {
	a.calls = append(a.calls, "CREATE "+name)
	a.known = append(a.known, name)
	return nil
}

func (a *fakeAdmin) Start(_ context.Context, name string) error {
	a.calls = append(a.calls, "START "+name)
	return nil
}

func (a *fakeAdmin) WaitOnline(_ context.Context, name string, timeout time.Duration) error {
	a.calls = append(a.calls, fmt.Sprintf("WAIT %s %s", name, timeout))
	for _, k := range a.known {
		if k == name {
			return nil
		}
	}
	return fmt.Errorf("database %q not online after %s: it does not exist", name, timeout)
}

// On Enterprise, a restored database other than the default one is
// created, started and waited for, with restore's own code
// (neo4jbackup.StartDatabase) and a bounded wait; the default one too (IF
// NOT EXISTS: nothing happens to it).
func TestBringOnlineEnterpriseCreatesTheRestoredDatabase(t *testing.T) {
	for _, db := range []string{"infrahub", "neo4j"} {
		a := &fakeAdmin{known: []string{"system", "neo4j"}}
		err := bringOnline(context.Background(), a, db, false, time.Minute, progress.Nop)
		assert.NilError(t, err, db)
		assert.Check(t, is.DeepEqual(a.calls, []string{"CREATE " + db, "START " + db, "WAIT " + db + " 1m0s"}))
	}
}

// On Community the server's default database is the dumped one (no
// CREATE DATABASE there): the drill waits for it.
func TestBringOnlineCommunityWaitsForTheDefaultDatabase(t *testing.T) {
	a := &fakeAdmin{known: []string{"system", "infrahub"}}
	assert.NilError(t, bringOnline(context.Background(), a, "infrahub", true, time.Minute, progress.Nop))
	assert.Check(t, is.DeepEqual(a.calls, []string{"WAIT infrahub 1m0s"}))

	env, err := serverEnv("pw", []string{"infrahub"}, true)
	assert.NilError(t, err)
	assert.Check(t, is.DeepEqual(env, []string{"NEO4J_AUTH=neo4j/pw", "NEO4J_initial_dbms_default__database=infrahub"}))
	env, err = serverEnv("pw", []string{"infrahub"}, false)
	assert.NilError(t, err)
	assert.Check(t, is.DeepEqual(env, []string{"NEO4J_AUTH=neo4j/pw"}), "Enterprise creates its databases")
	_, err = serverEnv("pw", []string{"infrahub", "neo4j"}, true)
	assert.Check(t, is.ErrorContains(err, "Neo4j Community, which serves one"))
}
