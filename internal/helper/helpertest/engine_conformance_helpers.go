package helpertest

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/poll"

	"github.com/opsmill/docker-infrahubdb/internal/docker"
	"github.com/opsmill/docker-infrahubdb/internal/guardian"
	"github.com/opsmill/docker-infrahubdb/internal/helper"
	"github.com/opsmill/docker-infrahubdb/internal/progress"
)

// helperCases are EngineConformance's cases about helper containers: stale
// helpers and the helper lock, mounts, exec as a given user, networks and
// the tunnel.
func helperCases(t *testing.T, world func(t *testing.T) World) {
	ctx := context.Background()
	start := func(t *testing.T, w World, spec docker.HelperSpec) helper.Helper {
		t.Helper()
		spec.Image = w.HelperImage
		if spec.Name == "" {
			spec.Name = docker.HelperName("conformance")
		}
		if spec.Labels == nil {
			spec.Labels = docker.HelperLabels("conformance", "none-"+spec.Name, time.Now())
		}
		h, err := w.Engine.StartHelper(ctx, spec)
		assert.NilError(t, err)
		t.Cleanup(func() { assert.Check(t, h.Remove(context.Background())) })
		return h
	}
	run := func(t *testing.T, h helper.Helper, spec docker.ExecSpec) (int, string) {
		t.Helper()
		var out, errOut bytes.Buffer
		spec.Stdout, spec.Stderr = &out, &errOut
		code, err := h.Exec(ctx, spec)
		assert.NilError(t, err, "%v", spec.Cmd)
		return code, strings.TrimSpace(out.String())
	}
	bare := func(name string) string { return strings.TrimPrefix(name, "/") }
	containerNames := func(cs []docker.Container) []string {
		var out []string
		for _, c := range cs {
			out = append(out, bare(c.Name))
		}
		slices.Sort(out)
		return out
	}
	session := func(t *testing.T, w World, target helper.Target) (*helper.Session, error) {
		t.Helper()
		s, err := helper.OpenSession(ctx, w.Engine, nil, target, helper.SessionOptions{Command: "backup", Image: w.HelperImage, Transfer: helper.TransferStream}, progress.Nop)
		if err == nil {
			t.Cleanup(func() { s.Close(context.Background()) })
		}
		return s, err
	}

	// The rule is docker.isStale's: a helper whose owner (host:pid) is a
	// process of this host is stale exactly when that process is gone,
	// stopped or not; another host's (or an unreadable owner's) is stale
	// only when stopped, because the run lock on the deployment is held by
	// whoever checks.
	t.Run("stale helpers and the helper lock", func(t *testing.T) {
		w := world(t)
		target := w.Project + "-target"
		host, deadPid := host(), deadPid(t)
		add := func(name, owner string, running bool) docker.Container {
			labels := map[string]string{docker.LabelHelper: "backup", docker.LabelTarget: target, docker.LabelOwner: owner, docker.LabelStarted: time.Now().UTC().Format(time.RFC3339)}
			c := w.AddContainer(t, w.Project+"-"+name, labels, nil)
			if !running {
				assert.NilError(t, w.Engine.StopContainer(ctx, c.ID, 0))
			}
			return c
		}
		dead := add("dead-owner", fmt.Sprintf("%s:%d", host, deadPid), true)
		liveStopped := add("live-owner-stopped", fmt.Sprintf("%s:%d", host, os.Getpid()), false)
		liveRunning := add("live-owner", fmt.Sprintf("%s:%d", host, os.Getpid()), true)
		elsewhere := add("other-host", "other-host.example:1", true)
		elsewhereStopped := add("other-host-stopped", "other-host.example:1", false)
		garbled := add("garbled-owner", "no pid here", true)
		garbledStopped := add("garbled-owner-stopped", "no pid here", false)
		w.AddContainer(t, w.Project+"-other-target", map[string]string{docker.LabelHelper: "backup", docker.LabelTarget: target + "-other", docker.LabelOwner: "x:1"}, nil)

		stale, live, err := w.Engine.StaleHelpers(ctx, target)
		assert.NilError(t, err)
		assert.Check(t, is.DeepEqual(containerNames(stale), sorted(dead.Name, elsewhereStopped.Name, garbledStopped.Name)))
		assert.Check(t, is.DeepEqual(containerNames(live), sorted(liveStopped.Name, liveRunning.Name, elsewhere.Name, garbled.Name)), "a stopped helper of a live owner is not stale")

		// The helper lock: a session refuses while a live helper serves
		// the target, naming it.
		_, err = session(t, w, helper.Target{LockKey: target})
		var locked *helper.HelperLockError
		assert.Assert(t, errors.As(err, &locked), "%v", err)
		assert.Check(t, is.DeepEqual(containerNames(locked.Holders), containerNames(live)))
		for _, c := range live {
			assert.NilError(t, w.Engine.RemoveContainer(ctx, c.ID))
		}
		// Then it removes the stale ones and starts.
		s, err := session(t, w, helper.Target{LockKey: target})
		assert.NilError(t, err)
		stale, live, err = w.Engine.StaleHelpers(ctx, target)
		assert.NilError(t, err)
		assert.Check(t, is.Len(stale, 0), "the session removed the stale helpers")
		assert.Check(t, is.DeepEqual(containerNames(live), []string{s.Helper.Name()}))
		for _, c := range []docker.Container{dead, elsewhereStopped, garbledStopped} {
			_, err := w.Engine.Inspect(ctx, c.ID)
			assert.Check(t, err != nil, "%s still exists", c.Name)
		}

		// A second session on the same target waits its turn, even while
		// the first one's helper is stopped (the Community backup stops it
		// while the database restarts).
		_, err = session(t, w, helper.Target{LockKey: target})
		assert.Check(t, errors.As(err, &locked), "%v", err)
		assert.NilError(t, s.Helper.Stop(ctx))
		_, live, err = w.Engine.StaleHelpers(ctx, target)
		assert.NilError(t, err)
		assert.Check(t, is.DeepEqual(containerNames(live), []string{s.Helper.Name()}))
		_, err = session(t, w, helper.Target{LockKey: target})
		assert.Check(t, errors.As(err, &locked), "%v", err)
		byLabels := map[string]string{docker.LabelHelper: "", docker.LabelTarget: target}
		listed, err := w.Engine.List(ctx, byLabels, false)
		assert.NilError(t, err)
		assert.Check(t, is.Len(listed, 0), "a stopped helper is not listed as running")
		listed, err = w.Engine.List(ctx, byLabels, true)
		assert.NilError(t, err)
		assert.Check(t, is.DeepEqual(containerNames(listed), []string{s.Helper.Name()}))
		assert.NilError(t, s.Helper.Start(ctx))

		// A run's own lost helper goes for good (helper.RemoveLost waits
		// until the engine no longer lists it).
		assert.NilError(t, helper.RemoveLost(ctx, w.Engine, s.Helper.ID()))
		listed, err = w.Engine.List(ctx, byLabels, true)
		assert.NilError(t, err)
		assert.Check(t, is.Len(listed, 0))
	})

	// The run lock on a deployment (internal/guardian) is a container
	// named after the database container: creating it is taking the
	// lock. It is stale only when its owner is provably gone (this host,
	// dead pid), never because it does not run.
	t.Run("the run lock", func(t *testing.T) {
		w := world(t)
		db := w.AddContainer(t, w.Project+"-database-1", map[string]string{docker.ComposeProjectLabel: w.Project, docker.ComposeServiceLabel: "database"}, nil)
		eng := plainLock{w.Engine}
		name := guardian.LockName(db)
		t.Cleanup(func() {
			if c, err := w.Engine.Inspect(context.Background(), name); err == nil {
				assert.Check(t, w.Engine.RemoveContainer(context.Background(), c.ID))
			}
		})
		begin := func(command string) (*guardian.Run, error) {
			return guardian.Begin(ctx, eng, db, guardian.Options{Command: command}, progress.Nop)
		}
		lockOf := func(owner string) {
			t.Helper()
			_, err := eng.CreateGuardian(ctx, docker.GuardianSpec{Name: name, Image: db.Image, Labels: map[string]string{
				docker.LabelGuardian: db.ID, docker.LabelOwner: owner, docker.LabelCommand: "backup", docker.LabelStarted: time.Now().UTC().Format(time.RFC3339)}})
			assert.NilError(t, err)
		}

		a, err := begin("backup")
		assert.NilError(t, err)
		armed, _ := a.Armed()
		assert.Check(t, !armed)
		c, err := w.Engine.Inspect(ctx, name)
		assert.NilError(t, err)
		assert.Check(t, is.Equal(c.Labels[docker.LabelOwner], docker.Owner()))
		assert.Check(t, is.Equal(c.Labels[docker.LabelGuardian], db.ID))
		assert.Check(t, !c.Running, "a lock without a guardian never runs")
		_, err = eng.CreateGuardian(ctx, docker.GuardianSpec{Name: name, Image: db.Image})
		assert.Check(t, errors.Is(err, docker.ErrNameTaken), "%v", err)

		// A second run refuses, naming the holder, although its lock does
		// not run.
		_, err = begin("restore")
		var locked *guardian.LockedError
		assert.Check(t, errors.As(err, &locked), "%v", err)
		assert.Check(t, is.ErrorContains(err, fmt.Sprintf("pid %d", os.Getpid())))
		assert.NilError(t, a.Close(ctx))
		_, err = w.Engine.Inspect(ctx, name)
		assert.Check(t, err != nil, "Close leaves the lock %s", name)

		// The lock of a dead run of this host is stale: the next run
		// removes it and takes the lock.
		lockOf(fmt.Sprintf("%s:%d", host(), deadPid(t)))
		b, err := begin("backup")
		assert.NilError(t, err)
		c, err = w.Engine.Inspect(ctx, name)
		assert.NilError(t, err)
		assert.Check(t, is.Equal(c.Labels[docker.LabelOwner], docker.Owner()))
		assert.NilError(t, b.Close(ctx))

		// Another host's lock cannot be proven gone: refused, saying how
		// to remove it.
		lockOf("other-host.example:1")
		_, err = begin("backup")
		assert.Check(t, errors.As(err, &locked), "%v", err)
		assert.Check(t, is.ErrorContains(err, "docker rm -f "+name))
	})

	t.Run("mounts", func(t *testing.T) {
		w := world(t)
		vol := w.NewVolume(t)
		// The "database": a container with the volume at /data.
		db := start(t, w, docker.HelperSpec{Mounts: []docker.Mount{{Type: docker.MountVolume, Name: vol, Destination: "/data", RW: true}}})
		assert.NilError(t, db.CopyTo(ctx, "/data", tarOf(t, map[string]string{"store": "graph"})))

		// A helper mounts the database's volume as Inspect reports it,
		// read-only where asked.
		c, err := w.Engine.Inspect(ctx, db.ID())
		assert.NilError(t, err)
		m, ok := c.MountAt("/data")
		assert.Assert(t, ok, "Inspect reports the mount: %+v", c.Mounts)
		assert.Check(t, is.Equal(m.Type, docker.MountVolume))
		assert.Check(t, is.Equal(m.Name, vol))
		assert.Check(t, m.RW)
		ro, rw := m, m
		ro.RW, ro.Destination = false, "/mnt/ro"
		rw.Destination = "/mnt/rw"
		h := start(t, w, docker.HelperSpec{Mounts: []docker.Mount{ro, rw}})
		data, err := h.ReadFile(ctx, "/mnt/ro/store", 1024)
		assert.NilError(t, err)
		assert.Check(t, is.Equal(string(data), "graph"))

		code, _ := run(t, h, docker.ExecSpec{Cmd: []string{"mkdir", "-p", "/mnt/ro/x"}})
		assert.Check(t, code != 0, "mkdir in a read-only mount succeeded")
		assert.Check(t, h.CopyTo(ctx, "/mnt/ro", tarOf(t, map[string]string{"y": "y"})) != nil, "a copy into a read-only mount succeeded")
		code, _ = run(t, h, docker.ExecSpec{Cmd: []string{"rm", "-f", "/mnt/ro/store"}})
		assert.Check(t, code != 0, "rm in a read-only mount succeeded")

		// The same volume, not a copy: what one writes, the others see.
		code, _ = run(t, h, docker.ExecSpec{Cmd: []string{"mv", "/mnt/rw/store", "/mnt/rw/moved"}})
		assert.Check(t, is.Equal(code, 0))
		assert.Check(t, is.DeepEqual(names(t, db, "/data"), []string{"moved"}))
		assert.Check(t, is.DeepEqual(names(t, h, "/mnt/ro"), []string{"moved"}))

		// Another volume is another file system.
		other := start(t, w, docker.HelperSpec{Mounts: []docker.Mount{{Type: docker.MountVolume, Name: w.NewVolume(t), Destination: "/data", RW: true}}})
		assert.Check(t, is.Len(names(t, other, "/data"), 0))
	})

	// The storage's backup reads its volume through a helper that is only
	// created: the archive API mounts it all the same, read-only.
	t.Run("a created-only helper", func(t *testing.T) {
		w := world(t)
		vol := w.NewVolume(t)
		db := start(t, w, docker.HelperSpec{Mounts: []docker.Mount{{Type: docker.MountVolume, Name: vol, Destination: "/data", RW: true}}})
		assert.NilError(t, db.CopyTo(ctx, "/data", tarOf(t, map[string]string{"store": "graph"})))

		h := start(t, w, docker.HelperSpec{CreateOnly: true, Mounts: []docker.Mount{{Type: docker.MountVolume, Name: vol, Destination: "/mnt/ro"}}})
		running, err := h.Running(ctx)
		assert.NilError(t, err)
		assert.Check(t, !running, "a created-only helper runs")
		data, err := h.ReadFile(ctx, "/mnt/ro/store", 1024)
		assert.NilError(t, err)
		assert.Check(t, is.Equal(string(data), "graph"))
		size, isDir, exists, err := h.Stat(ctx, "/mnt/ro/store")
		assert.Check(t, err == nil && exists && !isDir && size == 5, "stat: %d %v %v %v", size, isDir, exists, err)
		assert.Check(t, h.CopyTo(ctx, "/mnt/ro", tarOf(t, map[string]string{"y": "y"})) != nil, "a copy into a read-only mount succeeded")
		_, err = h.Exec(ctx, docker.ExecSpec{Cmd: []string{"true"}})
		assert.Check(t, err != nil, "an exec in a created-only helper succeeded")
	})

	t.Run("exec as a given user", func(t *testing.T) {
		w := world(t)
		ids := func(h helper.Helper, user string) string {
			t.Helper()
			codeU, uid := run(t, h, docker.ExecSpec{Cmd: []string{"id", "-u"}, User: user})
			codeG, gid := run(t, h, docker.ExecSpec{Cmd: []string{"id", "-g"}, User: user})
			assert.Check(t, codeU == 0 && codeG == 0, "id as %q: exit %d, %d", user, codeU, codeG)
			return uid + ":" + gid
		}
		h := start(t, w, docker.HelperSpec{})
		assert.Check(t, is.Equal(ids(h, ""), "0:0"), "a helper runs as root by default")
		assert.Check(t, is.Equal(ids(h, "7474:7474"), "7474:7474"))
		assert.Check(t, is.Equal(ids(h, "1000"), "1000:0"), "a uid the image does not name gets gid 0")

		// The helper's own user is the default of its execs.
		neo := start(t, w, docker.HelperSpec{User: "7474:7474"})
		assert.Check(t, is.Equal(ids(neo, ""), "7474:7474"))
		assert.Check(t, is.Equal(ids(neo, "0"), "0:0"))
	})

	t.Run("networks and the tunnel", func(t *testing.T) {
		w := world(t)
		if !w.Can.Networks {
			t.Skip("this engine does not model networks (Capabilities.Networks): helpers in a container's namespace and the tunnel run against Docker in e2e/engine")
		}
		server := w.AddServer(t)
		assert.Assert(t, len(server.Networks) > 0)

		// In the server's network namespace (helper.Target.SharedNetwork),
		// the server is 127.0.0.1.
		shared, err := session(t, w, helper.Target{Container: &server, LockKey: server.ID, SharedNetwork: true})
		assert.NilError(t, err)
		poll.WaitOn(t, func(poll.LogT) poll.Result {
			if err := shared.Helper.CanReach(ctx, "127.0.0.1:7000"); err != nil {
				return poll.Continue("echo server not listening yet: %v", err)
			}
			return poll.Success()
		}, poll.WithTimeout(10*time.Second))
		err = shared.Helper.CanReach(ctx, "127.0.0.1:7999")
		var ue *docker.UnreachableError
		assert.Check(t, errors.As(err, &ue) && ue.Refused, "%v", err)
		// AwaitReachable returns once the port accepts, and gives up on
		// one nothing listens on after its time.
		assert.Check(t, shared.Helper.AwaitReachable(ctx, "127.0.0.1:7000", 10*time.Second))
		err = shared.Helper.AwaitReachable(ctx, "127.0.0.1:7999", time.Second)
		assert.Check(t, errors.As(err, &ue) && ue.TimedOut, "%v", err)

		// On the server's networks, it is its address there.
		onNet, err := session(t, w, helper.Target{Container: &server, LockKey: server.ID + "-networks"})
		assert.NilError(t, err)
		assert.Check(t, onNet.Helper.CanReach(ctx, net.JoinHostPort(server.Networks[0].IP, "7000")))

		// The tunnel moves bytes both ways, sees the server's close, and
		// closes cleanly.
		tun, err := shared.Helper.Tunnel(ctx, "127.0.0.1:7000")
		assert.NilError(t, err)
		c, err := net.Dial("tcp", tun.Addr())
		assert.NilError(t, err)
		sent := make([]byte, 256<<10)
		_, _ = rand.Read(sent)
		go func() { _, _ = c.Write(sent) }()
		got := make([]byte, len(sent))
		_, err = io.ReadFull(c, got)
		assert.NilError(t, err)
		assert.Check(t, bytes.Equal(got, sent), "the echo differs from what was sent")
		assert.NilError(t, c.Close())

		bye, err := shared.Helper.Tunnel(ctx, "127.0.0.1:7001")
		assert.NilError(t, err)
		c2, err := net.Dial("tcp", bye.Addr())
		assert.NilError(t, err)
		all, err := io.ReadAll(c2) // returns at EOF: the server's close reached the client
		assert.NilError(t, err)
		assert.Check(t, is.Equal(string(all), "bye\n"))
		assert.NilError(t, c2.Close())
		assert.NilError(t, bye.Close())

		assert.NilError(t, tun.Close())
		assert.NilError(t, tun.Err())
		_, err = net.Dial("tcp", tun.Addr())
		assert.Check(t, err != nil, "the tunnel still accepts after Close")
	})
}

func sorted(s ...string) []string {
	for i := range s {
		s[i] = strings.TrimPrefix(s[i], "/")
	}
	slices.Sort(s)
	return s
}

// host is this host's name as owner labels carry it.
func host() string { return docker.Owner()[:strings.LastIndexByte(docker.Owner(), ':')] }

// deadPid is the pid of a process of this host that has ended and been
// reaped.
func deadPid(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("true")
	assert.NilError(t, cmd.Run())
	return cmd.Process.Pid
}

// plainLock reports a daemon OS no guardian program is built for, so that
// guardian.Begin takes the lock alone: a test binary is no guardian (the
// guardian program is e2e/guardian_test.go's).
type plainLock struct{ guardian.Engine }

func (p plainLock) DaemonPlatform(ctx context.Context) (string, string, bool, error) {
	_, arch, rootless, err := p.Engine.DaemonPlatform(ctx)
	return "none", arch, rootless, err
}
