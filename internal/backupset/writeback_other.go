//go:build !linux

package backupset

import "os"

func startWriteback(*os.File, int64, int64) {}
