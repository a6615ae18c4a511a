package backup

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
	"github.com/opsmill/docker-infrahubdb/pkg/progress"
)

// Backup types (neo4j-admin --type).
const (
	TypeAuto = "auto"
	TypeFull = "full"
	TypeDiff = "diff"
)

// Options of one backup run.
type Options struct {
	Target          TargetOptions
	HelperImage     string // "" chooses (see ChooseImage)
	RegistryAuth    func(ref string) (string, error)
	Transfer        string
	KeepHelper      bool
	Databases       []string // empty: all ("*")
	Type            string   // TypeAuto, TypeFull, TypeDiff
	IncludeMetadata string   // all, users, roles, none
	Aggregate       bool
	Tool            string // "docker-infrahubdb <version>", for the manifest
	// Verify, when set, runs on the files just written, after the manifest
	// was updated and before Run reports success (backup --verify).
	Verify func(ctx context.Context, s *Session, written []backupset.FileRecord) error
}

// Result is what a backup run wrote.
type Result struct {
	Folder       string                 `json:"folder"`
	Database     string                 `json:"database_container,omitempty"`
	Transfer     string                 `json:"transfer"`
	Helper       string                 `json:"helper_container,omitempty"` // set when kept
	Databases    []string               `json:"databases"`
	Files        []backupset.FileRecord `json:"files"`
	Removed      []string               `json:"removed,omitempty"` // replaced by aggregation
	Neo4jVersion string                 `json:"neo4j_admin_version,omitempty"`
	Started      time.Time              `json:"started"`
	Duration     time.Duration          `json:"duration_ns"`
}

// Run takes an online backup into folder. The folder gains complete,
// checksummed files and an updated manifest, or nothing at all.
func Run(ctx context.Context, eng Engine, folder *backupset.Folder, opts Options, pw progress.Writer) (*Result, error) {
	res := &Result{Folder: folder.Dir, Started: time.Now()}
	release, err := LockFolder(folder, "backup", pw)
	if err != nil {
		return nil, err
	}
	defer release()
	// Commit updates the manifest: find an unusable one now, not after a
	// backup whose files it could then not record.
	if _, err := folder.ReadManifest(); err != nil {
		return nil, err
	}
	// With the lock held, *.partial files can only be leftovers of a run
	// that died: they are not backups, remove them.
	if removed, err := folder.RemovePartials(); err != nil {
		return nil, err
	} else if len(removed) > 0 {
		pw.Info(fmt.Sprintf("removed %d partial file(s) left by an interrupted run: %s", len(removed), strings.Join(removed, ", ")))
	}

	target, err := FindTarget(ctx, eng, opts.Target)
	if err != nil {
		return nil, err
	}
	if target.Container != nil {
		res.Database = target.Container.Name
		if err := CheckBackupSource(*target.Container); err != nil {
			return nil, err
		}
	}
	image := ChooseImage(opts.HelperImage, target)
	if err := EnsureImage(ctx, eng, image, opts.RegistryAuth, pw); err != nil {
		return nil, err
	}

	s, err := OpenSession(ctx, eng, folder, target, SessionOptions{Command: "backup", Image: image, Transfer: opts.Transfer, KeepHelper: opts.KeepHelper}, pw)
	if err != nil {
		return nil, err
	}
	defer s.Close(ctx)
	res.Transfer = s.Mode
	if opts.KeepHelper {
		res.Helper = s.Helper.Name()
	}

	files, err := s.TakeBackup(ctx, folder, BackupSpec{
		Sub: "", Databases: opts.Databases, Type: opts.Type, IncludeMetadata: opts.IncludeMetadata,
		Aggregate: opts.Aggregate, SeedFromFolder: true,
	})
	if err != nil {
		return nil, err
	}
	if err := s.Commit(ctx, folder, files, opts.Tool); err != nil {
		return nil, err
	}
	if opts.Verify != nil {
		if err := opts.Verify(ctx, s, files.Records); err != nil {
			return nil, err
		}
	}
	res.Files, res.Removed, res.Neo4jVersion = files.Records, files.Replaced, files.Neo4jVersion
	res.Databases = files.Databases()
	res.Duration = time.Since(res.Started)
	return res, nil
}

// CheckBackupSource refuses database containers that cannot serve an online
// backup, before any container is started.
func CheckBackupSource(c docker.Container) error {
	if Edition(c) == "community" {
		return &EnvironmentError{Err: fmt.Errorf("database container %s runs Neo4j Community (image %s): online backup needs Neo4j Enterprise; use a neo4j:<version>-enterprise image with NEO4J_ACCEPT_LICENSE_AGREEMENT=yes", c.Name, c.Image)}
	}
	if v, ok := c.EnvValue("NEO4J_server_backup_enabled"); ok && strings.EqualFold(v, "false") {
		return &EnvironmentError{Err: fmt.Errorf("database container %s has the backup port disabled (NEO4J_server_backup_enabled=false): set it to true and NEO4J_server_backup_listen__address=0.0.0.0:6362, then recreate the container", c.Name)}
	}
	return nil
}

// BackupSpec is one neo4j-admin backup run in the helper.
type BackupSpec struct {
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
func (s *Session) TakeBackup(ctx context.Context, folder *backupset.Folder, spec BackupSpec) (f Fetched, err error) {
	if err := s.checkBackupPort(ctx); err != nil {
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
	if f.Neo4jVersion, err = s.adminVersion(ctx); err != nil {
		return f, err
	}

	dir := path.Join(WorkDir, spec.Sub)
	if err := s.mkdir(ctx, dir); err != nil {
		return f, err
	}
	if _, err := s.Admin(ctx, AdminRun{ID: "backup", Text: "neo4j-admin database backup", Args: backupArgs(s.Target.BackupAddress, dir, spec)}); err != nil {
		return f, err
	}
	// Without a seeded chain every database has just one new full artifact:
	// aggregating it would rewrite GiBs for nothing.
	if spec.Aggregate && len(seeded) > 0 {
		args := append([]string{"database", "aggregate-backup", "--from-path=" + dir}, dbPatterns(spec.Databases)...)
		if _, err := s.Admin(ctx, AdminRun{ID: "aggregate", Text: "neo4j-admin database aggregate-backup", Args: args}); err != nil {
			return f, err
		}
	}

	present, err := s.Helper.ListFiles(ctx, dir)
	if err != nil {
		return f, err
	}
	info := s.inspect(ctx, dir)
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
func (s *Session) Commit(ctx context.Context, folder *backupset.Folder, f Fetched, tool string) error {
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
func (s *Session) checkBackupPort(ctx context.Context) error {
	err := s.Helper.CanReach(ctx, s.Target.BackupAddress)
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	hint := "check that the database runs Neo4j Enterprise with NEO4J_server_backup_enabled=true and NEO4J_server_backup_listen__address=0.0.0.0:6362, or pass --database-url/--database-backup-port"
	if c := s.Target.Container; c != nil {
		listen, set := c.EnvValue("NEO4J_server_backup_listen__address")
		host, _, _ := net.SplitHostPort(listen)
		switch {
		case !set:
			hint = fmt.Sprintf("the backup port listens on 127.0.0.1 only by default: set NEO4J_server_backup_listen__address=0.0.0.0:6362 on the database container %s and recreate it", c.Name)
		case host == "127.0.0.1" || host == "localhost":
			hint = fmt.Sprintf("the backup port listens on %s only: set NEO4J_server_backup_listen__address=0.0.0.0:6362 on the database container %s and recreate it", listen, c.Name)
		}
	}
	return &EnvironmentError{Err: fmt.Errorf("backup port %s: %w; %s", s.Target.BackupAddress, err, hint)}
}

func (s *Session) adminVersion(ctx context.Context) (string, error) {
	var out strings.Builder
	code, err := s.Helper.Exec(ctx, docker.ExecSpec{Cmd: []string{"neo4j-admin", "--version"}, Stdout: &out})
	if err != nil {
		return "", err
	}
	if code != 0 {
		return "", &EnvironmentError{Err: fmt.Errorf("neo4j-admin --version failed in helper image %s (exit %d): is it a Neo4j Enterprise image?", s.opts.Image, code)}
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
func (s *Session) inspect(ctx context.Context, dir string) map[string]artifactInfo {
	var out strings.Builder
	code, err := s.Helper.Exec(ctx, docker.ExecSpec{Cmd: []string{"neo4j-admin", "backup", "inspect", "--format=JSON", "--show-metadata", dir}, Stdout: &limited{w: &out, n: 8 << 20}})
	if err != nil || code != 0 {
		s.pw.Info("neo4j-admin backup inspect failed: the manifest records backup types as unknown")
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

func describe(rec backupset.FileRecord, info artifactInfo, neo4jVersion string, s *Session) backupset.FileRecord {
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

func backupArgs(from, dir string, spec BackupSpec) []string {
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

// LockFolder takes the folder's lock, saying so when it takes over a lock
// left by a run that died.
func LockFolder(folder *backupset.Folder, command string, pw progress.Writer) (func() error, error) {
	release, stale, err := folder.AcquireLock(command)
	if err != nil {
		return nil, err
	}
	if stale != nil {
		pw.Info(fmt.Sprintf("took over a stale lock of the backup folder left by %q (pid %d on %s, gone)", stale.Command, stale.PID, stale.Host))
	}
	return release, nil
}

// mkdir creates dir in the helper (neo4j-admin wants its --to-path to exist).
func (s *Session) mkdir(ctx context.Context, dir string) error {
	var stderr strings.Builder
	code, err := s.Helper.Exec(ctx, docker.ExecSpec{Cmd: []string{"mkdir", "-p", dir}, Stderr: &stderr})
	if err == nil && code != 0 {
		err = fmt.Errorf("create %s in the helper: %s", dir, strings.TrimSpace(stderr.String()))
	}
	return err
}
