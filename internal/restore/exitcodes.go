package restore

import "github.com/opsmill/docker-infrahubdb/internal/exitcode"

// Exit codes of this package's errors (internal/exitcode): the command
// layer maps them without knowing the types.

func (e *RolledBackError) ExitCode() int           { return exitcode.RolledBack }
func (e *ComponentsRolledBackError) ExitCode() int { return exitcode.RolledBack }
func (e *DegradedError) ExitCode() int             { return exitcode.Degraded }
func (e *ComponentsDegradedError) ExitCode() int   { return exitcode.Degraded }
func (e *VerifyError) ExitCode() int               { return exitcode.Verify }
