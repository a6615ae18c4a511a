// Package process answers whether a process of this host is still alive:
// what the locks and the stale-helper checks decide a dead owner by.
package process

import (
	"os"
	"strconv"
	"strings"
)

// Alive reports whether pid exists on this host. A zombie, a killed process
// its parent has not reaped yet (or never will, under a PID 1 that reaps
// nothing, as in many containers and CI machines), is gone: it holds
// nothing and will never clean up.
func Alive(pid int) bool { return exists(pid) && !zombie(pid) }

// zombie reads the state field of /proc/PID/stat (Linux); elsewhere it
// cannot tell and says no.
func zombie(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// "pid (comm) S ...": comm may hold spaces and parentheses.
	i := strings.LastIndexByte(string(b), ')')
	return i >= 0 && i+2 < len(b) && b[i+2] == 'Z'
}
