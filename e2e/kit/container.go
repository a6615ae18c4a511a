package kit

import (
	"strings"
	"testing"

	"gotest.tools/v3/icmd"
)

// Container is a container the kit started.
type Container struct {
	ID   string
	Name string
}

// Exec runs `docker exec <container> <cmd...>` and returns the result
// without asserting.
func (c *Container) Exec(cmd ...string) *icmd.Result {
	return Docker(append([]string{"exec", c.ID}, cmd...)...)
}

// ExecAs is Exec as user ("7474:7474", "neo4j", "root").
func (c *Container) ExecAs(user string, cmd ...string) *icmd.Result {
	return Docker(append([]string{"exec", "-u", user, c.ID}, cmd...)...)
}

// ExecInput is Exec with stdin.
func (c *Container) ExecInput(input string, cmd ...string) *icmd.Result {
	return icmd.RunCmd(icmd.Cmd{
		Command: append([]string{"docker", "exec", "-i", c.ID}, cmd...),
		Stdin:   strings.NewReader(input),
		Timeout: DockerTimeout,
	})
}

// MustExec runs Exec, fails the test unless it succeeds, and returns stdout.
func (c *Container) MustExec(t testing.TB, cmd ...string) string {
	t.Helper()
	res := c.Exec(cmd...)
	res.Assert(t, icmd.Success)
	return res.Stdout()
}

// Inspect returns `docker inspect -f <format>` of the container, trimmed.
func (c *Container) Inspect(t testing.TB, format string) string {
	t.Helper()
	return MustDocker(t, "inspect", "-f", format, c.ID)
}

// Running reports whether the container is running.
func (c *Container) Running(t testing.TB) bool {
	t.Helper()
	return c.Inspect(t, "{{.State.Running}}") == "true"
}

// StartedAt is when the container was last started; it changes on restart.
func (c *Container) StartedAt(t testing.TB) string {
	t.Helper()
	return c.Inspect(t, "{{.State.StartedAt}}")
}

// Logs returns the container's stdout and stderr.
func (c *Container) Logs() string {
	return Docker("logs", c.ID).Combined()
}

// App is a fake Infrahub application container (infrahub-server,
// task-worker, ...) in the database's Compose project.
type App struct {
	Container
	Service string
}

// StartApp starts a fake Infrahub app container for service in db's Compose
// project and network: the database image running `sleep infinity` under
// docker-init, so `docker stop` ends it at once. With running false it is
// created and stopped, like a service after `docker compose stop`. It is
// removed in t.Cleanup.
func StartApp(t testing.TB, db *Database, service string, running bool) *App {
	t.Helper()
	name := db.Project + "-" + service + "-1"
	id := MustDocker(t, "run", "-d", "--init", "--name", name,
		"--network", db.Network,
		"--label", RunLabel+"="+RunID,
		"--label", "com.docker.compose.project="+db.Project,
		"--label", "com.docker.compose.service="+service,
		"--label", "com.docker.compose.container-number=1",
		"--label", "com.docker.compose.oneoff=False",
		"--entrypoint", "sleep", db.Image, "infinity")
	app := &App{Container: Container{ID: id, Name: name}, Service: service}
	t.Cleanup(func() { removeContainers(t, id) })
	if !running {
		MustDocker(t, "stop", id)
	}
	return app
}

// Helper starts a long-running container from db's image on db's network,
// for tests that run neo4j-admin or cypher-shell next to the database the
// way the plugin's helper does. With mountData the database's data volume is
// mounted at /data. It carries the kit's labels only (not TargetLabel), so
// it never looks like a plugin helper. It is removed in t.Cleanup.
func Helper(t testing.TB, db *Database, mountData bool, env ...string) *Container {
	t.Helper()
	name := UniqueName(t, "e2e-helper")
	args := []string{"run", "-d", "--init", "--name", name, "--network", db.Network,
		"--label", RunLabel + "=" + RunID,
		"--env", "NEO4J_ACCEPT_LICENSE_AGREEMENT=yes"}
	for _, e := range env {
		args = append(args, "--env", e)
	}
	if mountData {
		args = append(args, "--volume", db.Volume+":/data")
	}
	args = append(args, "--entrypoint", "sleep", db.Image, "infinity")
	id := MustDocker(t, args...)
	t.Cleanup(func() { removeContainers(t, id) })
	return &Container{ID: id, Name: name}
}

// removeContainers force-removes containers and their anonymous volumes.
func removeContainers(t testing.TB, ids ...string) {
	t.Helper()
	if len(ids) == 0 {
		return
	}
	res := Docker(append([]string{"rm", "-f", "-v"}, ids...)...)
	if res.Error != nil && !strings.Contains(res.Stderr(), "No such container") {
		t.Errorf("kit: cleanup: %s", res.String())
	}
}
