package e2e

// backup s3:// --type diff (issue 19 item 4): a differential backup seeded
// from the location's newest chain (ciphertext through a decrypting reader
// when encrypted), uploaded as a run that depends on its base; prune keeps
// the base, --full-every starts a new chain, restore s3:// stages the whole
// chain and brings the newest data.

import (
	"encoding/json"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/icmd"

	"github.com/opsmill/docker-infrahubdb/e2e/kit"
)

type diffBackupDoc struct {
	Location struct {
		RunID string `json:"run_id"`
		Base  string `json:"base"`
		Files int    `json:"files"`
	} `json:"location"`
}

func TestOffsiteDirectDifferential(t *testing.T) {
	t.Parallel()
	p, c, s3, run := offsiteDeployment(t, "enterprise", "infrahub/diff")
	db, _ := seedDeployment(t, c)
	staging := t.TempDir()
	backup := func(run func(args ...string) *icmd.Result, url string, args ...string) diffBackupDoc {
		t.Helper()
		res := run(append([]string{"backup", url, "--project", c.Project, "--yes", "--progress", "plain", "--s3-staging-dir", staging, "--format", "json"}, args...)...)
		t.Log(res.Combined())
		res.Assert(t, icmd.Success)
		var doc diffBackupDoc
		assert.NilError(t, json.Unmarshal([]byte(res.Stdout()), &doc), res.Stdout())
		db.Reconnect(t)
		assertOnlySafetyCopies(t, staging)
		return doc
	}

	// Plain: a full run, new data, then auto continues its chain.
	run("backup", s3.URL, "--project", c.Project, "--yes", "--type", "diff", "--s3-staging-dir", staging).
		Assert(t, icmd.Expected{ExitCode: 3, Err: "no run to continue"})
	full := backup(run, s3.URL, "--type", "full")
	assert.Check(t, is.Equal(full.Location.Base, ""))
	db.Seed(t, "neo4j", 3)
	diff := backup(run, s3.URL)
	assert.Check(t, is.Equal(diff.Location.Base, full.Location.RunID), "auto continues the location's chain")
	// neo4j and system differentials, the task manager and the storage:
	// the base's files are not uploaded again.
	assert.Check(t, is.Equal(diff.Location.Files, full.Location.Files))
	res := run("list", s3.URL)
	res.Assert(t, icmd.Success)
	assert.Check(t, is.Contains(res.Stdout(), "run "+diff.Location.RunID+" is differential: it depends on run "+full.Location.RunID))
	run("verify", s3.URL).Assert(t, icmd.Success)
	res = run("prune", s3.URL, "--keep-last", "1", "--yes")
	t.Log(res.Combined())
	res.Assert(t, icmd.Success)
	assert.Check(t, is.Contains(res.Stdout(), "base of "+diff.Location.RunID))
	res = run("list", s3.URL)
	assert.Check(t, is.Contains(res.Stdout(), full.Location.RunID), "the base is kept")

	db.Seed(t, "neo4j", 2) // after the backup: the restore takes it away
	assert.Check(t, is.Equal(db.Count(t, "neo4j"), int64(10)))
	res = run("restore", s3.URL, "--project", c.Project, "--yes", "--progress", "plain", "--s3-staging-dir", staging)
	t.Log(res.Combined())
	res.Assert(t, icmd.Success)
	db.Reconnect(t)
	assert.Check(t, is.Equal(db.Count(t, "neo4j"), int64(8)), "the differential run's data is back")
	assertNoHelpers(t, c)
	assertOnlySafetyCopies(t, staging)

	// --full-every: the newest chain holds two runs, so auto starts a
	// new one with a full backup.
	renewed := backup(run, s3.URL, "--full-every", "2")
	assert.Check(t, is.Equal(renewed.Location.Base, ""), "a chain of two runs is not continued with --full-every 2")
	assert.Check(t, is.Equal(renewed.Location.Files, full.Location.Files))

	// Encrypted: the base is staged as ciphertext and read with
	// --identity; the staging folder never holds plaintext.
	recipients, identity := ageKey(t)
	enc := kit.NewS3Location(t, "infrahub/diff-encrypted")
	encEnv := append(p.Env(), enc.Env...)
	runEnc := func(args ...string) *icmd.Result {
		return icmd.RunCmd(icmd.Cmd{Command: append([]string{"docker", "infrahubdb"}, args...), Env: encEnv, Timeout: kit.PluginTimeout})
	}
	encFull := backup(runEnc, enc.URL, "--encrypt-to", recipients)
	assert.Check(t, is.Equal(encFull.Location.Base, ""))
	db.Seed(t, "neo4j", 4) // 12 nodes
	runEnc("backup", enc.URL, "--project", c.Project, "--yes", "--type", "diff", "--encrypt-to", recipients, "--s3-staging-dir", staging).
		Assert(t, icmd.Expected{ExitCode: 2, Err: "--identity"})
	watch := watchStaging(t, staging, "backup-*")
	// --database neo4j: the stand-in's system database has no transaction
	// to continue from, and --type diff refuses a full backup.
	encDiff := backup(runEnc, enc.URL, "--type", "diff", "--database", "neo4j", "--encrypt-to", recipients, "--identity", identity)
	seen, plain := watch()
	assert.Check(t, is.Equal(encDiff.Location.Base, encFull.Location.RunID))
	assert.Check(t, len(seen) > 0, "the watch saw the staged artifacts")
	assert.Check(t, is.Len(plain, 0), "plaintext in the staging folder: %v", plain)
	runEnc("verify", enc.URL, "--identity", identity).Assert(t, icmd.Success)
	// neo4j's differential, the task manager and the storage: only the
	// new files are uploaded.
	assert.Check(t, is.Equal(encDiff.Location.Files, encFull.Location.Files-1))
	objs := runObjects(t, enc, func(name string) bool { return strings.Contains(name, encDiff.Location.RunID+"/") })
	for _, o := range objs {
		assert.Check(t, strings.HasSuffix(o, ".age") || strings.HasSuffix(o, "manifest.json"), "stored in clear: %s", o)
	}

	db.Seed(t, "neo4j", 1)
	res = runEnc("restore", enc.URL, "--project", c.Project, "--yes", "--progress", "plain", "--identity", identity, "--s3-staging-dir", staging)
	t.Log(res.Combined())
	res.Assert(t, icmd.Success)
	db.Reconnect(t)
	assert.Check(t, is.Equal(db.Count(t, "neo4j"), int64(12)), "the encrypted differential run's data is back")
	assertNoHelpers(t, c)
	assertOnlySafetyCopies(t, staging)
}
