package e2e

// The S3 server going away (issue 19 item 7), cut off by a proxy in the
// middle of a transfer: in backup s3://, the run fails with exit 3, never
// appears, and the deployment runs; in restore s3://, the run is staged
// (its graph streamed into the helper) and checked before anything stops,
// so nothing is stopped, changed or left behind (no helper, no staged
// file, no lock), whether the cut falls in a download or in the graph's
// stream, and the next restore, with the server back, brings the backup
// back.

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/icmd"

	"github.com/opsmill/docker-infrahubdb/e2e/kit"
)

func TestOffsiteServerGoneMidTransfer(t *testing.T) {
	t.Parallel()
	_, c, s3, run := offsiteDeployment(t, "community", "infrahub/gone")
	db, _ := seedDeployment(t, c)
	// A storage archive of a few MiB, so the server goes away in the
	// middle of a file rather than between two.
	big := make([]byte, 3<<20)
	_, _ = rand.Read(big)
	putStorage(t, c, map[string]string{"files/big.bin": string(big)})
	// A graph of a few MiB too, so that a cut can fall in the middle of
	// its stream from the location into the helper.
	seedRandomGraph(t, db, blobs, 256<<10)
	wantStorage := storageState(t, c)

	res := run("backup", s3.URL, "--project", c.Project, "--yes", "--progress", "quiet", "--format", "json")
	t.Log(res.Stderr())
	res.Assert(t, icmd.Success)
	var doc struct {
		Location struct {
			RunID string `json:"run_id"`
			Bytes int64  `json:"bytes"`
		} `json:"location"`
	}
	assert.NilError(t, json.Unmarshal([]byte(res.Stdout()), &doc), res.Stdout())
	db.Reconnect(t)

	changeDeployment(t, c)
	changedStorage := storageState(t, c)
	const limit = 1 << 20 // listing, lease and manifests take a few KiB
	assert.Assert(t, doc.Location.Bytes > 2*limit, "the run holds %d bytes: too few to be cut in the middle", doc.Location.Bytes)
	staging := t.TempDir()

	// backup s3:// cut off mid-upload: exit 3, no new run, every
	// container runs, no helper left.
	proxy := kit.NewCuttingProxy(t, s3.Server.Endpoint, limit)
	res = run("backup", s3.URL, "--project", c.Project, "--yes", "--progress", "plain", "--s3-endpoint", proxy.Endpoint, "--s3-staging-dir", staging)
	t.Log(res.Combined())
	assert.Assert(t, proxy.WasCut(), "the backup sent %d bytes through the proxy: it never reached the limit", proxy.Sent())
	res.Assert(t, icmd.Expected{ExitCode: 3, Err: "127.0.0.1"})
	assertAllRunning(t, c, db)
	assertNoHelpers(t, c)
	assertOnlySafetyCopies(t, staging)
	res = run("list", s3.URL, "--format", "json")
	res.Assert(t, icmd.Success)
	var listing struct {
		Runs []struct {
			Run struct {
				ID string `json:"id"`
			} `json:"run"`
		} `json:"runs"`
	}
	assert.NilError(t, json.Unmarshal([]byte(res.Stdout()), &listing), res.Stdout())
	assert.Check(t, is.Len(listing.Runs, 1), "only the first run exists:\n%s", res.Stdout())

	before := startedAt(t, c)
	proxy = kit.NewCuttingProxy(t, s3.Server.Endpoint, limit)
	res = run("restore", s3.URL, "--project", c.Project, "--yes", "--progress", "plain", "--s3-endpoint", proxy.Endpoint, "--s3-staging-dir", staging)
	t.Log(res.Combined())
	assert.Assert(t, proxy.WasCut(), "the restore read %d bytes through the proxy: it never reached the limit", proxy.Sent())
	// A location that stops answering is an environment failure (exit 3),
	// named, before any container stops.
	res.Assert(t, icmd.Expected{ExitCode: 3, Err: "127.0.0.1"})
	assert.Check(t, !strings.Contains(res.Stderr(), "Stop "), "a container was stopped:\n%s", res.Stderr())
	assert.Check(t, is.DeepEqual(startedAt(t, c), before), "nothing stopped or restarted")
	assert.Check(t, is.Equal(db.Count(t, "neo4j"), int64(8+blobs)), "the graph is untouched")
	assert.Check(t, is.DeepEqual(storageState(t, c), changedStorage), "the storage is untouched")
	assertNoHelpers(t, c)
	assertOnlySafetyCopies(t, staging)

	// Cut while the graph streams from the location into the helper
	// (restore s3:// stages the other files first, then streams the
	// graph, before anything stops): exit 3, nothing stopped or changed,
	// no helper left.
	var staged, graph int64
	for _, o := range runObjects(t, s3, func(string) bool { return true }) {
		st, err := os.Stat(s3.ObjectPath(o))
		assert.NilError(t, err)
		if strings.Contains(o, ".dump") || strings.Contains(o, ".backup") {
			graph += st.Size()
		} else if strings.Contains(o, doc.Location.RunID) {
			staged += st.Size()
		}
	}
	const overhead = 512 << 10 // listing, manifest, headers
	assert.Assert(t, graph > 2*overhead, "the graph's objects hold %d bytes: too few to be cut in the middle", graph)
	proxy = kit.NewCuttingProxy(t, s3.Server.Endpoint, staged+overhead)
	res = run("restore", s3.URL, "--project", c.Project, "--yes", "--progress", "plain", "--s3-endpoint", proxy.Endpoint, "--s3-staging-dir", staging)
	t.Log(res.Combined())
	assert.Assert(t, proxy.WasCut(), "the restore read %d bytes through the proxy: it never reached the limit", proxy.Sent())
	res.Assert(t, icmd.Expected{ExitCode: 3, Err: "127.0.0.1"})
	assert.Check(t, is.Contains(res.Stderr(), "streamed from there into the helper"))
	assert.Check(t, !strings.Contains(res.Stderr(), "Stop "), "a container was stopped:\n%s", res.Stderr())
	assert.Check(t, is.DeepEqual(startedAt(t, c), before), "nothing stopped or restarted")
	assert.Check(t, is.Equal(db.Count(t, "neo4j"), int64(8+blobs)), "the graph is untouched")
	assert.Check(t, is.DeepEqual(storageState(t, c), changedStorage), "the storage is untouched")
	assertNoHelpers(t, c)
	assertOnlySafetyCopies(t, staging)

	// The server back (the plugin talks to it directly): no lock or lease
	// of the failed run is in the way, and the backup comes back.
	res = run("restore", s3.URL, "--project", c.Project, "--yes", "--progress", "plain", "--s3-staging-dir", staging)
	t.Log(res.Combined())
	res.Assert(t, icmd.Success)
	db.Reconnect(t)
	assert.Check(t, is.Equal(db.Count(t, "neo4j"), int64(5+blobs)))
	assert.Check(t, is.DeepEqual(storageState(t, c), wantStorage))
	assertNoHelpers(t, c)
	assertOnlySafetyCopies(t, staging)
}

// blobs is how many nodes seedRandomGraph adds.
const blobs = 16

// seedRandomGraph adds n nodes to the graph, each with a property of size
// bytes of random base64 (which the stand-in's dump hardly compresses).
func seedRandomGraph(t *testing.T, db *kit.Database, n, size int) {
	t.Helper()
	for range n {
		raw := make([]byte, size*3/4)
		_, _ = rand.Read(raw)
		// One node per statement: the stand-in unwinds only ranges.
		db.Run(t, "neo4j", "CREATE (:Blob {data: $d})", map[string]any{"d": base64.StdEncoding.EncodeToString(raw)})
	}
}
