package docker

import "github.com/opsmill/docker-infrahubdb/internal/exitcode"

// Exit codes of this package's errors (internal/exitcode): the command
// layer maps them without knowing the types.

func (e *AmbiguousError) ExitCode() int         { return exitcode.Environment }
func (e *DatabaseContainerError) ExitCode() int { return exitcode.Environment }
