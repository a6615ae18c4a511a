package cli

import (
	"errors"
	"fmt"

	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/progress"
)

// lockFolder is where every command that writes or verifies a backup folder
// (backup, restore, verify, prune) takes its lock; the workflows run with it
// held. It says so when it takes over a lock left by a run that died, and
// refuses a folder that holds links or special files named like backups
// before anything runs. unlock releases the lock and adds a failure to
// release it to the command's error: it means another run may have used the
// folder meanwhile.
func lockFolder(folder *backupset.Folder, command string, pw progress.Writer) (unlock func(error) error, err error) {
	release, stale, err := folder.AcquireLock(command)
	if err != nil {
		return nil, err
	}
	if stale != nil {
		pw.Info(fmt.Sprintf("took over a stale lock of the backup folder left by %q (pid %d on %s, gone)", stale.Command, stale.PID, stale.Host))
	}
	unlock = func(err error) error {
		if rerr := release(); rerr != nil {
			rerr = fmt.Errorf("%s: releasing the backup folder lock: %w; another run may have used the folder meanwhile: check it with 'docker infrahubdb verify %s'", command, rerr, folder.Dir)
			return errors.Join(err, rerr)
		}
		return err
	}
	if _, err := folder.Scan(); err != nil {
		return nil, unlock(err)
	}
	return unlock, nil
}
