// Package neo4jbackup moves one kind of artifact: Neo4j online backups.
// It runs neo4j-admin database backup (and aggregate) in a helper
// container, reads what it wrote with backup inspect, and brings the new
// artifacts into the backup folder. The backup workflow, the restore
// workflow's safety backup and the catalog's check all use it.
package neo4jbackup

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/docker"
	"github.com/opsmill/docker-infrahubdb/internal/helper"
	"github.com/opsmill/docker-infrahubdb/internal/neo4j"
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
	// KeepInHelper leaves the new artifacts in the helper too (restore's
	// safety backup, restored from there on a rollback).
	KeepInHelper bool
	// SeedFromFolder uploads the newest chain of each database first, so
	// neo4j-admin can take a differential backup and aggregate the chain.
	SeedFromFolder bool
	// InHelper, instead, names the files of the chain that are in the
	// helper's Sub and the folder already, where an earlier backup with
	// KeepInHelper left them (restore's safety backup, whose differential
	// one is taken on top of the full one): they are judged as seeded,
	// not put in again.
	InHelper []string
	// Preflight, when set, is the caller's own check before the backup
	// (the helper's release against the server's): it runs concurrently
	// with Take's checks, and its error comes first.
	Preflight func(ctx context.Context) error
	// BeforeBackup and AfterBackup, when set, run just before and just
	// after neo4j-admin database backup (after the seeding, before
	// aggregate and inspect), as close to it as Take can: the backup
	// workflow counts the graph there (internal/backup, figures.go). They
	// cannot fail the backup.
	BeforeBackup, AfterBackup func(ctx context.Context)
	// Started, when set, is called once neo4j-admin database backup
	// started (docker.ExecSpec.Started).
	Started func()
	// ReleaseHelper says the caller runs nothing more in the helper after
	// Take: it is removed while the last files are put in place (see
	// helper.Session.Release).
	ReleaseHelper bool
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

// Take runs neo4j-admin backup (and aggregate) in the helper and fetches
// the new artifacts into folder as complete files. On error, files it
// fetched are removed again.
//
// The checks before the backup run concurrently (each is an exec in a
// container, a JVM start with a real Neo4j), and the new artifacts are
// hashed (bind) or downloaded (stream) while backup inspect reads them.
func Take(ctx context.Context, s *helper.Session, folder *backupset.Folder, spec Spec) (Fetched, error) {
	p, err := Start(ctx, s, folder, spec)
	if err != nil {
		return Fetched{}, err
	}
	defer p.Abort()
	return p.Wait(ctx)
}

// Pending is a backup whose new artifacts are in the helper, judged and
// named, and on their way into the folder: Wait brings them in, Abort
// undoes whatever was not brought.
type Pending struct {
	s       *helper.Session
	folder  *backupset.Folder
	spec    Spec
	fetches *helper.Fetches
	early   []string
	fetch   []string
	info    map[string]Info
	f       Fetched
	waited  bool
}

// Names are the artifacts the backup wrote, in the helper's WorkDir/Sub.
func (p *Pending) Names() []string { return slices.Clone(p.fetch) }

// Empty says whether backup inspect found the artifact name empty: a
// differential backup with no new transaction, which is never given to
// neo4j-admin restore (research NEO4J.md H2).
func (p *Pending) Empty(name string) bool { return p.info[name].Empty() }

// Wait brings the artifacts into the folder and returns their records; on
// error, files it brought are removed again.
func (p *Pending) Wait(ctx context.Context) (f Fetched, err error) {
	if p.waited {
		return Fetched{}, errors.New("neo4jbackup: Wait called twice")
	}
	p.waited = true
	f = p.f
	defer func() {
		if err != nil {
			f.discard(p.folder)
		}
	}()
	s, spec := p.s, p.spec
	for _, name := range p.fetch {
		var rec backupset.FileRecord
		switch {
		case slices.Contains(p.early, name):
			rec, err = p.fetches.Finish(ctx, name)
		case spec.KeepInHelper:
			rec, err = s.FetchCopy(ctx, p.folder, spec.Sub, name)
		default:
			rec, err = s.Fetch(ctx, p.folder, spec.Sub, name)
		}
		if err != nil {
			return f, err
		}
		f.Records = append(f.Records, describe(rec, p.info[name], f.Neo4jVersion, s))
	}
	return f, nil
}

// Abort stops the downloads under way and removes what they left that
// Wait did not return; it does nothing to files Wait returned.
func (p *Pending) Abort() { p.fetches.Abort() }

// Start is Take up to bringing the new artifacts into the folder: it
// returns once they are written in the helper, inspected and judged. The
// caller calls Wait, and Abort on every path.
func Start(ctx context.Context, s *helper.Session, folder *backupset.Folder, spec Spec) (p *Pending, err error) {
	var f Fetched
	dir := path.Join(helper.WorkDir, spec.Sub)
	checks := []func(context.Context) error{
		func(ctx context.Context) error { return checkBackupPort(ctx, s) },
		func(ctx context.Context) error { _, err := adminVersion(ctx, s); return err },
	}
	if spec.Preflight != nil {
		checks = append([]func(context.Context) error{spec.Preflight}, checks...)
	}
	if spec.Sub != "" { // WorkDir itself always exists
		checks = append(checks, func(ctx context.Context) error { return s.Mkdir(ctx, dir) })
	}
	if err := helper.InOrder(ctx, checks...); err != nil {
		return nil, err
	}
	// known are the files of the newest chain of each database in the
	// folder: seeded for a differential backup, and databases neo4j-admin
	// must write a new artifact for even when asked for "*".
	var seeded, known, sameRelease []string
	if spec.SeedFromFolder {
		version, _ := adminVersion(ctx, s) // read by the checks above
		if known, sameRelease, err = newestChains(folder, spec.Databases, version); err != nil {
			return nil, err
		}
	}
	if len(spec.InHelper) > 0 {
		known, sameRelease = spec.InHelper, spec.InHelper
	}
	if spec.Type != TypeFull {
		seeded = sameRelease
		if len(spec.InHelper) == 0 {
			if err := s.Seed(ctx, folder, spec.Sub, seeded); err != nil {
				return nil, err
			}
		}
	}
	if f.Neo4jVersion, err = adminVersion(ctx, s); err != nil {
		return nil, err
	}

	if spec.BeforeBackup != nil {
		spec.BeforeBackup(ctx)
	}
	if _, err := s.Admin(ctx, helper.AdminRun{ID: "backup", Text: "neo4j-admin database backup", Args: backupArgs(s.Target.BackupAddress, dir, spec), Started: spec.Started}); err != nil {
		return nil, err
	}
	if spec.AfterBackup != nil {
		spec.AfterBackup(ctx)
	}
	present, err := s.ListFiles(ctx, dir)
	if err != nil {
		return nil, err
	}
	if err := everyDatabaseWritten(newArtifacts(present, seeded), spec.Databases, databasesOf(known)); err != nil {
		return nil, err
	}
	// Without a seeded chain every database has just one new full artifact:
	// aggregating it would rewrite GiBs for nothing. aggregate takes one
	// database (a name or a pattern) per call ([S5]): one call per database
	// whose chain was seeded.
	if spec.Aggregate && len(seeded) > 0 {
		release := neo4j.ParseRelease(f.Neo4jVersion)
		for _, db := range databasesOf(seeded) {
			args, text := AggregateArgs(release, dir, db)
			out, err := s.Admin(ctx, helper.AdminRun{ID: "aggregate " + db, Text: text + " " + db, Args: args})
			if ae, ok := AdminFailed(err); ok && NothingToAggregate(out+"\n"+ae.Output) && ctx.Err() == nil {
				// Neo4j's own backup job takes this failure for a success
				// (NEO4J-OUTPUT.md §3.1): the chain stays as it is, and
				// nothing of it is deleted unless replaced (replacedByFull).
				s.Progress().Info(fmt.Sprintf("neo4j-admin found nothing to aggregate for database %s: its chain stays as it is", db))
				continue
			}
			if err != nil {
				return nil, err
			}
			if err := nameAggregate(ctx, s, folder, dir, db, out); err != nil {
				return nil, err
			}
		}
		if present, err = s.ListFiles(ctx, dir); err != nil {
			return nil, err
		}
	}

	// An artifact under a name that was not seeded is new: it is fetched
	// whatever inspect says, so it is already on its way meanwhile.
	early := newNames(present, seeded)
	fetches := s.StartFetches(ctx, folder, spec.Sub, early, spec.KeepInHelper)
	defer func() {
		if err != nil {
			fetches.Abort()
		}
	}()
	info, inspected, ierr := inspectOutput(ctx, s, dir)
	if ierr != nil && ctx.Err() != nil {
		return nil, ierr
	}
	fetch, replaced, err := judge(folder, seeded, present, info)
	if err != nil {
		return nil, err
	}
	// Files in the folder are never overwritten: an aggregate written under
	// the name of a file of the old chain takes the next free name of that
	// second (neo4j-admin's "-N" suffix), and the old file goes with the
	// rest of its chain once the manifest records the aggregate.
	for i, name := range fetch {
		if !slices.Contains(seeded, name) {
			continue
		}
		fresh := freshName(folder, present, name)
		if err := s.Run(ctx, "mv", path.Join(dir, name), path.Join(dir, fresh)); err != nil {
			return nil, err
		}
		fetch[i] = fresh
		info[fresh] = info[name]
		replaced = append(replaced, name)
	}
	// What the manifest records decides every later restore: a file whose
	// type inspect does not tell would make a chain of its own.
	if err := described(fetch, info, inspected, ierr); err != nil {
		return nil, err
	}
	if err := replacedByFull(replaced, fetch, info, present); err != nil {
		return nil, err
	}
	f.Replaced = replaced
	if spec.ReleaseHelper && len(fetch) == len(early) {
		// Nothing left to do in the helper: it goes while the files are
		// put in place.
		s.Release(ctx, fetches)
	}
	return &Pending{s: s, folder: folder, spec: spec, fetches: fetches, early: early, fetch: fetch, info: info, f: f}, nil
}

// newNames lists the artifacts in files whose names were not seeded, in
// order.
func newNames(files []docker.FileInfo, seeded []string) []string {
	var names []string
	for _, p := range files {
		if _, _, ok := backupset.ParseArtifactName(p.Name); ok && !slices.Contains(seeded, p.Name) {
			names = append(names, p.Name)
		}
	}
	return names
}

// judge decides, from what is in the helper's dir after backup and
// aggregate, which files to fetch and which seeded files are gone. The name
// aggregate gives its result is undocumented ([S5]): a new name or the name
// of a file of the old chain. So files are judged by content: a seeded file
// still present whose size or header (full, transaction range) changed is a
// new artifact under an old name, and is fetched to replace the folder's copy.
func judge(folder *backupset.Folder, seeded []string, present []docker.FileInfo, info map[string]Info) (fetch, replaced []string, err error) {
	m, err := folder.ReadManifest()
	if err != nil {
		return nil, nil, err
	}
	here := map[string]bool{}
	for _, p := range present {
		if _, _, ok := backupset.ParseArtifactName(p.Name); !ok {
			continue
		}
		here[p.Name] = true
		if !slices.Contains(seeded, p.Name) || changed(folder, m, p, info[p.Name]) {
			fetch = append(fetch, p.Name)
		}
	}
	for _, name := range seeded {
		if !here[name] {
			replaced = append(replaced, name)
		}
	}
	return fetch, replaced, nil
}

// nameAggregate gives the result of aggregate an artifact name when
// neo4j-admin printed it under a name the plugin does not parse (the name
// is undocumented, [S5]; it is read from the output, never guessed). A
// result that is not named in the output stays as it is: replacedByFull then
// refuses to let the old chain go.
func nameAggregate(ctx context.Context, s *helper.Session, folder *backupset.Folder, dir, db, out string) error {
	name, ok := ParseAggregateOutput(out)[db]
	if !ok {
		return nil
	}
	if _, _, ok := backupset.ParseArtifactName(name); ok {
		return nil
	}
	present, err := s.ListFiles(ctx, dir)
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(present, func(p docker.FileInfo) bool { return p.Name == name }) {
		return nil
	}
	to := backupset.ArtifactName(db, time.Now())
	if _, err := os.Lstat(folder.Path(to)); !errors.Is(err, os.ErrNotExist) || slices.ContainsFunc(present, func(p docker.FileInfo) bool { return p.Name == to }) {
		to = freshName(folder, present, to)
	}
	s.Progress().Info(fmt.Sprintf("neo4j-admin wrote the aggregate of database %s as %s: recorded as %s", db, name, to))
	return s.Run(ctx, "mv", path.Join(dir, name), path.Join(dir, to))
}

// described fails when backup inspect did not say, for a file just written,
// whether it is a full or a differential backup: the layout of inspect's
// output is not documented (research NEO4J.md §7), and a record with an
// empty type would make the next restore choose a lone differential.
func described(fetch []string, info map[string]Info, out string, ierr error) error {
	var unknown []string
	for _, name := range fetch {
		if info[name].Type() == "" {
			unknown = append(unknown, name)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	msg := fmt.Sprintf("neo4j-admin backup inspect does not say whether %s is a full or a differential backup, so it cannot be recorded; the folder is left as it was", strings.Join(unknown, ", "))
	if ierr != nil {
		msg += " (inspect failed: " + ierr.Error() + ")"
	}
	out = strings.TrimSpace(out)
	if out == "" {
		out = "(nothing)"
	}
	return fmt.Errorf("%s. It printed:\n%s", msg, out)
}

// replacedByFull refuses to let files of a chain go unless the run fetches
// a new full artifact of the same database: whatever name aggregate gave
// its result ([S5], undocumented), a chain is never deleted without its
// replacement. present names what neo4j-admin left in the helper, for the
// error.
func replacedByFull(replaced, fetch []string, info map[string]Info, present []docker.FileInfo) error {
	for _, db := range databasesOf(replaced) {
		if slices.ContainsFunc(fetch, func(name string) bool {
			d, _, _ := backupset.ParseArtifactName(name)
			return d == db && info[name].Type() == backupset.TypeFull
		}) {
			continue
		}
		var left []string
		for _, p := range present {
			left = append(left, p.Name)
		}
		return fmt.Errorf("neo4j-admin removed the chain of database %s (%s) but left no new full backup the plugin recognises as its replacement (the helper holds: %s); nothing was deleted from the folder. Back up with --no-aggregate until this is understood",
			db, strings.Join(filesOf(replaced, db), ", "), orString(strings.Join(left, ", "), "nothing"))
	}
	return nil
}

func filesOf(names []string, db string) []string {
	var out []string
	for _, n := range names {
		if d, _, _ := backupset.ParseArtifactName(n); d == db {
			out = append(out, n)
		}
	}
	return out
}

// freshName is name with the first "-N" suffix that neither the folder nor
// the helper's dir has.
func freshName(folder *backupset.Folder, present []docker.FileInfo, name string) string {
	stem := strings.TrimSuffix(name, backupset.ArtifactExt)
	if db, t, ok := backupset.ParseArtifactName(name); ok {
		stem = strings.TrimSuffix(backupset.ArtifactName(db, t), backupset.ArtifactExt)
	}
	for n := 1; ; n++ {
		cand := fmt.Sprintf("%s-%d%s", stem, n, backupset.ArtifactExt)
		_, err := os.Lstat(folder.Path(cand))
		taken := slices.ContainsFunc(present, func(p docker.FileInfo) bool { return p.Name == cand })
		if errors.Is(err, os.ErrNotExist) && !taken {
			return cand
		}
	}
}

func changed(folder *backupset.Folder, m *backupset.Manifest, p docker.FileInfo, now Info) bool {
	st, err := os.Stat(folder.Path(p.Name))
	if err != nil {
		return true
	}
	size := st.Size()
	if sr, ok := folder.Sealed(p.Name); ok {
		// A sealed file (a chain seeded from an encrypted location) is
		// ciphertext on disk: the helper has its plaintext.
		size = sr.PlainSize
	}
	if size != p.Size {
		return true
	}
	rec, ok := m.Lookup(p.Name)
	if !ok || now.Full == nil {
		return false // no header to compare: same name, same size, same file
	}
	// A range recorded (not 0) is compared; one inspect does not print now
	// (TxKnown false, 0) counts as a change, so the file is fetched again:
	// what cannot be told unchanged is never kept as it was.
	return now.Type() != rec.Type || (rec.FromTx != 0 && now.LowestTx != rec.FromTx) || (rec.ToTx != 0 && now.HighestTx != rec.ToTx)
}

// everyDatabaseWritten catches a backup that neo4j-admin reported as a
// success but that wrote nothing for a database asked for (some 5.x
// releases exit 0 on a failed backup, neo4j/neo4j#13107).
// inFolder are the databases with a chain in the folder: backing up "*"
// must give each a new artifact too.
func everyDatabaseWritten(newDBs, dbs, inFolder []string) error {
	if len(newDBs) == 0 {
		return errors.New("neo4j-admin reported success but wrote no backup artifact: check its output above (with --progress plain)")
	}
	for _, db := range dbs {
		if strings.ContainsAny(db, "*?") {
			continue
		}
		if !slices.Contains(newDBs, db) {
			return fmt.Errorf("neo4j-admin reported success but wrote no backup artifact for database %s: check its output above (with --progress plain)", db)
		}
	}
	for _, db := range inFolder {
		if !slices.Contains(newDBs, db) {
			return fmt.Errorf("neo4j-admin reported success but wrote no backup artifact for database %s, which the folder holds backups of: check its output above (with --progress plain); if the database was dropped, name the others with --database", db)
		}
	}
	return nil
}

// newArtifacts lists the databases of the artifacts in files that were not
// seeded: what the backup itself wrote.
func newArtifacts(files []docker.FileInfo, seeded []string) []string {
	var names []string
	for _, f := range files {
		if !slices.Contains(seeded, f.Name) {
			names = append(names, f.Name)
		}
	}
	return databasesOf(names)
}

func databasesOf(names []string) []string {
	var dbs []string
	for _, n := range names {
		if db, _, ok := backupset.ParseArtifactName(n); ok && !slices.Contains(dbs, db) {
			dbs = append(dbs, db)
		}
	}
	sort.Strings(dbs)
	return dbs
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
	if err := folder.WriteManifest(m); err != nil {
		// All or nothing: files the manifest does not record would make
		// the next restore refuse the folder.
		f.discard(folder)
		return err
	}
	if len(f.Replaced) == 0 {
		return nil
	}
	// Take already refused this; checked again on what is now recorded,
	// since a deletion cannot be undone.
	for _, db := range databasesOf(f.Replaced) {
		if !slices.ContainsFunc(f.Records, func(r backupset.FileRecord) bool { return r.Database == db && r.Type == backupset.TypeFull }) {
			return fmt.Errorf("not deleting %s: the run recorded no new full backup of database %s", strings.Join(filesOf(f.Replaced, db), ", "), db)
		}
	}
	return folder.Delete(m, f.Replaced...)
}

// discard removes the fetched files from folder again.
func (f *Fetched) discard(folder *backupset.Folder) {
	for _, r := range f.Records {
		_ = os.Remove(folder.Path(r.Name))
	}
	f.Records = nil
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
	return s.AdminVersion(ctx)
}

func describe(rec backupset.FileRecord, info Info, neo4jVersion string, s *helper.Session) backupset.FileRecord {
	rec.Database, rec.Time, _ = backupset.ParseArtifactName(rec.Name)
	rec.Type = info.Type()
	rec.FromTx, rec.ToTx, rec.Empty = info.LowestTx, info.HighestTx, info.Empty()
	rec.Neo4jVersion = neo4jVersion
	if c := s.Target.Container; c != nil {
		rec.SourceContainer, rec.SourceImage = c.Name, c.Image
	}
	rec.Added = time.Now().UTC()
	return rec
}

func backupArgs(from, dir string, spec Spec) []string {
	args := []string{"database", "backup", "--from=" + from, "--to-path=" + dir, "--type=" + strings.ToUpper(orString(spec.Type, TypeAuto))}
	// Always explicit: neo4j-admin's default is "all" ([S1]), so leaving
	// "none" out would back up users and roles after all.
	if m := spec.IncludeMetadata; m != "" {
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
//
// sameRelease leaves out the chains written by another Neo4j release than
// version (the helper's): they are not seeded, since a differential backup
// on one would make a chain of two releases, which verify and restore
// refuse (backupset.Chains); neo4j-admin takes a full backup instead.
func newestChains(folder *backupset.Folder, dbs []string, version string) (names, sameRelease []string, err error) {
	cat, err := folder.Scan()
	if err != nil {
		return nil, nil, err
	}
	for db, chains := range cat.Chains() {
		if len(dbs) > 0 && !slices.Contains(dbs, db) {
			continue
		}
		chain, err := backupset.ChooseChain(chains, time.Time{})
		if err != nil {
			continue // nothing usable: neo4j-admin takes a full backup
		}
		names = append(names, backupset.Names(chain.Files)...)
		if v := chainVersion(chain); version == "" || v == "" || v == version {
			sameRelease = append(sameRelease, backupset.Names(chain.Files)...)
		}
	}
	sort.Strings(names)
	sort.Strings(sameRelease)
	return names, sameRelease, nil
}

// chainVersion is the Neo4j release that wrote the chain's newest file
// with a recorded one, "" when none is recorded.
func chainVersion(c backupset.Chain) string {
	for _, a := range slices.Backward(c.Files) {
		if a.Record != nil && a.Record.Neo4jVersion != "" {
			return a.Record.Neo4jVersion
		}
	}
	return ""
}

func orString(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
