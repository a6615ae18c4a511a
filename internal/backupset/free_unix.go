//go:build unix

package backupset

import "syscall"

// FreeBytes is the space available to this user on the folder's disk; ok is
// false when it cannot be told.
// A forwarding folder keeps nothing but placeholders: no limit is known.
func (f *Folder) FreeBytes() (n int64, ok bool) {
	if f.IsForwarding() {
		return 0, false
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(f.Dir, &st); err != nil {
		return 0, false
	}
	return int64(st.Bavail) * int64(st.Bsize), true
}
