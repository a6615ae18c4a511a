package e2e

// backup s3:// and restore s3:// (issue 19 item 4): backup streams the run
// into the location as the files arrive (encrypted on the way when asked),
// with nothing of it staged on the client; restore copies it down first,
// staging ciphertext only for an encrypted run and decrypting as it reads;
// a wrong key or a damaged object is refused before anything stops.

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/icmd"

	"github.com/opsmill/docker-infrahubdb/e2e/kit"
	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/drill"
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

			// Streamed: every artifact goes from the helper into the
			// location as it arrives; the staging folder (watched
			// meanwhile) never holds a byte of one.
			watch := watchStaging(t, staging, "backup-*")
			res := run("backup", s3.URL, "--project", c.Project, "--yes", "--progress", "quiet", "--s3-staging-dir", staging,
				"--prune", "--keep-last", "1")
			seen, _ := watch()
			t.Log(res.Combined())
			res.Assert(t, icmd.Success)
			assert.Check(t, is.Contains(res.Stderr(), "Streaming the run into"))
			assertStreamed(t, edition, seen)
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
			if edition == "enterprise" {
				// --consistent: everything is captured while the
				// applications are stopped, so everything is staged
				// here and uploaded once they run again.
				watch = watchStaging(t, staging, "backup-*")
				res = run("backup", s3.URL, "--project", c.Project, "--yes", "--consistent", "--progress", "quiet", "--s3-staging-dir", staging)
				seen, _ = watch()
				t.Log(res.Combined())
				res.Assert(t, icmd.Success)
				assert.Check(t, len(seen) >= 3, "staged: %v", seen)
				db.Reconnect(t)
				run("verify", s3.URL).Assert(t, icmd.Success)
			}

			// The graph streams from the location into the helper: the
			// staging folder (watched meanwhile) only ever holds the
			// task manager's dump and the storage's archive.
			changeDeployment(t, c)
			watch = watchStaging(t, staging, "restore-*")
			res = run("restore", s3.URL, "--project", c.Project, "--yes", "--progress", "plain", "--s3-staging-dir", staging)
			seen, _ = watch()
			t.Log(res.Combined())
			res.Assert(t, icmd.Success)
			assert.Check(t, is.Contains(res.Stderr(), "its graph is streamed from there into the helper"))
			assertGraphNotStaged(t, seen)
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
			// --format json: the folder command's document, plus where it
			// went in the location.
			watch = watchStaging(t, staging, "backup-*")
			res = runEnc("backup", enc.URL, "--project", c.Project, "--yes", "--progress", "quiet", "--encrypt-to", recipients, "--s3-staging-dir", staging, "--format", "json")
			seen, plain := watch()
			t.Log(res.Combined())
			res.Assert(t, icmd.Success)
			assert.Check(t, is.Contains(res.Stderr(), "encrypted to 1 recipient(s) as the files arrive (transfer stream)"))
			assertStreamed(t, edition, seen)
			assert.Check(t, is.Len(plain, 0), "plaintext in the staging folder: %v", plain)
			var backupDoc struct {
				Transfer string `json:"transfer"`
				Run      struct {
					Components []string `json:"components"`
				} `json:"run"`
				Location struct {
					Location  string `json:"location"`
					RunID     string `json:"run_id"`
					Encrypted bool   `json:"encrypted"`
					Files     int    `json:"files"`
				} `json:"location"`
			}
			assert.NilError(t, json.Unmarshal([]byte(res.Stdout()), &backupDoc), res.Stdout())
			assert.Check(t, is.Equal(backupDoc.Transfer, "stream"))
			assert.Check(t, is.DeepEqual(backupDoc.Run.Components, []string{"graph", "task-manager", "storage"}))
			assert.Check(t, is.Contains(backupDoc.Location.Location, strings.TrimSuffix(enc.URL, "/")))
			assert.Check(t, strings.HasPrefix(backupDoc.Location.RunID, "run-"), backupDoc.Location.RunID)
			assert.Check(t, backupDoc.Location.Encrypted)
			assert.Check(t, backupDoc.Location.Files >= 3)
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

			// Restoring the encrypted run: a missing or wrong key exits 3
			// before anything is downloaded or stopped; bind transfer is
			// refused (it would put plaintext on this machine's disk).
			changeDeployment(t, c)
			runEnc("restore", enc.URL, "--project", c.Project, "--yes", "--s3-staging-dir", staging).
				Assert(t, icmd.Expected{ExitCode: 3, Err: "--identity"})
			runEnc("restore", enc.URL, "--project", c.Project, "--yes", "--identity", wrongIdentity, "--s3-staging-dir", staging).
				Assert(t, icmd.Expected{ExitCode: 3, Err: "none of the keys of --identity opens it"})
			runEnc("restore", enc.URL, "--project", c.Project, "--yes", "--identity", identity, "--transfer", "bind", "--s3-staging-dir", staging).
				Assert(t, icmd.Expected{ExitCode: 2, Err: "plaintext"})
			assert.Check(t, is.Equal(db.Count(t, "neo4j"), int64(8)), "nothing stopped or restored")
			assertOnlySafetyCopies(t, staging)

			// With the key, the run comes back whole; the staging folder
			// holds its ciphertext only, from the download to the end of
			// the restore (watched meanwhile), and decrypts it as it is
			// read: into the helper as a stream.
			watch = watchStaging(t, staging, "restore-*")
			res = runEnc("restore", enc.URL, "--project", c.Project, "--yes", "--progress", "plain", "--identity", identity, "--s3-staging-dir", staging, "--format", "json")
			seen, plain = watch()
			t.Log(res.Combined())
			res.Assert(t, icmd.Success)
			var restoreDoc struct {
				Transfer string `json:"transfer"`
				Location struct {
					RunID     string `json:"run_id"`
					Encrypted bool   `json:"encrypted"`
				} `json:"location"`
			}
			assert.NilError(t, json.Unmarshal([]byte(res.Stdout()), &restoreDoc), res.Stdout())
			assert.Check(t, is.Equal(restoreDoc.Location.RunID, backupDoc.Location.RunID))
			assert.Check(t, restoreDoc.Location.Encrypted)
			assert.Check(t, is.Contains(res.Stderr(), "as ciphertext only"))
			assert.Check(t, is.Contains(res.Stderr(), "transfer stream: bind mounts would put plaintext"))
			assert.Check(t, is.Contains(res.Stderr(), "not encrypted"), "the safety copy is said to be plain")
			assertGraphNotStaged(t, seen)
			assert.Check(t, is.Len(plain, 0), "plaintext in the staging folder: %v", plain)
			db.Reconnect(t)
			assert.Check(t, is.Equal(db.Count(t, "neo4j"), int64(5)))
			assert.Check(t, is.Equal(pg.Psql(t, "SELECT string_agg(id || ':' || name, ',' ORDER BY id) FROM flow_run"), wantRows))
			assert.Check(t, is.DeepEqual(storageState(t, c), wantStorage))
			assertNoHelpers(t, c)
			assertOnlySafetyCopies(t, staging)

			// The drill of the encrypted run, from the location: staged
			// the same way, restored beside the deployment, which is
			// never stopped.
			before := projectStarts(t, c)
			watch = watchStaging(t, staging, "drill-*")
			res = runEnc("verify", enc.URL, "--drill", "--project", c.Project, "--identity", identity, "--s3-staging-dir", staging, "--format", "json", "--progress", "plain")
			seen, plain = watch()
			t.Log(res.Stderr())
			res.Assert(t, icmd.Success)
			r := drillReport(t, res)
			assert.Check(t, is.Equal(r.Verdict, drill.VerdictPass), "%+v", r)
			assert.Check(t, is.Len(r.Components, 3))
			assert.Check(t, len(seen) > 0, "the watch saw the staged artifacts")
			assert.Check(t, is.Len(plain, 0), "plaintext in the staging folder: %v", plain)
			assert.Check(t, is.DeepEqual(projectStarts(t, c), before), "the deployment was never stopped")
			assertOnlySafetyCopies(t, staging)
			runEnc("verify", enc.URL, "--drill", "--project", c.Project, "--identity", wrongIdentity, "--s3-staging-dir", staging).
				Assert(t, icmd.Expected{ExitCode: 3, Err: "none of the keys of --identity opens it"})
			changeDeployment(t, c)

			// One flipped byte in the ciphertext of the graph's object:
			// refused (exit 5) before anything stops, nothing left staged.
			objs := runObjects(t, enc, func(name string) bool {
				return strings.Contains(name, ".dump.age") || strings.Contains(name, ".backup.age")
			})
			assert.Assert(t, len(objs) > 0)
			st, err := os.Stat(enc.ObjectPath(objs[0]))
			assert.NilError(t, err)
			enc.FlipByte(t, objs[0], st.Size()/2)
			res = runEnc("restore", enc.URL, "--project", c.Project, "--yes", "--identity", identity, "--s3-staging-dir", staging)
			t.Log(res.Combined())
			res.Assert(t, icmd.Expected{ExitCode: 5})
			assert.Check(t, is.Equal(db.Count(t, "neo4j"), int64(8)), "nothing stopped or restored")
			assertOnlySafetyCopies(t, staging)

			// One flipped byte in a stored object: restore s3:// refuses the
			// run (exit 5) before anything stops.
			objs = runObjects(t, s3, func(name string) bool { return strings.Contains(name, ".dump") || strings.Contains(name, ".backup") })
			assert.Assert(t, len(objs) > 0)
			s3.FlipByte(t, objs[0], 100)
			run("restore", s3.URL, "--project", c.Project, "--yes", "--s3-staging-dir", staging).Assert(t, icmd.Expected{ExitCode: 5})
			assert.Check(t, is.Equal(db.Count(t, "neo4j"), int64(8)), "nothing stopped or restored")
		})
	}
}

// assertGraphNotStaged checks what a restore s3:// staged on the client:
// the task manager's dump and the storage's archive (restored inside the
// outage, which never waits for the location), never a graph artifact.
func assertGraphNotStaged(t *testing.T, seen []string) {
	t.Helper()
	staged := map[string]bool{}
	for _, name := range seen {
		component, _, _ := backupset.ParseComponentFileName(strings.TrimSuffix(strings.TrimSuffix(name, backupset.PartialExt), ".age"))
		staged[component] = true
		assert.Check(t, component != "", "a graph artifact was staged on the client: %s", name)
	}
	assert.Check(t, staged[backupset.ComponentTaskManager] && staged[backupset.ComponentStorage], "the components were not staged: %v", seen)
}

// assertOnlySafetyCopies checks that the staging directory holds nothing
// but the safety copies of restores.
func assertOnlySafetyCopies(t *testing.T, staging string) {
	t.Helper()
	entries, err := os.ReadDir(staging)
	assert.NilError(t, err)
	for _, e := range entries {
		assert.Check(t, strings.HasPrefix(e.Name(), "safety-"), "left in the staging directory: %s", e.Name())
	}
}

// watchStaging looks, until the returned stop is called, at every file
// of the staging folders under staging that match pattern, and
// reports how many artifact files it saw and those that did not start as
// age ciphertext does (the manifest, the lock, a drill's report and empty
// files aside).
// assertStreamed checks what a backup s3:// staged on the client: no graph
// artifact ever; on Community, the task manager's dump and the storage's
// archive, captured while the Community dump holds the applications, are
// staged and uploaded after everything runs again (an outage never waits
// for the location); on Enterprise (online) nothing at all.
func assertStreamed(t *testing.T, edition string, seen []string) {
	t.Helper()
	staged := map[string]bool{}
	for _, name := range seen {
		component, _, _ := backupset.ParseComponentFileName(strings.TrimSuffix(name, backupset.PartialExt))
		staged[component] = true
		assert.Check(t, component != "" && edition == "community", "staged on the client: %s", name)
	}
	if edition == "community" {
		assert.Check(t, staged[backupset.ComponentTaskManager] && staged[backupset.ComponentStorage], "the outage's captures were not staged: %v", seen)
	}
}

func watchStaging(t *testing.T, staging, pattern string) (stop func() (seen, plain []string)) {
	t.Helper()
	header := []byte("age-encryption.org/v1\n")
	done := make(chan struct{})
	result := make(chan struct{})
	seenNames := map[string]bool{}
	clearNames := map[string]bool{}
	look := func() {
		files, _ := filepath.Glob(filepath.Join(staging, pattern, "*"))
		for _, f := range files {
			name := filepath.Base(f)
			// The manifest, the lock and a drill's report (its verdict
			// and counts) are the folder's own, not the run's content.
			if strings.HasPrefix(name, backupset.ManifestName) || strings.HasPrefix(name, backupset.LockName) || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "drill-") {
				continue
			}
			fh, err := os.Open(f)
			if err != nil {
				continue // gone meanwhile
			}
			head := make([]byte, len(header))
			n, _ := io.ReadFull(fh, head)
			fh.Close()
			if n == 0 {
				continue
			}
			seenNames[name] = true
			if !bytes.HasPrefix(header, head[:n]) {
				clearNames[name] = true
			}
		}
	}
	go func() {
		defer close(result)
		for {
			look()
			select {
			case <-done:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	return func() ([]string, []string) {
		close(done)
		<-result
		var seen, plain []string
		for n := range seenNames {
			seen = append(seen, n)
		}
		for n := range clearNames {
			plain = append(plain, n)
		}
		return seen, plain
	}
}
