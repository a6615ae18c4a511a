package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"

	dockercli "github.com/docker/cli/cli"

	"github.com/opsmill/docker-infrahubdb/internal/exitcode"
)

// Exit codes (internal/exitcode, documented in docs/exit-codes.md).
const (
	ExitOK          = exitcode.OK
	ExitError       = exitcode.Error
	ExitUsage       = exitcode.Usage
	ExitEnvironment = exitcode.Environment
	ExitLocked      = exitcode.Locked
	ExitVerify      = exitcode.Verify
	ExitRolledBack  = exitcode.RolledBack
	ExitDegraded    = exitcode.Degraded
	ExitDeclined    = exitcode.Declined
	ExitInterrupted = exitcode.Interrupted
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

// exitCode maps an error to the documented exit code: a code chosen here
// (withCode) wins, then the code the error carries itself (exitcode.Of).
func exitCode(err error) int {
	var ce *codedError
	if errors.As(err, &ce) {
		return ce.code
	}
	return exitcode.Of(err)
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
