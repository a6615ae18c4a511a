package kit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"
	"github.com/neo4j/neo4j-go-driver/v5/neo4j/config"
	"gotest.tools/v3/assert"
	"gotest.tools/v3/icmd"
)

// Unset, as Options.BackupListen, leaves the backup listen address at the
// image's default (127.0.0.1:6362, unreachable from a helper container).
const Unset = "<unset>"

// ReadyTimeout bounds the wait for a database container to serve Bolt with
// every database that should be online online (a real Neo4j needs ~30 s).
const ReadyTimeout = 3 * time.Minute

// QueryTimeout bounds one Cypher statement run by the kit.
const QueryTimeout = 2 * time.Minute

// Options shape the database container StartDatabase creates.
type Options struct {
	// Password of the neo4j user; default a random one.
	Password string
	// Auth is the raw NEO4J_AUTH value ("neo4j/<password>" or "none");
	// it overrides Password.
	Auth string
	// BackupListen is NEO4J_server_backup_listen__address; default
	// 0.0.0.0:6362 (what an Infrahub deployment sets; not set with
	// Community); Unset leaves it out.
	BackupListen string
	// AuthFile, when set, puts the container's NEO4J_AUTH into a file at
	// that path (copied in before the first start, like a Docker secret)
	// and names it in AuthFileVar instead of setting NEO4J_AUTH.
	AuthFile string
	// AuthFileVar is NEO4J_AUTH_FILE (default) or NEO4J_AUTH_PATH.
	AuthFileVar string
	// Env is extra KEY=VALUE environment, applied after the kit's own (so
	// it can override NEO4J_ACCEPT_LICENSE_AGREEMENT, for instance).
	Env []string
	// Community runs the community image.
	Community bool
	// Image overrides the image.
	Image string
	// NoLabel leaves out infrahub_role=database.
	NoLabel bool
	// NoWait returns as soon as the container is created and started,
	// for tests that expect it not to come up; call Wait to wait.
	NoWait bool
}

// Database is an "Infrahub database" container: a Neo4j container in its own
// Compose project with its own network and named data volume.
type Database struct {
	Container
	Image   string
	Project string // com.docker.compose.project
	Network string // <project>_default
	Volume  string // <project>_database_data, mounted at /data
	// Auth is the container's NEO4J_AUTH; Password the neo4j user's
	// password ("" with auth none).
	Auth     string
	Password string

	ip     string
	driver neo4j.DriverWithContext
}

// StartDatabase creates a network, a data volume and a database container
// labelled like Infrahub's (infrahub_role=database, Compose project and
// service "database"), waits until Bolt answers and every database that
// should be online is online, and removes it all in t.Cleanup, together with
// any plugin helper container labelled as serving it.
func StartDatabase(t testing.TB, opts Options) *Database {
	t.Helper()
	d := &Database{Image: opts.Image, Project: UniqueName(t, "e2e")}
	if d.Image == "" {
		d.Image = Image(t)
		if opts.Community {
			d.Image = CommunityImage(t)
		}
	}
	d.Network = d.Project + "_default"
	d.Volume = d.Project + "_database_data"
	d.Name = d.Project + "-database-1"
	d.Password, d.Auth = opts.Password, opts.Auth
	initial := false
	switch {
	case d.Auth == "" && strings.Contains(d.Password, "/"):
		// NEO4J_AUTH cannot carry a '/' in the password (the entrypoint
		// refuses it, [S13b]): set it with neo4j-admin before the first
		// start, and start without NEO4J_AUTH.
		initial = true
	case d.Auth == "":
		if d.Password == "" {
			d.Password = "pw-" + randomHex(8)
		}
		d.Auth = "neo4j/" + d.Password
	default:
		if _, pw, ok := strings.Cut(d.Auth, "/"); ok {
			d.Password = pw
		}
	}

	MustDocker(t, "network", "create", "--label", RunLabel+"="+RunID, d.Network)
	t.Cleanup(func() { d.removeNetwork(t) })
	MustDocker(t, "volume", "create", "--label", RunLabel+"="+RunID, d.Volume)
	t.Cleanup(func() { removeVolume(t, d.Volume) })

	if initial {
		MustDocker(t, "run", "--rm", "--label", RunLabel+"="+RunID, "--volume", d.Volume+":/data", d.Image,
			"neo4j-admin", "dbms", "set-initial-password", d.Password)
	}
	args := []string{"create", "--name", d.Name, "--network", d.Network,
		"--volume", d.Volume + ":/data",
		"--label", RunLabel + "=" + RunID,
		"--label", "com.docker.compose.project=" + d.Project,
		"--label", "com.docker.compose.service=database",
		"--label", "com.docker.compose.container-number=1",
		"--label", "com.docker.compose.oneoff=False",
		"--env", "NEO4J_ACCEPT_LICENSE_AGREEMENT=yes"}
	switch {
	case d.Auth != "" && opts.AuthFile != "":
		v := opts.AuthFileVar
		if v == "" {
			v = "NEO4J_AUTH_FILE"
		}
		args = append(args, "--env", v+"="+opts.AuthFile)
	case d.Auth != "":
		args = append(args, "--env", "NEO4J_AUTH="+d.Auth)
	}
	if !opts.NoLabel {
		args = append(args, "--label", "infrahub_role=database")
	}
	switch {
	case opts.BackupListen == "" && opts.Community:
		// The community edition knows no backup settings (and a real one
		// refuses to start on an unknown setting).
	case opts.BackupListen == "":
		args = append(args, "--env", "NEO4J_server_backup_listen__address=0.0.0.0:6362")
	case opts.BackupListen == Unset:
	default:
		args = append(args, "--env", "NEO4J_server_backup_listen__address="+opts.BackupListen)
	}
	for _, e := range opts.Env {
		args = append(args, "--env", e)
	}
	d.ID = MustDocker(t, append(args, d.Image)...)
	t.Cleanup(func() { d.remove(t) })
	if opts.AuthFile != "" {
		copyFileIn(t, d.ID, opts.AuthFile, d.Auth+"\n")
	}
	MustDocker(t, "start", d.ID)
	if !opts.NoWait {
		d.Wait(t)
	}
	return d
}

// remove closes the driver and removes the container, its anonymous volumes
// and every plugin helper labelled as serving it.
func (d *Database) remove(t testing.TB) {
	if d.driver != nil {
		_ = d.driver.Close(context.Background())
		d.driver = nil
	}
	if helpers := d.Helpers(t); len(helpers) > 0 {
		t.Logf("kit: removing plugin helper containers left for %s: %s", d.Name, strings.Join(helpers, " "))
		removeContainers(t, helpers...)
	}
	if t.Failed() {
		t.Logf("kit: logs of %s:\n%s", d.Name, d.Logs())
	}
	removeContainers(t, d.ID)
}

// removeNetwork removes the network, first removing any container still
// attached to it (say, a helper the plugin failed to label or remove).
func (d *Database) removeNetwork(t testing.TB) {
	left := strings.Fields(Docker("network", "inspect", "-f", "{{range $id, $c := .Containers}}{{$id}} {{end}}", d.Network).Stdout())
	if len(left) > 0 {
		t.Logf("kit: removing containers still attached to %s: %s", d.Network, strings.Join(left, " "))
		removeContainers(t, left...)
	}
	if res := Docker("network", "rm", d.Network); res.Error != nil {
		t.Errorf("kit: cleanup: %s", res.String())
	}
}

func removeVolume(t testing.TB, name string) {
	if res := Docker("volume", "rm", "-f", name); res.Error != nil {
		t.Errorf("kit: cleanup: %s", res.String())
	}
}

// Helpers lists the containers labelled as plugin helpers serving this
// database (TargetLabel = the database container ID), running or not.
func (d *Database) Helpers(t testing.TB) []string {
	t.Helper()
	return strings.Fields(MustDocker(t, "ps", "-aq", "--no-trunc", "--filter", "label="+TargetLabel+"="+d.ID))
}

// IP is the database container's address on its network, as of the last
// (re)start; the plugin and the kit reach it by IP, never by name.
func (d *Database) IP(t testing.TB) string {
	t.Helper()
	if d.ip == "" {
		d.ip = d.Inspect(t, fmt.Sprintf("{{(index .NetworkSettings.Networks %q).IPAddress}}", d.Network))
	}
	return d.ip
}

// BoltURL is bolt://<ip>:7687.
func (d *Database) BoltURL(t testing.TB) string {
	t.Helper()
	return "bolt://" + d.IP(t) + ":7687"
}

// Driver is a Go driver connected to the database's Bolt port with the
// container's credentials.
func (d *Database) Driver(t testing.TB) neo4j.DriverWithContext {
	t.Helper()
	if err := d.connect(); err != nil {
		t.Fatalf("kit: driver for %s: %v", d.Name, err)
	}
	return d.driver
}

func (d *Database) connect() error {
	if d.driver != nil {
		return nil
	}
	if d.ip == "" {
		res := Docker("inspect", "-f", fmt.Sprintf("{{(index .NetworkSettings.Networks %q).IPAddress}}", d.Network), d.ID)
		if res.Error != nil {
			return fmt.Errorf("inspect: %s", res.String())
		}
		d.ip = strings.TrimSpace(res.Stdout())
	}
	auth := neo4j.NoAuth()
	switch user, pw, ok := strings.Cut(d.Auth, "/"); {
	case ok:
		auth = neo4j.BasicAuth(user, pw, "")
	case d.Auth == "" && d.Password != "":
		// Set with neo4j-admin dbms set-initial-password (see StartDatabase).
		auth = neo4j.BasicAuth("neo4j", d.Password, "")
	}
	drv, err := neo4j.NewDriverWithContext("bolt://"+d.ip+":7687", auth, func(c *config.Config) {
		c.SocketConnectTimeout = 5 * time.Second
		c.ConnectionAcquisitionTimeout = 30 * time.Second
	})
	if err != nil {
		return err
	}
	d.driver = drv
	return nil
}

// Wait waits until the container serves Bolt and every database whose
// requested status is online is online. It fails the test, with the
// container's logs, if the container exits or ReadyTimeout passes.
func (d *Database) Wait(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(ReadyTimeout)
	var last error
	for time.Now().Before(deadline) {
		if !d.Running(t) {
			t.Fatalf("kit: database container %s exited:\n%s", d.Name, d.Logs())
		}
		if last = d.ready(t); last == nil {
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("kit: database %s not ready after %v: %v\n%s", d.Name, ReadyTimeout, last, d.Logs())
}

func (d *Database) ready(t testing.TB) error {
	recs, err := d.RunErr("system", "SHOW DATABASES", nil)
	if err != nil {
		return err
	}
	if len(recs) == 0 {
		return errors.New("SHOW DATABASES returned no rows")
	}
	for _, r := range recs {
		name, _ := r.Get("name")
		requested, _ := r.Get("requestedStatus")
		current, _ := r.Get("currentStatus")
		if requested == "online" && current != "online" {
			return fmt.Errorf("database %v is %v", name, current)
		}
	}
	return nil
}

// RunErr runs one auto-commit statement against database db and returns its
// records or the error (a *neo4j.Neo4jError for server failures; see Code).
func (d *Database) RunErr(db, cypher string, params map[string]any) ([]*neo4j.Record, error) {
	ctx, cancel := context.WithTimeout(context.Background(), QueryTimeout)
	defer cancel()
	if err := d.connect(); err != nil {
		return nil, err
	}
	s := d.driver.NewSession(ctx, neo4j.SessionConfig{DatabaseName: db})
	defer s.Close(ctx)
	res, err := s.Run(ctx, cypher, params)
	if err != nil {
		return nil, err
	}
	return res.Collect(ctx)
}

// Run runs one auto-commit statement against db and fails the test on error.
func (d *Database) Run(t testing.TB, db, cypher string, params map[string]any) []*neo4j.Record {
	t.Helper()
	recs, err := d.RunErr(db, cypher, params)
	if err != nil {
		t.Fatalf("kit: %s on %s: %v", cypher, db, err)
	}
	return recs
}

// Code is the Neo4j status code of err ("Neo.ClientError...."), or "" when
// err is not a server error.
func Code(err error) string {
	var n *neo4j.Neo4jError
	if errors.As(err, &n) {
		return n.Code
	}
	return ""
}

// Seed creates n nodes labelled Seed in database db.
func (d *Database) Seed(t testing.TB, db string, n int) {
	t.Helper()
	d.Run(t, db, "UNWIND range(1, $n) AS i CREATE (:Seed {i: i})", map[string]any{"n": n})
}

// Count is the number of nodes in database db.
func (d *Database) Count(t testing.TB, db string) int64 {
	t.Helper()
	recs := d.Run(t, db, "MATCH (n) RETURN count(n) AS n", nil)
	if len(recs) != 1 {
		t.Fatalf("kit: count on %s returned %d rows", db, len(recs))
	}
	n, _ := recs[0].Get("n")
	count, ok := n.(int64)
	if !ok {
		t.Fatalf("kit: count on %s returned %T %v", db, n, n)
	}
	return count
}

// Statuses maps every database to its current status (SHOW DATABASES).
func (d *Database) Statuses(t testing.TB) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, r := range d.Run(t, "system", "SHOW DATABASES", nil) {
		name, _ := r.Get("name")
		status, _ := r.Get("currentStatus")
		out[fmt.Sprint(name)] = fmt.Sprint(status)
	}
	return out
}

// Status is database db's current status ("online", "offline", ...), or ""
// when it does not exist.
func (d *Database) Status(t testing.TB, db string) string {
	t.Helper()
	return d.Statuses(t)[db]
}

// WaitStatus waits until database db has status, failing after ReadyTimeout.
func (d *Database) WaitStatus(t testing.TB, db, status string) {
	t.Helper()
	deadline := time.Now().Add(ReadyTimeout)
	for got := d.Status(t, db); got != status; got = d.Status(t, db) {
		if time.Now().After(deadline) {
			t.Fatalf("kit: database %s is %q, want %q", db, got, status)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// Stop stops the container (not a database inside it).
func (d *Database) Stop(t testing.TB) {
	t.Helper()
	MustDocker(t, "stop", d.ID)
}

// Start starts the container again and waits until it is ready; its IP may
// have changed, so the driver is reconnected.
func (d *Database) Start(t testing.TB) {
	t.Helper()
	MustDocker(t, "start", d.ID)
	d.Reconnect(t)
	d.Wait(t)
}

// Reconnect forgets the IP and the driver, for after a restart.
func (d *Database) Reconnect(t testing.TB) {
	t.Helper()
	if d.driver != nil {
		_ = d.driver.Close(context.Background())
		d.driver = nil
	}
	d.ip = ""
}

// FaultsFile is the stand-in's fault knob file inside the data volume.
const FaultsFile = "/data/standin-faults.json"

// SetFaults writes the stand-in's fault knobs (see e2e/standin/faults), for
// example `{"fail": {"restore": 1}}`. Stand-in only: the test is skipped
// against a real image.
func (d *Database) SetFaults(t testing.TB, knobs string) {
	t.Helper()
	RequireStandIn(t, "it sets the stand-in's fault knobs")
	// World-writable: the server (uid 7474) and neo4j-admin (root, in a
	// helper) both consume knobs.
	d.ExecInput(knobs, "sh", "-c", "cat > "+FaultsFile+" && chmod 666 "+FaultsFile).Assert(t, icmd.Success)
}

// Faults returns the fault knob file as it is now (knobs are consumed).
func (d *Database) Faults(t testing.TB) string {
	t.Helper()
	RequireStandIn(t, "it reads the stand-in's fault knobs")
	return d.MustExec(t, "cat", FaultsFile)
}

// Executed is one user, role or privilege statement the stand-in accepted
// (e2e/standin/cypher records them in /data/standin-executed.jsonl).
type Executed struct {
	DB        string `json:"db"`        // database the statement ran on
	Statement string `json:"statement"` // its text
	Database  string `json:"database"`  // value of its $database parameter
}

// Executed lists the user, role and privilege statements the stand-in has
// run, oldest first, so restore tests can see restore_metadata.cypher ran
// and with which $database. Stand-in only.
func (d *Database) Executed(t testing.TB) []Executed {
	t.Helper()
	RequireStandIn(t, "it reads the stand-in's record of executed statements")
	res := d.Exec("cat", "/data/standin-executed.jsonl")
	if res.ExitCode != 0 && strings.Contains(res.Stderr(), "No such file") {
		return nil
	}
	res.Assert(t, icmd.Success)
	var out []Executed
	for _, line := range strings.Split(strings.TrimSpace(res.Stdout()), "\n") {
		if line == "" {
			continue
		}
		var e Executed
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("kit: standin-executed.jsonl: %v: %q", err, line)
		}
		out = append(out, e)
	}
	return out
}

// copyFileIn puts a world-readable file with content at path in the
// container id (created, not yet started), with its parent directories.
func copyFileIn(t testing.TB, id, path, content string) {
	t.Helper()
	root := t.TempDir()
	local := filepath.Join(root, filepath.FromSlash(path))
	assert.NilError(t, os.MkdirAll(filepath.Dir(local), 0o755))
	assert.NilError(t, os.WriteFile(local, []byte(content), 0o644))
	top := strings.SplitN(strings.TrimPrefix(path, "/"), "/", 2)[0]
	MustDocker(t, "cp", filepath.Join(root, top), id+":/")
}
