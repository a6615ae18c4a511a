//go:build !unix

package backupset

// FreeBytes cannot be told on this platform.
func (f *Folder) FreeBytes() (int64, bool) { return 0, false }
