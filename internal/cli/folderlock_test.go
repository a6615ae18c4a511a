package cli

import (
	"errors"
	"os"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/helper/helpertest"
	"github.com/opsmill/docker-infrahubdb/internal/progress"
	"github.com/opsmill/docker-infrahubdb/internal/restore"
)

// Every command that writes or verifies a folder takes its lock in one
// place, before it talks to Docker (the test CLI has no daemon: a command
// that got further would fail otherwise).
func TestCommandsTakeTheFolderLock(t *testing.T) {
	for _, args := range [][]string{
		{"backup"},
		{"restore", "--yes"},
		{"verify"},
		{"prune", "--keep", "1", "--yes"},
	} {
		t.Run(args[0], func(t *testing.T) {
			folder := backupFolder(t)
			release, err := folder.Lock("backup")
			assert.NilError(t, err)
			defer release()
			before := helpertest.FolderFiles(t, folder)

			_, err = runRoot(t, append(args, folder.Dir)...)
			assert.Check(t, is.Equal(statusCode(t, err), ExitLocked), "%v", err)
			var locked *backupset.LockedError
			assert.Check(t, errors.As(err, &locked), "got %v", err)
			assert.Check(t, is.DeepEqual(helpertest.FolderFiles(t, folder), before), "nothing done")
		})
	}
}

func TestBackupRefusesALinkNamedLikeABackupBeforeAnything(t *testing.T) {
	folder := backupFolder(t)
	link := linkLikeABackup(t, folder)

	_, err := runRoot(t, "backup", folder.Dir)
	assert.Check(t, is.Equal(statusCode(t, err), ExitEnvironment))
	assert.Check(t, is.ErrorContains(err, "refusing "+link+": it is a symbolic link"))
	_, err = os.Stat(folder.Path(backupset.LockName))
	assert.Check(t, os.IsNotExist(err), "the lock is released")
}

func TestLockReleaseErrorsAreReported(t *testing.T) {
	folder := backupFolder(t)
	unlock, err := lockFolder(folder, "backup", progress.Nop)
	assert.NilError(t, err)
	// Someone removed the lock while the run held it.
	assert.NilError(t, os.Remove(folder.Path(backupset.LockName)))

	err = unlock(nil)
	assert.Check(t, is.ErrorContains(err, "backup: releasing the backup folder lock: lock file "+folder.Path(backupset.LockName)+" was removed while this run held it"))
	assert.Check(t, is.ErrorContains(err, "docker infrahubdb verify "+folder.Dir))
	assert.Check(t, is.Equal(exitCode(err), ExitError))

	// A failed command keeps its own exit code; the release error is added.
	unlock, err = lockFolder(folder, "restore", progress.Nop)
	assert.NilError(t, err)
	assert.NilError(t, os.WriteFile(folder.Path(backupset.LockName), []byte(`{"pid":1}`), 0o600))
	err = unlock(&restore.RolledBackError{Database: "neo4j", Err: errors.New("boom")})
	assert.Check(t, is.Equal(exitCode(err), ExitRolledBack))
	assert.Check(t, is.ErrorContains(err, "taken over by another run"))
}

func TestStaleLockTakeOverIsTold(t *testing.T) {
	folder := backupFolder(t)
	host, err := os.Hostname()
	assert.NilError(t, err)
	lock := `{"host":"` + host + `","pid":999999,"command":"backup","started":"2026-01-01T00:00:00Z"}`
	assert.NilError(t, os.WriteFile(folder.Path(backupset.LockName), []byte(lock), 0o600))
	var infos recordInfo
	unlock, err := lockFolder(folder, "prune", &infos)
	assert.NilError(t, err)
	assert.NilError(t, unlock(nil))
	assert.Check(t, is.DeepEqual([]string(infos), []string{`took over a stale lock of the backup folder left by "backup" (pid 999999 on ` + host + `, gone)`}))
}

type recordInfo []string

func (r *recordInfo) Event(progress.Event) {}
func (r *recordInfo) Log(string, string)   {}
func (r *recordInfo) Info(msg string)      { *r = append(*r, msg) }
func (r *recordInfo) Close()               {}
