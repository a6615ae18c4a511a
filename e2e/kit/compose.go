package kit

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/icmd"
)

// Infrahub's Compose services, as named in its stock docker-compose.yml.
const (
	ServiceDatabase      = "database"
	ServiceServer        = "infrahub-server"
	ServiceTaskWorker    = "task-worker"
	ServiceTaskManager   = "task-manager"
	ServiceTaskManagerDB = "task-manager-db"
	ServiceMessageQueue  = "message-queue"
	ServiceCache         = "cache"
)

// TransientDataDir is where the cache (redis) and the message queue
// (rabbitmq) keep their data: the VOLUME of their official images.
var TransientDataDir = map[string]string{ServiceCache: "/data", ServiceMessageQueue: "/var/lib/rabbitmq"}

// CoreServices is the smallest Infrahub-shaped project: the graph database,
// the server that holds the object storage volume, and a worker.
var CoreServices = []string{ServiceDatabase, ServiceServer, ServiceTaskWorker}

// StockServices is every service of the stock docker-compose.yml: with the
// task manager and its PostgreSQL, and (as app containers) the message
// queue and the cache, which hold only their images' anonymous volumes.
var StockServices = []string{ServiceDatabase, ServiceServer, ServiceTaskWorker,
	ServiceTaskManager, ServiceTaskManagerDB, ServiceMessageQueue, ServiceCache}

// ComposeOptions shape the project StartCompose creates.
type ComposeOptions struct {
	// Services to create; default CoreServices. Dependencies on services
	// left out are dropped.
	Services []string
	// Neo4jImage is the database service's image: the stand-in's
	// enterprise or community reference (kit.Image, kit.CommunityImage)
	// or a real one; default kit.CommunityImage, as in the stock file.
	// A reference containing "enterprise" gets
	// NEO4J_ACCEPT_LICENSE_AGREEMENT=yes.
	Neo4jImage string
	// DatabaseEnv is extra KEY=VALUE environment for the database, e.g.
	// NEO4J_server_backup_listen__address=0.0.0.0:6362 (the stock file
	// sets none).
	DatabaseEnv []string
	// DatabaseLabels are labels for the database ("infrahub_role=database");
	// the stock file sets none.
	DatabaseLabels []string
	// DBUser and DBPassword are INFRAHUB_DB_USERNAME/PASSWORD and the
	// NEO4J_AUTH they make; default neo4j/admin.
	DBUser, DBPassword string
	// StorageDriver is INFRAHUB_STORAGE_DRIVER: "local" (default) or "s3"
	// (then AWS_S3_BUCKET_NAME=infrahub-storage and AWS_S3_ENDPOINT_URL
	// are set; no S3 server is run). The storage_data volume exists
	// either way, as in the stock file.
	StorageDriver string
	// StoragePath is where storage_data is mounted in infrahub-server
	// (INFRAHUB_STORAGE_LOCAL_PATH); default /opt/infrahub/storage.
	StoragePath string
	// ServerEnv is extra KEY=VALUE environment for infrahub-server.
	ServerEnv []string
	// PostgresImage overrides task-manager-db's image (default
	// kit.PostgresImage).
	PostgresImage string
	// Restart is every service's restart policy; default "unless-stopped"
	// as in the stock file; "no" for none.
	Restart string
	// NoWait returns once `docker-compose up -d` is done, without waiting
	// for the database (and task-manager-db) to answer.
	NoWait bool
	// File is a compose file of Infrahub's shape to run as it is (e.g.
	// examples/compose.yaml) instead of the one the kit writes: its
	// services are StockServices, its credentials the stock neo4j/admin
	// and postgres/postgres/prefect, and Env gives its variables (image
	// references). The other options do not apply.
	File string
	Env  []string
}

// Compose is a Compose project shaped like Infrahub's stock
// docker-compose.yml, made by the machine's Compose tool (docker-compose,
// v1: containers are named <project>_<service>_1, volumes
// <project>_<volume>, the network <project>_default; the
// com.docker.compose.project and .service labels are those of v2).
type Compose struct {
	Project string
	File    string // the compose file (JSON, which is YAML)
	// Containers maps each service to its (one) container.
	Containers map[string]*Container
	Neo4jImage string
	// Auth is the database's NEO4J_AUTH ("neo4j/admin").
	Auth string
	// Postgres* are task-manager-db's user, password and database.
	PostgresUser, PostgresPassword, PostgresDB string

	db   *Database
	pg   *Postgres
	down bool
	env  []string // the compose file's variables (ComposeOptions.Env)
}

// ComposeEnv names the Compose command to run instead of ComposeTool, e.g.
// "docker compose" where Compose v2 is installed.
const ComposeEnv = "INFRAHUBDB_E2E_COMPOSE"

// ComposeTool is the Compose command the kit runs by default: Debian's
// docker-compose (v1.29).
const ComposeTool = "docker-compose"

func composeCommand() []string {
	if v := strings.Fields(os.Getenv(ComposeEnv)); len(v) > 0 {
		return v
	}
	return []string{ComposeTool}
}

// StartCompose writes an Infrahub-shaped compose file, runs
// `docker-compose -p <unique project> -f <file> up -d`, and waits until the
// database serves Bolt and task-manager-db (when present) accepts
// connections. In t.Cleanup it removes plugin helpers targeting the
// project's containers and anything else attached to its network, runs
// `docker-compose down -v`, and fails the test if a container, volume or
// network of the project is left (removing it all the same).
func StartCompose(t testing.TB, opts ComposeOptions) *Compose {
	t.Helper()
	lookPath(t, composeCommand()[0])
	c := &Compose{
		Project:          UniqueName(t, "e2e"),
		Containers:       map[string]*Container{},
		Neo4jImage:       opts.Neo4jImage,
		PostgresUser:     "postgres",
		PostgresPassword: "postgres",
		PostgresDB:       "prefect",
	}
	if c.Neo4jImage == "" {
		c.Neo4jImage = CommunityImage(t)
	}
	services := opts.Services
	if len(services) == 0 {
		services = CoreServices
	}
	var file []byte
	var err error
	if opts.File != "" {
		services, c.Auth, c.env = StockServices, "neo4j/admin", opts.Env
		file, err = os.ReadFile(opts.File)
	} else {
		file, err = composeFile(t, c, opts, services)
	}
	if err != nil {
		t.Fatal(err)
	}
	c.File = filepath.Join(t.TempDir(), "docker-compose.yml")
	if err := os.WriteFile(c.File, file, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.cleanup(t) })

	start := time.Now()
	res := c.Run("up", "-d", "--no-build")
	if res.Error != nil {
		t.Fatalf("kit: compose up: %s\n%s", res.String(), file)
	}
	up := time.Since(start)
	for _, s := range services {
		ids := strings.Fields(MustDocker(t, "ps", "-aq", "--no-trunc",
			"--filter", "label=com.docker.compose.project="+c.Project,
			"--filter", "label=com.docker.compose.service="+s))
		if len(ids) != 1 {
			t.Fatalf("kit: service %s of %s has %d containers", s, c.Project, len(ids))
		}
		name := strings.TrimPrefix(MustDocker(t, "inspect", "-f", "{{.Name}}", ids[0]), "/")
		c.Containers[s] = &Container{ID: ids[0], Name: name}
	}
	if !opts.NoWait {
		if c.Containers[ServiceDatabase] != nil {
			c.Database(t)
		}
		if c.Containers[ServiceTaskManagerDB] != nil {
			c.Postgres(t)
		}
	}
	t.Logf("kit: project %s: up in %v, ready in %v (%s)", c.Project, up.Round(time.Millisecond),
		time.Since(start).Round(time.Millisecond), strings.Join(services, ", "))
	return c
}

type composeService struct {
	Image       string            `json:"image"`
	Command     []string          `json:"command,omitempty"`
	Restart     string            `json:"restart,omitempty"`
	Environment []string          `json:"environment,omitempty"`
	Volumes     []string          `json:"volumes,omitempty"`
	DependsOn   []string          `json:"depends_on,omitempty"`
	Labels      map[string]string `json:"labels"`
}

type labelled struct {
	Labels map[string]string `json:"labels"`
}

// composeFile renders the project as JSON (valid YAML, so Compose reads it),
// following Infrahub's stock docker-compose.yml (research/INFRAHUB.md §1)
// minus what cannot work here: published ports (tests run in parallel),
// healthchecks (the stand-in has no HTTP) and the real images.
func composeFile(t testing.TB, c *Compose, opts ComposeOptions, services []string) ([]byte, error) {
	want := map[string]bool{}
	for _, s := range services {
		want[s] = true
	}
	restart := opts.Restart
	if restart == "" {
		restart = "unless-stopped"
	}
	if restart == "no" {
		restart = ""
	}
	user, password := opts.DBUser, opts.DBPassword
	if user == "" {
		user = "neo4j"
	}
	if password == "" {
		password = "admin"
	}
	c.Auth = user + "/" + password
	driver := opts.StorageDriver
	if driver == "" {
		driver = "local"
	}
	storage := opts.StoragePath
	if storage == "" {
		storage = "/opt/infrahub/storage"
	}
	run := map[string]string{RunLabel: RunID}
	deps := func(names ...string) []string {
		var out []string
		for _, n := range names {
			if want[n] {
				out = append(out, n)
			}
		}
		return out
	}
	labels := func(extra ...string) map[string]string {
		m := map[string]string{RunLabel: RunID}
		for _, l := range extra {
			k, v, _ := strings.Cut(l, "=")
			m[k] = v
		}
		return m
	}

	svc := map[string]composeService{}
	vols := map[string]labelled{}
	app := func() string { return AppImage(t) }
	infrahubEnv := []string{
		"INFRAHUB_DB_ADDRESS=database",
		"INFRAHUB_DB_USERNAME=" + user,
		"INFRAHUB_DB_PASSWORD=" + password,
		"INFRAHUB_STORAGE_DRIVER=" + driver,
		"INFRAHUB_STORAGE_LOCAL_PATH=" + storage,
	}
	if driver == "s3" {
		infrahubEnv = append(infrahubEnv, "AWS_S3_BUCKET_NAME=infrahub-storage", "AWS_S3_ENDPOINT_URL=http://s3.invalid:9000")
	}
	for _, s := range services {
		switch s {
		case ServiceDatabase:
			env := []string{
				"NEO4J_AUTH=" + c.Auth,
				"NEO4J_dbms_security_procedures_unrestricted=apoc.*",
				"NEO4J_dbms_security_auth__minimum__password__length=4",
			}
			if strings.Contains(c.Neo4jImage, "enterprise") {
				env = append(env, "NEO4J_ACCEPT_LICENSE_AGREEMENT=yes")
			}
			svc[s] = composeService{Image: c.Neo4jImage, Restart: restart,
				Environment: append(env, opts.DatabaseEnv...),
				Volumes:     []string{"database_data:/data", "database_logs:/logs"},
				Labels:      labels(opts.DatabaseLabels...)}
			vols["database_data"], vols["database_logs"] = labelled{run}, labelled{run}
		case ServiceServer:
			svc[s] = composeService{Image: app(), Command: []string{"gunicorn", "infrahub.server:app"}, Restart: restart,
				Environment: append(append([]string{}, infrahubEnv...), opts.ServerEnv...),
				Volumes:     []string{"storage_data:" + storage, "workflow_data:/opt/infrahub/workflow"},
				DependsOn:   deps(ServiceDatabase, ServiceMessageQueue, ServiceCache, ServiceTaskManager),
				Labels:      labels()}
			vols["storage_data"], vols["workflow_data"] = labelled{run}, labelled{run}
		case ServiceTaskWorker:
			svc[s] = composeService{Image: app(), Command: []string{"prefect", "worker", "start", "--type", "infrahubasync", "--pool", "infrahub-worker"},
				Restart: restart, Environment: infrahubEnv,
				DependsOn: deps(ServiceServer), Labels: labels()}
		case ServiceTaskManager:
			svc[s] = composeService{Image: app(), Command: []string{"uvicorn", "--factory", "infrahub.prefect_server.app:create_infrahub_prefect"},
				Restart: restart,
				Environment: []string{fmt.Sprintf("PREFECT_API_DATABASE_CONNECTION_URL=postgresql+asyncpg://%s:%s@task-manager-db:5432/%s",
					c.PostgresUser, c.PostgresPassword, c.PostgresDB)},
				DependsOn: deps(ServiceTaskManagerDB), Labels: labels()}
		case ServiceTaskManagerDB:
			image := opts.PostgresImage
			if image == "" {
				image = PostgresImage(t)
			}
			svc[s] = composeService{Image: image, Restart: restart,
				Environment: []string{"POSTGRES_USER=" + c.PostgresUser, "POSTGRES_PASSWORD=" + c.PostgresPassword, "POSTGRES_DB=" + c.PostgresDB},
				Volumes:     []string{"workflow_db:" + PostgresData},
				Labels:      labels()}
			vols["workflow_db"] = labelled{run}
		case ServiceMessageQueue, ServiceCache:
			// The official rabbitmq and redis images declare their data
			// directory a VOLUME: each container gets an anonymous volume
			// there, as here.
			svc[s] = composeService{Image: app(), Command: []string{s}, Restart: restart, Labels: labels(),
				Volumes: []string{TransientDataDir[s]}}
		default:
			return nil, fmt.Errorf("kit: unknown Infrahub service %q", s)
		}
	}
	doc := map[string]any{
		"services": svc,
		"volumes":  vols,
		"networks": map[string]labelled{"default": {run}},
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, err
	}
	// Compose interpolates $VAR in the file: keep every $ literal.
	return []byte(strings.ReplaceAll(string(b), "$", "$$")), nil
}

// Cmd is the icmd.Cmd of `docker-compose -p <project> -f <file> <args>`.
func (c *Compose) Cmd(args ...string) icmd.Cmd {
	return icmd.Cmd{
		Command: append(append(composeCommand(), "--ansi", "never", "-p", c.Project, "-f", c.File), args...),
		Env:     append(os.Environ(), c.env...),
		Dir:     filepath.Dir(c.File),
		Timeout: DockerTimeout,
	}
}

// Run runs `docker-compose -p <project> -f <file> <args>` and returns the
// result without asserting.
func (c *Compose) Run(args ...string) *icmd.Result {
	return icmd.RunCmd(c.Cmd(args...))
}

// Service is the container of service, failing the test if the project
// has no such service.
func (c *Compose) Service(t testing.TB, service string) *Container {
	t.Helper()
	ctr := c.Containers[service]
	if ctr == nil {
		t.Fatalf("kit: project %s has no service %s", c.Project, service)
	}
	return ctr
}

// Exec runs `docker exec <service's container> <cmd...>`.
func (c *Compose) Exec(t testing.TB, service string, cmd ...string) *icmd.Result {
	t.Helper()
	return c.Service(t, service).Exec(cmd...)
}

// Stop runs `docker-compose stop <services>` (all of them when none given).
func (c *Compose) Stop(t testing.TB, services ...string) {
	t.Helper()
	c.Run(append([]string{"stop"}, services...)...).Assert(t, icmd.Success)
	c.forget(t, services)
}

// Start runs `docker-compose start <services>` (all when none given) and
// waits for the database and task-manager-db among them.
func (c *Compose) Start(t testing.TB, services ...string) {
	t.Helper()
	c.Run(append([]string{"start"}, services...)...).Assert(t, icmd.Success)
	c.forget(t, services)
	for _, s := range services {
		switch {
		case s == ServiceDatabase && c.db != nil:
			c.db.Wait(t)
		case s == ServiceTaskManagerDB && c.pg != nil:
			c.pg.Wait(t)
		}
	}
	if len(services) == 0 {
		if c.db != nil {
			c.db.Wait(t)
		}
		if c.pg != nil {
			c.pg.Wait(t)
		}
	}
}

// forget drops cached addresses after a stop or start: IPs may change.
func (c *Compose) forget(t testing.TB, services []string) {
	all := len(services) == 0
	for _, s := range services {
		all = all || s == ServiceDatabase || s == ServiceTaskManagerDB
	}
	if all && c.db != nil {
		c.db.Reconnect(t)
	}
	if all && c.pg != nil {
		c.pg.ip = ""
	}
}

// Running lists the services whose container runs, sorted.
func (c *Compose) Running(t testing.TB) []string {
	t.Helper()
	var out []string
	for s, ctr := range c.Containers {
		if ctr.Running(t) {
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}

// Network is the project's network, <project>_default.
func (c *Compose) Network() string { return c.Project + "_default" }

// Volume is the engine's name of the project's volume (database_data,
// database_logs, storage_data, workflow_data, workflow_db).
func (c *Compose) Volume(name string) string { return c.Project + "_" + name }

// Database is the database service as a *Database (Driver, Seed, Count,
// Statuses, Exec, Stop/Start, Helpers...), once it serves Bolt. Its
// Network and Volume are the project's; it carries no infrahub_role label
// unless DatabaseLabels gave one. The kit closes its driver at cleanup.
func (c *Compose) Database(t testing.TB) *Database {
	t.Helper()
	if c.db == nil {
		ctr := c.Service(t, ServiceDatabase)
		d := &Database{Container: *ctr, Image: c.Neo4jImage, Project: c.Project,
			Network: c.Network(), Volume: c.Volume("database_data"), Auth: c.Auth}
		_, d.Password, _ = strings.Cut(c.Auth, "/")
		c.db = d
	}
	c.db.Wait(t)
	return c.db
}

// Postgres is task-manager-db as a *Postgres (Psql, IP, URL, Exec...), once
// it accepts connections.
func (c *Compose) Postgres(t testing.TB) *Postgres {
	t.Helper()
	if c.pg == nil {
		ctr := c.Service(t, ServiceTaskManagerDB)
		c.pg = &Postgres{Container: *ctr, Image: ctr.Inspect(t, "{{.Config.Image}}"),
			User: c.PostgresUser, Password: c.PostgresPassword, DB: c.PostgresDB, Network: c.Network()}
	}
	c.pg.Wait(t)
	return c.pg
}

// Leftovers lists the containers, volumes and networks labelled as the
// project's ("container <id>", "volume <name>", "network <name>").
func (c *Compose) Leftovers(t testing.TB) []string {
	t.Helper()
	filter := "label=com.docker.compose.project=" + c.Project
	var out []string
	for _, kind := range [][]string{
		{"container", "ps", "-aq", "--no-trunc", "--filter", filter},
		{"volume", "volume", "ls", "-q", "--filter", filter},
		{"network", "network", "ls", "-q", "--filter", filter},
	} {
		for _, id := range strings.Fields(MustDocker(t, kind[1:]...)) {
			out = append(out, kind[0]+" "+id)
		}
	}
	// A network by the project's name, labelled or not.
	if Docker("network", "inspect", c.Network()).ExitCode == 0 {
		found := false
		for _, l := range out {
			found = found || l == "network "+c.Network()
		}
		if !found {
			out = append(out, "network "+c.Network())
		}
	}
	return out
}

// Down removes the project now, as its cleanup would (it is idempotent:
// the cleanup then has nothing to do).
func (c *Compose) Down(t testing.TB) {
	t.Helper()
	c.cleanup(t)
}

func (c *Compose) cleanup(t testing.TB) {
	if c.down {
		return
	}
	c.down = true
	if c.db != nil {
		c.db.Reconnect(t)
	}
	// Plugin helpers serving a project container, and anything else on
	// the project's network (docker-compose down would fail on them).
	var extra []string
	for _, ctr := range c.Containers {
		extra = append(extra, strings.Fields(Docker("ps", "-aq", "--no-trunc", "--filter", "label="+TargetLabel+"="+ctr.ID).Stdout())...)
		removeGuardians(t, ctr.ID)
	}
	for _, id := range strings.Fields(Docker("network", "inspect", "-f", "{{range $id, $c := .Containers}}{{$id}} {{end}}", c.Network()).Stdout()) {
		if !c.owns(id) {
			extra = append(extra, id)
		}
	}
	if len(extra) > 0 {
		t.Logf("kit: removing containers left next to project %s: %s", c.Project, strings.Join(extra, " "))
		removeContainers(t, extra...)
	}
	if t.Failed() {
		if res := c.Run("logs", "--no-color", "--tail", "100"); res.Error == nil {
			t.Logf("kit: logs of project %s:\n%s", c.Project, res.Stdout())
		}
	}
	start := time.Now()
	res := icmd.RunCmd(c.Cmd("down", "-v", "--remove-orphans", "--timeout", "10"))
	// Docker 20.10 can keep the endpoint of a container that is gone (one
	// removed while it was being connected or disconnected): compose then
	// fails to remove the network ("has active endpoints", no container on
	// it) and stops before the volumes. That is the engine's fault, not a
	// leftover: the volumes are removed here and the network is left (only
	// a daemon restart frees it); a container on the network still fails.
	if res.Error != nil && strings.Contains(res.Stderr(), "has active endpoints") && StaleEndpointOnly(c.Network()) {
		t.Logf("kit: compose down: network %s keeps an endpoint of a container that is gone (Docker 20.10); its volumes are removed, the network stays", c.Network())
		for _, l := range c.Leftovers(t) {
			if kind, id, _ := strings.Cut(l, " "); kind == "volume" {
				Docker("volume", "rm", "-f", id)
			}
		}
		res = icmd.RunCmd(c.Cmd("down", "-v", "--remove-orphans", "--timeout", "10"))
		if res.Error != nil && strings.Contains(res.Stderr(), "has active endpoints") {
			res.Error = nil
		}
	}
	if res.Error != nil {
		t.Errorf("kit: cleanup: %s", res.String())
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Logf("kit: compose down took %v", d)
	}
	left := slices.DeleteFunc(c.Leftovers(t), func(l string) bool {
		kind, id, _ := strings.Cut(l, " ")
		return kind == "network" && StaleEndpointOnly(id)
	})
	if len(left) > 0 {
		t.Errorf("kit: compose down -v left %s", strings.Join(left, ", "))
		for _, l := range left {
			kind, id, _ := strings.Cut(l, " ")
			switch kind {
			case "container":
				removeContainers(t, id)
			case "volume":
				Docker("volume", "rm", "-f", id)
			case "network":
				Docker("network", "rm", id)
			}
		}
	}
}

func (c *Compose) owns(id string) bool {
	for _, ctr := range c.Containers {
		if ctr.ID == id {
			return true
		}
	}
	return false
}
