package engine_test

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"
	"github.com/moby/moby/client/pkg/versions"
	"github.com/opsmill/docker-infrahubdb/internal/docker"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

func helperSpec(t *testing.T) docker.HelperSpec {
	labels := docker.HelperLabels("test", "none-"+t.Name(), time.Now())
	labels[testLabel] = "1"
	return docker.HelperSpec{
		Name:     docker.HelperName("test"),
		Image:    testImage,
		Labels:   labels,
		Networks: []string{"bridge"},
	}
}

func startHelper(t *testing.T, e *docker.Engine, spec docker.HelperSpec) docker.HelperContainer {
	t.Helper()
	h, err := e.StartHelper(context.Background(), spec)
	assert.NilError(t, err)
	t.Cleanup(func() { assert.Check(t, h.Remove(context.Background())) })
	return h
}

func TestHelperIsRunningWithLabelsAndLicenceEnv(t *testing.T) {
	e, api := newEngine(t)
	spec := helperSpec(t)
	h := startHelper(t, e, spec)

	c, err := e.Inspect(context.Background(), h.ID())
	assert.NilError(t, err)
	assert.Check(t, c.Running)
	assert.Check(t, is.Equal(c.Name, spec.Name))
	assert.Check(t, is.Equal(c.Labels[docker.LabelHelper], "test"))
	assert.Check(t, is.Equal(c.Labels[docker.LabelOwner], docker.Owner()))
	v, _ := c.EnvValue("NEO4J_ACCEPT_LICENSE_AGREEMENT")
	assert.Check(t, is.Equal(v, "yes"))
	assert.Check(t, is.Len(c.Networks, 1))
	assert.Check(t, c.Networks[0].IP != "")

	// The client talks the daemon's API version (1.41 on Docker 20.10), negotiated on first use.
	sv, err := api.ServerVersion(context.Background(), client.ServerVersionOptions{})
	assert.NilError(t, err)
	if versions.LessThan(sv.APIVersion, client.MaxAPIVersion) {
		assert.Check(t, is.Equal(api.ClientVersion(), sv.APIVersion))
	}
}

func TestExecExitCodeAndStreams(t *testing.T) {
	e, _ := newEngine(t)
	h := startHelper(t, e, helperSpec(t))
	ctx := context.Background()

	var stdout, stderr bytes.Buffer
	code, err := h.Exec(ctx, docker.ExecSpec{
		Cmd:    []string{"bash", "-c", `echo out; echo err >&2; echo "$1"; exit 3`, "bash", "arg with 'quotes' and $dollar"},
		Stdout: &stdout,
		Stderr: &stderr,
	})
	assert.NilError(t, err)
	assert.Check(t, is.Equal(code, 3))
	assert.Check(t, is.Equal(stdout.String(), "out\narg with 'quotes' and $dollar\n"))
	assert.Check(t, is.Equal(stderr.String(), "err\n"))

	stdout.Reset()
	code, err = h.Exec(ctx, docker.ExecSpec{
		Cmd:        []string{"bash", "-c", `pwd; cat`},
		WorkingDir: "/tmp",
		Stdin:      strings.NewReader("from stdin\n"),
		Stdout:     &stdout,
	})
	assert.NilError(t, err)
	assert.Check(t, is.Equal(code, 0))
	assert.Check(t, is.Equal(stdout.String(), "/tmp\nfrom stdin\n"))

	code, err = h.Exec(ctx, docker.ExecSpec{Cmd: []string{"no-such-command"}})
	assert.NilError(t, err)
	assert.Check(t, code == 126 || code == 127, "a missing executable: got exit code %d", code)
}

// A secret passed in the exec's Env reaches the process but shows nowhere in the API: not in the
// container's inspect output, not in the exec's inspect output while it runs, not in docker top.
func TestExecEnvStaysOutOfInspect(t *testing.T) {
	e, api := newEngine(t)
	h := startHelper(t, e, helperSpec(t))
	const secret = "s3cr3t/pa ss'word"

	var stdout bytes.Buffer
	code, err := h.Exec(context.Background(), docker.ExecSpec{
		Cmd:    []string{"bash", "-c", `printf %s "$NEO4J_PASSWORD"`},
		Env:    []string{"NEO4J_PASSWORD=" + secret},
		Stdout: &stdout,
	})
	assert.NilError(t, err)
	assert.Check(t, is.Equal(code, 0))
	assert.Check(t, is.Equal(stdout.String(), secret))

	// While an exec with the secret runs, look at everything the API shows about it.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := h.Exec(ctx, docker.ExecSpec{Cmd: []string{"sleep", "30"}, Env: []string{"NEO4J_PASSWORD=" + secret}})
		done <- err
	}()
	var execIDs []string
	for range 100 {
		res, err := api.ContainerInspect(context.Background(), h.ID(), client.ContainerInspectOptions{})
		assert.NilError(t, err)
		assert.Check(t, !strings.Contains(string(res.Raw), "s3cr3t"), "container inspect shows the secret")
		if execIDs = res.Container.ExecIDs; len(execIDs) > 0 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	assert.Assert(t, len(execIDs) > 0, "the exec never showed up")
	for _, id := range execIDs {
		raw := rawGet(t, api, "/exec/"+id+"/json")
		assert.Check(t, strings.Contains(raw, `"sleep"`), raw)
		assert.Check(t, !strings.Contains(raw, "s3cr3t"), "exec inspect shows the secret: %s", raw)
	}
	top, err := api.ContainerTop(context.Background(), h.ID(), client.ContainerTopOptions{})
	assert.NilError(t, err)
	assert.Check(t, !strings.Contains(strings.Join(flatten(top.Processes), " "), "s3cr3t"))

	// Cancelling returns at once although the command would run for 30 seconds.
	cancel()
	assert.Check(t, is.ErrorIs(<-done, context.Canceled))
}

func TestFilesInAndOut(t *testing.T) {
	e, _ := newEngine(t)
	h := startHelper(t, e, helperSpec(t))
	ctx := context.Background()

	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	assert.NilError(t, h.CopyTo(ctx, "/data", tarOf(t, map[string][]byte{
		"neo4j-2025-01-01T00-00-00.backup": big,
		"name with space.txt":              []byte("hello\n"),
		"sub/inner.txt":                    []byte("inner"),
	})))

	size, isDir, exists, err := h.Stat(ctx, "/data/neo4j-2025-01-01T00-00-00.backup")
	assert.NilError(t, err)
	assert.Check(t, exists && !isDir)
	assert.Check(t, is.Equal(size, int64(len(big))))
	_, isDir, exists, err = h.Stat(ctx, "/data/sub")
	assert.NilError(t, err)
	assert.Check(t, exists && isDir)
	_, _, exists, err = h.Stat(ctx, "/data/missing")
	assert.NilError(t, err)
	assert.Check(t, !exists)

	files, err := h.ListFiles(ctx, "/data")
	assert.NilError(t, err)
	assert.DeepEqual(t, files, []docker.FileInfo{
		{Name: "name with space.txt", Size: 6},
		{Name: "neo4j-2025-01-01T00-00-00.backup", Size: int64(len(big))},
	})
	_, err = h.ListFiles(ctx, "/data/missing")
	assert.ErrorContains(t, err, "find exited with 1")

	got, err := h.ReadFile(ctx, "/data/name with space.txt", 100)
	assert.NilError(t, err)
	assert.Check(t, is.Equal(string(got), "hello\n"))
	_, err = h.ReadFile(ctx, "/data/neo4j-2025-01-01T00-00-00.backup", 1000)
	assert.ErrorContains(t, err, "more than the 1000 allowed")
	_, err = h.ReadFile(ctx, "/data/sub", 1000)
	assert.ErrorContains(t, err, "not a regular file")
	_, err = h.ReadFile(ctx, "/data/missing", 1000)
	assert.Check(t, docker.IsNotFound(err), "%v", err)

	rc, err := h.CopyFrom(ctx, "/data/neo4j-2025-01-01T00-00-00.backup")
	assert.NilError(t, err)
	defer rc.Close()
	tr := tar.NewReader(rc)
	hdr, err := tr.Next()
	assert.NilError(t, err)
	assert.Check(t, is.Equal(hdr.Name, "neo4j-2025-01-01T00-00-00.backup"))
	body, err := io.ReadAll(tr)
	assert.NilError(t, err)
	assert.Check(t, bytes.Equal(body, big))
}

// Bind mounts go through the Mounts API: a source missing on the daemon's host is an error, not
// an empty directory created behind the operator's back.
func TestBindMountOfMissingPathFails(t *testing.T) {
	e, _ := newEngine(t)
	missing := filepath.Join(t.TempDir(), "not-there")
	spec := helperSpec(t)
	spec.Mounts = []docker.Mount{{Type: docker.MountBind, Source: missing, Destination: "/backups", RW: true}}

	_, err := e.StartHelper(context.Background(), spec)
	assert.ErrorContains(t, err, "bind source path does not exist")
	_, statErr := os.Stat(missing)
	assert.Check(t, os.IsNotExist(statErr))
	assertNoContainerNamed(t, e, spec.Name)

	// A bind mount of an existing folder works and is writable.
	dir := t.TempDir()
	spec = helperSpec(t)
	spec.Mounts = []docker.Mount{{Type: docker.MountBind, Source: dir, Destination: "/backups", RW: true}}
	h := startHelper(t, e, spec)
	code, err := h.Exec(context.Background(), docker.ExecSpec{Cmd: []string{"bash", "-c", "echo x > /backups/probe"}})
	assert.NilError(t, err)
	assert.Check(t, is.Equal(code, 0))
	_, err = os.Stat(filepath.Join(dir, "probe"))
	assert.Check(t, err)
}

// A failure after the container was created (here: joining a network that does not exist)
// removes the container.
func TestStartHelperCleansUpAfterFailure(t *testing.T) {
	e, _ := newEngine(t)
	spec := helperSpec(t)
	spec.Networks = []string{"bridge", "infrahubdb-no-such-network"}

	_, err := e.StartHelper(context.Background(), spec)
	// Docker 20.10 accepts the connect of a created container and fails at start.
	assert.ErrorContains(t, err, "network infrahubdb-no-such-network not found")
	assertNoContainerNamed(t, e, spec.Name)
}

func TestRemoveIsIdempotentAndWorksWithCancelledContext(t *testing.T) {
	e, _ := newEngine(t)
	h, err := e.StartHelper(context.Background(), helperSpec(t))
	assert.NilError(t, err)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.NilError(t, h.Remove(ctx))
	_, err = e.Inspect(context.Background(), h.ID())
	assert.Check(t, docker.IsNotFound(err), "%v", err)
	assert.NilError(t, h.Remove(ctx))
	assert.NilError(t, e.RemoveContainer(context.Background(), h.ID()))
}

// Two runs removing one container at once (two drills cleaning up a dead
// one's leftovers): each returns only once it is gone, so the volume it
// mounted can be removed right after, by either.
func TestConcurrentRemovesWaitUntilGone(t *testing.T) {
	e, _ := newEngine(t)
	ctx := context.Background()
	for i := range 5 {
		vol, err := e.CreateVolume(ctx, "infrahubdb-test-remove-"+docker.HelperName("v"), map[string]string{testLabel: "1"})
		assert.NilError(t, err)
		spec := helperSpec(t)
		spec.Mounts = []docker.Mount{{Type: docker.MountVolume, Name: vol, Destination: "/data", RW: true}}
		h, err := e.StartHelper(ctx, spec)
		assert.NilError(t, err)
		errs := make(chan error, 2)
		for range 2 {
			go func() { errs <- e.RemoveContainer(ctx, h.ID()) }()
		}
		for range 2 {
			assert.Check(t, <-errs, "round %d", i)
			assert.Check(t, e.RemoveVolume(ctx, vol), "round %d: the volume is still in use", i)
		}
	}
}

func TestStaleHelpers(t *testing.T) {
	e, _ := newEngine(t)
	target := "target-" + docker.HelperName("x")
	spec := func(owner string) docker.HelperSpec {
		s := helperSpec(t)
		s.Labels[docker.LabelTarget] = target
		s.Labels[docker.LabelOwner] = owner
		return s
	}
	host, _ := os.Hostname()
	live := startHelper(t, e, spec(docker.Owner()))
	dead := startHelper(t, e, spec(host+":999999999")) // no such pid
	remote := startHelper(t, e, spec("some-other-host:1"))
	// A run stops its own helper on purpose while the database restarts
	// (Community backup, offline restore): stopped, with its owner alive,
	// it is not stale. A stopped helper of another host's run is (whoever
	// asks holds the deployment's run lock).
	stopped := startHelper(t, e, spec(docker.Owner()))
	assert.NilError(t, e.StopContainer(context.Background(), stopped.ID(), 0))
	remoteStopped := startHelper(t, e, spec("some-other-host:2"))
	assert.NilError(t, e.StopContainer(context.Background(), remoteStopped.ID(), 0))

	staleC, liveC, err := e.StaleHelpers(context.Background(), target)
	assert.NilError(t, err)
	assert.DeepEqual(t, ids(staleC), sortedIDs(dead.ID(), remoteStopped.ID()))
	assert.DeepEqual(t, ids(liveC), sortedIDs(live.ID(), remote.ID(), stopped.ID()))
}

func TestFindDatabase(t *testing.T) {
	e, _ := newEngine(t)
	ctx := context.Background()
	// Other tests and other suites may have labelled containers running; by name always works.
	spec := helperSpec(t)
	h := startHelper(t, e, spec)
	c, err := e.FindDatabase(ctx, spec.Name)
	assert.NilError(t, err)
	assert.Check(t, is.Equal(c.ID, h.ID()))

	_, err = e.FindDatabase(ctx, "infrahubdb-no-such-container")
	assert.Check(t, docker.IsNotFound(err))
	assert.ErrorContains(t, err, `database container "infrahubdb-no-such-container" not found`)

	assert.NilError(t, e.StopContainer(ctx, h.ID(), 0))
	_, err = e.FindDatabase(ctx, spec.Name)
	assert.ErrorContains(t, err, "is not running")
	assert.NilError(t, e.StartContainer(ctx, h.ID()))
	_, err = e.FindDatabase(ctx, spec.Name)
	assert.NilError(t, err)
}

func TestImages(t *testing.T) {
	e, _ := newEngine(t)
	ctx := context.Background()
	found, err := e.HasImage(ctx, testImage)
	assert.NilError(t, err)
	assert.Check(t, found)
	found, err = e.HasImage(ctx, "infrahubdb-e2e-engine:no-such-tag")
	assert.NilError(t, err)
	assert.Check(t, !found)

	// No registry is reachable here: the pull fails with an error, not a hang or a panic.
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	err = e.PullImage(ctx, "localhost:1/infrahubdb/none:1", "", nil)
	assert.ErrorContains(t, err, "pull localhost:1/infrahubdb/none:1")
}

func tarOf(t *testing.T, files map[string][]byte) io.Reader {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for name, content := range files {
		assert.NilError(t, tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o600, Size: int64(len(content))}))
		_, err := tw.Write(content)
		assert.NilError(t, err)
	}
	assert.NilError(t, tw.Close())
	return &buf
}

func assertNoContainerNamed(t *testing.T, e *docker.Engine, name string) {
	t.Helper()
	_, err := e.Inspect(context.Background(), name)
	assert.Check(t, docker.IsNotFound(err), "container %s exists: %v", name, err)
}

// rawGet returns the raw JSON of an API path, to check what the daemon itself discloses.
func rawGet(t *testing.T, api client.APIClient, path string) string {
	t.Helper()
	hc := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) { return api.Dialer()(ctx) },
	}}
	resp, err := hc.Get("http://docker/v1.41" + path)
	assert.NilError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	assert.NilError(t, err)
	assert.Assert(t, resp.StatusCode == http.StatusOK, "%s: %s", resp.Status, body)
	return string(body)
}

func flatten(rows [][]string) []string {
	var out []string
	for _, r := range rows {
		out = append(out, r...)
	}
	return out
}

func ids(cs []docker.Container) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.ID
	}
	return sortedIDs(out...)
}

func sortedIDs(ids ...string) []string {
	return slices.Sorted(slices.Values(ids))
}
