package backupset

import (
	"os"
	"strings"
)

// ProcessAlive reports whether pid exists on this host (for the locks of
// other locations, which record their holder like the folder lock does).
func ProcessAlive(pid int) bool { return processAlive(pid) }

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
