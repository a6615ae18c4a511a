package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"

	dockercli "github.com/docker/cli/cli"

	"github.com/opsmill/docker-infrahubdb/internal/backup"
	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/catalog"
	"github.com/opsmill/docker-infrahubdb/internal/deployment"
	"github.com/opsmill/docker-infrahubdb/internal/docker"
	"github.com/opsmill/docker-infrahubdb/internal/helper"
	"github.com/opsmill/docker-infrahubdb/internal/neo4j"
	"github.com/opsmill/docker-infrahubdb/internal/neo4jbackup"
	"github.com/opsmill/docker-infrahubdb/internal/restore"
)

// Exit codes. They are part of the interface for scripts and documented in
// the README; change them only with a note there.
const (
	ExitOK          = 0
	ExitError       = 1   // unexpected failure; the message says what failed
	ExitUsage       = 2   // bad flags or arguments
	ExitEnvironment = 3   // a precondition is not met: Docker, database container, image, port, credentials, folder
	ExitLocked      = 4   // another run holds the folder or the database container
	ExitVerify      = 5   // the backup folder failed verification (checksums, chains, neo4j-admin check)
	ExitRolledBack  = 6   // restore failed and was rolled back: the database runs with its previous data
	ExitDegraded    = 7   // restore failed and could not be rolled back, or the database did not come back after an offline step: read the message, the database needs attention
	ExitInterrupted = 130 // interrupted (Ctrl-C or SIGTERM) after cleaning up
)

// codedError carries the exit code chosen where the failure was understood.
type codedError struct {
	code int
	err  error
}

func (e *codedError) Error() string { return e.err.Error() }
func (e *codedError) Unwrap() error { return e.err }

// withCode marks err with an exit code; nil stays nil.
func withCode(code int, err error) error {
	if err == nil {
		return nil
	}
	return &codedError{code: code, err: err}
}

// usageError is a bad flag or argument.
func usageError(format string, args ...any) error {
	return withCode(ExitUsage, fmt.Errorf(format, args...))
}

// exitCode maps an error to the documented exit code: an explicit code wins,
// then cancellation, then the generic failure.
func exitCode(err error) int {
	var ce *codedError
	if errors.As(err, &ce) {
		return ce.code
	}
	if code := classify(err); code != 0 {
		return code
	}
	if errors.Is(err, context.Canceled) {
		return ExitInterrupted
	}
	return ExitError
}

// classify maps the typed errors of the lower packages to exit codes; 0
// means it does not recognise the error.
func classify(err error) int {
	var (
		folderLock *backupset.LockedError
		helperLock *helper.HelperLockError
		env        *helper.EnvironmentError
		ambiguous  *docker.AmbiguousError
		named      *docker.DatabaseContainerError
		diskFull   *backupset.DiskFullError
		notRegular *backupset.NotRegularError
	)
	var (
		rolledBack *restore.RolledBackError
		degraded   *restore.DegradedError
		verify     *restore.VerifyError
	)
	var (
		folderVerify *backupset.VerifyError
		pruneRefused *catalog.PruneRefusedError
		checkNotRun  *neo4jbackup.CheckNotRunError
	)
	switch {
	case errors.As(err, &degraded), errors.As(err, new(*deployment.DatabaseDownError)), errors.As(err, new(*restore.ComponentsDegradedError)):
		return ExitDegraded
	case errors.Is(err, context.Canceled), errors.Is(err, restore.ErrNotConfirmed), errors.Is(err, backup.ErrNotConfirmed):
		return ExitInterrupted
	case errors.As(err, &rolledBack), errors.As(err, new(*restore.ComponentsRolledBackError)):
		return ExitRolledBack
	case errors.As(err, &verify), errors.As(err, &folderVerify):
		return ExitVerify
	case errors.Is(err, catalog.ErrHasManifest):
		return ExitUsage
	case errors.As(err, &folderLock), errors.As(err, &helperLock):
		return ExitLocked
	case errors.As(err, &env), errors.As(err, &ambiguous), errors.As(err, &named), errors.As(err, &diskFull), errors.As(err, &notRegular), errors.As(err, &pruneRefused), errors.As(err, &checkNotRun),
		errors.Is(err, docker.ErrNoDatabase), errors.Is(err, docker.ErrDaemonUnreachable),
		errors.Is(err, neo4j.ErrUnauthorized), errors.Is(err, backupset.ErrMalformedManifest), errors.Is(err, backupset.ErrNewerManifest):
		return ExitEnvironment
	}
	return 0
}

// toStatusError turns an error into the docker/cli StatusError that
// plugin.Run prints and exits with.
func toStatusError(err error) error {
	if err == nil {
		return nil
	}
	code, msg := exitCode(err), err.Error()
	if code == ExitInterrupted {
		msg = interruptedMessage(msg)
	}
	return dockercli.StatusError{Cause: err, Status: "Error: " + msg, StatusCode: code}
}

// interruptedMessage names the signal as the cause: "context canceled" is
// how Go reports it, not what an operator needs to read.
func interruptedMessage(msg string) string {
	const cause = "interrupted (Ctrl-C or SIGTERM)"
	msg = strings.ReplaceAll(msg, context.Canceled.Error(), "interrupted")
	if rest, ok := strings.CutPrefix(msg, "interrupted"); ok {
		return cause + rest
	}
	return cause + ": " + msg
}
