package docker

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

func TestContainerFromInspect(t *testing.T) {
	r := container.InspectResponse{
		ID:    "0123456789abcdef",
		Name:  "/infrahub-database-1",
		Image: "sha256:abc",
		State: &container.State{Running: true},
		Config: &container.Config{
			Image: "neo4j:5.20-enterprise",
			User:  "7474:7474",
			Env:   []string{"NEO4J_AUTH=neo4j/pa/ss=word", "EMPTY="},
			Labels: map[string]string{
				"infrahub_role":              "database",
				"com.docker.compose.project": "infrahub",
				"com.docker.compose.service": "database",
			},
		},
		NetworkSettings: &container.NetworkSettings{Networks: map[string]*network.EndpointSettings{
			"zeta":    {NetworkID: "n2", IPAddress: netip.MustParseAddr("172.19.0.3")},
			"alpha":   {NetworkID: "n1", IPAddress: netip.MustParseAddr("172.18.0.2")},
			"nothing": nil,
		}},
		Mounts: []container.MountPoint{
			{Type: mount.TypeVolume, Name: "infrahub_database_data", Source: "/var/lib/docker/volumes/x/_data", Destination: "/data", RW: true},
			{Type: mount.TypeBind, Source: "/srv/logs", Destination: "/logs"},
			{Type: mount.TypeTmpfs, Destination: "/tmp"},
		},
	}
	c := containerFromInspect(r)
	assert.DeepEqual(t, c, Container{
		ID:             "0123456789abcdef",
		Name:           "infrahub-database-1",
		Image:          "neo4j:5.20-enterprise",
		ImageID:        "sha256:abc",
		Labels:         r.Config.Labels,
		Env:            r.Config.Env,
		Running:        true,
		Networks:       []Network{{Name: "alpha", ID: "n1", IP: "172.18.0.2"}, {Name: "zeta", ID: "n2", IP: "172.19.0.3"}},
		Mounts:         []Mount{{Type: "volume", Name: "infrahub_database_data", Source: "/var/lib/docker/volumes/x/_data", Destination: "/data", RW: true}, {Type: "bind", Source: "/srv/logs", Destination: "/logs"}},
		ComposeProject: "infrahub",
		ComposeService: "database",
		User:           "7474:7474",
	})

	auth, ok := c.EnvValue("NEO4J_AUTH")
	assert.Check(t, ok)
	assert.Check(t, is.Equal(auth, "neo4j/pa/ss=word"), "only the first = separates key and value")
	empty, ok := c.EnvValue("EMPTY")
	assert.Check(t, ok && empty == "")
	_, ok = c.EnvValue("NEO4J")
	assert.Check(t, !ok)
	data, ok := c.MountAt("/data")
	assert.Check(t, ok && data.Name == "infrahub_database_data")
}

func TestContainerFromInspectHostNetworkAndStopped(t *testing.T) {
	c := containerFromInspect(container.InspectResponse{
		Name:            "/db",
		State:           &container.State{Running: false},
		NetworkSettings: &container.NetworkSettings{Networks: map[string]*network.EndpointSettings{"host": {NetworkID: "h"}}},
	})
	assert.Check(t, !c.Running)
	assert.DeepEqual(t, c.Networks, []Network{{Name: "host", ID: "h"}})
}

func TestHelperLabels(t *testing.T) {
	now := time.Date(2025, 3, 4, 5, 6, 7, 0, time.FixedZone("x", 3600))
	labels := HelperLabels("backup", "dbid", now)
	assert.DeepEqual(t, labels, map[string]string{
		LabelHelper:  "backup",
		LabelTarget:  "dbid",
		LabelOwner:   Owner(),
		LabelStarted: "2025-03-04T04:06:07Z",
	})
	host, pid, ok := parseOwner(Owner())
	assert.Check(t, ok && host != "" && pid > 0)
}

func TestParseOwner(t *testing.T) {
	for _, tc := range []struct {
		in   string
		host string
		pid  int
		ok   bool
	}{
		{in: "laptop:123", host: "laptop", pid: 123, ok: true},
		{in: "fe80::1:42", host: "fe80::1", pid: 42, ok: true},
		{in: "laptop", ok: false},
		{in: ":12", ok: false},
		{in: "laptop:", ok: false},
		{in: "laptop:-3", ok: false},
		{in: "laptop:abc", ok: false},
		{in: "", ok: false},
	} {
		host, pid, ok := parseOwner(tc.in)
		assert.Check(t, is.Equal(ok, tc.ok), tc.in)
		if tc.ok {
			assert.Check(t, is.Equal(host, tc.host), tc.in)
			assert.Check(t, is.Equal(pid, tc.pid), tc.in)
		}
	}
}

func TestIsStale(t *testing.T) {
	alive := func(pid int) bool { return pid == 100 }
	helper := func(running bool, owner string) Container {
		return Container{Running: running, Labels: map[string]string{LabelOwner: owner}}
	}
	for _, tc := range []struct {
		name  string
		c     Container
		stale bool
	}{
		{"stopped, owner alive: it stopped its own helper", helper(false, "me:100"), false},
		{"stopped, owner dead", helper(false, "me:200"), true},
		{"stopped, other host", helper(false, "them:200"), true},
		{"owner alive", helper(true, "me:100"), false},
		{"owner dead", helper(true, "me:200"), true},
		{"other host", helper(true, "them:200"), false},
		{"no owner label", helper(true, ""), false},
	} {
		assert.Check(t, is.Equal(isStale(tc.c, "me", alive), tc.stale), tc.name)
	}
}

func TestCreateOptions(t *testing.T) {
	opts := createOptions(HelperSpec{
		Name:     "infrahubdb-backup-1",
		Image:    "neo4j:5-enterprise",
		Labels:   map[string]string{LabelHelper: "backup", LabelTarget: "db"},
		Networks: []string{"net-a", "net-b"},
		Mounts: []Mount{
			{Type: MountVolume, Name: "dbdata", Source: "/var/lib/docker/volumes/dbdata/_data", Destination: "/data", RW: true},
			{Type: MountBind, Source: "/home/op/backups", Destination: "/backups"},
		},
		Env:  []string{"A=1"},
		User: "7474",
	})
	assert.Check(t, is.Equal(opts.Name, "infrahubdb-backup-1"))
	assert.DeepEqual(t, opts.Config.Entrypoint, []string{"sleep"})
	assert.DeepEqual(t, opts.Config.Cmd, []string{"infinity"})
	assert.DeepEqual(t, opts.Config.Env, []string{"A=1", "NEO4J_ACCEPT_LICENSE_AGREEMENT=yes"})
	assert.Check(t, is.Equal(opts.Config.User, "7474"))
	assert.Check(t, is.Equal(opts.Config.Labels[LabelOwner], Owner()))
	assert.Check(t, opts.Config.Labels[LabelStarted] != "")
	assert.Check(t, is.Len(opts.HostConfig.Binds, 0), "bind mounts must not use Binds, which creates missing paths")
	assert.DeepEqual(t, opts.HostConfig.Mounts, []mount.Mount{
		{Type: mount.TypeVolume, Source: "dbdata", Target: "/data"},
		{Type: mount.TypeBind, Source: "/home/op/backups", Target: "/backups", ReadOnly: true},
	})
	assert.Check(t, is.Equal(string(opts.HostConfig.NetworkMode), "net-a"))
	assert.Check(t, is.Len(opts.NetworkingConfig.EndpointsConfig, 1))
	assert.Check(t, opts.NetworkingConfig.EndpointsConfig["net-a"] != nil)

	host := createOptions(HelperSpec{Image: "i", HostNetwork: true, Networks: []string{"ignored"}, Env: []string{"NEO4J_ACCEPT_LICENSE_AGREEMENT=eval"}})
	assert.Check(t, is.Equal(string(host.HostConfig.NetworkMode), "host"))
	assert.Check(t, host.NetworkingConfig == nil)
	assert.DeepEqual(t, host.Config.Env, []string{"NEO4J_ACCEPT_LICENSE_AGREEMENT=eval"})
}

func TestHelperName(t *testing.T) {
	a, b := HelperName("backup"), HelperName("backup")
	assert.Check(t, strings.HasPrefix(a, "infrahubdb-backup-") && len(a) == len("infrahubdb-backup-")+8, a)
	assert.Check(t, a != b)
}

func TestParseFindOutput(t *testing.T) {
	files, err := parseFindOutput("12\tneo4j-2025-01-01T00-00-00.backup\x000\tname with\ttab and\nnewline\x007\ta.txt\x00")
	assert.NilError(t, err)
	assert.DeepEqual(t, files, []FileInfo{
		{Name: "a.txt", Size: 7},
		{Name: "name with\ttab and\nnewline", Size: 0},
		{Name: "neo4j-2025-01-01T00-00-00.backup", Size: 12},
	})
	files, err = parseFindOutput("")
	assert.NilError(t, err)
	assert.Check(t, is.Len(files, 0))
	_, err = parseFindOutput("x\ty\x00")
	assert.ErrorContains(t, err, "unexpected find output")
}

func TestReadSingleFile(t *testing.T) {
	archive := func(hdr *tar.Header, body string) *bytes.Buffer {
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		hdr.Size = int64(len(body))
		assert.NilError(t, tw.WriteHeader(hdr))
		_, err := tw.Write([]byte(body))
		assert.NilError(t, err)
		assert.NilError(t, tw.Close())
		return &buf
	}
	got, err := readSingleFile(archive(&tar.Header{Name: "f", Typeflag: tar.TypeReg, Mode: 0o644}, "hello"), "/f", 5)
	assert.NilError(t, err)
	assert.Check(t, is.Equal(string(got), "hello"))

	_, err = readSingleFile(archive(&tar.Header{Name: "f", Typeflag: tar.TypeReg, Mode: 0o644}, "hello!"), "/f", 5)
	assert.ErrorContains(t, err, "read /f: 6 bytes, more than the 5 allowed")
	_, err = readSingleFile(archive(&tar.Header{Name: "d", Typeflag: tar.TypeDir, Mode: 0o755}, ""), "/d", 5)
	assert.ErrorContains(t, err, "read /d: not a regular file")
}

func TestRelayError(t *testing.T) {
	err := relayError("172.18.0.2:6362", "bash: connect: Connection refused\nbash: line 1: /dev/tcp/172.18.0.2/6362: Connection refused\n", 1)
	assert.Error(t, err, "172.18.0.2:6362 refused the connection")
	var ue *UnreachableError
	assert.Assert(t, errors.As(err, &ue))
	assert.Check(t, ue.Refused && !ue.TimedOut)
	assert.Check(t, is.Equal(ue.Detail, "Connection refused"))

	assert.Error(t, relayError("10.0.0.1:6362", "", 124), "10.0.0.1:6362 did not answer (timed out)")
	assert.Error(t, relayError("db:6362", "bash: db: Name or service not known\nbash: line 1: /dev/tcp/db/6362: Invalid argument\n", 1),
		"cannot connect to db:6362: Invalid argument")
}

func TestRelayEnv(t *testing.T) {
	env, err := relayEnv("172.18.0.2:7687")
	assert.NilError(t, err)
	assert.DeepEqual(t, env, []string{"INFRAHUBDB_RELAY_HOST=172.18.0.2", "INFRAHUBDB_RELAY_PORT=7687"})
	env, err = relayEnv("[fd00::2]:7687")
	assert.NilError(t, err)
	assert.DeepEqual(t, env, []string{"INFRAHUBDB_RELAY_HOST=fd00::2", "INFRAHUBDB_RELAY_PORT=7687"})
	_, err = relayEnv("172.18.0.2")
	assert.ErrorContains(t, err, `invalid address "172.18.0.2": want host:port`)
}

func TestAmbiguousError(t *testing.T) {
	err := &AmbiguousError{Candidates: []Container{{ID: "0123456789abcdef0", Name: "a"}, {ID: "fedcba9876543210", Name: "b"}}}
	assert.Error(t, err, "2 running containers are labelled infrahub_role=database: a (0123456789ab), b (fedcba987654); choose one with --database-container")
	assert.ErrorContains(t, ErrNoDatabase, "--database-container")
	assert.ErrorContains(t, ErrNoDatabase, "--database-url")
}

func TestDaemonUnreachable(t *testing.T) {
	api, err := client.New(client.WithHost("unix:///nonexistent/docker.sock"))
	assert.NilError(t, err)
	_, err = New(api).Inspect(context.Background(), "db")
	assert.Check(t, errors.Is(err, ErrDaemonUnreachable))
	assert.ErrorContains(t, err, "cannot reach the Docker daemon at unix:///nonexistent/docker.sock (check the Docker context: `docker context ls`, DOCKER_HOST)")
	assert.Check(t, !IsNotFound(err))
}

// The guardian's program is streamed into a one-file tar: exactly its
// size, executable; a file that changed size meanwhile fails the copy.
func TestProgramTar(t *testing.T) {
	body := []byte("\x7fELF a static program")
	p := &Program{Size: int64(len(body)), Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }}
	tr := tar.NewReader(programTar("/infrahubdb-guardian", p))
	h, err := tr.Next()
	assert.NilError(t, err)
	assert.Check(t, is.Equal(h.Name, "infrahubdb-guardian"))
	assert.Check(t, is.Equal(h.Mode, int64(0o755)))
	got, err := io.ReadAll(tr)
	assert.NilError(t, err)
	assert.Check(t, is.DeepEqual(got, body))
	_, err = tr.Next()
	assert.Check(t, is.Equal(err, io.EOF))

	shrunk := &Program{Size: int64(len(body)) + 10, Open: p.Open}
	_, err = io.ReadAll(programTar("/infrahubdb-guardian", shrunk))
	assert.Check(t, is.ErrorContains(err, "was it replaced?"))
}

// A file copied into a container one directory deep: the directory first
// (root's only), then the file, mode 0600.
func TestFileTarCreatesItsDirectory(t *testing.T) {
	body := []byte("a tar stream")
	p := &Program{Size: int64(len(body)), Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }}
	tr := tar.NewReader(fileTar("/infrahubdb-safety/storage.tar", p, 0o600))
	h, err := tr.Next()
	assert.NilError(t, err)
	assert.Check(t, is.Equal(h.Name, "infrahubdb-safety/"))
	assert.Check(t, is.Equal(h.Typeflag, byte(tar.TypeDir)))
	h, err = tr.Next()
	assert.NilError(t, err)
	assert.Check(t, is.Equal(h.Name, "infrahubdb-safety/storage.tar"))
	assert.Check(t, is.Equal(h.Mode, int64(0o600)))
	got, err := io.ReadAll(tr)
	assert.NilError(t, err)
	assert.Check(t, is.DeepEqual(got, body))
}

// Running tells a helper gone (removed, stopped, killed with its state
// lagging) from an engine that stopped answering (the ssh link to a
// remote engine cut), which says nothing of the helper.
func TestHelperRunningTellsAGoneHelperFromACutLink(t *testing.T) {
	cut := func(w http.ResponseWriter) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	}
	for _, tc := range []struct {
		name    string
		inspect func(w http.ResponseWriter) // the helper's inspect; nil: cut
		exec    func(w http.ResponseWriter) // exec create; nil: cut
		ping    bool                        // the engine answers a ping
		unknown bool                        // Running's error: the engine does not answer
	}{
		{name: "removed", ping: true, inspect: func(w http.ResponseWriter) {
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"message":"No such container: h"}`)
		}},
		{name: "stopped", ping: true, inspect: func(w http.ResponseWriter) {
			fmt.Fprint(w, `{"Id":"h","Name":"/h","State":{"Running":false},"Config":{}}`)
		}},
		{name: "killed, its state lagging", ping: true,
			inspect: func(w http.ResponseWriter) {
				fmt.Fprint(w, `{"Id":"h","Name":"/h","State":{"Running":true},"Config":{}}`)
			},
			exec: func(w http.ResponseWriter) {
				w.WriteHeader(http.StatusConflict)
				fmt.Fprint(w, `{"message":"container h is not running"}`)
			}},
		{name: "link cut", unknown: true},
		{name: "link cut after the inspect", unknown: true,
			inspect: func(w http.ResponseWriter) {
				fmt.Fprint(w, `{"Id":"h","Name":"/h","State":{"Running":true},"Config":{}}`)
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.Header().Set("Api-Version", "1.41")
				handle := tc.inspect
				switch {
				case strings.HasSuffix(r.URL.Path, "/_ping"):
					handle = nil
					if tc.ping {
						handle = func(w http.ResponseWriter) { fmt.Fprint(w, "OK") }
					}
				case strings.HasSuffix(r.URL.Path, "/exec"):
					handle = tc.exec
				}
				if handle == nil {
					cut(w)
					return
				}
				handle(w)
			}))
			defer srv.Close()
			api, err := client.New(client.WithHost("tcp://"+srv.Listener.Addr().String()), client.WithAPIVersion("1.41"))
			assert.NilError(t, err)
			h := &Helper{id: "h", name: "infrahubdb-backup-x", engine: New(api)}
			running, err := h.Running(context.Background())
			assert.Check(t, !running)
			if tc.unknown {
				assert.Check(t, errors.Is(err, ErrDaemonUnreachable), "%v", err)
			} else {
				assert.Check(t, err == nil, "the engine answers, the helper is gone: %v", err)
			}
		})
	}
}
