package engine_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"github.com/opsmill/docker-infrahubdb/internal/docker"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/poll"
)

// startEchoServer runs the echo server in its own container on the default bridge and returns
// its IP: the helper reaches it by IP, as it reaches the database.
func startEchoServer(t *testing.T, e *docker.Engine, api client.APIClient) string {
	t.Helper()
	ctx := context.Background()
	res, err := api.ContainerCreate(ctx, client.ContainerCreateOptions{
		Name: docker.HelperName("echo"),
		Config: &container.Config{
			Image:      testImage,
			Entrypoint: []string{"/echoserver"},
			Labels:     map[string]string{testLabel: "1"},
		},
	})
	assert.NilError(t, err)
	t.Cleanup(func() { assert.Check(t, e.RemoveContainer(ctx, res.ID)) })
	assert.NilError(t, e.StartContainer(ctx, res.ID))
	c, err := e.Inspect(ctx, res.ID)
	assert.NilError(t, err)
	assert.Assert(t, is.Len(c.Networks, 1))
	assert.Assert(t, c.Networks[0].IP != "")
	// Wait until the server listens.
	h := startHelper(t, e, helperSpec(t))
	poll.WaitOn(t, func(poll.LogT) poll.Result {
		if err := h.CanReach(ctx, c.Networks[0].IP+":7000"); err != nil {
			return poll.Continue("echo server not listening yet: %v", err)
		}
		return poll.Success()
	}, poll.WithTimeout(10*time.Second))
	return c.Networks[0].IP
}

// assertOnlySleepRuns waits until the helper runs nothing but its sleep: every relay exec ended
// and none left a zombie.
func assertOnlySleepRuns(t *testing.T, api client.APIClient, h docker.HelperContainer) {
	t.Helper()
	poll.WaitOn(t, func(poll.LogT) poll.Result {
		top, err := api.ContainerTop(context.Background(), h.ID(), client.ContainerTopOptions{})
		if err != nil {
			return poll.Error(err)
		}
		cmd := len(top.Titles) - 1
		var others []string
		for _, p := range top.Processes {
			if p[cmd] != "sleep infinity" {
				others = append(others, p[cmd])
			}
		}
		if len(others) > 0 {
			return poll.Continue("still running in the helper: %q", others)
		}
		return poll.Success()
	}, poll.WithTimeout(10*time.Second))
}

func TestCanReach(t *testing.T) {
	e, api := newEngine(t)
	ip := startEchoServer(t, e, api)
	h := startHelper(t, e, helperSpec(t))
	ctx := context.Background()

	assert.NilError(t, h.CanReach(ctx, ip+":7000"))
	err := h.CanReach(ctx, ip+":7999")
	assert.Error(t, err, ip+":7999 refused the connection")
	var ue *docker.UnreachableError
	assert.Assert(t, errors.As(err, &ue))
	assert.Check(t, ue.Refused)
	assertOnlySleepRuns(t, api, h)
}

func TestTunnelRelaysManyConnections(t *testing.T) {
	e, api := newEngine(t)
	ip := startEchoServer(t, e, api)
	h := startHelper(t, e, helperSpec(t))
	tun, err := h.Tunnel(context.Background(), ip+":7000")
	assert.NilError(t, err)
	defer tun.Close()
	assert.Check(t, strings.HasPrefix(tun.Addr(), "127.0.0.1:"))

	const conns, size = 24, 512 << 10
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	for range conns {
		wg.Go(func() { errs <- echoRoundTrip(tun.Addr(), size) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		assert.Check(t, err)
	}
	assert.NilError(t, tun.Err())
	// The clients closed their connections: every relay ends by itself.
	assertOnlySleepRuns(t, api, h)
}

// echoRoundTrip sends size random bytes through the echo server and checks they come back.
func echoRoundTrip(addr string, size int) error {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	sent := make([]byte, size)
	_, _ = rand.Read(sent)
	go func() { _, _ = c.Write(sent) }()
	got := make([]byte, size)
	if _, err := io.ReadFull(c, got); err != nil {
		return err
	}
	if !bytes.Equal(got, sent) {
		return errors.New("echo differs from what was sent")
	}
	return nil
}

func TestTunnelServerClosingEndsTheConnection(t *testing.T) {
	e, api := newEngine(t)
	ip := startEchoServer(t, e, api)
	h := startHelper(t, e, helperSpec(t))
	tun, err := h.Tunnel(context.Background(), ip+":7001")
	assert.NilError(t, err)
	defer tun.Close()

	c, err := net.Dial("tcp", tun.Addr())
	assert.NilError(t, err)
	defer c.Close()
	got, err := io.ReadAll(c) // returns at EOF: the server's close reached the client
	assert.NilError(t, err)
	assert.Check(t, is.Equal(string(got), "bye\n"))
	assertOnlySleepRuns(t, api, h)
}

func TestTunnelToClosedPortReportsRefused(t *testing.T) {
	e, api := newEngine(t)
	ip := startEchoServer(t, e, api)
	h := startHelper(t, e, helperSpec(t))
	tun, err := h.Tunnel(context.Background(), ip+":7999")
	assert.NilError(t, err)
	defer tun.Close()

	c, err := net.Dial("tcp", tun.Addr())
	assert.NilError(t, err)
	defer c.Close()
	got, err := io.ReadAll(c)
	assert.NilError(t, err)
	assert.Check(t, is.Len(got, 0))
	assert.Error(t, tun.Err(), ip+":7999 refused the connection")
	assertOnlySleepRuns(t, api, h)
}

func TestTunnelCloseEndsOpenConnections(t *testing.T) {
	e, api := newEngine(t)
	ip := startEchoServer(t, e, api)
	h := startHelper(t, e, helperSpec(t))
	tun, err := h.Tunnel(context.Background(), ip+":7000")
	assert.NilError(t, err)

	var clients []net.Conn
	for range 4 {
		c, err := net.Dial("tcp", tun.Addr())
		assert.NilError(t, err)
		defer c.Close()
		_, err = c.Write([]byte("ping\n"))
		assert.NilError(t, err)
		buf := make([]byte, 5)
		_, err = io.ReadFull(c, buf)
		assert.NilError(t, err)
		assert.Check(t, is.Equal(string(buf), "ping\n"))
		clients = append(clients, c)
	}

	assert.NilError(t, tun.Close())
	for _, c := range clients {
		_, err := c.Read(make([]byte, 1))
		assert.Check(t, err != nil, "connection still open after Close")
	}
	_, err = net.Dial("tcp", tun.Addr())
	assert.Check(t, err != nil, "listener still accepting after Close")
	assert.NilError(t, tun.Close(), "Close is idempotent")
	assertOnlySleepRuns(t, api, h)
}

func TestTunnelStopsWithItsContext(t *testing.T) {
	e, api := newEngine(t)
	ip := startEchoServer(t, e, api)
	h := startHelper(t, e, helperSpec(t))
	ctx, cancel := context.WithCancel(context.Background())
	tun, err := h.Tunnel(ctx, ip+":7000")
	assert.NilError(t, err)
	c, err := net.Dial("tcp", tun.Addr())
	assert.NilError(t, err)
	defer c.Close()

	cancel()
	_, err = c.Read(make([]byte, 1))
	assert.Check(t, err != nil, "connection still open after cancel")
	poll.WaitOn(t, func(poll.LogT) poll.Result {
		if c, err := net.Dial("tcp", tun.Addr()); err == nil {
			c.Close()
			return poll.Continue("listener still accepting")
		}
		return poll.Success()
	})
	assertOnlySleepRuns(t, api, h)
}
