package e2e

// backup s3:// and restore s3:// (issue 19 item 4, interim): the run is
// staged in a folder on the client and copied up, or down first. They refuse
// encryption (plaintext would touch the client's disk) before anything stops.

import (
	"os"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/icmd"

	"github.com/opsmill/docker-infrahubdb/e2e/kit"
	"github.com/opsmill/docker-infrahubdb/internal/s3location/s3test"
)

func TestOffsiteDirect(t *testing.T) {
	for _, edition := range []string{"community", "enterprise"} {
		t.Run(edition, func(t *testing.T) {
			t.Parallel()
			p := kit.InstallPlugin(t)
			opts := kit.ComposeOptions{Services: kit.StockServices}
			if edition == "enterprise" {
				opts.Neo4jImage = kit.Image(t)
			}
			c := kit.StartCompose(t, opts)
			s3 := kit.NewS3Location(t, "infrahub/direct")
			env := append(p.Env(), s3.Env...)
			run := func(args ...string) *icmd.Result {
				res := icmd.RunCmd(icmd.Cmd{Command: append([]string{"docker", "infrahubdb"}, args...), Env: env, Timeout: kit.PluginTimeout})
				assert.Check(t, !strings.Contains(res.Combined(), s3test.SecretKey), "the S3 secret never shows")
				return res
			}
			db, pg := seedDeployment(t, c)
			wantStorage := storageState(t, c)
			wantRows := pg.Psql(t, "SELECT string_agg(id || ':' || name, ',' ORDER BY id) FROM flow_run")
			recipients, identity := ageKey(t)
			staging := t.TempDir()

			// Encryption is refused before anything runs.
			run("backup", s3.URL, "--project", c.Project, "--yes", "--encrypt-to", recipients, "--s3-staging-dir", staging).
				Assert(t, icmd.Expected{ExitCode: 2, Err: "plaintext"})

			res := run("backup", s3.URL, "--project", c.Project, "--yes", "--progress", "quiet", "--s3-staging-dir", staging,
				"--prune", "--keep-last", "1")
			t.Log(res.Combined())
			res.Assert(t, icmd.Success)
			assert.Check(t, is.Contains(res.Stderr(), "Staging the run in "+staging))
			assert.Check(t, is.Contains(res.Stdout(), "copied run-"))
			assert.Check(t, is.Contains(res.Stdout(), "keep    run-"))
			db.Reconnect(t)
			entries, err := os.ReadDir(staging)
			assert.NilError(t, err)
			assert.Check(t, is.Len(entries, 0), "the staged run is removed")
			res = run("list", s3.URL)
			res.Assert(t, icmd.Success)
			assert.Check(t, is.Contains(res.Stdout(), "graph,task-manager,storage"))
			run("verify", s3.URL).Assert(t, icmd.Success)

			changeDeployment(t, c)
			res = run("restore", s3.URL, "--project", c.Project, "--yes", "--progress", "plain", "--s3-staging-dir", staging)
			t.Log(res.Combined())
			res.Assert(t, icmd.Success)
			db.Reconnect(t)
			assert.Check(t, is.Equal(db.Count(t, "neo4j"), int64(5)))
			assert.Check(t, is.Equal(pg.Psql(t, "SELECT string_agg(id || ':' || name, ',' ORDER BY id) FROM flow_run"), wantRows))
			assert.Check(t, is.DeepEqual(storageState(t, c), wantStorage))
			assertNoHelpers(t, c)
			// Only the safety copy stays on the client.
			entries, err = os.ReadDir(staging)
			assert.NilError(t, err)
			for _, e := range entries {
				assert.Check(t, strings.HasPrefix(e.Name(), "safety-"), "left in the staging directory: %s", e.Name())
			}

			// An encrypted run is refused before anything is downloaded or
			// stopped (decrypting it would put plaintext on the client).
			dir := t.TempDir()
			run("backup", dir, "--project", c.Project, "--yes", "--progress", "quiet").Assert(t, icmd.Success)
			db.Reconnect(t)
			enc := kit.NewS3Location(t, "infrahub/encrypted")
			encEnv := append(p.Env(), enc.Env...)
			icmd.RunCmd(icmd.Cmd{Command: []string{"docker", "infrahubdb", "copy", dir, enc.URL, "--encrypt-to", recipients}, Env: encEnv, Timeout: kit.PluginTimeout}).Assert(t, icmd.Success)
			changeDeployment(t, c)
			icmd.RunCmd(icmd.Cmd{Command: []string{"docker", "infrahubdb", "restore", enc.URL, "--project", c.Project, "--yes", "--identity", identity, "--s3-staging-dir", staging}, Env: encEnv, Timeout: kit.PluginTimeout}).
				Assert(t, icmd.Expected{ExitCode: 2, Err: "plaintext"})
			assert.Check(t, is.Equal(db.Count(t, "neo4j"), int64(8)), "nothing stopped or restored")

			// One flipped byte in a stored object: restore s3:// refuses the
			// run (exit 5) before anything stops.
			objs := runObjects(t, s3, func(name string) bool { return strings.Contains(name, ".dump") || strings.Contains(name, ".backup") })
			assert.Assert(t, len(objs) > 0)
			s3.FlipByte(t, objs[0], 100)
			run("restore", s3.URL, "--project", c.Project, "--yes", "--s3-staging-dir", staging).Assert(t, icmd.Expected{ExitCode: 5})
			assert.Check(t, is.Equal(db.Count(t, "neo4j"), int64(8)), "nothing stopped or restored")
		})
	}
}
