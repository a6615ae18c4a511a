package kit

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"gotest.tools/v3/icmd"
)

// PostgresImageEnv names a PostgreSQL image to use instead of the local
// infrahubdb-e2e/postgres (say postgres:15 on a machine that can pull it).
// It must keep its data in /var/lib/postgresql/data (PostgreSQL 17 and
// older; 18 moved it).
const PostgresImageEnv = "INFRAHUBDB_E2E_POSTGRES_IMAGE"

// PostgresData is where the PostgreSQL image keeps its data (PGDATA, a
// VOLUME).
const PostgresData = "/var/lib/postgresql/data"

// PostgresImage is the PostgreSQL image of the suite: $INFRAHUBDB_E2E_POSTGRES_IMAGE
// when set, else infrahubdb-e2e/postgres:latest (Debian's PostgreSQL 15),
// built once per test binary by e2e/postgres/build-image.sh (what
// `make e2e-postgres-image` runs; it rebuilds only when its inputs changed).
func PostgresImage(t testing.TB) string {
	t.Helper()
	if ref := os.Getenv(PostgresImageEnv); ref != "" {
		return ref
	}
	return localImage(t, filepath.Join("e2e", "postgres", "build-image.sh"))
}

// AppImage is infrahubdb-e2e/app:latest, built once per test binary by
// e2e/appimage/build-image.sh: a FROM-scratch image whose one program runs
// until SIGTERM (then exits 0 at once), standing for Infrahub's services
// that hold no database. It has no shell: put files into its volumes with
// `docker cp`.
func AppImage(t testing.TB) string {
	t.Helper()
	return localImage(t, filepath.Join("e2e", "appimage", "build-image.sh"))
}

type builtImage struct {
	once sync.Once
	ref  string
	err  string
}

var (
	builtMu sync.Mutex
	built   = map[string]*builtImage{}
)

// localImage runs a build-image.sh script (relative to the repository) once
// per test binary and returns the image reference it printed last.
func localImage(t testing.TB, script string) string {
	t.Helper()
	builtMu.Lock()
	b := built[script]
	if b == nil {
		b = &builtImage{}
		built[script] = b
	}
	builtMu.Unlock()
	b.once.Do(func() {
		start := time.Now()
		res := icmd.RunCmd(icmd.Cmd{Command: []string{"bash", script}, Dir: RepoRoot(t), Timeout: 15 * time.Minute})
		if res.Error != nil {
			b.err = "kit: " + script + " failed: " + res.String()
			return
		}
		lines := strings.Split(strings.TrimSpace(res.Stdout()), "\n")
		b.ref = strings.TrimSpace(lines[len(lines)-1])
		if b.ref == "" || strings.ContainsAny(b.ref, " \t") {
			b.err = "kit: " + script + " did not end with an image reference: " + res.String()
		}
		t.Logf("kit: %s: %s (%v)", script, b.ref, time.Since(start).Round(time.Millisecond))
	})
	if b.err != "" {
		t.Fatal(b.err)
	}
	return b.ref
}

// PostgresOptions shape the container StartPostgres creates.
type PostgresOptions struct {
	// User, Password and DB are POSTGRES_USER (default postgres),
	// POSTGRES_PASSWORD (default a random one) and POSTGRES_DB (default
	// the user, as the official image does).
	User, Password, DB string
	// Network to attach to; default the engine's default bridge.
	Network string
	// Volume is a named volume to mount at /var/lib/postgresql/data
	// (created if missing, and then removed in t.Cleanup); default an
	// anonymous volume, removed with the container.
	Volume string
	// Labels are extra labels, "key=value".
	Labels []string
	// Env is extra KEY=VALUE environment (POSTGRES_INITDB_ARGS, ...).
	Env []string
	// Image overrides the image.
	Image string
	// NoWait returns as soon as the container is started; call Wait.
	NoWait bool
}

// Postgres is a PostgreSQL server container.
type Postgres struct {
	Container
	Image    string
	User     string
	Password string
	DB       string
	Network  string // "" for the default bridge

	ip string
}

// PostgresReadyTimeout bounds the wait for a PostgreSQL container to accept
// TCP connections (initdb plus a first start takes 5-15 s here).
const PostgresReadyTimeout = 2 * time.Minute

// StartPostgres starts a PostgreSQL container (the suite's image unless
// opts.Image), waits until it accepts TCP connections, and removes it with
// its volumes (`docker rm -fv`) in t.Cleanup, printing its logs first when
// the test failed.
func StartPostgres(t testing.TB, opts PostgresOptions) *Postgres {
	t.Helper()
	p := &Postgres{Image: opts.Image, User: opts.User, Password: opts.Password, DB: opts.DB, Network: opts.Network}
	if p.Image == "" {
		p.Image = PostgresImage(t)
	}
	if p.User == "" {
		p.User = "postgres"
	}
	if p.Password == "" {
		p.Password = "pw-" + randomHex(8)
	}
	if p.DB == "" {
		p.DB = p.User
	}
	p.Name = UniqueName(t, "e2e-postgres")
	args := []string{"run", "-d", "--name", p.Name,
		"--label", RunLabel + "=" + RunID,
		"--env", "POSTGRES_USER=" + p.User,
		"--env", "POSTGRES_PASSWORD=" + p.Password,
		"--env", "POSTGRES_DB=" + p.DB}
	if p.Network != "" {
		args = append(args, "--network", p.Network)
	}
	if opts.Volume != "" {
		if Docker("volume", "inspect", opts.Volume).ExitCode != 0 {
			MustDocker(t, "volume", "create", "--label", RunLabel+"="+RunID, opts.Volume)
			t.Cleanup(func() { removeVolume(t, opts.Volume) })
		}
		args = append(args, "--volume", opts.Volume+":"+PostgresData)
	}
	for _, l := range opts.Labels {
		args = append(args, "--label", l)
	}
	for _, e := range opts.Env {
		args = append(args, "--env", e)
	}
	p.ID = MustDocker(t, append(args, p.Image)...)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("kit: logs of %s:\n%s", p.Name, p.Logs())
		}
		removeContainers(t, p.ID)
	})
	if !opts.NoWait {
		p.Wait(t)
	}
	return p
}

// Wait waits until the server accepts TCP connections on 127.0.0.1:5432
// inside the container. The entrypoint's first-start server listens on the
// socket only, so this is the real server. It fails the test, with the
// logs, if the container exits or PostgresReadyTimeout passes.
func (p *Postgres) Wait(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(PostgresReadyTimeout)
	var last *icmd.Result
	for time.Now().Before(deadline) {
		if !p.Running(t) {
			t.Fatalf("kit: PostgreSQL container %s exited:\n%s", p.Name, p.Logs())
		}
		last = p.Exec("pg_isready", "-q", "-h", "127.0.0.1", "-p", "5432", "-U", p.User, "-d", p.DB)
		if last.ExitCode == 0 {
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("kit: PostgreSQL %s not ready after %v: %s\n%s", p.Name, PostgresReadyTimeout, last.String(), p.Logs())
}

// IP is the container's address (on Network, or the default bridge), as of
// the last (re)start.
func (p *Postgres) IP(t testing.TB) string {
	t.Helper()
	if p.ip == "" {
		format := "{{.NetworkSettings.IPAddress}}"
		if p.Network != "" {
			format = fmt.Sprintf("{{(index .NetworkSettings.Networks %q).IPAddress}}", p.Network)
		}
		p.ip = p.Inspect(t, format)
		if p.ip == "" {
			t.Fatalf("kit: %s has no IP address (is it running?)", p.Name)
		}
	}
	return p.ip
}

// URL is postgresql://<user>:<password>@<ip>:5432/<db>, for clients in
// other containers.
func (p *Postgres) URL(t testing.TB) string {
	t.Helper()
	return fmt.Sprintf("postgresql://%s:%s@%s:5432/%s", p.User, p.Password, p.IP(t), p.DB)
}

// PsqlErr runs SQL with psql inside the container, over the local socket as
// p.User on p.DB (trust, as in the official image), unaligned and
// tuples-only, stopping at the first error; it returns the result without
// asserting.
func (p *Postgres) PsqlErr(sql string) *icmd.Result {
	return p.ExecInput(sql, "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-At", "-U", p.User, "-d", p.DB)
}

// Psql runs SQL (see PsqlErr), fails the test on error and returns stdout,
// trimmed.
func (p *Postgres) Psql(t testing.TB, sql string) string {
	t.Helper()
	res := p.PsqlErr(sql)
	res.Assert(t, icmd.Success)
	return strings.TrimSpace(res.Stdout())
}

// Volume is the name of the volume mounted at /var/lib/postgresql/data.
func (p *Postgres) Volume(t testing.TB) string {
	t.Helper()
	return p.Inspect(t, `{{range .Mounts}}{{if eq .Destination "`+PostgresData+`"}}{{.Name}}{{end}}{{end}}`)
}

// Stop stops the container (docker stop: SIGINT, PostgreSQL's fast
// shutdown).
func (p *Postgres) Stop(t testing.TB) {
	t.Helper()
	MustDocker(t, "stop", p.ID)
	p.ip = ""
}

// Start starts the container again and waits until it is ready; its IP may
// have changed.
func (p *Postgres) Start(t testing.TB) {
	t.Helper()
	MustDocker(t, "start", p.ID)
	p.ip = ""
	p.Wait(t)
}
