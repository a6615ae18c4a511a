//go:build unix

package process

import (
	"errors"
	"syscall"
)

// exists reports whether a process with this pid exists (EPERM means it
// does, owned by someone else).
func exists(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
