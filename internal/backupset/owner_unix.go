//go:build unix

package backupset

import (
	"os"
	"syscall"
)

// noFollow makes open refuse a symbolic link.
const noFollow = syscall.O_NOFOLLOW

func ownedByCaller(st os.FileInfo) bool {
	sys, ok := st.Sys().(*syscall.Stat_t)
	return !ok || int(sys.Uid) == os.Getuid()
}
