// Package neo4jdump moves one kind of artifact: offline Neo4j dumps. It runs
// neo4j-admin database dump and load in a helper container that mounts the
// database's /data while the database is stopped (NEO4J.md §5), names the
// dumps <database>-<time>.dump in the backup folder, and stages them under
// the name load expects. The Community backup and the restore of a dump use
// it.
package neo4jdump

import (
	"context"
	"fmt"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/docker"
	"github.com/opsmill/docker-infrahubdb/internal/guardian/agent"
	"github.com/opsmill/docker-infrahubdb/internal/helper"
)

// Owner is the uid:gid that owns the database store: neo4j-admin dump and
// load run as it ("must be executed as the neo4j user" [S19]; both need the
// store lock [S20a]). The store directory is asked first: the image's
// entrypoint chowns /data only when it is not writable, so /data itself may
// be root's while the store is 7474's (NEO4J.md M6, [S13b]).
func Owner(ctx context.Context, h helper.Helper) (string, error) {
	for _, dir := range []string{"/data/databases", "/data"} {
		var out strings.Builder
		code, err := h.Exec(ctx, docker.ExecSpec{Cmd: []string{"stat", "-c", "%u:%g", dir}, Stdout: &out})
		if err != nil {
			return "", err
		}
		if code == 0 {
			return strings.TrimSpace(out.String()), nil
		}
	}
	return "", &helper.EnvironmentError{Err: fmt.Errorf("the helper cannot see the database's /data: does the database container keep /data in a volume or bind mount?")}
}

// StoreSize is the size in bytes of the store and transaction logs of dbs
// under /data: what a dump of them holds at most, and what the downtime
// estimate is based on.
func StoreSize(ctx context.Context, h helper.Helper, dbs []string) (int64, error) {
	var total int64
	for _, db := range dbs {
		for _, dir := range []string{"/data/databases/" + db, "/data/transactions/" + db} {
			// GNU find, as in the Neo4j images [S13a]; no du needed.
			var out strings.Builder
			code, err := h.Exec(ctx, docker.ExecSpec{Cmd: []string{"find", dir, "-type", "f", "-printf", `%s\n`}, Stdout: &out})
			if err != nil {
				return 0, err
			}
			if code != 0 {
				continue // no transaction log dir yet
			}
			for _, f := range strings.Fields(out.String()) {
				if n, err := strconv.ParseInt(f, 10, 64); err == nil {
					total += n
				}
			}
		}
	}
	return total, nil
}

// workDir is where dumps are written in the helper: a directory of the
// store's owner, made by root, since the work dir itself is root's (or the
// operator's, bind-mounted) and neo4j-admin does not run as root.
func workDir(sub string) string { return path.Join(helper.WorkDir, sub) }

// Prepare makes WorkDir/sub for Dump, owned by owner. It runs before the
// outage: three execs fewer while the database is down.
func Prepare(ctx context.Context, s *helper.Session, sub, owner string) error {
	return mkdirOwned(ctx, s, workDir(sub), owner)
}

// Dump writes <db>.dump for each database into WorkDir/sub (made by
// Prepare), as owner. The
// database must be stopped: on Community "the command can be run only on an
// offline Neo4j DBMS" [S18][S19]; a locked store is refused with "The
// database is in use" and an unclean one with "Active logical log
// detected" [S20a].
func Dump(ctx context.Context, s *helper.Session, sub string, dbs []string, owner string) error {
	dir := workDir(sub)
	for _, db := range dbs {
		// --to-path must be an existing folder; the file is <db>.dump, and
		// --overwrite-destination replaces one left by an earlier run [S18][S20a].
		args := []string{"database", "dump", "--overwrite-destination=true", "--to-path=" + dir, db}
		if _, err := s.Admin(ctx, helper.AdminRun{ID: "dump " + db, Text: "neo4j-admin database dump " + db, Args: args, User: owner}); err != nil {
			return err
		}
	}
	return nil
}

// Fetch brings WorkDir/sub/<db>.dump into the folder as DumpName(db, at) and
// returns its record, described as a dump of edition and version. With
// keep, WorkDir/sub/<db>.dump stays in the helper too, for the commands of
// Keep.
func Fetch(ctx context.Context, s *helper.Session, folder *backupset.Folder, sub, db string, at time.Time, edition, version string, keep bool) (backupset.FileRecord, error) {
	dir := workDir(sub)
	name := backupset.DumpName(db, at)
	// Into the work dir's root, which is the caller's with the bind
	// transfer: sub is the store owner's (Prepare), and a caller who is
	// not root could not move the file out of it into the folder. A hard
	// link when kept: one exec either way.
	cmd := []string{"mv", "-f", path.Join(dir, db+".dump"), path.Join(helper.WorkDir, name)}
	if keep {
		cmd[0] = "ln"
	}
	var stderr strings.Builder
	code, err := s.Helper.Exec(ctx, docker.ExecSpec{Cmd: cmd, Stderr: &stderr})
	if err == nil && code != 0 {
		err = fmt.Errorf("neo4j-admin wrote no %s.dump: %s", db, strings.TrimSpace(stderr.String()))
	}
	if err != nil {
		return backupset.FileRecord{}, err
	}
	rec, err := s.Fetch(ctx, folder, "", name)
	if err != nil {
		return backupset.FileRecord{}, err
	}
	rec.Database, rec.Time = db, at.UTC().Truncate(time.Second)
	rec.Type, rec.Edition, rec.Neo4jVersion = backupset.TypeDump, edition, version
	if c := s.Target.Container; c != nil {
		rec.SourceContainer, rec.SourceImage = c.Name, c.Image
	}
	rec.Added = time.Now().UTC()
	return rec, nil
}

// Stage puts the folder's file name into the helper as WorkDir/sub/<db>.dump,
// the name neo4j-admin database load looks for in its --from-path folder
// [S20b]. A full online backup (.backup) keeps its name: load matches those
// by the database name in their header, and takes full backups only.
// Exactly one archive per database is staged, else load refuses with
// "Multiple archives match" [S20b].
func Stage(ctx context.Context, s *helper.Session, folder *backupset.Folder, sub, name, db, owner string) error {
	if err := s.Seed(ctx, folder, sub, []string{name}); err != nil {
		return err
	}
	return Place(ctx, s, sub, name, db, owner)
}

// Place makes the file name, seeded into the helper's WorkDir/sub, the
// archive load finds for db, readable by owner (Stage).
func Place(ctx context.Context, s *helper.Session, sub, name, db, owner string) error {
	dir := workDir(sub)
	target := StagedName(name, db)
	cmds := [][]string{{"chown", "-R", owner, dir}, {"chmod", "0755", dir}}
	if target != name {
		cmds = append([][]string{{"mv", "-f", path.Join(dir, name), path.Join(dir, target)}}, cmds...)
	}
	for _, cmd := range cmds {
		var stderr strings.Builder
		code, err := s.Helper.Exec(ctx, docker.ExecSpec{Cmd: cmd, Stderr: &stderr})
		if err == nil && code != 0 {
			err = fmt.Errorf("stage %s in the helper: %s: %s", name, strings.Join(cmd, " "), strings.TrimSpace(stderr.String()))
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// StagedName is the name under which the folder's file name of db is
// staged for load: <db>.dump for a dump, the name load looks for in its
// --from-path folder [S20b]; a full online backup (.backup) keeps its name.
func StagedName(name, db string) string {
	if backupset.IsDump(name) {
		return db + ".dump"
	}
	return name
}

// Load replaces db with the archive staged in WorkDir/sub, as owner, in a
// helper whose /data is the store: restore's, or the drill's scratch one.
// --overwrite-destination deletes the database and its transaction logs
// before extracting [S20d]: restore takes and checks a safety dump first.
func Load(ctx context.Context, s helper.Runner, sub, db, owner string) error {
	args := loadArgs(sub, db)
	_, err := s.Admin(ctx, helper.AdminRun{ID: "load " + db, Text: "neo4j-admin database load " + db, Args: args, User: owner})
	return err
}

func loadArgs(sub, db string) []string {
	return []string{"database", "load", "--overwrite-destination=true", "--from-path=" + workDir(sub), db}
}

// Keep returns the commands that load back the dump WorkDir/sub/<db>.dump
// that Dump wrote and Fetch with keep left in the helper (a hard link to
// the fetched file, until the helper goes): a guardian on the Docker host
// runs them in the helper if the client dies while the database is
// replaced. They load a copy in WorkDir/keep/<db>/load owned by the
// store's owner: a bind transfer makes the fetched file (the same inode as
// the kept one) the operator's, and the operator's file stays as it is.
// Keep itself runs nothing: nothing is added to the outage.
func Keep(sub, keep, db, owner string) []agent.Command {
	loadSub := path.Join(keep, db, "load")
	load := workDir(loadSub)
	return []agent.Command{
		{User: "0:0", Cmd: []string{"mkdir", "-p", load}},
		{User: "0:0", Cmd: []string{"cp", "-f", path.Join(workDir(sub), db+".dump"), path.Join(load, db+".dump")}},
		{User: "0:0", Cmd: []string{"chown", "-R", owner, load}},
		{User: owner, Cmd: append([]string{"neo4j-admin"}, loadArgs(loadSub, db)...)},
	}
}

func mkdirOwned(ctx context.Context, s *helper.Session, dir, owner string) error {
	for _, cmd := range [][]string{{"mkdir", "-p", dir}, {"chown", owner, dir}, {"chmod", "0755", dir}} {
		var stderr strings.Builder
		code, err := s.Helper.Exec(ctx, docker.ExecSpec{Cmd: cmd, Stderr: &stderr})
		if err == nil && code != 0 {
			err = fmt.Errorf("create %s in the helper: %s: %s", dir, strings.Join(cmd, " "), strings.TrimSpace(stderr.String()))
		}
		if err != nil {
			return err
		}
	}
	return nil
}
