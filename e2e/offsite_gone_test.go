package e2e

// The S3 server going away in the middle of restore s3:// (issue 19 item 7):
// the run is staged and checked before anything stops, so nothing is
// stopped, changed or left behind (no helper, no staged file, no lock),
// and the next restore, with the server back, brings the backup back.

import (
	"crypto/rand"
	"encoding/json"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/icmd"

	"github.com/opsmill/docker-infrahubdb/e2e/kit"
)

func TestOffsiteServerGoneMidRestore(t *testing.T) {
	t.Parallel()
	_, c, s3, run := offsiteDeployment(t, "community", "infrahub/gone")
	db, _ := seedDeployment(t, c)
	// A storage archive of a few MiB, so the server goes away in the
	// middle of a file rather than between two.
	big := make([]byte, 3<<20)
	_, _ = rand.Read(big)
	putStorage(t, c, map[string]string{"files/big.bin": string(big)})
	wantStorage := storageState(t, c)

	res := run("backup", s3.URL, "--project", c.Project, "--yes", "--progress", "quiet", "--format", "json")
	t.Log(res.Stderr())
	res.Assert(t, icmd.Success)
	var doc diffBackupDoc
	assert.NilError(t, json.Unmarshal([]byte(res.Stdout()), &doc), res.Stdout())
	db.Reconnect(t)

	changeDeployment(t, c)
	changedStorage := storageState(t, c)
	before := startedAt(t, c)

	const limit = 1 << 20 // listing and manifests take a few KiB
	proxy := kit.NewCuttingProxy(t, s3.Server.Endpoint, limit)
	staging := t.TempDir()
	res = run("restore", s3.URL, "--project", c.Project, "--yes", "--progress", "plain", "--s3-endpoint", proxy.Endpoint, "--s3-staging-dir", staging)
	t.Log(res.Combined())
	assert.Assert(t, proxy.WasCut(), "the restore read %d bytes through the proxy: it never reached the limit", proxy.Sent())
	// A location that stops answering is an environment failure (exit 3),
	// named, before any container stops.
	res.Assert(t, icmd.Expected{ExitCode: 3, Err: "127.0.0.1"})
	assert.Check(t, !strings.Contains(res.Stderr(), "Stop "), "a container was stopped:\n%s", res.Stderr())
	assert.Check(t, is.DeepEqual(startedAt(t, c), before), "nothing stopped or restarted")
	assert.Check(t, is.Equal(db.Count(t, "neo4j"), int64(8)), "the graph is untouched")
	assert.Check(t, is.DeepEqual(storageState(t, c), changedStorage), "the storage is untouched")
	assertNoHelpers(t, c)
	assertOnlySafetyCopies(t, staging)

	// The server back (the plugin talks to it directly): no lock or lease
	// of the failed run is in the way, and the backup comes back.
	res = run("restore", s3.URL, "--project", c.Project, "--yes", "--progress", "plain", "--s3-staging-dir", staging)
	t.Log(res.Combined())
	res.Assert(t, icmd.Success)
	db.Reconnect(t)
	assert.Check(t, is.Equal(db.Count(t, "neo4j"), int64(5)))
	assert.Check(t, is.DeepEqual(storageState(t, c), wantStorage))
	assertNoHelpers(t, c)
	assertOnlySafetyCopies(t, staging)
}
