package process

import (
	"os"
	"os/exec"
	"runtime"
	"testing"

	"gotest.tools/v3/assert"
)

func TestAlive(t *testing.T) {
	assert.Assert(t, Alive(os.Getpid()))
	assert.Assert(t, !Alive(1<<22+12345)) // above Linux's pid_max
}

// A killed child its parent has not reaped is a zombie: gone.
func TestZombieIsNotAlive(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("zombies are read from /proc on Linux only")
	}
	cmd := exec.Command("sleep", "60")
	assert.NilError(t, cmd.Start())
	pid := cmd.Process.Pid
	assert.Assert(t, Alive(pid))
	assert.NilError(t, cmd.Process.Kill())
	// Not reaped yet: wait until the kernel shows it as a zombie.
	for !zombie(pid) {
		runtime.Gosched()
	}
	assert.Assert(t, !Alive(pid))
	_ = cmd.Wait()
}
