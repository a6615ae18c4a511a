package kit

import (
	"syscall"
	"testing"
)

// Kill is a crash: SIGKILL to the plugin process the docker CLI runs, then
// to the CLI, so the plugin cleans up nothing (a power cut, an OOM kill).
func (r *Running) Kill(t testing.TB) {
	t.Helper()
	for _, child := range children(r.Result.Cmd.Process.Pid) {
		_ = syscall.Kill(child, syscall.SIGKILL)
	}
	r.Signal(t, syscall.SIGKILL)
}
