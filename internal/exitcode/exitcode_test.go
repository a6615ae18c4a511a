package exitcode_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/opsmill/docker-infrahubdb/internal/exitcode"
)

type coded struct{ code int }

func (c *coded) Error() string { return fmt.Sprint("coded ", c.code) }
func (c *coded) ExitCode() int { return c.code }

type wrapping struct {
	code int
	err  error
}

func (w *wrapping) Error() string { return w.err.Error() }
func (w *wrapping) Unwrap() error { return w.err }
func (w *wrapping) ExitCode() int { return w.code }

func TestOf(t *testing.T) {
	sentinel := exitcode.New(exitcode.Usage, "bad")
	for _, tc := range []struct {
		name string
		err  error
		want int
	}{
		{"nil", nil, exitcode.OK},
		{"plain", errors.New("boom"), exitcode.Error},
		{"cancelled", fmt.Errorf("step: %w", context.Canceled), exitcode.Interrupted},
		{"wrapped sentinel", fmt.Errorf("x: %w", sentinel), exitcode.Usage},
		{"joined", errors.Join(errors.New("a"), &coded{exitcode.Locked}), exitcode.Locked},
		{"rolled back by Ctrl-C is an interruption", &wrapping{exitcode.RolledBack, context.Canceled}, exitcode.Interrupted},
		{"degraded wins over everything", &wrapping{exitcode.Environment, &coded{exitcode.Degraded}}, exitcode.Degraded},
		{"verify before environment", errors.Join(&coded{exitcode.Environment}, &coded{exitcode.Verify}), exitcode.Verify},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, exitcode.Of(tc.err), tc.want)
		})
	}
	assert.Assert(t, errors.Is(fmt.Errorf("x: %w", sentinel), sentinel))
}

// A signal that lands while the Docker client dials the daemon: net's dial
// error ("operation was canceled"), wrapped by the client, is an
// interruption, not a failure to reach the daemon (found by e2e TestFaults:
// SIGTERM at neo4j-admin backup exited 1).
func TestOfCanceledDial(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, dialErr := (&net.Dialer{}).DialContext(ctx, "unix", filepath.Join(t.TempDir(), "docker.sock"))
	assert.Assert(t, dialErr != nil)
	err := fmt.Errorf("exec neo4j-admin in helper: %w", fmt.Errorf("cannot connect to the Docker daemon. Is 'docker daemon' running on this host?: %w", dialErr))
	assert.Check(t, is.Equal(exitcode.Of(err), exitcode.Interrupted), "%v", err)
}
