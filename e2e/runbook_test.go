package e2e

// The runbooks of docs/runbooks, their commands read from the pages where
// a test can: the scheduling runbook's cron line, run as cron runs it (by
// sh, without a terminal, with only the paths and the health-check URL
// replaced by the test's own), and its systemd units, checked with
// systemd-analyze verify and run as systemd runs them.

import (
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	osuser "os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/icmd"

	"github.com/opsmill/docker-infrahubdb/e2e/kit"
)

// cronCommand is the command of the runbook's cron line: what follows the
// five schedule fields and the user.
func cronCommand(t *testing.T) string {
	t.Helper()
	page, err := os.ReadFile("../docs/runbooks/scheduling.md")
	assert.NilError(t, err)
	for _, line := range strings.Split(string(page), "\n") {
		if f := strings.Fields(line); len(f) > 6 && f[0] == "30" && f[5] == "root" {
			return strings.Join(f[6:], " ")
		}
	}
	t.Fatal("no cron line in docs/runbooks/scheduling.md")
	return ""
}

func TestSchedulingRunbookCronLine(t *testing.T) {
	t.Parallel()
	c := kit.StartCompose(t, kit.ComposeOptions{Services: kit.StockServices})
	db := c.Database(t)
	db.Seed(t, "neo4j", 3)
	p := kit.InstallPlugin(t)

	var mu sync.Mutex
	var pings []string
	hc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		pings = append(pings, r.URL.Path)
		mu.Unlock()
	}))
	t.Cleanup(hc.Close)
	cron := func(folder string) *icmd.Result {
		log := filepath.Join(t.TempDir(), "infrahub-backup.log")
		line := strings.NewReplacer("/srv/backups/infrahub", folder, "/var/log/infrahub-backup.log", log).Replace(cronCommand(t))
		cmd := icmd.Command("sh", "-c", line)
		cmd.Env = p.Env("HC="+hc.URL, "INFRAHUBDB_PROJECT="+c.Project)
		cmd.Timeout = kit.PluginTimeout
		res := icmd.RunCmd(cmd)
		if b, err := os.ReadFile(log); err == nil {
			t.Logf("the job's log:\n%s", b)
		}
		return res
	}

	// Night one: the backup and the prune succeed, the check is pinged.
	dir := kit.Folder(t)
	cron(dir).Assert(t, icmd.Success)
	assert.Check(t, is.DeepEqual(pings, []string{"/"}))
	ids := strings.Fields(p.Docker("infrahubdb", "list", "-q", dir).Assert(t, icmd.Success).Stdout())
	assert.Check(t, is.Len(ids, 1))
	assert.Check(t, is.Len(c.Running(t), len(kit.StockServices)), "everything runs again")
	db.Reconnect(t) // Community: the dump stopped and started the database

	// A night that fails (the folder is a file): /fail is pinged.
	notAFolder := filepath.Join(t.TempDir(), "file")
	assert.NilError(t, os.WriteFile(notAFolder, nil, 0o600))
	cron(notAFolder).Assert(t, icmd.Success) // the job's last command is the /fail ping
	assert.Check(t, is.DeepEqual(pings, []string{"/", "/fail"}))
}

// The disaster recovery runbook (docs/runbooks/disaster-recovery.md): a
// backup of one deployment restored into a new, empty deployment of the
// same versions, through a Docker context of its own. Both run on the test's
// engine; INFRAHUBDB_TRANSFER=stream makes the files travel through the
// Docker API as they do to a remote host.
func TestDisasterRecoveryRunbook(t *testing.T) {
	t.Parallel()
	old := kit.StartCompose(t, kit.ComposeOptions{Services: kit.StockServices})
	old.Database(t).Seed(t, "neo4j", 6)
	p := kit.InstallPlugin(t)
	dir := kit.Folder(t)
	p.Docker("infrahubdb", "backup", dir, "--yes", "--project", old.Project).Assert(t, icmd.Success)

	// 1. Check the folder on the workstation (no engine needed).
	p.Docker("infrahubdb", "verify", dir).Assert(t, icmd.Success)
	p.Docker("infrahubdb", "list", dir).Assert(t, icmd.Expected{Out: "(restore default)"})

	// 2. A new, empty deployment; 3. a Docker context for it.
	fresh := kit.StartCompose(t, kit.ComposeOptions{Services: kit.StockServices})
	host := strings.TrimSpace(kit.MustDocker(t, "context", "inspect", "-f", "{{.Endpoints.docker.Host}}"))
	p.Docker("context", "create", "newhost", "--docker", "host="+host).Assert(t, icmd.Success)
	run := func(args ...string) *icmd.Result {
		cmd := p.Cmd(append([]string{"-c", "newhost", "infrahubdb"}, args...)...)
		cmd.Env = append(cmd.Env, "INFRAHUBDB_PROJECT="+fresh.Project, "INFRAHUBDB_TRANSFER=stream")
		return icmd.RunCmd(cmd)
	}

	// The page's check of the context: the project's containers are there.
	ps := p.Docker("-c", "newhost", "ps", "--format", "{{.Names}}")
	ps.Assert(t, icmd.Success)
	assert.Check(t, is.Contains(ps.Stdout(), fresh.Database(t).Name))

	// 4. Check, see the plan, restore.
	run("doctor", dir).Assert(t, icmd.Success)
	run("restore", dir, "--dry-run").Assert(t, icmd.Expected{Out: "Dry run: nothing was changed."})
	db := fresh.Database(t)
	assert.Check(t, is.Equal(db.Count(t, "neo4j"), int64(0)))
	res := run("restore", dir, "--yes")
	res.Assert(t, icmd.Success)
	assert.Check(t, is.Contains(res.Stdout(), "Restored: task-manager, storage, graph."), res.Stdout())

	// 5. What to check after: the data, every service, the safety copy.
	db.Reconnect(t)
	assert.Check(t, is.Equal(db.Count(t, "neo4j"), int64(6)))
	assert.Check(t, is.Len(fresh.Running(t), len(kit.StockServices)))
	run("list", dir).Assert(t, icmd.Expected{Out: "Safety backups of restore"})
	// The page's ps, its project name replaced by the test's: every
	// service Up.
	ps = p.Docker("-c", "newhost", "ps", "--filter", "label=com.docker.compose.project="+fresh.Project, "--format", "{{.Names}} {{.Status}}")
	ps.Assert(t, icmd.Success)
	up := strings.Split(strings.TrimSpace(ps.Stdout()), "\n")
	assert.Check(t, is.Len(up, len(kit.StockServices)), ps.Stdout())
	for _, line := range up {
		assert.Check(t, is.Contains(line, " Up "), line)
	}
	run("backup", dir, "--yes").Assert(t, icmd.Success)
}

// The upgrade runbook (docs/runbooks/upgrade.md) on Community: a checked
// backup before the upgrade, and the way back when the upgrade went wrong.
func TestUpgradeRunbook(t *testing.T) {
	t.Parallel()
	c := kit.StartCompose(t, kit.ComposeOptions{Services: kit.StockServices})
	db := c.Database(t)
	db.Seed(t, "neo4j", 4)
	p := kit.InstallPlugin(t)
	dir := kit.Folder(t)
	run := func(args ...string) *icmd.Result {
		cmd := p.Cmd(append([]string{"infrahubdb"}, args...)...)
		cmd.Env = append(cmd.Env, "INFRAHUBDB_PROJECT="+c.Project)
		return icmd.RunCmd(cmd)
	}

	// 1. What would stop, the backup, and its check.
	run("backup", dir, "--dry-run").Assert(t, icmd.Expected{Out: "would stop for about"})
	run("backup", dir, "--yes").Assert(t, icmd.Success)
	db.Reconnect(t)
	run("verify", dir).Assert(t, icmd.Expected{Out: "OK: the folder passed verification."})
	ids := strings.Fields(run("list", "-q", dir).Assert(t, icmd.Success).Stdout())
	assert.Assert(t, is.Len(ids, 1))

	// 2. The "upgrade" changes the data (a migration that went wrong).
	db.Seed(t, "neo4j", 9)

	// 3b. The way back: the run of step 1, picked by its start time.
	started := strings.TrimPrefix(ids[0], "run-") // YYYY-MM-DDTHH-MM-SS, UTC
	until := started[:13] + ":" + started[14:16] + ":" + started[17:] + "Z"
	run("restore", dir, "--dry-run", "--until", until).Assert(t, icmd.Success)
	run("restore", dir, "--yes", "--until", until).Assert(t, icmd.Success)
	db.Reconnect(t)
	assert.Check(t, is.Equal(db.Count(t, "neo4j"), int64(4)))
	assert.Check(t, is.Len(c.Running(t), len(kit.StockServices)))

	// Retention on a terminal, as docker's prune commands do it: prune
	// shows the plan and asks; "n" exits 8 and deletes nothing, "y"
	// deletes. (script(1) gives the command a terminal.)
	run("backup", dir, "--yes").Assert(t, icmd.Success)
	db.Reconnect(t)
	onTerminal := func(answer string) *icmd.Result {
		cmd := icmd.Command("script", "-qec", "docker infrahubdb prune "+dir+" --keep 1", "/dev/null")
		cmd.Env, cmd.Stdin, cmd.Timeout = p.Env(), strings.NewReader(answer+"\n"), kit.PluginTimeout
		return icmd.RunCmd(cmd)
	}
	onTerminal("n").Assert(t, icmd.Expected{ExitCode: 8, Out: "Continue? [y/N]"})
	assert.Check(t, is.Len(strings.Fields(run("list", "-q", dir).Stdout()), 2), "a declined prune deletes nothing")
	onTerminal("y").Assert(t, icmd.Success)
	assert.Check(t, is.Len(strings.Fields(run("list", "-q", dir).Stdout()), 1), "the older run is gone")
}

// backup --dry-run on Neo4j Enterprise: the checks, and nothing would stop;
// nothing is written and no helper is left.
func TestBackupDryRunEnterprise(t *testing.T) {
	t.Parallel()
	c := kit.StartCompose(t, kit.ComposeOptions{Neo4jImage: kit.Image(t)})
	p := kit.InstallPlugin(t)
	dir := filepath.Join(kit.Folder(t), "new")
	res := p.Docker("infrahubdb", "backup", dir, "--dry-run", "--project", c.Project)
	res.Assert(t, icmd.Expected{Out: "The graph's backup is online: nothing would stop."})
	_, err := os.Stat(dir)
	assert.Check(t, os.IsNotExist(err), "the dry run created %s", dir)
	assert.Check(t, is.Len(c.Database(t).Helpers(t), 0))

	res = p.Docker("infrahubdb", "backup", dir, "--dry-run", "--project", c.Project, "--format", "{{.Online}} {{.Checks.OK}}")
	res.Assert(t, icmd.Expected{Out: "true true"})
}

// pageBlock is the first fenced block after the line of page that names
// what (a file the runbook tells to write).
func pageBlock(t *testing.T, page, what string) string {
	t.Helper()
	i := strings.Index(page, "`"+what+"`")
	assert.Assert(t, i >= 0, "%s is not named on the page", what)
	rest := page[i:]
	start := strings.Index(rest, "```")
	assert.Assert(t, start >= 0, "no block after %s", what)
	rest = rest[start:]
	body := rest[strings.IndexByte(rest, '\n')+1:]
	end := strings.Index(body, "```")
	assert.Assert(t, end >= 0, "the block after %s does not end", what)
	return body[:end]
}

// systemdUnit is a unit file's settings, "Section.Key" → values in order.
type systemdUnit map[string][]string

func parseUnit(t *testing.T, text string) systemdUnit {
	t.Helper()
	u, section := systemdUnit{}, ""
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = strings.Trim(line, "[]")
		default:
			k, v, ok := strings.Cut(line, "=")
			assert.Assert(t, ok, "not a setting: %q", line)
			u[section+"."+k] = append(u[section+"."+k], v)
		}
	}
	return u
}

// envAssignments parses the KEY=VALUE lines of an environment file (and
// of Environment=), without quotes: the runbook's have none.
func envAssignments(t *testing.T, text string) []string {
	t.Helper()
	var env []string
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		assert.Assert(t, !strings.ContainsAny(line, `"'\`), "quoting is not parsed here: %q", line)
		_, _, ok := strings.Cut(line, "=")
		assert.Assert(t, ok, "not an assignment: %q", line)
		env = append(env, line)
	}
	return env
}

var unitVariable = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// execArgs is an Exec line as systemd makes it a command: split at spaces
// (the runbook quotes nothing), ${VAR} replaced in place, $VAR as a word of
// its own replaced by the value's words [systemd.service(5), "Command
// lines"]. ignore is the "-" prefix: a failure does not fail the unit.
func execArgs(t *testing.T, line string, env map[string]string) (args []string, ignore bool) {
	t.Helper()
	assert.Assert(t, !strings.ContainsAny(line, `"'\;`), "quoting and ';' are not parsed here: %q", line)
	line, ignore = strings.CutPrefix(line, "-")
	for _, w := range strings.Fields(line) {
		if v, ok := strings.CutPrefix(w, "$"); ok && !strings.HasPrefix(v, "{") {
			args = append(args, strings.Fields(env[v])...)
			continue
		}
		args = append(args, unitVariable.ReplaceAllStringFunc(w, func(m string) string { return env[m[2:len(m)-1]] }))
	}
	return args, ignore
}

// TestSchedulingRunbookSystemdUnits: the scheduling runbook's units, read
// from the page, pass systemd-analyze verify, and their commands run as
// systemd runs them: the service's ExecStart lines in order with its
// Environment= and EnvironmentFile= (the page's, with the test's
// health-check URL and project) and systemd's PATH, as the unit's User=
// when it names one that exists here, else as kit.NonRoot (an operator in
// the docker group: the units name no User=, so systemd runs them as root,
// which can do all this user can), without a terminal; ExecStartPost (the
// ping) when they all succeeded; the OnFailure= unit when one failed. A
// night on a stock-shaped Community deployment backs up, prunes and pings;
// a failing night exits as the page's table says, with an "Error:" last
// line, and the failure unit pings /fail.
func TestSchedulingRunbookSystemdUnits(t *testing.T) {
	t.Parallel()
	const (
		serviceName = "infrahub-backup.service"
		failedName  = "infrahub-backup-failed.service"
		timerName   = "infrahub-backup.timer"
		envPath     = "/etc/infrahub-backup.env"
		folderPath  = "/srv/backups/infrahub"
		pageHC      = "https://hc-ping.com/your-check-uuid"
	)
	b, err := os.ReadFile("../docs/runbooks/scheduling.md")
	assert.NilError(t, err)
	page := string(b)
	texts := map[string]string{}
	for _, name := range []string{serviceName, failedName, timerName} {
		texts[name] = pageBlock(t, page, "/etc/systemd/system/"+name)
	}
	envFile := pageBlock(t, page, envPath)
	assert.Check(t, is.Contains(envFile, "HC="+pageHC+"\n"))

	// systemd-analyze verify reads unit files without a running systemd
	// (it checks the settings, the dependencies among the three units,
	// and that each command's executable exists on this machine).
	analyze := lookPathOrSkip(t, "systemd-analyze")
	unitDir := t.TempDir()
	var files []string
	for _, name := range []string{serviceName, failedName, timerName} {
		f := filepath.Join(unitDir, name)
		assert.NilError(t, os.WriteFile(f, []byte(texts[name]), 0o644))
		files = append(files, f)
	}
	res := icmd.RunCmd(icmd.Command(analyze, append([]string{"verify", "--man=no"}, files...)...))
	res.Assert(t, icmd.Success)
	assert.Check(t, is.Equal(res.Combined(), ""), "systemd-analyze verify has remarks")

	service, failed, timer := parseUnit(t, texts[serviceName]), parseUnit(t, texts[failedName]), parseUnit(t, texts[timerName])
	assert.Check(t, is.DeepEqual(service["Unit.OnFailure"], []string{failedName}))
	assert.Check(t, is.DeepEqual(service["Service.Type"], []string{"oneshot"}))
	assert.Check(t, is.DeepEqual(timer["Install.WantedBy"], []string{"timers.target"}))
	assert.Check(t, is.Len(timer["Timer.Unit"], 0), "the timer starts the service of its own name")
	assert.Check(t, is.Contains(strings.Join(service["Service.ExecStart"], "\n"), " --yes"), "Community needs --yes")

	c := kit.StartCompose(t, kit.ComposeOptions{Services: kit.StockServices})
	db := c.Database(t)
	db.Seed(t, "neo4j", 3)
	user, p := kit.NonRoot(t)
	if names := service["Service.User"]; len(names) > 0 {
		if _, err := osuser.Lookup(names[0]); err == nil {
			t.Fatalf("the unit names User=%s, which exists here: run as that user (not built: the runbook's units name none)", names[0])
		}
	}

	var mu sync.Mutex
	var pings []string
	hc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		pings = append(pings, r.URL.Path)
		mu.Unlock()
	}))
	t.Cleanup(hc.Close)
	// The page's environment file, with the test's health check and the
	// project (the engine runs other tests' projects too).
	env := strings.Replace(envFile, pageHC, hc.URL, 1) + "INFRAHUBDB_PROJECT=" + c.Project + "\n"
	if host := os.Getenv("DOCKER_HOST"); host != "" {
		env += "DOCKER_HOST=" + host + "\n"
	}
	envOnDisk := filepath.Join(t.TempDir(), "infrahub-backup.env")
	assert.NilError(t, os.WriteFile(envOnDisk, []byte(env), 0o600))

	// environment is what systemd gives a unit's commands: its own
	// variables for the user, Environment=, then EnvironmentFile= (which
	// overrides Environment=).
	environment := func(u systemdUnit) map[string]string {
		vars := map[string]string{"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin", "HOME": user.Home, "LANG": "C.UTF-8"}
		add := func(assignments []string) {
			for _, a := range assignments {
				k, v, _ := strings.Cut(a, "=")
				vars[k] = v
			}
		}
		for _, e := range u["Service.Environment"] {
			add(envAssignments(t, e))
		}
		for _, f := range u["Service.EnvironmentFile"] {
			f, optional := strings.CutPrefix(f, "-")
			assert.Check(t, is.Equal(f, envPath))
			text, err := os.ReadFile(envOnDisk)
			if err != nil && optional {
				continue
			}
			assert.NilError(t, err)
			add(envAssignments(t, string(text)))
		}
		return vars
	}
	type step struct {
		args []string
		res  *icmd.Result
	}
	// start runs a unit's commands as systemd does and reports whether it
	// ended active (true) or failed.
	start := func(u systemdUnit, folder string) (bool, []step) {
		vars := environment(u)
		var envList []string
		for k, v := range vars {
			envList = append(envList, k+"="+v)
		}
		run := func(line string) (bool, step) {
			line = strings.ReplaceAll(line, folderPath, folder)
			args, ignore := execArgs(t, line, vars)
			cmd := icmd.Command(args[0], args[1:]...)
			if os.Getuid() != user.UID {
				groups := make([]string, len(user.Groups))
				for i, g := range user.Groups {
					groups[i] = strconv.Itoa(g)
				}
				cmd = icmd.Command("setpriv", append([]string{"--reuid=" + strconv.Itoa(user.UID), "--regid=" + strconv.Itoa(user.GID), "--groups=" + strings.Join(groups, ","), "--"}, args...)...)
			}
			cmd.Env, cmd.Timeout, cmd.Dir = envList, kit.PluginTimeout, "/"
			res := icmd.RunCmd(cmd)
			t.Logf("%s: exit %d\n%s", strings.Join(args, " "), res.ExitCode, res.Combined())
			return res.ExitCode == 0 || ignore, step{args, res}
		}
		var steps []step
		for _, line := range u["Service.ExecStart"] {
			ok, s := run(line)
			steps = append(steps, s)
			if !ok {
				return false, steps
			}
		}
		for _, line := range u["Service.ExecStartPost"] {
			ok, s := run(line)
			steps = append(steps, s)
			if !ok {
				return false, steps
			}
		}
		return true, steps
	}
	// night is the timer firing: the service, and its OnFailure= unit when
	// it failed.
	night := func(folder string) (bool, []step) {
		active, steps := start(service, folder)
		if !active {
			_, more := start(failed, folder)
			steps = append(steps, more...)
		}
		return active, steps
	}

	// A good night: backup, prune, ping.
	folder := user.Dir(t, user.Home, "backups")
	active, steps := night(folder)
	assert.Assert(t, active)
	assert.Check(t, is.Len(steps, 3), "backup, prune, ping")
	assert.Check(t, is.DeepEqual(pings, []string{"/"}))
	assert.Check(t, is.Contains(steps[0].res.Stdout(), "Run run-"), "the backup's result")
	ids := strings.Fields(icmd.RunCmd(user.Cmd(p, "infrahubdb", "list", "-q", folder)).Assert(t, icmd.Success).Stdout())
	assert.Check(t, is.Len(ids, 1), "a backup run appears")
	m := readManifest(t, folder)
	assert.Assert(t, is.Len(m.Runs, 1))
	assert.Check(t, m.Runs[0].Complete)
	assert.Check(t, is.Len(c.Running(t), len(kit.StockServices)), "everything runs again")
	db.Reconnect(t) // Community: the dump stopped and started the database

	// A failing night: the folder cannot be written. The backup exits 3
	// (the environment, as the page's table says) with an "Error:" last
	// line, the prune and the ping do not run, the failure unit pings
	// /fail, and nothing was stopped.
	before := startedAt(t, c)
	full := filepath.Join(t.TempDir(), "not-a-folder")
	assert.NilError(t, os.WriteFile(full, nil, 0o644))
	active, steps = night(full)
	assert.Check(t, !active)
	assert.Assert(t, is.Len(steps, 2), "the backup, then the failure unit's ping")
	assert.Check(t, is.Equal(steps[0].res.ExitCode, 3))
	lines := strings.Split(strings.TrimSpace(steps[0].res.Stderr()), "\n")
	assert.Check(t, strings.HasPrefix(lines[len(lines)-1], "Error: "), "the last line says what failed: %q", lines[len(lines)-1])
	assert.Check(t, is.DeepEqual(steps[1].args[len(steps[1].args)-1], hc.URL+"/fail"))
	assert.Check(t, is.DeepEqual(pings, []string{"/", "/fail"}))
	assert.Check(t, is.DeepEqual(startedAt(t, c), before), "nothing was stopped")
}

// lookPathOrSkip finds a tool the machine may lack; without it the test
// is skipped and says why.
func lookPathOrSkip(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s is not installed: the systemd units cannot be checked here", name)
	}
	return p
}
