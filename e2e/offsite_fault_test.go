package e2e

// A copy to S3 killed mid-upload (issue 19): no run appears, list and
// verify report what it left, prune removes it (taking over the dead
// copy's lease at once: same machine, process gone), and the copy then
// simply runs again.

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/icmd"

	"github.com/opsmill/docker-infrahubdb/e2e/kit"
	"github.com/opsmill/docker-infrahubdb/internal/backupset/locationtest"
	"github.com/opsmill/docker-infrahubdb/internal/offsite"
)

func TestOffsiteCopyKilledMidUpload(t *testing.T) {
	t.Parallel()
	p := kit.InstallPlugin(t)
	folder, runID := locationtest.FolderWithBigRun(t, time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC), 512<<20)
	s3 := kit.NewS3Location(t, "killed")
	env := append(p.Env(), s3.Env...)
	cmd := func(args ...string) icmd.Cmd {
		return icmd.Cmd{Command: append([]string{"docker", "infrahubdb"}, args...), Env: env, Timeout: kit.PluginTimeout}
	}

	running := p.Start(t, cmd("copy", folder.Dir, s3.URL, "--progress", "quiet"))
	// Wait until the upload is under way: list sees it as an interrupted
	// (incomplete) upload while it runs.
	waitForUpload(t, func() *icmd.Result { return icmd.RunCmd(cmd("list", s3.URL)) }, "the upload")
	running.Kill(t)
	res := running.Wait()
	assert.Check(t, res.ExitCode != 0, "killed mid-upload, yet: %s", res.Combined())

	res = icmd.RunCmd(cmd("list", s3.URL))
	res.Assert(t, icmd.Success)
	assert.Check(t, is.Contains(res.Stdout(), "(no run)"))
	assert.Check(t, is.Contains(res.Stdout(), "interrupted upload"))

	res = icmd.RunCmd(cmd("prune", s3.URL, "--keep-last", "1", "--yes"))
	t.Log(res.Combined())
	res.Assert(t, icmd.Success)
	res = icmd.RunCmd(cmd("list", s3.URL))
	res.Assert(t, icmd.Success)
	assert.Check(t, !strings.Contains(res.Stdout(), "interrupted upload"), res.Stdout())

	res = icmd.RunCmd(cmd("copy", folder.Dir, s3.URL))
	res.Assert(t, icmd.Success)
	assert.Check(t, is.Contains(res.Stdout(), "copied "+runID))
	icmd.RunCmd(cmd("verify", s3.URL)).Assert(t, icmd.Success)
}

// TestOffsiteTwoClientsOneLocation: while one copy uploads, a second one
// into the same location is refused by the lease (exit 4, naming the
// holder) instead of interleaving with it; the first completes.
func TestOffsiteTwoClientsOneLocation(t *testing.T) {
	t.Parallel()
	p := kit.InstallPlugin(t)
	big, _ := locationtest.FolderWithBigRun(t, time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC), 512<<20)
	small, _ := locationtest.FolderWithRuns(t, time.Date(2026, 12, 2, 3, 0, 0, 0, time.UTC))
	s3 := kit.NewS3Location(t, "two")
	env := append(p.Env(), s3.Env...)
	cmd := func(args ...string) icmd.Cmd {
		return icmd.Cmd{Command: append([]string{"docker", "infrahubdb"}, args...), Env: env, Timeout: kit.PluginTimeout}
	}
	first := p.Start(t, cmd("copy", big.Dir, s3.URL, "--progress", "quiet"))
	waitForUpload(t, func() *icmd.Result { return icmd.RunCmd(cmd("list", s3.URL)) }, "the first upload")
	res := icmd.RunCmd(cmd("copy", small.Dir, s3.URL))
	res.Assert(t, icmd.Expected{ExitCode: 4, Err: `location is locked by "copy"`})
	first.Wait().Assert(t, icmd.Success)
	res = icmd.RunCmd(cmd("list", s3.URL))
	res.Assert(t, icmd.Success)
	assert.Check(t, is.Contains(res.Stdout(), "run-2026-12-01T03-00-00"))
	icmd.RunCmd(cmd("copy", small.Dir, s3.URL)).Assert(t, icmd.Success)
}

// TestOffsiteCopyKilledIsResumed: a copy killed (kill -9) while it uploads
// the last file of a run, after the first ones were committed, is resumed by
// the next copy: it writes into the interrupted run, keeps the files already
// there once their stored bytes are read back and checked, uploads only the
// rest, aborts the dead upload; the run verifies and nothing is left for
// prune.
func TestOffsiteCopyKilledIsResumed(t *testing.T) {
	t.Parallel()
	p := kit.InstallPlugin(t)
	folder, runID := locationtest.FolderWithBigRun(t, time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC), 512<<20)
	s3 := kit.NewS3Location(t, "resumed")
	env := append(p.Env(), s3.Env...)
	cmd := func(args ...string) icmd.Cmd {
		return icmd.Cmd{Command: append([]string{"docker", "infrahubdb"}, args...), Env: env, Timeout: kit.PluginTimeout}
	}

	running := p.Start(t, cmd("copy", folder.Dir, s3.URL, "--progress", "quiet"))
	// The graph dump (the last file) is under way once a multipart upload
	// shows: the task-manager dump and the storage archive (single PUTs)
	// are committed.
	waitForUpload(t, func() *icmd.Result { return icmd.RunCmd(cmd("list", s3.URL)) }, "the upload of the graph dump")
	running.Kill(t)
	res := running.Wait()
	assert.Check(t, res.ExitCode != 0, "killed mid-upload, yet: %s", res.Combined())
	res = icmd.RunCmd(cmd("list", s3.URL))
	res.Assert(t, icmd.Success)
	assert.Check(t, is.Contains(res.Stdout(), "(no run)"))
	interrupted := runObjects(t, s3, func(string) bool { return true })
	assert.Assert(t, is.Len(interrupted, 2), "the task-manager dump and the storage archive: %v", interrupted)
	deadRun := strings.Split(interrupted[0], "/")[1]

	res = icmd.RunCmd(cmd("copy", folder.Dir, s3.URL, "--format", "json"))
	t.Log(res.Combined())
	res.Assert(t, icmd.Success)
	var out offsite.CopyResult
	assert.NilError(t, json.Unmarshal([]byte(res.Stdout()), &out))
	assert.Assert(t, is.Len(out.Copied, 1))
	c := out.Copied[0]
	assert.Check(t, is.Equal(c.Source, runID))
	assert.Check(t, is.Equal(c.ID, deadRun), "the interrupted run is committed")
	assert.Check(t, is.Equal(c.Files, 3))
	assert.Check(t, is.Len(c.Resumed, 2))
	for _, name := range c.Resumed {
		assert.Check(t, !strings.HasPrefix(name, "neo4j-"), "%s was being uploaded: not there", name)
	}
	assert.Check(t, c.ResumedBytes > 0 && c.ResumedBytes < 1<<20)

	icmd.RunCmd(cmd("verify", s3.URL)).Assert(t, icmd.Success)
	res = icmd.RunCmd(cmd("list", s3.URL))
	res.Assert(t, icmd.Success)
	assert.Check(t, !strings.Contains(res.Stdout(), "interrupted upload"), "the dead upload was aborted: %s", res.Stdout())
	assert.Check(t, !strings.Contains(res.Stdout(), "uncommitted"), res.Stdout())
	res = icmd.RunCmd(cmd("copy", folder.Dir, s3.URL))
	res.Assert(t, icmd.Success)
	assert.Check(t, is.Contains(res.Stdout(), "already there: "+runID))
}

// A backup s3:// killed while it streams (issue 19): the objects it had
// sent are no run (its manifest was never written), list and verify say
// what is left, the dead run's lease is taken over at once (same machine,
// process gone), prune removes the leftovers, and the next backup runs as
// usual.
func TestOffsiteBackupKilledMidStream(t *testing.T) {
	t.Parallel()
	p, c, s3, run := offsiteDeployment(t, "enterprise", "streamed")
	seedRandomStorage(t, c, 384)
	env := append(p.Env(), s3.Env...)
	running := p.Start(t, icmd.Cmd{Command: []string{"docker", "infrahubdb", "backup", s3.URL, "--project", c.Project, "--component", "storage", "--progress", "quiet"}, Env: env, Timeout: kit.PluginTimeout})
	waitForUpload(t, func() *icmd.Result { return run("list", s3.URL) }, "the stream into the location")
	running.Kill(t)
	res := running.Wait()
	assert.Check(t, res.ExitCode != 0, "killed mid-stream, yet: %s", res.Combined())

	res = run("list", s3.URL)
	res.Assert(t, icmd.Success)
	assert.Check(t, is.Contains(res.Stdout(), "(no run)"))
	assert.Check(t, is.Contains(res.Stdout(), "interrupted upload"))
	res = run("verify", s3.URL)
	t.Log(res.Combined())
	res.Assert(t, icmd.Expected{ExitCode: 5, Err: "holds no run"})
	assert.Check(t, is.Contains(res.Combined(), "interrupted upload"))

	res = run("prune", s3.URL, "--keep-last", "1", "--yes")
	t.Log(res.Combined())
	res.Assert(t, icmd.Success)
	res = run("list", s3.URL)
	res.Assert(t, icmd.Success)
	assert.Check(t, !strings.Contains(res.Stdout(), "interrupted upload"), res.Stdout())
	run("verify", s3.URL, "--allow-empty").Assert(t, icmd.Success)

	res = run("backup", s3.URL, "--project", c.Project, "--component", "storage", "--progress", "plain")
	t.Log(res.Combined())
	res.Assert(t, icmd.Success)
	assert.Check(t, is.Contains(res.Stderr(), "Streaming the run into"))
	// The storage alone: nothing stops and nothing starts, so the run
	// takes the lock (over the dead run's) and starts its guardian only
	// if it goes on for a while (guardian.LazyArmAfter).
	assert.Check(t, is.Contains(res.Stderr(), "its guardian starts if this backup stops a container or starts one, or runs for more than"))
	run("verify", s3.URL).Assert(t, icmd.Success)
	res = run("list", s3.URL)
	assert.Check(t, is.Contains(res.Stdout(), "storage"))
	assertNoHelpers(t, c)
}

// waitForUpload waits until list (of a location) shows an upload under way
// (an incomplete multipart upload: "interrupted upload" while it runs), so
// that a test kills the uploader mid-upload.
func waitForUpload(t *testing.T, list func() *icmd.Result, what string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		res := list()
		if strings.Contains(res.Stdout(), "interrupted upload") {
			return
		}
		assert.Assert(t, time.Now().Before(deadline), "%s never started: %s", what, res.Combined())
		time.Sleep(20 * time.Millisecond)
	}
}
