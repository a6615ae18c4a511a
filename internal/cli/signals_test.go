//go:build unix

package cli

import (
	"context"
	"os"
	"syscall"
	"testing"

	"github.com/spf13/cobra"
	"gotest.tools/v3/assert"
)

// SIGTERM and SIGHUP cancel the run like Ctrl-C: the workflows then bring
// the deployment back instead of dying in the middle of an outage.
func TestTerminationSignalsCancelTheRun(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGHUP} {
		t.Run(sig.String(), func(t *testing.T) {
			cmd := &cobra.Command{}
			cmd.SetContext(context.Background())
			cancelOnSignals(cmd)
			assert.NilError(t, syscall.Kill(os.Getpid(), sig))
			<-cmd.Context().Done()
			assert.Equal(t, cmd.Context().Err(), context.Canceled)
		})
	}
}
