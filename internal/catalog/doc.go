// Package catalog owns the commands that look after a backup folder rather
// than a database: list (what the folder holds, per database and chain, from
// file names and the manifest, optionally with neo4j-admin's own view),
// verify (checksums, chain continuity, neo4j-admin database check on the
// newest chains, adopting a folder that has no manifest) and prune (retention
// that keeps the newest chains and never leaves a folder without a backup).
//
// It works over internal/backupset for the folder and over a helper.Session (a
// helper container from a Neo4j Enterprise image) for everything that needs
// neo4j-admin. It never prints: results are plain values the CLI renders.
package catalog
