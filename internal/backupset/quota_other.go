//go:build !unix

package backupset

func isQuotaExceeded(error) bool { return false }
