package backupset

import "github.com/opsmill/docker-infrahubdb/internal/exitcode"

// Exit codes of this package's errors (internal/exitcode): the command
// layer maps them without knowing the types.

func (e *LockedError) ExitCode() int        { return exitcode.Locked }
func (e *VerifyError) ExitCode() int        { return exitcode.Verify }
func (e *DiskFullError) ExitCode() int      { return exitcode.Environment }
func (e *NotRegularError) ExitCode() int    { return exitcode.Environment }
func (e *newerManifestError) ExitCode() int { return exitcode.Environment }
