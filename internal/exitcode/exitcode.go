// Package exitcode owns the plugin's documented exit codes. An error knows
// its own (an ExitCode() int method, set where the failure is understood),
// so the command layer maps any error with Of without knowing its type.
package exitcode

import "context"

// Exit codes. They are part of the interface for scripts and documented in
// docs/exit-codes.md; change them only with a note there.
const (
	OK          = 0
	Error       = 1   // unexpected failure; the message says what failed
	Usage       = 2   // bad flags or arguments
	Environment = 3   // a precondition is not met: Docker, database container, image, port, credentials, folder
	Locked      = 4   // another run holds the folder or the database container
	Verify      = 5   // the backup folder failed verification (checksums, chains, neo4j-admin check)
	RolledBack  = 6   // restore failed and was rolled back: the database runs with its previous data
	Degraded    = 7   // restore failed and could not be rolled back, or the database did not come back after an offline step
	Declined    = 8   // a question was answered "no" (restore, Community dump, --consistent, prune): nothing was changed
	Interrupted = 130 // interrupted (Ctrl-C or SIGTERM) after cleaning up
)

// Coder is an error that carries its exit code.
type Coder interface {
	ExitCode() int
}

// precedence decides between the codes of one error tree (a rollback caused
// by Ctrl-C is an interruption; a failed rollback is degraded whatever
// caused it): the first code found in this list wins.
var precedence = []int{Degraded, Interrupted, Declined, RolledBack, Verify, Usage, Locked, Environment}

// Of returns the exit code of err: the most severe code (precedence) that
// an error of its tree carries (Unwrap, errors.Join), Interrupted for a
// cancelled context, else Error. nil is OK.
func Of(err error) int {
	if err == nil {
		return OK
	}
	found := map[int]bool{}
	walk(err, func(e error) {
		if c, ok := e.(Coder); ok {
			found[c.ExitCode()] = true
		}
		if canceled(e) {
			found[Interrupted] = true
		}
	})
	for _, code := range precedence {
		if found[code] {
			return code
		}
	}
	for code := range found {
		return code // a code outside the list: whatever its error said
	}
	return Error
}

// canceled says whether e is a cancelled context: context.Canceled, or an
// error that says it is (net's dial error when the context was cancelled
// while dialling, "operation was canceled", whose Is matches
// context.Canceled: the Docker client wraps it when a signal lands while
// it connects).
func canceled(e error) bool {
	if e == context.Canceled {
		return true
	}
	is, ok := e.(interface{ Is(error) bool })
	return ok && is.Is(context.Canceled)
}

func walk(err error, visit func(error)) {
	if err == nil {
		return
	}
	visit(err)
	switch u := err.(type) {
	case interface{ Unwrap() error }:
		walk(u.Unwrap(), visit)
	case interface{ Unwrap() []error }:
		for _, e := range u.Unwrap() {
			walk(e, visit)
		}
	}
}

// New returns a sentinel error (compare it with errors.Is) with an exit code.
func New(code int, msg string) error { return &sentinel{code: code, msg: msg} }

type sentinel struct {
	code int
	msg  string
}

func (s *sentinel) Error() string { return s.msg }
func (s *sentinel) ExitCode() int { return s.code }
