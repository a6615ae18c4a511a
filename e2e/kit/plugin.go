package kit

import (
	"debug/elf"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"gotest.tools/v3/icmd"
)

// PluginTimeout bounds a plugin command run through Plugin.Docker.
const PluginTimeout = 10 * time.Minute

// Plugin is the plugin binary installed as `docker-infrahubdb` in a
// temporary Docker config directory of one test. Only DOCKER_CONFIG is
// changed, so DOCKER_HOST and the default context keep working.
type Plugin struct {
	// ConfigDir is the test's DOCKER_CONFIG; the plugin is in
	// ConfigDir/cli-plugins/docker-infrahubdb.
	ConfigDir string
	// Binary is the built plugin (shared by all tests of the binary).
	Binary string
	// Version is the version stamped into the build, "e2e-<run id>".
	Version string
}

// pluginBuild is a plugin binary built once per test binary.
type pluginBuild struct {
	once     sync.Once
	bin, err string
}

// install builds the binary on first use (build returns it, or why it
// could not) and installs it for this test.
func (b *pluginBuild) install(t testing.TB, build func() (string, string)) *Plugin {
	t.Helper()
	lookPath(t, "docker")
	b.once.Do(func() { b.bin, b.err = build() })
	if b.err != "" {
		t.Fatal(b.err)
	}
	return install(t, b.bin)
}

var devBuild, cgoBuild, releaseBuild pluginBuild

// InstallPlugin builds the plugin once per test binary (with a stamped
// version) and installs it into a fresh DOCKER_CONFIG for this test.
func InstallPlugin(t testing.TB) *Plugin {
	t.Helper()
	return devBuild.install(t, func() (string, string) { return build(t, "docker-infrahubdb", "CGO_ENABLED=0") })
}

// install links bin as the plugin in a fresh DOCKER_CONFIG for this test.
func install(t testing.TB, bin string) *Plugin {
	t.Helper()
	config := t.TempDir()
	plugins := filepath.Join(config, "cli-plugins")
	if err := os.MkdirAll(plugins, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(bin, filepath.Join(plugins, "docker-infrahubdb")); err != nil {
		t.Fatal(err)
	}
	return &Plugin{ConfigDir: config, Binary: bin, Version: "e2e-" + RunID}
}

func build(t testing.TB, name, cgo string) (string, string) {
	out := filepath.Join(shared(t), name)
	ldflags := "-X github.com/opsmill/docker-infrahubdb/internal/version.Version=e2e-" + RunID
	res := icmd.RunCmd(icmd.Cmd{
		Command: []string{lookPath(t, "go"), "build", "-trimpath", "-ldflags", ldflags, "-o", out, "./cmd/docker-infrahubdb"},
		Dir:     RepoRoot(t),
		Env:     append(os.Environ(), cgo),
		Timeout: 10 * time.Minute,
	})
	if res.Error != nil {
		return "", "kit: building the plugin failed: " + res.String()
	}
	return out, ""
}

// InstallPluginWithoutGuardian installs a plugin that can arm no guardian,
// as on a host where none can run: a plain `go build` with cgo, which
// embeds no guardian binary and is itself dynamically linked, so it
// cannot serve as one in the database's image (internal/guardian). Its
// runs take the run lock without a guardian ("no guardian: …").
func InstallPluginWithoutGuardian(t testing.TB) *Plugin {
	t.Helper()
	return cgoBuild.install(t, func() (string, string) {
		bin, err := build(t, "docker-infrahubdb-cgo", "CGO_ENABLED=1")
		if err != "" {
			return "", err
		}
		f, ferr := elf.Open(bin)
		if ferr != nil {
			return "", "kit: " + ferr.Error()
		}
		defer f.Close()
		if !slices.ContainsFunc(f.Progs, func(p *elf.Prog) bool { return p.Type == elf.PT_INTERP }) {
			return "", "kit: the cgo build of the plugin is static (no C toolchain?): it would arm a guardian"
		}
		return bin, ""
	})
}

// InstallReleasePlugin installs the plugin as `make build` makes it, the
// build operators install: stripped, with the small guardian binaries
// embedded (the dev build of InstallPlugin copies its own 36 MiB
// executable into every guardian instead). For the benchmark, which
// measures what operators run.
func InstallReleasePlugin(t testing.TB) *Plugin {
	t.Helper()
	return releaseBuild.install(t, func() (string, string) {
		bin := filepath.Join(shared(t), "docker-infrahubdb-release")
		res := icmd.RunCmd(icmd.Cmd{
			Command: []string{lookPath(t, "make"), "build", "BIN=" + bin, "VERSION=e2e-" + RunID, "GO=" + lookPath(t, "go")},
			Dir:     RepoRoot(t),
			Timeout: 10 * time.Minute,
		})
		if res.Error != nil {
			return "", "kit: make build failed: " + res.String()
		}
		return bin, ""
	})
}

// Env is the environment plugin commands run with: the caller's, with
// DOCKER_CONFIG pointing at the test's config directory.
func (p *Plugin) Env(extra ...string) []string {
	env := []string{}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "DOCKER_CONFIG=") {
			env = append(env, kv)
		}
	}
	env = append(env, "DOCKER_CONFIG="+p.ConfigDir)
	return append(env, extra...)
}

// Cmd returns `docker <args>` ready to run with the plugin installed, for
// tests that need stdin, more env (append to Env), a directory or another
// timeout.
func (p *Plugin) Cmd(args ...string) icmd.Cmd {
	return icmd.Cmd{Command: append([]string{"docker"}, args...), Env: p.Env(), Timeout: PluginTimeout}
}

// Docker runs `docker <args>` with the plugin installed and returns the
// result; assert on it with res.Assert(t, icmd.Expected{...}).
func (p *Plugin) Docker(args ...string) *icmd.Result {
	return icmd.RunCmd(p.Cmd(args...))
}

// Start starts cmd without waiting, for tests that interrupt it. The
// command is killed in t.Cleanup if it is still running.
func (p *Plugin) Start(t testing.TB, cmd icmd.Cmd) *Running {
	t.Helper()
	res := icmd.StartCmd(cmd)
	if res.Error != nil {
		t.Fatalf("kit: starting %v: %v", cmd.Command, res.Error)
	}
	r := &Running{Result: res, timeout: cmd.Timeout, done: make(chan struct{})}
	go func() {
		icmd.WaitOnCmd(0, res)
		close(r.done)
	}()
	t.Cleanup(func() {
		_ = res.Cmd.Process.Kill()
		<-r.done
	})
	return r
}

// Running is a docker command started by Plugin.Start.
type Running struct {
	Result  *icmd.Result
	timeout time.Duration
	done    chan struct{}
}

// Signal sends sig to the docker CLI process only. Without a terminal, the
// CLI passes a SIGINT/SIGTERM on to the plugin by closing the plugin socket.
func (r *Running) Signal(t testing.TB, sig syscall.Signal) {
	t.Helper()
	if err := r.Result.Cmd.Process.Signal(sig); err != nil {
		t.Fatalf("kit: signal %v to pid %d: %v", sig, r.Result.Cmd.Process.Pid, err)
	}
}

// Interrupt is Ctrl-C in a terminal: SIGINT to the docker CLI and to the
// plugin process it runs (a terminal signals the whole foreground group).
func (r *Running) Interrupt(t testing.TB) {
	t.Helper()
	r.signalGroup(t, syscall.SIGINT)
}

// signalGroup sends sig to the plugin processes the docker CLI runs, then
// to the CLI. The CLI exits by itself once its plugin has gone (and the
// kit's waiter reaps it), so a CLI that finished after its plugin was
// signalled is what a foreground group's signal does too, not a failure;
// one that finished before anything was signalled still fails the test.
func (r *Running) signalGroup(t testing.TB, sig syscall.Signal) {
	t.Helper()
	kids := children(r.Result.Cmd.Process.Pid)
	for _, child := range kids {
		_ = syscall.Kill(child, sig)
	}
	err := r.Result.Cmd.Process.Signal(sig)
	if err == nil || (len(kids) > 0 && errors.Is(err, os.ErrProcessDone)) {
		return
	}
	t.Fatalf("kit: signal %v to pid %d: %v", sig, r.Result.Cmd.Process.Pid, err)
}

// Wait waits for the command to exit and returns its result. After the
// command's timeout it is killed and Result.Timeout is set.
func (r *Running) Wait() *icmd.Result {
	var expired <-chan time.Time
	if r.timeout > 0 {
		expired = time.After(r.timeout)
	}
	select {
	case <-r.done:
	case <-expired:
		_ = r.Result.Cmd.Process.Kill()
		<-r.done
		r.Result.Timeout = true
	}
	return r.Result
}

// Exited reports whether the command has exited.
func (r *Running) Exited() bool {
	select {
	case <-r.done:
		return true
	default:
		return false
	}
}

// WaitForOutput waits until the command's stdout or stderr contains substr,
// for tests that interrupt a command at a given step. It fails the test if
// the command exits first or timeout passes.
func (r *Running) WaitForOutput(t testing.TB, substr string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !strings.Contains(r.Result.Combined(), substr) {
		if r.Exited() || time.Now().After(deadline) {
			t.Fatalf("kit: %q never appeared in the output of %v:\n%s", substr, r.Result.Cmd.Args, r.Result.Combined())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// children lists the direct child processes of pid (Linux /proc).
func children(pid int) []int {
	var out []int
	tasks, _ := filepath.Glob(filepath.Join("/proc", strconv.Itoa(pid), "task", "*", "children"))
	for _, f := range tasks {
		b, _ := os.ReadFile(f)
		for _, s := range strings.Fields(string(b)) {
			if n, err := strconv.Atoi(s); err == nil {
				out = append(out, n)
			}
		}
	}
	return out
}
