package backupset

import (
	"os"
	"strings"

	"github.com/opsmill/docker-infrahubdb/internal/process"
)

// ProcessAlive reports whether pid is alive on this host (for the locks of
// other locations, which record their holder like the folder lock does);
// a zombie is gone (internal/process).
func ProcessAlive(pid int) bool { return process.Alive(pid) }

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
