package deployment

import "github.com/opsmill/docker-infrahubdb/internal/exitcode"

// Exit codes of this package's errors (internal/exitcode): the command
// layer maps them without knowing the types.

func (e *DatabaseDownError) ExitCode() int { return exitcode.Degraded }
func (e *NoDatabaseError) ExitCode() int   { return exitcode.Environment }
