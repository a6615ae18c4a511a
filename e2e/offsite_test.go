package e2e

// Off-site copies (issue 19): a stock-shaped deployment backed up, copied to
// a real S3 server (versitygw) encrypted to the operator's age key, verified
// there with and without the key, copied back and restored; a wrong key and
// a damaged object are refused before anything stops.

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/icmd"

	"github.com/opsmill/docker-infrahubdb/e2e/kit"
	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/s3location/s3test"
)

// ageKey writes an age key pair: the recipients file and the identity file.
func ageKey(t *testing.T) (recipients, identity string) {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	assert.NilError(t, err)
	dir := t.TempDir()
	recipients, identity = filepath.Join(dir, "ops.recipients"), filepath.Join(dir, "ops.key")
	assert.NilError(t, os.WriteFile(recipients, []byte("# ops\n"+id.Recipient().String()+"\n"), 0o644))
	assert.NilError(t, os.WriteFile(identity, []byte(id.String()+"\n"), 0o600))
	return recipients, identity
}

// offsiteDeployment starts a stock-shaped deployment of the edition and an
// S3 location under prefix; run runs the plugin with the location's
// credentials in its environment and checks the secret never shows.
func offsiteDeployment(t *testing.T, edition, prefix string) (*kit.Plugin, *kit.Compose, *kit.S3Location, func(args ...string) *icmd.Result) {
	t.Helper()
	p := kit.InstallPlugin(t)
	opts := kit.ComposeOptions{Services: kit.StockServices}
	if edition == "enterprise" {
		opts.Neo4jImage = kit.Image(t)
	}
	c := kit.StartCompose(t, opts)
	s3 := kit.NewS3Location(t, prefix)
	env := append(p.Env(), s3.Env...)
	run := func(args ...string) *icmd.Result {
		res := icmd.RunCmd(icmd.Cmd{Command: append([]string{"docker", "infrahubdb"}, args...), Env: env, Timeout: kit.PluginTimeout})
		assert.Check(t, !strings.Contains(res.Combined(), s3test.SecretKey), "the S3 secret never shows")
		return res
	}
	return p, c, s3, run
}

func TestOffsiteEncryptedRoundTrip(t *testing.T) {
	for _, edition := range []string{"community", "enterprise"} {
		t.Run(edition, func(t *testing.T) {
			t.Parallel()
			_, c, s3, run := offsiteDeployment(t, edition, "infrahub/prod")
			db, pg := seedDeployment(t, c)
			wantStorage := storageState(t, c)
			wantRows := pg.Psql(t, "SELECT string_agg(id || ':' || name, ',' ORDER BY id) FROM flow_run")
			recipients, identity := ageKey(t)
			_, wrongIdentity := ageKey(t)

			dir := t.TempDir()
			run("backup", dir, "--project", c.Project, "--yes", "--progress", "quiet").Assert(t, icmd.Success)
			db.Reconnect(t)
			res := run("copy", dir, s3.URL, "--encrypt-to", recipients)
			res.Assert(t, icmd.Success)
			assert.Check(t, is.Contains(res.Stdout(), "copied run-"))
			// Again: nothing new to copy.
			res = run("copy", dir, s3.URL, "--encrypt-to", recipients)
			res.Assert(t, icmd.Success)
			assert.Check(t, is.Contains(res.Stdout(), "already there"))
			// A plain copy into the encrypted location is refused.
			run("copy", dir, s3.URL).Assert(t, icmd.Expected{ExitCode: 3, Err: "is encrypted and this backup would not be"})

			res = run("list", s3.URL)
			res.Assert(t, icmd.Success)
			assert.Check(t, is.Contains(res.Stdout(), "age"))
			assert.Check(t, is.Contains(res.Stdout(), "graph,task-manager,storage"))

			// No plaintext on the server's disk.
			err := filepath.WalkDir(filepath.Join(s3.Server.DataDir, s3.Bucket), func(path string, d os.DirEntry, err error) error {
				assert.NilError(t, err)
				// Manifests and copy records hold names, sizes and hashes only.
				if d.Type().IsRegular() && strings.Contains(path, "/runs/") && !strings.HasSuffix(path, backupset.RunManifestName) && !strings.Contains(path, "/"+backupset.CopyRecordDir) {
					assert.Check(t, strings.HasSuffix(path, ".age"), "stored in clear: %s", path)
				}
				return nil
			})
			assert.NilError(t, err)

			run("verify", s3.URL).Assert(t, icmd.Success)
			res = run("verify", s3.URL, "--identity", identity)
			res.Assert(t, icmd.Success)
			assert.Check(t, is.Contains(res.Stdout(), "decrypted plaintext checked"))
			run("verify", s3.URL, "--identity", wrongIdentity).Assert(t, icmd.Expected{ExitCode: 3, Err: "none of the keys of --identity opens it"})

			// Lose the deployment's changes, then restore from S3: a wrong
			// key fails before anything is written or stopped.
			changeDeployment(t, c)
			back := filepath.Join(t.TempDir(), "from-s3")
			run("copy", s3.URL, back, "--identity", wrongIdentity).Assert(t, icmd.Expected{ExitCode: 3})
			entries, _ := os.ReadDir(back)
			for _, e := range entries {
				assert.Check(t, strings.HasPrefix(e.Name(), "infrahubdb") || e.Name() == backupset.ManifestName, "written with a wrong key: %s", e.Name())
			}
			assert.Check(t, is.Equal(db.Count(t, "neo4j"), int64(8)), "nothing stopped or restored")
			run("copy", s3.URL, back, "--identity", identity).Assert(t, icmd.Success)
			res = run("restore", back, "--project", c.Project, "--yes", "--progress", "plain")
			t.Log(res.Combined())
			res.Assert(t, icmd.Success)
			db.Reconnect(t)
			assert.Check(t, is.Equal(db.Count(t, "neo4j"), int64(5)))
			assert.Check(t, is.Equal(pg.Psql(t, "SELECT string_agg(id || ':' || name, ',' ORDER BY id) FROM flow_run"), wantRows))
			assert.Check(t, is.DeepEqual(storageState(t, c), wantStorage))
			assertNoHelpers(t, c)

			// One flipped byte in a stored object: verify exits 5, and the
			// copy back refuses the file.
			objs := storedObjects(t, s3)
			assert.Assert(t, len(objs) > 0)
			s3.FlipByte(t, objs[0], 300)
			run("verify", s3.URL).Assert(t, icmd.Expected{ExitCode: 5})
			run("verify", s3.URL, "--identity", identity).Assert(t, icmd.Expected{ExitCode: 5})
			run("copy", s3.URL, filepath.Join(t.TempDir(), "again"), "--identity", identity).Assert(t, icmd.Expected{ExitCode: 5})

			// Retention: one run, so nothing goes; the dry run says so.
			res = run("prune", s3.URL, "--keep-last", "1", "--dry-run")
			res.Assert(t, icmd.Success)
			assert.Check(t, is.Contains(res.Stdout(), "keep    run-"))
		})
	}
}

// storedObjects lists the encrypted artifact objects of the location's runs,
// relative to the location.
func storedObjects(t *testing.T, s3 *kit.S3Location) []string {
	return runObjects(t, s3, func(name string) bool { return strings.HasSuffix(name, ".age") })
}

// runObjects lists the artifact and manifest objects of the location's runs
// that keep takes, relative to the location (copy records, which only
// describe artifacts, are left out).
func runObjects(t *testing.T, s3 *kit.S3Location, keep func(name string) bool) []string {
	t.Helper()
	root := filepath.Dir(s3.ObjectPath("x"))
	var out []string
	err := filepath.WalkDir(filepath.Join(root, "runs"), func(path string, d os.DirEntry, err error) error {
		assert.NilError(t, err)
		if d.IsDir() && d.Name()+"/" == backupset.CopyRecordDir {
			return filepath.SkipDir
		}
		if d.Type().IsRegular() && keep(path) {
			rel, err := filepath.Rel(root, path)
			assert.NilError(t, err)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	assert.NilError(t, err)
	return out
}
