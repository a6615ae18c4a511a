package e2e

// Tests of the kit itself: the plugin is installed where the docker CLI finds
// it, and everything a test creates is gone when it ends.

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/icmd"

	"github.com/opsmill/docker-infrahubdb/e2e/kit"
)

func TestKitInstallsPlugin(t *testing.T) {
	t.Parallel()
	p := kit.InstallPlugin(t)
	res := p.Docker("infrahubdb", "version")
	res.Assert(t, icmd.Success)
	assert.Check(t, is.Contains(res.Stdout(), p.Version))

	// The plugin is listed by the CLI from the temporary config only.
	res = p.Docker("info", "--format", "{{range .ClientInfo.Plugins}}{{.Name}} {{end}}")
	res.Assert(t, icmd.Success)
	assert.Check(t, is.Contains(res.Stdout(), "infrahubdb"))
}

func TestKitCleansUp(t *testing.T) {
	t.Parallel()
	var db *kit.Database
	var app, stopped *kit.App
	var planted string
	created := t.Run("resources", func(t *testing.T) {
		db = kit.StartDatabase(t, kit.Options{})
		assert.Check(t, is.Equal(db.Inspect(t, `{{index .Config.Labels "infrahub_role"}}`), "database"))
		app = kit.StartApp(t, db, "infrahub-server", true)
		stopped = kit.StartApp(t, db, "task-worker", false)
		assert.Check(t, app.Running(t))
		assert.Check(t, !stopped.Running(t))
		assert.Check(t, is.Equal(app.Inspect(t, `{{index .Config.Labels "com.docker.compose.project"}}`), db.Project))

		// A helper the plugin would have left behind, found by its label.
		planted = kit.MustDocker(t, "create", "--label", kit.TargetLabel+"="+db.ID,
			"--network", db.Network, "--volume", db.Volume+":/data", db.Image)
		assert.Check(t, is.DeepEqual(db.Helpers(t), []string{planted}))
	})
	assert.Assert(t, created)

	for _, c := range []string{db.ID, app.ID, stopped.ID, planted} {
		res := kit.Docker("inspect", c)
		assert.Check(t, res.ExitCode != 0, "container %s still exists", c)
	}
	assert.Check(t, kit.Docker("volume", "inspect", db.Volume).ExitCode != 0, "volume %s still exists", db.Volume)
	assert.Check(t, kit.Docker("network", "inspect", db.Network).ExitCode != 0, "network %s still exists", db.Network)
	left := kit.MustDocker(t, "ps", "-aq", "--filter", "label=com.docker.compose.project="+db.Project)
	assert.Check(t, is.Equal(strings.TrimSpace(left), ""))
}

func TestKitInterruptsCommand(t *testing.T) {
	t.Parallel()
	p := kit.InstallPlugin(t)
	label := kit.UniqueName(t, "e2e")
	// --since replays what happened from then on: the create below may
	// come before the events command has subscribed (a loaded machine).
	since := strconv.FormatInt(time.Now().Add(-time.Second).Unix(), 10)
	events := p.Start(t, p.Cmd("events", "--since", since, "--filter", "label="+label, "--format", "{{.Action}}"))

	id := kit.MustDocker(t, "create", "--label", label+"=1", "--label", kit.RunLabel+"="+kit.RunID, kit.Image(t))
	defer kit.Docker("rm", "-f", "-v", id)
	events.WaitForOutput(t, "create", time.Minute)

	events.Interrupt(t)
	res := events.Wait()
	assert.Check(t, !res.Timeout)
	assert.Check(t, events.Exited())
}

// The kit's ssh:// context: the real OpenSSH client, with the test's key
// and the server's host key only, reaches the kit's SSH server, which runs
// the docker CLI's transport command against this machine's engine.
func TestKitSSHContext(t *testing.T) {
	t.Parallel()
	p := kit.InstallPlugin(t)
	sc := kit.NewSSHContext(t, p)
	assert.Check(t, strings.HasPrefix(sc.Host, "ssh://"+kit.SSHUser+"@127.0.0.1:"), sc.Host)
	sc.Docker("context", "inspect", "-f", "{{.Endpoints.docker.Host}}", sc.Name).Assert(t, icmd.Expected{Out: sc.Host})

	res := sc.Docker("version", "--format", "{{.Server.Version}}")
	res.Assert(t, icmd.Success)
	assert.Check(t, is.Equal(strings.TrimSpace(res.Stdout()), kit.MustDocker(t, "version", "--format", "{{.Server.Version}}")))
	assert.Check(t, is.Contains(sc.Commands(), "docker system dial-stdio"))
}
