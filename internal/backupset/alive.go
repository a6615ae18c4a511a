package backupset

import (
	"os"
	"strconv"
	"strings"
)

// ProcessAlive reports whether pid exists on this host (for the locks of
// other locations, which record their holder like the folder lock does). A
// zombie, a killed process its parent has not reaped yet (or never will,
// under a PID 1 that reaps nothing), is gone.
func ProcessAlive(pid int) bool { return processAlive(pid) && !zombie(pid) }

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

// MachineID identifies this machine beyond its host name, which two
// machines may share: the systemd/D-Bus machine id, else "" (unknown).
func MachineID() string {
	for _, p := range []string{"/etc/machine-id", "/var/lib/dbus/machine-id"} {
		if b, err := os.ReadFile(p); err == nil {
			if id := strings.TrimSpace(string(b)); id != "" {
				return id
			}
		}
	}
	return ""
}
