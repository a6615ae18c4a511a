package neo4jbackup

import (
	"context"
	"fmt"
	"path"
	"time"

	"github.com/opsmill/docker-infrahubdb/internal/helper"
	"github.com/opsmill/docker-infrahubdb/internal/neo4j"
	"github.com/opsmill/docker-infrahubdb/internal/progress"
)

// The restore of an online backup (a chain, or one full backup), as restore
// and verify --drill run it: the same commands, so that a fix to one is a
// fix to both.

// RestoreSpec is one neo4j-admin database restore in a helper whose /data
// is the store to restore into.
type RestoreSpec struct {
	Database string
	// FromPath is the --from-path: the newest file of the chain (the
	// others beside it), or their folder (2025.x [S4]).
	FromPath string
	// Until, when set, is --restore-until.
	Until *time.Time
	// Owner is the uid:gid of the store, as which neo4j-admin runs ("must
	// be invoked as the neo4j user" [S3]).
	Owner string
}

// TempPath is the --temp-path of a restore of db: a directory of the
// store's owner in the helper's work dir.
func TempPath(db string) string { return path.Join(helper.WorkDir, ".restore-tmp-"+db) }

// PrepareCommands ready the helper (as root) for a neo4j-admin restore run
// as owner from fromPath:
//   - the artifacts (seeded by the user who ran the plugin, or written as
//     root by a safety backup) must be readable by that user;
//   - since 5.24 restore makes its temporary directory inside the
//     --from-path folder unless --temp-path is given [S3], and that folder
//     is not writable by that user: it gets tmp, a directory it owns.
func PrepareCommands(fromPath, tmp, owner string) [][]string {
	return [][]string{
		{"chmod", "-R", "a+rX", path.Dir(fromPath)},
		{"rm", "-rf", tmp},
		{"mkdir", "-p", tmp},
		{"chown", owner, tmp},
		{"chmod", "0700", tmp},
	}
}

// RestoreArgs are the arguments of neo4j-admin (after "neo4j-admin") that
// restore db from fromPath, with tmp as its temporary directory, up to
// until (nil: all of it).
func RestoreArgs(fromPath, db, tmp string, until *time.Time) []string {
	args := []string{"database", "restore", "--from-path=" + fromPath, "--overwrite-destination=true"}
	if until != nil {
		args = append(args, "--restore-until="+until.UTC().Format("2006-01-02 15:04:05"))
	}
	return append(args, "--temp-path="+tmp, db)
}

// Restore restores spec.Database from spec.FromPath into the helper's
// /data, which no running server holds for that database. A
// restore_metadata.cypher left by an earlier restore is removed first: it
// must not be replayed after restoring a backup that has none
// (neo4j-admin writes it only when the backup holds metadata).
func Restore(ctx context.Context, r helper.Runner, spec RestoreSpec, pw progress.Writer) error {
	db, tmp := spec.Database, TempPath(spec.Database)
	steps := append(PrepareCommands(spec.FromPath, tmp, spec.Owner), []string{"rm", "-f", MetadataScript(db)})
	for _, cmd := range steps {
		if err := r.Run(ctx, cmd...); err != nil {
			return fmt.Errorf("prepare the restore of %s: %w", db, err)
		}
	}
	_, err := r.Admin(ctx, helper.AdminRun{ID: "restore " + db, Text: "neo4j-admin database restore " + db, Args: RestoreArgs(spec.FromPath, db, tmp, spec.Until), User: spec.Owner})
	if rmErr := r.Run(ctx, "rm", "-rf", tmp); rmErr != nil && err == nil {
		pw.Info("could not remove neo4j-admin's temporary directory: " + rmErr.Error())
	}
	return err
}

// MetadataScript is the Cypher script of the users, roles and privileges of
// db that neo4j-admin database restore writes when the backup holds them
// [S3].
func MetadataScript(db string) string { return "/data/scripts/" + db + "/restore_metadata.cypher" }

// ScriptRunner runs Cypher statements against the system database.
type ScriptRunner interface {
	RunScript(ctx context.Context, statements []string, params map[string]any) (int, error)
}

// ReplayMetadata runs the MetadataScript of db, read in h (a container
// that sees the restored /data), against the server with $database set,
// once db is online. It returns the statements run: 0, said, when the
// backup held no metadata.
func ReplayMetadata(ctx context.Context, h helper.Helper, admin ScriptRunner, db string, pw progress.Writer) (int, error) {
	script := MetadataScript(db)
	_, _, exists, err := h.Stat(ctx, script)
	if err != nil || !exists {
		if err == nil {
			pw.Info("no " + script + ": the backup of " + db + " holds no security metadata to replay")
		}
		return 0, err
	}
	var n int
	err = progress.Run(pw, progress.Event{ID: "metadata " + db, Text: "Replay security metadata of " + db}, func() error {
		data, err := h.ReadFile(ctx, script, 64<<20)
		if err != nil {
			return err
		}
		n, err = admin.RunScript(ctx, neo4j.SplitStatements(string(data)), map[string]any{"database": db})
		return err
	})
	return n, err
}

// Starter is the Neo4j administration StartDatabase needs (neo4j.Admin).
type Starter interface {
	Create(ctx context.Context, name string) error
	Start(ctx context.Context, name string) error
	WaitOnline(ctx context.Context, name string, timeout time.Duration) error
}

// StartOptions bound StartDatabase: Tries START attempts RetryPause apart,
// then a wait of OnlineWait at most until the database is online.
type StartOptions struct {
	Tries      int
	RetryPause time.Duration
	OnlineWait time.Duration
}

// StartDatabase brings a restored database online on Neo4j Enterprise, as
// restore and verify --drill do: CREATE DATABASE IF NOT EXISTS (a database
// the server did not know, restored or loaded offline, exists for Neo4j only
// once created [S19]), START (retried: a START can fail transiently), then
// a bounded wait until its currentStatus is online.
func StartDatabase(ctx context.Context, admin Starter, db string, o StartOptions, pw progress.Writer) error {
	if o.Tries < 1 {
		o.Tries = 1
	}
	if err := progress.Run(pw, progress.Event{ID: "create " + db, Text: "CREATE DATABASE " + db + " IF NOT EXISTS"}, func() error { return admin.Create(ctx, db) }); err != nil {
		return err
	}
	return progress.Run(pw, progress.Event{ID: "start " + db, Text: "START DATABASE " + db}, func() error {
		var err error
		for try := 1; try <= o.Tries; try++ {
			if err = admin.Start(ctx, db); err == nil {
				break
			}
			if ctx.Err() != nil {
				return err
			}
			pw.Log("start "+db, fmt.Sprintf("START DATABASE %s failed (attempt %d of %d): %v", db, try, o.Tries, err))
			if try < o.Tries {
				time.Sleep(o.RetryPause)
			}
		}
		if err != nil {
			return err
		}
		return admin.WaitOnline(ctx, db, o.OnlineWait)
	})
}
