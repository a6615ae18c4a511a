// Package neo4jbackup moves one kind of artifact: Neo4j online backups.
// It runs neo4j-admin database backup (and aggregate) in a helper
// container, reads what it wrote with backup inspect, and brings the new
// artifacts into the backup folder. The backup workflow, the restore
// workflow's safety backup and the catalog's check all use it.
package neo4jbackup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/opsmill/docker-infrahubdb/pkg/backupset"
	"github.com/opsmill/docker-infrahubdb/pkg/docker"
	"github.com/opsmill/docker-infrahubdb/pkg/helper"
)

// Backup types (neo4j-admin --type).
const (
	TypeAuto = "auto"
	TypeFull = "full"
	TypeDiff = "diff"
)

// Spec is one neo4j-admin backup run in the helper.
type Spec struct {
	Sub             string // under WorkDir
	Databases       []string
	Type            string
	IncludeMetadata string
	Aggregate       bool
	// SeedFromFolder uploads the newest chain of each database first, so
	// neo4j-admin can take a differential backup and aggregate the chain.
	SeedFromFolder bool
}

// Fetched is what a backup brought into the folder.
type Fetched struct {
	Records      []backupset.FileRecord
	Replaced     []string // seeded files that aggregation replaced
	Neo4jVersion string
}

// Databases lists the databases of the fetched files.
func (f Fetched) Databases() []string {
	var dbs []string
	for _, r := range f.Records {
		if !slices.Contains(dbs, r.Database) {
			dbs = append(dbs, r.Database)
		}
	}
	sort.Strings(dbs)
	return dbs
}

// TakeBackup runs neo4j-admin backup (and aggregate) in the helper and
// fetches the new artifacts into folder as complete files. On error, files
// it fetched are removed again.
func Take(ctx context.Context, s *helper.Session, folder *backupset.Folder, spec Spec) (f Fetched, err error) {
	if err := checkBackupPort(ctx, s); err != nil {
		return f, err
	}
	var seeded []string
	if spec.SeedFromFolder && spec.Type != TypeFull {
		if seeded, err = newestChains(folder, spec.Databases); err != nil {
			return f, err
		}
		if err := s.Seed(ctx, folder, spec.Sub, seeded); err != nil {
			return f, err
		}
	}
	if f.Neo4jVersion, err = adminVersion(ctx, s); err != nil {
		return f, err
	}

	dir := path.Join(helper.WorkDir, spec.Sub)
	if err := s.Mkdir(ctx, dir); err != nil {
		return f, err
	}
	if _, err := s.Admin(ctx, helper.AdminRun{ID: "backup", Text: "neo4j-admin database backup", Args: backupArgs(s.Target.BackupAddress, dir, spec)}); err != nil {
		return f, err
	}
	// Without a seeded chain every database has just one new full artifact:
	// aggregating it would rewrite GiBs for nothing.
	if spec.Aggregate && len(seeded) > 0 {
		args := append([]string{"database", "aggregate-backup", "--from-path=" + dir}, dbPatterns(spec.Databases)...)
		if _, err := s.Admin(ctx, helper.AdminRun{ID: "aggregate", Text: "neo4j-admin database aggregate-backup", Args: args}); err != nil {
			return f, err
		}
	}

	present, err := s.Helper.ListFiles(ctx, dir)
	if err != nil {
		return f, err
	}
	info := inspect(ctx, s, dir)
	defer func() {
		if err != nil {
			for _, r := range f.Records {
				_ = os.Remove(folder.Path(r.Name))
			}
			f.Records = nil
		}
	}()
	var names []string
	for _, p := range present {
		if _, _, ok := backupset.ParseArtifactName(p.Name); ok {
			names = append(names, p.Name)
		}
	}
	for _, name := range names {
		if slices.Contains(seeded, name) {
			continue
		}
		rec, err := s.Fetch(ctx, folder, spec.Sub, name)
		if err != nil {
			return f, err
		}
		f.Records = append(f.Records, describe(rec, info[name], f.Neo4jVersion, s))
	}
	for _, name := range seeded {
		if !slices.Contains(names, name) {
			f.Replaced = append(f.Replaced, name)
		}
	}
	if len(f.Records) == 0 {
		return f, errors.New("neo4j-admin reported success but wrote no backup artifact: check its output above (with --progress plain)")
	}
	return f, nil
}

// Commit records the fetched files in the manifest, then removes the files
// that aggregation replaced (now that their aggregate is safely in the
// folder) and their records.
func Commit(folder *backupset.Folder, f Fetched, tool string) error {
	m, err := folder.ReadManifest()
	if err != nil {
		return err
	}
	m.Tool = tool
	m.Upsert(f.Records...)
	// Record the new files before deleting those they replace: a crash in
	// between leaves a redundant chain, never an unrecorded aggregate next
	// to records of deleted files.
	if err := folder.WriteManifest(m); err != nil || len(f.Replaced) == 0 {
		return err
	}
	return folder.Delete(m, f.Replaced...)
}

// checkBackupPort proves the helper can reach the backup port before
// neo4j-admin runs, so the error names the real cause.
func checkBackupPort(ctx context.Context, s *helper.Session) error {
	err := s.Helper.CanReach(ctx, s.Target.BackupAddress)
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	hint := "check that the database runs Neo4j Enterprise with NEO4J_server_backup_enabled=true and NEO4J_server_backup_listen__address=0.0.0.0:6362, or pass --database-url/--database-backup-port"
	if s.Target.SharedNetwork {
		// The helper is inside the database's network namespace: any
		// listen address is reachable, so the port is closed or elsewhere.
		hint = "nothing answers there inside the database container: check that it runs Neo4j Enterprise with NEO4J_server_backup_enabled=true (and --database-backup-port if the port is not 6362)"
	} else if c := s.Target.Container; c != nil {
		listen, set := c.EnvValue("NEO4J_server_backup_listen__address")
		host, _, _ := net.SplitHostPort(listen)
		switch {
		case !set:
			hint = fmt.Sprintf("the backup port listens on 127.0.0.1 only by default: set NEO4J_server_backup_listen__address=0.0.0.0:6362 on the database container %s and recreate it", c.Name)
		case host == "127.0.0.1" || host == "localhost":
			hint = fmt.Sprintf("the backup port listens on %s only: set NEO4J_server_backup_listen__address=0.0.0.0:6362 on the database container %s and recreate it", listen, c.Name)
		}
	}
	return &helper.EnvironmentError{Err: fmt.Errorf("backup port %s: %w; %s", s.Target.BackupAddress, err, hint)}
}

func adminVersion(ctx context.Context, s *helper.Session) (string, error) {
	var out strings.Builder
	code, err := s.Helper.Exec(ctx, docker.ExecSpec{Cmd: []string{"neo4j-admin", "--version"}, Stdout: &out})
	if err != nil {
		return "", err
	}
	if code != 0 {
		return "", &helper.EnvironmentError{Err: fmt.Errorf("neo4j-admin --version failed in helper image %s (exit %d): is it a Neo4j Enterprise image?", s.Image(), code)}
	}
	return strings.TrimSpace(out.String()), nil
}

// artifactInfo is the part of `neo4j-admin backup inspect --format=JSON` the
// manifest keeps.
type artifactInfo struct {
	File      string `json:"file"`
	Path      string `json:"path"`
	Full      *bool  `json:"full"`
	LowestTx  int64  `json:"lowestTx"`
	HighestTx int64  `json:"highestTx"`
}

// inspect asks neo4j-admin which artifacts are full or differential. It is
// best effort: without it the manifest records the type as unknown.
func inspect(ctx context.Context, s *helper.Session, dir string) map[string]artifactInfo {
	var out strings.Builder
	code, err := s.Helper.Exec(ctx, docker.ExecSpec{Cmd: []string{"neo4j-admin", "backup", "inspect", "--format=JSON", "--show-metadata", dir}, Stdout: &helper.Limited{W: &out, N: 8 << 20}})
	if err != nil || code != 0 {
		s.Progress().Info("neo4j-admin backup inspect failed: the manifest records backup types as unknown")
		return nil
	}
	return parseInspect(out.String())
}

func parseInspect(out string) map[string]artifactInfo {
	var list []artifactInfo
	if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &list); err != nil {
		// Some versions print one JSON object per line.
		for _, line := range strings.Split(out, "\n") {
			var a artifactInfo
			if json.Unmarshal([]byte(line), &a) == nil {
				list = append(list, a)
			}
		}
	}
	m := map[string]artifactInfo{}
	for _, a := range list {
		name := a.File
		if name == "" {
			name = a.Path
		}
		m[path.Base(name)] = a
	}
	return m
}

func describe(rec backupset.FileRecord, info artifactInfo, neo4jVersion string, s *helper.Session) backupset.FileRecord {
	rec.Database, rec.Time, _ = backupset.ParseArtifactName(rec.Name)
	if info.Full != nil {
		rec.Type = backupset.TypeDiff
		if *info.Full {
			rec.Type = backupset.TypeFull
		}
	}
	rec.FromTx, rec.ToTx = info.LowestTx, info.HighestTx
	rec.Neo4jVersion = neo4jVersion
	if c := s.Target.Container; c != nil {
		rec.SourceContainer, rec.SourceImage = c.Name, c.Image
	}
	rec.Added = time.Now().UTC()
	return rec
}

func backupArgs(from, dir string, spec Spec) []string {
	args := []string{"database", "backup", "--from=" + from, "--to-path=" + dir, "--type=" + strings.ToUpper(orString(spec.Type, TypeAuto))}
	if m := spec.IncludeMetadata; m != "" && m != "none" {
		args = append(args, "--include-metadata="+m)
	}
	return append(args, dbPatterns(spec.Databases)...)
}

func dbPatterns(dbs []string) []string {
	if len(dbs) == 0 {
		return []string{"*"}
	}
	return dbs
}

// newestChains lists the files of each database's newest chain in the
// folder (only the databases asked for): what neo4j-admin needs to take a
// differential backup and to aggregate.
func newestChains(folder *backupset.Folder, dbs []string) ([]string, error) {
	cat, err := folder.Scan()
	if err != nil {
		return nil, err
	}
	var names []string
	for db, chains := range cat.Chains() {
		if len(dbs) > 0 && !slices.Contains(dbs, db) {
			continue
		}
		chain, err := backupset.ChooseChain(chains, time.Time{})
		if err != nil {
			continue // nothing usable: neo4j-admin takes a full backup
		}
		names = append(names, backupset.Names(chain.Files)...)
	}
	sort.Strings(names)
	return names, nil
}

func orString(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
