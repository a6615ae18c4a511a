//go:build unix

package backupset

import (
	"errors"
	"syscall"
)

func isQuotaExceeded(err error) bool { return errors.Is(err, syscall.EDQUOT) }
