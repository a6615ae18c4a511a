package kit

import (
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"gotest.tools/v3/icmd"
)

// NonRootUID is the user the non-root tests run the plugin as when the
// suite itself runs as root (as CI does). It needs no passwd entry:
// setpriv switches the ids, and HOME points at a directory it owns.
const NonRootUID = 4242

// User is an operator who is not root but may use the Docker engine: a
// member of the group that owns the daemon's socket (the "docker" group).
type User struct {
	UID, GID int
	// Groups are the supplementary groups (the socket's group).
	Groups []int
	// Home is a directory the user owns, for HOME and its files.
	Home string
}

// NonRoot returns the user to run the plugin as, and a plugin installed
// where that user can run it. When the suite already runs as a non-root
// user, that is the user, unchanged. As root, it is NonRootUID with the
// socket's group, through setpriv (util-linux).
func NonRoot(t testing.TB) (*User, *Plugin) {
	t.Helper()
	p := InstallPlugin(t)
	if os.Getuid() != 0 {
		return &User{UID: os.Getuid(), GID: os.Getgid(), Home: t.TempDir()}, p
	}
	lookPath(t, "setpriv")
	u := &User{UID: NonRootUID, GID: NonRootUID, Groups: []int{socketGroup(t)}}
	// A world-traversable base: t.TempDir's parents are private to root.
	base, err := os.MkdirTemp("", "infrahubdb-e2e-user-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	u.Home = u.Dir(t, base, "home")
	config := u.Dir(t, u.Home, ".docker")
	plugins := u.Dir(t, config, "cli-plugins")
	copyExecutable(t, p.Binary, filepath.Join(plugins, "docker-infrahubdb"))
	return u, &Plugin{ConfigDir: config, Binary: p.Binary, Version: p.Version}
}

// Dir creates parent/name owned by the user, mode 0700, and returns it.
func (u *User) Dir(t testing.TB, parent, name string) string {
	t.Helper()
	dir := filepath.Join(parent, name)
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, u.UID, u.GID); err != nil {
		t.Fatal(err)
	}
	return dir
}

// Cmd is `docker <args>` with the plugin of p, run as the user.
func (u *User) Cmd(p *Plugin, args ...string) icmd.Cmd {
	cmd := p.Cmd(args...)
	cmd.Env = append(cmd.Env, "HOME="+u.Home)
	if os.Getuid() == u.UID {
		return cmd
	}
	groups := make([]string, len(u.Groups))
	for i, g := range u.Groups {
		groups[i] = strconv.Itoa(g)
	}
	cmd.Command = append([]string{"setpriv",
		"--reuid=" + strconv.Itoa(u.UID), "--regid=" + strconv.Itoa(u.GID),
		"--groups=" + strings.Join(groups, ","), "--"}, cmd.Command...)
	return cmd
}

// socketGroup is the group that owns the Docker daemon's unix socket: the
// group a non-root operator is in to use the engine.
func socketGroup(t testing.TB) int {
	t.Helper()
	path := "/var/run/docker.sock"
	if host := os.Getenv("DOCKER_HOST"); strings.HasPrefix(host, "unix://") {
		path = strings.TrimPrefix(host, "unix://")
	} else if host != "" {
		t.Fatalf("kit: DOCKER_HOST=%s is not a unix socket: run the non-root tests as a non-root user", host)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatalf("kit: the Docker socket: %v", err)
	}
	return int(fi.Sys().(*syscall.Stat_t).Gid)
}

func copyExecutable(t testing.TB, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}
