// Package backupset owns the backup folder: the names of backup artifacts,
// atomic writes (*.partial, fsync, rename, fsync dir), the tar streams that
// move files to and from helper containers, the checksummed manifest
// (infrahubdb-manifest.json), the folder lock (infrahubdb.lock), full/diff
// chains, chain selection for restore, retention for prune, and verification.
//
// It also owns the Location seam (location.go): where backups are kept, a
// folder (FolderLocation) or an S3 bucket prefix (package s3location), with
// create-only writes, runs committed by their manifest written last
// (location_runs.go), a lease as the lock, and calendar retention
// (retention.go, location_prune.go). package locationtest is the conformance
// suite every implementation passes.
//
// It is the only package that reads or writes files in the backup folder; the
// workflows see a *Folder (or a Location) and plain values.
package backupset
