package doctor

import (
	"context"
	"errors"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/opsmill/docker-infrahubdb/internal/helper/helpertest"
	"github.com/opsmill/docker-infrahubdb/internal/neo4j"
	"github.com/opsmill/docker-infrahubdb/internal/progress"
)

type bolt struct{}

func (bolt) Close(context.Context) error { return nil }

func statuses(r *Report) map[string]string {
	m := map[string]string{}
	for _, c := range r.Checks {
		m[c.Name] = c.Status
	}
	return m
}

func run(t *testing.T, eng *helpertest.Engine, login error) *Report {
	t.Helper()
	return Run(context.Background(), eng, Options{
		Credentials: &neo4j.Credentials{User: "neo4j", Password: "secret"},
		Folder:      t.TempDir(),
		BoltAddress: "127.0.0.1:7687", // the fake engine has no tunnel
		Connect: func(context.Context, string, neo4j.Credentials) (Bolt, error) {
			if login != nil {
				return nil, login
			}
			return bolt{}, nil
		},
	}, progress.Nop)
}

func TestDoctorHealthyEnterprise(t *testing.T) {
	eng := helpertest.New()
	r := run(t, eng, nil)
	s := statuses(r)
	assert.Check(t, r.OK, "%+v", r.Checks)
	for _, name := range []string{"Docker engine", "database container", "Neo4j edition and version", "credentials", "helper image", "login (through a helper container)", "backup port", "backup folder"} {
		assert.Check(t, is.Equal(s[name], OK), name)
	}
	assert.Check(t, is.Len(eng.Running(), 0), "the helper is removed")
}

func TestDoctorSaysWhatFails(t *testing.T) {
	eng := helpertest.New()
	eng.ReachErr = errors.New("connection refused")
	r := run(t, eng, errors.New("unauthorized"))
	s := statuses(r)
	assert.Check(t, !r.OK)
	assert.Check(t, is.Equal(s["login (through a helper container)"], Failed))
	assert.Check(t, is.Equal(s["backup port"], Failed))
	assert.Check(t, is.Len(eng.Running(), 0), "the helper is removed")

	eng = helpertest.New()
	eng.Database = nil
	r = run(t, eng, nil)
	s = statuses(r)
	assert.Check(t, is.Equal(s["database container"], Failed))
	assert.Check(t, is.Equal(s["login (through a helper container)"], Skipped))
	assert.Check(t, is.Equal(s["backup folder"], OK), "the folder is checked all the same")
}
