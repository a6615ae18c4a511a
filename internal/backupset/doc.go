// Package backupset owns the backup folder: the names of backup artifacts,
// atomic writes (*.partial, fsync, rename, fsync dir), the tar streams that
// move files to and from helper containers, the checksummed manifest
// (infrahubdb-manifest.json), the folder lock (infrahubdb.lock), full/diff
// chains, chain selection for restore, retention for prune, and verification.
//
// It is the only package that reads or writes files in the backup folder; the
// workflows see a *Folder and plain values.
package backupset
