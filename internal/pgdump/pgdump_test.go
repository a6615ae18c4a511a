package pgdump

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/docker"
)

func TestCredentials(t *testing.T) {
	db := docker.Container{Name: "tmdb", Env: []string{"POSTGRES_USER=prefect", "POSTGRES_PASSWORD=s/e:c@r", "POSTGRES_DB=flows"}}
	s, err := Credentials(db, nil)
	assert.NilError(t, err)
	assert.Check(t, is.Equal(s.User, "prefect"))
	assert.Check(t, is.Equal(s.Password, "s/e:c@r"))
	assert.Check(t, is.Equal(s.Database, "flows"))

	// Without POSTGRES_*: the task manager's URL (Prefect 3's name too).
	tm := &docker.Container{Name: "tm", Env: []string{"PREFECT_SERVER_DATABASE_CONNECTION_URL=postgresql+asyncpg://u:p%40ss@task-manager-db:5432/prefect"}}
	s, err = Credentials(docker.Container{Name: "tmdb"}, tm)
	assert.NilError(t, err)
	assert.Check(t, is.DeepEqual([]string{s.User, s.Password, s.Database}, []string{"u", "p@ss", "prefect"}))
	assert.Check(t, is.Contains(s.From, "PREFECT_SERVER_DATABASE_CONNECTION_URL"))

	// Nothing at all: the image's defaults.
	s, err = Credentials(docker.Container{Name: "tmdb"}, nil)
	assert.NilError(t, err)
	assert.Check(t, is.DeepEqual([]string{s.User, s.Database}, []string{"postgres", "postgres"}))
}

type fakeExec struct {
	specs []docker.ExecSpec
	out   string
	code  int
	stdin string
}

func (f *fakeExec) ExecIn(ctx context.Context, id string, spec docker.ExecSpec) (int, error) {
	f.specs = append(f.specs, spec)
	if spec.Stdout != nil {
		io.WriteString(spec.Stdout, f.out)
	}
	if spec.Stdin != nil {
		b, _ := io.ReadAll(spec.Stdin)
		f.stdin = string(b)
	}
	if f.code != 0 && spec.Stderr != nil {
		io.WriteString(spec.Stderr, "pg_dump: error: connection failed: password authentication failed for user \"postgres\"")
	}
	return f.code, nil
}

func TestTakeStreamsTheDumpAndKeepsThePasswordOutOfArgv(t *testing.T) {
	folder, err := backupset.Create(t.TempDir())
	assert.NilError(t, err)
	ex := &fakeExec{out: "PGDMP custom dump bytes"}
	src := Source{Container: docker.Container{ID: "id", Name: "tmdb"}, User: "postgres", Password: "secret", Database: "prefect"}
	rec, err := Take(context.Background(), ex, folder, src, "task-manager-2026-01-02T03-04-05.pgdump")
	assert.NilError(t, err)
	assert.Check(t, is.Equal(rec.Component, backupset.ComponentTaskManager))
	assert.Check(t, is.Equal(rec.Size, int64(len(ex.out))))
	assert.Check(t, is.Equal(rec.Time.Format("2006-01-02T15:04:05"), "2026-01-02T03:04:05"))
	spec := ex.specs[0]
	assert.Check(t, !strings.Contains(strings.Join(spec.Cmd, " "), "secret"))
	assert.Check(t, is.Contains(spec.Env, "PGPASSWORD=secret"))
	assert.Check(t, is.Equal(spec.Cmd[0], "pg_dump"))
	assert.Check(t, is.Contains(spec.Cmd, "--format=custom"))

	// A failing pg_dump leaves nothing, says why and never the password.
	ex = &fakeExec{code: 1}
	_, err = Take(context.Background(), ex, folder, src, "task-manager-2026-01-02T03-04-06.pgdump")
	assert.Check(t, is.ErrorContains(err, "password authentication failed"))
	assert.Check(t, !strings.Contains(err.Error(), "secret"))
	cat, err := folder.Scan()
	assert.NilError(t, err)
	assert.Check(t, is.Len(cat.Partials, 0))
	assert.Check(t, is.Len(cat.Components, 1))
}

func TestRestoreFeedsStdinInOneTransaction(t *testing.T) {
	ex := &fakeExec{}
	src := Source{Container: docker.Container{ID: "id", Name: "tmdb"}, User: "postgres", Password: "secret", Database: "prefect"}
	assert.NilError(t, Restore(context.Background(), ex, src, strings.NewReader("PGDMP...")))
	assert.Check(t, is.Equal(ex.stdin, "PGDMP..."))
	cmd := strings.Join(ex.specs[0].Cmd, " ")
	for _, f := range []string{"pg_restore", "--clean", "--if-exists", "--single-transaction", "--dbname=prefect"} {
		assert.Check(t, is.Contains(cmd, f))
	}
	assert.Check(t, !strings.Contains(cmd, "secret"))
}

// fakeServer answers the plugin's execs in task-manager-db: pg_dump and
// pg_restore fail as told (err: the exec's end was not seen), and psql
// reports and ends the sessions of sessions (application_name -> its last
// statement), one poll after another.
type fakeServer struct {
	err      error // returned by pg_dump and pg_restore
	sessions map[string]string
	// lingers is how many polls a session survives its termination.
	lingers int
	psqlErr bool
	calls   []docker.ExecSpec
}

func (f *fakeServer) ExecIn(ctx context.Context, id string, spec docker.ExecSpec) (int, error) {
	f.calls = append(f.calls, spec)
	switch spec.Cmd[0] {
	case "pg_dump", "pg_restore":
		if spec.Stdin != nil {
			_, _ = io.ReadAll(spec.Stdin)
		}
		return -1, f.err
	case "psql":
		if f.psqlErr {
			io.WriteString(spec.Stderr, "psql: error: connection refused")
			return 2, nil
		}
		sql, _ := io.ReadAll(spec.Stdin)
		if !strings.Contains(string(sql), "pg_terminate_backend") {
			return 3, nil
		}
		tag := ""
		for i, a := range spec.Cmd {
			if a == "-v" && strings.HasPrefix(spec.Cmd[i+1], "tag=") {
				tag = strings.TrimPrefix(spec.Cmd[i+1], "tag=")
			}
		}
		q, ok := f.sessions[tag]
		if !ok {
			io.WriteString(spec.Stdout, "0|0|0\n")
			return 0, nil
		}
		committing := 0
		if strings.HasPrefix(q, "COMMIT") {
			committing = 1
		}
		fmt.Fprintf(spec.Stdout, "1|%d|1\n", committing)
		if f.lingers > 0 {
			f.lingers--
		} else {
			delete(f.sessions, tag)
		}
		return 0, nil
	}
	return 127, nil
}

// env returns the value of key in an exec's environment.
func env(spec docker.ExecSpec, key string) string {
	for _, kv := range spec.Env {
		if v, ok := strings.CutPrefix(kv, key+"="); ok {
			return v
		}
	}
	return ""
}

// An interrupted pg_restore keeps running in the container (closing the
// exec's streams does not stop it, and one that read all its input goes on
// to COMMIT): its session is ended, and the error says whether it was still
// inside its transaction, when nothing of it is kept.
func TestRestoreUnfinishedEndsItsSession(t *testing.T) {
	src := Source{Container: docker.Container{ID: "id", Name: "tmdb"}, User: "postgres", Password: "secret", Database: "prefect"}
	for _, tc := range []struct {
		name      string
		last      string // the session's last statement; "" : no session
		lingers   int
		psqlErr   bool
		unchanged bool
		want      string
	}{
		{name: "inside its transaction", last: "CREATE INDEX flow_run_name ON public.flow_run", lingers: 2, unchanged: true, want: "the database is as it was"},
		{name: "committing", last: "COMMIT", want: "its outcome is unknown"},
		{name: "ended by itself", want: "its outcome is unknown"},
		{name: "the session cannot be ended", last: "COPY public.flow_run", psqlErr: true, want: "could not end the session of pg_restore"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel() // Ctrl-C
			f := &fakeServer{err: ctx.Err(), lingers: tc.lingers, psqlErr: tc.psqlErr, sessions: map[string]string{}}
			f.sessions["?"] = tc.last // the tag is known once pg_restore runs
			ex := execFunc(func(c context.Context, id string, spec docker.ExecSpec) (int, error) {
				if spec.Cmd[0] == "pg_restore" {
					delete(f.sessions, "?")
					if tc.last != "" {
						f.sessions[env(spec, "PGAPPNAME")] = tc.last
					}
				}
				return f.ExecIn(c, id, spec)
			})
			err := Restore(ctx, ex, src, strings.NewReader("PGDMP..."))
			var unfinished *UnfinishedError
			assert.Assert(t, errors.As(err, &unfinished), "got %v", err)
			assert.Check(t, is.Equal(unfinished.Unchanged, tc.unchanged))
			assert.Check(t, errors.Is(err, context.Canceled), "an interruption stays one")
			assert.Check(t, is.ErrorContains(err, tc.want))
			assert.Check(t, !strings.Contains(err.Error(), "secret"))
			if !tc.psqlErr {
				assert.Check(t, is.Len(f.sessions, 0), "the session is gone")
			}

			// psql ran on a fresh context, on the same database, with the
			// pg_restore's tag as a variable, never in the SQL text.
			tag := env(f.calls[0], "PGAPPNAME")
			assert.Check(t, strings.HasPrefix(tag, "docker-infrahubdb-pg_restore-"), tag)
			for _, c := range f.calls[1:] {
				assert.Check(t, is.Equal(c.Cmd[0], "psql"))
				assert.Check(t, is.Contains(c.Cmd, "tag="+tag))
				assert.Check(t, is.Contains(c.Env, "PGPASSWORD=secret"))
				assert.Check(t, !strings.Contains(strings.Join(c.Cmd, " "), "secret"))
				assert.Check(t, env(c, "PGAPPNAME") != tag, "psql does not end itself")
			}
			if tc.lingers > 0 {
				assert.Check(t, is.Len(f.calls, 1+tc.lingers+2), "polled until the session was gone")
			}
		})
	}
}

// A pg_dump whose end was not seen (here: the folder's disk filled up) is
// ended too: left running it would hold its locks on every table.
func TestDumpUnfinishedEndsItsSession(t *testing.T) {
	src := Source{Container: docker.Container{ID: "id", Name: "tmdb"}, User: "postgres", Password: "secret", Database: "prefect"}
	full := errors.New("no space left on device")
	f := &fakeServer{err: full, sessions: map[string]string{}}
	ex := execFunc(func(c context.Context, id string, spec docker.ExecSpec) (int, error) {
		if spec.Cmd[0] == "pg_dump" {
			f.sessions[env(spec, "PGAPPNAME")] = "COPY public.flow_run TO stdout"
		}
		return f.ExecIn(c, id, spec)
	})
	err := Dump(context.Background(), ex, src, io.Discard)
	assert.Check(t, errors.Is(err, full), "got %v", err)
	assert.Check(t, is.Len(f.sessions, 0), "the session is gone")
	assert.Check(t, is.Len(f.calls, 3), "pg_dump, psql ending it, psql seeing it gone")
}

type execFunc func(ctx context.Context, id string, spec docker.ExecSpec) (int, error)

func (f execFunc) ExecIn(ctx context.Context, id string, spec docker.ExecSpec) (int, error) {
	return f(ctx, id, spec)
}
