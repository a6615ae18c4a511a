// Package pgdump owns the task-manager component: the Prefect PostgreSQL
// database of Infrahub's task-manager-db service. It dumps it with
// pg_dump --format=custom by exec in that container, the dump streaming
// through the Docker API straight into the backup folder (nothing is written
// inside the container), and restores it with pg_restore fed through the
// exec's standard input. The password reaches pg_dump and pg_restore as
// PGPASSWORD in the exec's environment: never in argv, never in a
// container's configuration.
package pgdump

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/docker"
	"github.com/opsmill/docker-infrahubdb/internal/helper"
)

// Compose services of the task manager (Infrahub's stock compose file).
const (
	DatabaseService = "task-manager-db"
	ServerService   = "task-manager"
)

// Exec runs a command in a running container (internal/docker Engine.ExecIn).
type Exec interface {
	ExecIn(ctx context.Context, containerID string, spec docker.ExecSpec) (int, error)
}

// Source is the task manager's database and how to log in to it.
type Source struct {
	Container docker.Container // task-manager-db
	User      string
	Password  string
	Database  string
	// From says where the credentials came from, for messages (never the
	// password itself).
	From string
}

// Credentials reads the database's credentials from task-manager-db's
// POSTGRES_USER/POSTGRES_PASSWORD/POSTGRES_DB (the official image's
// defaults apply: user postgres, database = user), else from the task
// manager's PREFECT_API_DATABASE_CONNECTION_URL or
// PREFECT_SERVER_DATABASE_CONNECTION_URL (Prefect 3 renamed it; INFRAHUB.md
// §4.8, infrahub-backup PR #135).
func Credentials(db docker.Container, taskManager *docker.Container) (Source, error) {
	src := Source{Container: db}
	if taskManager != nil {
		for _, key := range []string{"PREFECT_API_DATABASE_CONNECTION_URL", "PREFECT_SERVER_DATABASE_CONNECTION_URL"} {
			v, ok := taskManager.EnvValue(key)
			if !ok || v == "" {
				continue
			}
			u, err := url.Parse(v)
			if err != nil || u.User == nil {
				return Source{}, fmt.Errorf("%s of %s is not a database URL with a user; fix it, or set POSTGRES_USER and POSTGRES_PASSWORD on %s", key, taskManager.Name, db.Name)
			}
			src.User = u.User.Username()
			src.Password, _ = u.User.Password()
			src.Database = strings.TrimPrefix(u.Path, "/")
			src.From = key + " of " + taskManager.Name
			break
		}
	}
	// The database's own settings win: they are what initdb used.
	if v, ok := db.EnvValue("POSTGRES_USER"); ok && v != "" {
		src.User, src.From = v, "POSTGRES_* of "+db.Name
	}
	if v, ok := db.EnvValue("POSTGRES_PASSWORD"); ok {
		src.Password, src.From = v, "POSTGRES_* of "+db.Name
	}
	if v, ok := db.EnvValue("POSTGRES_DB"); ok && v != "" {
		src.Database = v
	}
	if src.User == "" {
		src.User = "postgres"
	}
	if src.Database == "" {
		src.Database = src.User
	}
	if src.From == "" {
		src.From = "the postgres image's defaults"
	}
	return src, nil
}

// CommandError is pg_dump, pg_restore or psql exiting non-zero
// (helper.CommandError, as for every artifact kind); Stderr is what it
// printed (PostgreSQL never prints the password).
type CommandError = helper.CommandError

// commandError builds the error of cmd exiting with code in the database
// container, with what to do when the credentials were refused.
func (s Source) commandError(cmd string, code int, stderr string) error {
	e := &CommandError{Cmd: []string{cmd}, Container: s.Container.Name, ExitCode: code, Stderr: stderr}
	if strings.Contains(stderr, "password authentication failed") || strings.Contains(stderr, "no password supplied") {
		e.Hint = "the task manager's credentials were read from the container environment: check POSTGRES_USER/POSTGRES_PASSWORD of task-manager-db"
	}
	return e
}

// env is what every exec gets: the password, and no .psqlrc or service
// file surprises; tag names the exec's server session (see sessionTag).
func (s Source) env(tag string) []string {
	return []string{"PGPASSWORD=" + s.Password, "PGUSER=" + s.User, "PGDATABASE=" + s.Database, "PGCONNECT_TIMEOUT=10", "PGAPPNAME=" + tag}
}

// sessionTag is a name for the server session of one pg_dump or pg_restore,
// given as its application_name: libpq takes PGAPPNAME over the fallback
// name the tools set themselves, and pg_stat_activity shows it. An exec
// whose end the plugin did not see (Ctrl-C, a full disk, a lost
// connection to the Docker daemon) keeps running in the container: closing
// the exec's streams does not stop it, and a pg_restore that already read
// its whole input goes on to COMMIT. Its session is found by this tag and
// ended (endSession).
func sessionTag(cmd string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return "docker-infrahubdb-" + cmd + "-" + hex.EncodeToString(b)
}

// execUser runs the client tools as the image's postgres user, like the
// official image's own scripts; root would be refused by nothing but is not
// needed.
const execUser = "postgres"

// Dump streams a pg_dump --format=custom of the database into w.
func Dump(ctx context.Context, ex Exec, s Source, w io.Writer) error {
	var stderr limited
	tag := sessionTag("pg_dump")
	code, err := ex.ExecIn(ctx, s.Container.ID, docker.ExecSpec{
		Cmd:    []string{"pg_dump", "--format=custom", "--no-password", "--username=" + s.User, "--dbname=" + s.Database},
		Env:    s.env(tag),
		User:   execUser,
		Stdout: w,
		Stderr: &stderr,
	})
	if err != nil {
		// A pg_dump left running holds its locks on every table it dumps
		// (a later pg_restore --clean would wait for them): end it.
		_, endErr := endSession(ctx, ex, s, tag, "pg_dump")
		return errors.Join(fmt.Errorf("pg_dump in %s: %w", s.Container.Name, err), endErr)
	}
	if code != 0 {
		return s.commandError("pg_dump", code, stderr.String())
	}
	return nil
}

// Take dumps the database into the folder as name, atomically: the dump
// lands in name.partial with its SHA-256 computed on the way, is fsynced
// and renamed. On any error nothing is left in the folder.
func Take(ctx context.Context, ex Exec, folder *backupset.Folder, s Source, name string) (backupset.FileRecord, error) {
	pf, err := folder.NewFile(name)
	if err != nil {
		return backupset.FileRecord{}, err
	}
	defer pf.Abort()
	captured := time.Now().UTC()
	if err := Dump(ctx, ex, s, pf); err != nil {
		return backupset.FileRecord{}, err
	}
	if pf.Size() < int64(len(customMagic)) {
		return backupset.FileRecord{}, fmt.Errorf("pg_dump in %s wrote %d bytes, not a custom-format dump", s.Container.Name, pf.Size())
	}
	rec, err := pf.Commit()
	if err != nil {
		return backupset.FileRecord{}, err
	}
	rec.Component = backupset.ComponentTaskManager
	rec.Database = s.Database
	rec.Captured = captured
	rec.SourceContainer = s.Container.Name
	rec.SourceImage = s.Container.Image
	if _, t, ok := backupset.ParseComponentFileName(name); ok {
		rec.Time = t
	}
	return rec, nil
}

// customMagic starts every pg_dump --format=custom file.
const customMagic = "PGDMP"

// Restore replaces the database's content with the dump read from r:
// pg_restore --clean --if-exists in one transaction (--single-transaction),
// so a restore failing midway leaves the database as it was. When the
// exec's end is not seen (Ctrl-C, a lost connection) the error is an
// *UnfinishedError, after pg_restore's session was ended.
func Restore(ctx context.Context, ex Exec, s Source, r io.Reader) error {
	var stderr limited
	tag := sessionTag("pg_restore")
	code, err := ex.ExecIn(ctx, s.Container.ID, docker.ExecSpec{
		Cmd: []string{"pg_restore", "--clean", "--if-exists", "--single-transaction", "--exit-on-error", "--no-owner",
			"--no-password", "--username=" + s.User, "--dbname=" + s.Database},
		Env:    s.env(tag),
		User:   execUser,
		Stdin:  r,
		Stderr: &stderr,
	})
	if err != nil {
		unchanged, endErr := endSession(ctx, ex, s, tag, "pg_restore")
		return &UnfinishedError{Container: s.Container.Name, Unchanged: unchanged && endErr == nil, Err: errors.Join(err, endErr)}
	}
	if code != 0 {
		return s.commandError("pg_restore", code, stderr.String())
	}
	return nil
}

// UnfinishedError is a pg_restore whose end the plugin did not see. Its
// server session was ended; Unchanged says it was still inside its one
// transaction then, before COMMIT, so the database is as it was. Otherwise
// (it had ended by itself, or was committing) it may have been restored.
type UnfinishedError struct {
	Container string
	Unchanged bool
	Err       error
}

func (e *UnfinishedError) Error() string {
	state := "its outcome is unknown: the database may hold the dump or its previous content"
	if e.Unchanged {
		state = "it was stopped inside its transaction: the database is as it was"
	}
	return fmt.Sprintf("pg_restore in %s did not finish (%v); %s", e.Container, e.Err, state)
}

func (e *UnfinishedError) Unwrap() error { return e.Err }

// endTimeout bounds the wait for an unfinished exec's session to end.
const endTimeout = time.Minute

// endSessionSQL ends the sessions tagged :'tag' and counts them, and those
// whose last statement is a COMMIT (pg_restore --single-transaction ends
// with one; a session ended before it leaves nothing behind). A role may
// end its own sessions with pg_terminate_backend, which aborts their open
// transaction; pg_stat_activity shows a role its own sessions' queries.
const endSessionSQL = `SELECT count(*), count(*) FILTER (WHERE query ~* '^\s*commit'), count(pg_terminate_backend(pid))
FROM pg_stat_activity WHERE application_name = :'tag' AND pid <> pg_backend_pid();
`

// endSession ends the server session tagged tag, on a fresh context, and
// waits until it is gone. inTransaction reports that it was found, and not
// committing, when first asked: then what it did is rolled back. A session
// not found had ended by itself (or never started).
func endSession(ctx context.Context, ex Exec, s Source, tag, cmd string) (inTransaction bool, err error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), endTimeout)
	defer cancel()
	for first := true; ; first = false {
		var out, stderr limited
		code, err := ex.ExecIn(ctx, s.Container.ID, docker.ExecSpec{
			Cmd:    []string{"psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-v", "tag=" + tag, "--no-password", "--username=" + s.User, "--dbname=" + s.Database},
			Env:    s.env(sessionTag("psql")),
			User:   execUser,
			Stdin:  strings.NewReader(endSessionSQL),
			Stdout: &out,
			Stderr: &stderr,
		})
		if err == nil && code != 0 {
			err = s.commandError("psql", code, stderr.String())
		}
		var found, committing int
		if err == nil {
			if _, serr := fmt.Sscanf(out.String(), "%d|%d|", &found, &committing); serr != nil {
				err = fmt.Errorf("psql printed %q: %w", out.String(), serr)
			}
		}
		if err != nil {
			return false, fmt.Errorf("could not end the session of %s (application_name %s) in %s, which may still be running there: %w; end it with pg_terminate_backend", cmd, tag, s.Container.Name, err)
		}
		if first {
			inTransaction = found > 0 && committing == 0
		}
		if found == 0 {
			return inTransaction, nil
		}
		select {
		case <-ctx.Done():
			return false, fmt.Errorf("the session of %s (application_name %s) in %s did not end within %s", cmd, tag, s.Container.Name, endTimeout)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// limited keeps the first 64 KiB written to it.
type limited struct{ b strings.Builder }

func (l *limited) Write(p []byte) (int, error) {
	if room := 64<<10 - l.b.Len(); room > 0 {
		l.b.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}

func (l *limited) String() string { return strings.TrimSpace(l.b.String()) }

// Find locates the task manager's database: skip is non-empty when the
// project has no task-manager-db service.
func Find(db, taskManager *docker.Container) (s Source, skip string, err error) {
	if db == nil {
		return Source{}, "the Compose project has no " + DatabaseService + " service", nil
	}
	if !db.Running {
		return Source{}, "", fmt.Errorf("the task manager's database container %s is not running: start it (docker start %s), or leave the task manager out with --component", db.Name, db.Name)
	}
	s, err = Credentials(*db, taskManager)
	return s, "", err
}
