package e2e

// backup s3:// and restore s3:// (issue 19 item 4, interim): the run is
// staged in a folder on the client and copied up, or down first. An
// encrypted backup stages ciphertext only; restore refuses an encrypted run
// (it would decrypt onto the client's disk) before anything stops.

import (
	"os"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/icmd"

	"github.com/opsmill/docker-infrahubdb/e2e/kit"
	"github.com/opsmill/docker-infrahubdb/internal/backupset"
)

func TestOffsiteDirect(t *testing.T) {
	for _, edition := range []string{"community", "enterprise"} {
		t.Run(edition, func(t *testing.T) {
			t.Parallel()
			p, c, s3, run := offsiteDeployment(t, edition, "infrahub/direct")
			db, pg := seedDeployment(t, c)
			wantStorage := storageState(t, c)
			wantRows := pg.Psql(t, "SELECT string_agg(id || ':' || name, ',' ORDER BY id) FROM flow_run")
			recipients, identity := ageKey(t)
			staging := t.TempDir()

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

			// Encrypted: the staging folder holds ciphertext only (bind
			// transfer refused, the output says why); the location's
			// plaintext checksums match with the key.
			enc := kit.NewS3Location(t, "infrahub/encrypted")
			encEnv := append(p.Env(), enc.Env...)
			runEnc := func(args ...string) *icmd.Result {
				return icmd.RunCmd(icmd.Cmd{Command: append([]string{"docker", "infrahubdb"}, args...), Env: encEnv, Timeout: kit.PluginTimeout})
			}
			runEnc("backup", enc.URL, "--project", c.Project, "--yes", "--encrypt-to", recipients, "--transfer", "bind").
				Assert(t, icmd.Expected{ExitCode: 2, Err: "plaintext"})
			res = runEnc("backup", enc.URL, "--project", c.Project, "--yes", "--progress", "quiet", "--encrypt-to", recipients, "--s3-staging-dir", staging)
			t.Log(res.Combined())
			res.Assert(t, icmd.Success)
			assert.Check(t, is.Contains(res.Stderr(), "ciphertext only (transfer stream"))
			db.Reconnect(t)
			res = runEnc("list", enc.URL)
			res.Assert(t, icmd.Success)
			assert.Check(t, is.Contains(res.Stdout(), "age"))
			assert.Check(t, is.Contains(res.Stdout(), "graph,task-manager,storage"))
			files := runObjects(t, enc, func(name string) bool { return !strings.HasSuffix(name, backupset.RunManifestName) })
			assert.Check(t, len(files) >= 3)
			for _, f := range files {
				assert.Check(t, strings.HasSuffix(f, ".age"), "stored in clear: %s", f)
			}
			res = runEnc("verify", enc.URL, "--identity", identity)
			res.Assert(t, icmd.Success)
			assert.Check(t, is.Contains(res.Stdout(), "decrypted plaintext checked"))
			_, wrongIdentity := ageKey(t)
			runEnc("verify", enc.URL, "--identity", wrongIdentity).Assert(t, icmd.Expected{ExitCode: 3})
			// A plain backup into the encrypted location is refused.
			runEnc("backup", enc.URL, "--project", c.Project, "--yes", "--s3-staging-dir", staging).Assert(t, icmd.Expected{ExitCode: 3, Err: "is encrypted"})

			// Restoring an encrypted run directly is refused before anything
			// is downloaded or stopped (it would decrypt onto the client's
			// disk); copy back and restore the folder instead.
			// A missing or wrong key exits 3 first.
			changeDeployment(t, c)
			runEnc("restore", enc.URL, "--project", c.Project, "--yes", "--s3-staging-dir", staging).
				Assert(t, icmd.Expected{ExitCode: 3, Err: "--identity"})
			runEnc("restore", enc.URL, "--project", c.Project, "--yes", "--identity", wrongIdentity, "--s3-staging-dir", staging).
				Assert(t, icmd.Expected{ExitCode: 3, Err: "none of the keys of --identity opens it"})
			runEnc("restore", enc.URL, "--project", c.Project, "--yes", "--identity", identity, "--s3-staging-dir", staging).
				Assert(t, icmd.Expected{ExitCode: 2, Err: "plaintext"})
			assert.Check(t, is.Equal(db.Count(t, "neo4j"), int64(8)), "nothing stopped or restored")
			entries, err = os.ReadDir(staging)
			assert.NilError(t, err)
			for _, e := range entries {
				assert.Check(t, strings.HasPrefix(e.Name(), "safety-"), "left in the staging directory: %s", e.Name())
			}
			back := t.TempDir()
			runEnc("copy", enc.URL, back, "--identity", identity).Assert(t, icmd.Success)
			res = runEnc("restore", back, "--project", c.Project, "--yes", "--progress", "quiet")
			t.Log(res.Combined())
			res.Assert(t, icmd.Success)
			db.Reconnect(t)
			assert.Check(t, is.Equal(db.Count(t, "neo4j"), int64(5)))
			assert.Check(t, is.Equal(pg.Psql(t, "SELECT string_agg(id || ':' || name, ',' ORDER BY id) FROM flow_run"), wantRows))
			assert.Check(t, is.DeepEqual(storageState(t, c), wantStorage))
			changeDeployment(t, c)

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
