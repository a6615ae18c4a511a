// Package kit is the end-to-end test kit: it builds the Neo4j stand-in image
// (or uses a real image), builds and installs the plugin into a temporary
// Docker config, starts "Infrahub database" containers with their network,
// data volume, env and labels, fakes Infrahub app containers, and talks
// Cypher to the database with the Go driver.
//
// Every resource it creates has a unique name (test name plus a random
// suffix, so tests can run in parallel), carries the label RunLabel with this
// test binary's run id, and is removed in t.Cleanup, also when the test
// fails. Main sweeps whatever a crashed or timed-out test left behind.
//
// The docker CLI is driven through gotest.tools/v3/icmd, like the plugin's
// own tests do; Cypher goes through the Go driver to the container's IP
// (container names may not resolve on these machines).
package kit

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"gotest.tools/v3/icmd"

	"github.com/opsmill/docker-infrahubdb/internal/s3location/s3test"
)

// RunLabel marks every container, volume and network the kit creates; its
// value is RunID, so Main can sweep leftovers of this test binary only.
const RunLabel = "org.opsmill.infrahubdb.e2e.run"

// TargetLabel is the label the plugin puts on its helper containers, naming
// the database container ID they serve. The kit removes such helpers when it
// removes the database, so a failing plugin test does not leak them.
const TargetLabel = "org.opsmill.infrahubdb.target"

// DockerTimeout bounds every docker CLI call the kit makes itself.
const DockerTimeout = 3 * time.Minute

// RunID identifies this test binary's run.
var RunID = randomHex(4)

// Main runs the tests, then removes anything of this run that a test did not
// clean up (a panic, a timeout) and the shared build directory. Use it as
//
//	func TestMain(m *testing.M) { kit.Main(m) }
//
// It also checks that the run left the engine as it found it: a container,
// volume (anonymous ones included) or network of the run still there after
// the tests fails the run.
func Main(m *testing.M) {
	watch := watchEngine()
	code := m.Run()
	s3test.StopShared() // the S3 server of NewS3Location, if one started
	if !checkLeftovers(watch) && code == 0 {
		code = 1
	}
	sweep()
	if sharedDir != "" {
		_ = os.RemoveAll(sharedDir)
	}
	os.Exit(code)
}

// sweep removes containers, volumes and networks labelled with this run.
func sweep() {
	filter := "label=" + RunLabel + "=" + RunID
	kinds := [][]string{
		{"ps", "-aq", "--filter", filter},
		{"volume", "ls", "-q", "--filter", filter},
		{"network", "ls", "-q", "--filter", filter},
	}
	removers := [][]string{{"rm", "-f", "-v"}, {"volume", "rm", "-f"}, {"network", "rm"}}
	for i, list := range kinds {
		res := icmd.RunCmd(icmd.Cmd{Command: append([]string{"docker"}, list...), Timeout: DockerTimeout})
		ids := strings.Fields(res.Stdout())
		if len(ids) == 0 {
			continue
		}
		fmt.Fprintf(os.Stderr, "kit: removing leftovers of run %s: docker %s %s\n", RunID, strings.Join(removers[i], " "), strings.Join(ids, " "))
		icmd.RunCmd(icmd.Cmd{Command: append(append([]string{"docker"}, removers[i]...), ids...), Timeout: DockerTimeout})
	}
}

// Docker runs `docker <args>` with the caller's environment (not the
// plugin's temporary config) and returns the result without asserting.
func Docker(args ...string) *icmd.Result {
	return icmd.RunCmd(icmd.Cmd{Command: append([]string{"docker"}, args...), Timeout: DockerTimeout})
}

// MustDocker runs `docker <args>`, fails the test unless it succeeds, and
// returns its trimmed stdout.
func MustDocker(t testing.TB, args ...string) string {
	t.Helper()
	res := Docker(args...)
	res.Assert(t, icmd.Success)
	return strings.TrimSpace(res.Stdout())
}

// UniqueName returns a Docker-safe name made of prefix, the test's name and a
// random suffix, e.g. "e2e-testbackupfull-3f9a1c".
func UniqueName(t testing.TB, prefix string) string {
	name := strings.ToLower(t.Name())
	name = regexp.MustCompile(`[^a-z0-9]+`).ReplaceAllString(name, "-")
	name = strings.Trim(name, "-")
	if len(name) > 32 {
		name = strings.TrimRight(name[:32], "-")
	}
	return prefix + "-" + name + "-" + randomHex(3)
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// RepoRoot is the module root (the directory holding go.mod), found from the
// test's working directory.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("kit: no go.mod above the working directory")
		}
		dir = parent
	}
}

var (
	sharedOnce sync.Once
	sharedDir  string
	sharedErr  error
)

// shared returns a directory that lives as long as the test binary (removed
// by Main), for things built once: the plugin binary.
func shared(t testing.TB) string {
	t.Helper()
	sharedOnce.Do(func() { sharedDir, sharedErr = os.MkdirTemp("", "infrahubdb-e2e-"+RunID+"-") })
	if sharedErr != nil {
		t.Fatal(sharedErr)
	}
	return sharedDir
}

// lookPath fails the test when a tool the kit needs is missing.
func lookPath(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("kit: %s not found on PATH: %v", name, err)
	}
	return p
}
