//go:build !unix

package backupset

// oNoFollow: no such flag here; OpenRegular's Lstat and SameFile checks
// still refuse a link.
const oNoFollow = 0
