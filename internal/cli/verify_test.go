package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/catalog"
)

func TestVerifyPasses(t *testing.T) {
	folder := backupFolder(t)
	out, err := runRoot(t, "verify", folder.Dir)
	assert.NilError(t, err)
	assert.Check(t, is.Contains(out, "4 file(s) match their checksums"))
	assert.Check(t, is.Contains(out, "Warning: notes.txt: unexpected: not a backup file"))
	assert.Check(t, is.Contains(out, "OK: the folder passed verification."))
}

func TestVerifyFailsWithExitCode5NamingTheFile(t *testing.T) {
	folder := backupFolder(t)
	victim := "neo4j-2026-11-21T11-00-00.backup"
	assert.NilError(t, os.Truncate(folder.Path(victim), 3))

	out, err := runRoot(t, "verify", folder.Dir)
	assert.Equal(t, statusCode(t, err), ExitVerify)
	assert.Check(t, is.ErrorContains(err, "failed verification: 1 problem(s)"))
	assert.Check(t, is.Contains(out, "truncated  "+victim))

	out, err = runRoot(t, "verify", "--format", "json", folder.Dir)
	assert.Equal(t, statusCode(t, err), ExitVerify)
	var res catalog.VerifyResult
	assert.NilError(t, json.Unmarshal([]byte(out), &res))
	assert.Check(t, !res.OK)
	assert.Check(t, is.DeepEqual(res.Problems[0], backupset.Problem{File: victim, Kind: backupset.ProblemTruncated, Detail: "3 bytes, the manifest records 42"}))
}

func TestVerifyIsLocked(t *testing.T) {
	folder := backupFolder(t)
	release, err := folder.Lock("backup")
	assert.NilError(t, err)
	defer release()
	_, err = runRoot(t, "verify", folder.Dir)
	assert.Equal(t, statusCode(t, err), ExitLocked)
}

// Every command that reads the folder refuses a link named like a backup,
// by name, before it reads anything through it.
func TestCommandsRefuseALinkNamedLikeABackup(t *testing.T) {
	for _, args := range [][]string{{"list"}, {"verify"}, {"prune", "--keep", "1", "--yes"}} {
		t.Run(args[0], func(t *testing.T) {
			folder := backupFolder(t)
			link := linkLikeABackup(t, folder)

			_, err := runRoot(t, append(args, folder.Dir)...)
			assert.Check(t, is.Equal(statusCode(t, err), ExitEnvironment))
			assert.Check(t, is.ErrorContains(err, "refusing "+link+": it is a symbolic link"))
			_, err = os.Lstat(link)
			assert.Check(t, err, "the link is left for the operator")
		})
	}
}

// linkLikeABackup adds a symbolic link named like a backup of neo4j to
// folder, pointing at a file outside it, and returns its path.
func linkLikeABackup(t *testing.T, folder *backupset.Folder) string {
	t.Helper()
	outside := filepath.Join(t.TempDir(), "secret")
	assert.NilError(t, os.WriteFile(outside, []byte("not a backup"), 0o600))
	link := folder.Path("neo4j-2026-11-22T10-00-00.backup")
	assert.NilError(t, os.Symlink(outside, link))
	return link
}

// Ctrl-C while verify hashes the folder stops it: exit 130, nothing
// reported as verified. (backupset's own test stops in the middle of a file.)
func TestVerifyHonoursCtrlC(t *testing.T) {
	folder := backupFolder(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	out, err := runRootContext(ctx, t, "verify", folder.Dir)
	assert.Check(t, is.Equal(statusCode(t, err), ExitInterrupted), "%v", err)
	assert.Check(t, is.ErrorContains(err, "interrupted (Ctrl-C or SIGTERM)"))
	assert.Check(t, !strings.Contains(out, "OK"), out)
	_, err = os.Stat(folder.Path(backupset.LockName))
	assert.Check(t, os.IsNotExist(err), "the lock is released")
}

// An empty folder (a mistyped or unmounted path in cron) fails verify with
// exit 5 unless --allow-empty says it is expected.
func TestVerifyEmptyFolderExits5(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "backups")
	_, err := backupset.Create(dir)
	assert.NilError(t, err)
	out, err := runRoot(t, "verify", dir)
	assert.Equal(t, statusCode(t, err), ExitVerify)
	assert.Check(t, is.Contains(out, "empty"))
	assert.Check(t, !strings.Contains(out, "OK:"), out)

	out, err = runRoot(t, "verify", "--allow-empty", dir)
	assert.NilError(t, err)
	assert.Check(t, is.Contains(out, "OK: the folder passed verification."))
}

// A malformed or newer manifest exits 3 in every command that reads it.
func TestManifestErrorsExitTheSameEverywhere(t *testing.T) {
	for _, manifest := range []string{"{", `{"version": 999, "tool": "docker-infrahubdb 9.0.0", "files": []}`} {
		for _, args := range [][]string{{"list"}, {"verify"}, {"prune", "--keep", "1", "--yes"}} {
			t.Run(args[0], func(t *testing.T) {
				folder := backupFolder(t)
				assert.NilError(t, os.WriteFile(folder.Path(backupset.ManifestName), []byte(manifest), 0o600))
				_, err := runRoot(t, append(args, folder.Dir)...)
				assert.Equal(t, statusCode(t, err), ExitEnvironment, "%v", err)
			})
		}
	}
}
