package e2e

// Tests of the PostgreSQL image (e2e/postgres): the real server from
// Debian's packages, started like the official postgres image, the way
// Infrahub's task-manager-db is.

import (
	"strings"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/icmd"

	"github.com/opsmill/docker-infrahubdb/e2e/kit"
)

func TestPostgresDumpAndRestore(t *testing.T) {
	t.Parallel()
	// Infrahub's task-manager-db: postgres/<password>/prefect.
	pg := kit.StartPostgres(t, kit.PostgresOptions{DB: "prefect"})

	// The server is PostgreSQL 15 and runs as postgres (uid 999), not root.
	assert.Check(t, is.Contains(pg.Psql(t, "SELECT version()"), "PostgreSQL 15."))
	assert.Check(t, is.Contains(pg.MustExec(t, "cat", "/proc/1/status"), "Uid:\t999\t999"))
	assert.Check(t, is.Equal(pg.Psql(t, "SHOW server_encoding"), "UTF8"))
	assert.Check(t, is.Equal(pg.Psql(t, "SHOW listen_addresses"), "*"))

	pg.Psql(t, `CREATE TABLE flow_run (id serial PRIMARY KEY, name text NOT NULL);
		INSERT INTO flow_run (name) SELECT 'run-' || i FROM generate_series(1, 1000) AS i;`)
	assert.Equal(t, pg.Psql(t, "SELECT count(*) FROM flow_run"), "1000")

	// pg_dump in the custom format, through docker exec's stdout.
	res := pg.Exec("pg_dump", "-U", "postgres", "-d", "prefect", "--format=custom")
	res.Assert(t, icmd.Success)
	dump := res.Stdout()
	assert.Assert(t, strings.HasPrefix(dump, "PGDMP"), "not a custom-format dump: %q", dump[:min(len(dump), 16)])

	// Change the data, then restore the dump through stdin.
	pg.Psql(t, "DELETE FROM flow_run WHERE id > 10; CREATE TABLE scratch (x int);")
	assert.Equal(t, pg.Psql(t, "SELECT count(*) FROM flow_run"), "10")
	pg.ExecInput(dump, "pg_restore", "-U", "postgres", "-d", "prefect", "--clean", "--if-exists").Assert(t, icmd.Success)
	assert.Check(t, is.Equal(pg.Psql(t, "SELECT count(*) FROM flow_run"), "1000"))
	assert.Check(t, is.Equal(pg.Psql(t, "SELECT max(name) FROM flow_run WHERE id = 1000"), "run-1000"))
	// --clean drops only what the dump holds.
	assert.Check(t, is.Equal(pg.Psql(t, "SELECT count(*) FROM pg_tables WHERE tablename = 'scratch'"), "1"))

	// Password authentication from another container, by IP.
	client := func(url string) *icmd.Result {
		return kit.Docker("run", "--rm", "--label", kit.RunLabel+"="+kit.RunID, pg.Image,
			"psql", "-X", "-At", url, "-c", "SELECT count(*) FROM flow_run")
	}
	res = client(pg.URL(t))
	res.Assert(t, icmd.Success)
	assert.Check(t, is.Equal(strings.TrimSpace(res.Stdout()), "1000"))
	res = client(strings.Replace(pg.URL(t), ":"+pg.Password+"@", ":wrong@", 1))
	assert.Check(t, res.ExitCode != 0)
	assert.Check(t, is.Contains(res.Stderr(), `password authentication failed for user "postgres"`))

	// docker stop is a clean shutdown (exit code 0, not the 137 of a
	// SIGKILL after the stop timeout); the data survives a restart.
	pg.Stop(t)
	assert.Check(t, is.Equal(pg.Inspect(t, "{{.State.ExitCode}}"), "0"))
	assert.Check(t, is.Contains(pg.Logs(), "database system is shut down"))
	pg.Start(t)
	assert.Check(t, is.Contains(pg.Logs(), "Skipping initialization"))
	assert.Check(t, is.Equal(pg.Psql(t, "SELECT count(*) FROM flow_run"), "1000"))
}

func TestPostgresLikeTheOfficialImage(t *testing.T) {
	t.Parallel()
	t.Run("user and default database", func(t *testing.T) {
		t.Parallel()
		// On a network of the test's, with a named data volume.
		network := kit.UniqueName(t, "e2e-net")
		kit.MustDocker(t, "network", "create", "--label", kit.RunLabel+"="+kit.RunID, network)
		t.Cleanup(func() { kit.Docker("network", "rm", network) })
		volume := kit.UniqueName(t, "e2e-pgdata")
		pg := kit.StartPostgres(t, kit.PostgresOptions{User: "infrahub", Network: network, Volume: volume})
		assert.Check(t, is.Equal(pg.Volume(t), volume))
		assert.Check(t, pg.IP(t) != "")
		assert.Check(t, is.Equal(pg.DB, "infrahub"))
		assert.Check(t, is.Equal(pg.Psql(t, "SELECT current_user || ' ' || current_database()"), "infrahub infrahub"))
		// Passwords are stored as SCRAM; remote hosts must use one.
		assert.Check(t, is.Equal(pg.Psql(t, "SELECT left(rolpassword, 13) FROM pg_authid WHERE rolname = 'infrahub'"), "SCRAM-SHA-256"))
		hba := pg.MustExec(t, "cat", kit.PostgresData+"/pg_hba.conf")
		assert.Check(t, is.Contains(hba, "\nhost all all all scram-sha-256\n"))
		assert.Check(t, is.Contains(hba, "local   all             all                                     trust"))
		for _, tool := range []string{"psql", "pg_dump", "pg_restore", "pg_dumpall", "pg_isready"} {
			res := pg.Exec(tool, "--version")
			res.Assert(t, icmd.Success)
			assert.Check(t, is.Contains(res.Stdout(), "(PostgreSQL) 15."))
		}
	})
	t.Run("no password", func(t *testing.T) {
		t.Parallel()
		res := kit.Docker("run", "--rm", "--label", kit.RunLabel+"="+kit.RunID, kit.PostgresImage(t))
		assert.Check(t, is.Equal(res.ExitCode, 1))
		assert.Check(t, is.Contains(res.Stderr(), "Database is uninitialized and superuser password is not specified."))
	})
}
