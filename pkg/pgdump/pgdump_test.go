package pgdump

import (
	"context"
	"io"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/opsmill/docker-infrahubdb/pkg/backupset"
	"github.com/opsmill/docker-infrahubdb/pkg/docker"
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
