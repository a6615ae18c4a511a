package docker

import (
	"context"
	"errors"
	"io"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

// pipeDialer dials net.Pipe connections and keeps the far ends.
type pipeDialer struct {
	mu  sync.Mutex
	far []net.Conn
}

func (d *pipeDialer) dial(context.Context, string, string) (net.Conn, error) {
	near, far := net.Pipe()
	d.mu.Lock()
	d.far = append(d.far, far)
	d.mu.Unlock()
	return near, nil
}

// A cut link closes every connection open through it, so that what blocks
// on one (a stream of a hanging ssh link) fails at once, and opens no new
// one: every later call fails with the cause.
func TestLinkCutClosesItsConnectionsAndRefusesNewOnes(t *testing.T) {
	d := &pipeDialer{}
	l := NewLink(d.dial, "ssh://admin@docker-host")
	c1, err := l.Dial(context.Background(), "tcp", "docker.example.com:80")
	assert.NilError(t, err)
	c2, err := l.Dial(context.Background(), "tcp", "docker.example.com:80")
	assert.NilError(t, err)
	assert.NilError(t, c2.Close())
	assert.Check(t, is.Equal(l.Open(), 1), "a closed connection leaves the link")

	read := make(chan error, 1)
	go func() {
		_, err := c1.Read(make([]byte, 1)) // nothing answers
		read <- err
	}()
	cause := &EngineSilentError{Host: "ssh://admin@docker-host", Silence: 20 * time.Second}
	l.Cut(cause)
	assert.Check(t, <-read != nil, "the blocked read did not fail")
	<-l.Done()
	assert.Check(t, is.Equal(l.Open(), 0))

	_, err = l.Dial(context.Background(), "tcp", "docker.example.com:80")
	assert.Check(t, is.Equal(err, error(cause)))
	assert.Check(t, is.Len(d.far, 2), "no connection was opened after the cut")
	assert.Check(t, errors.Is(err, ErrDaemonUnreachable))
	assert.Check(t, is.ErrorContains(err, "the Docker engine at ssh://admin@docker-host stopped answering: nothing came back for 20s"))

	l.Cut(errors.New("a second cause"))
	assert.Check(t, is.Equal(l.Err(), error(cause)), "the first cause is kept")
}

// The API client half-closes its streams (the end of an exec's input): a
// connection of the link passes that on.
func TestLinkConnPassesHalfClosesOn(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "docker.sock")
	ln, err := net.Listen("unix", sock)
	assert.NilError(t, err)
	defer ln.Close()
	got := make(chan []byte, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		b, _ := io.ReadAll(c) // ends at the client's CloseWrite
		got <- b
	}()
	dial, err := EndpointDialer("unix://" + sock)
	assert.NilError(t, err)
	l := NewLink(dial, "unix://"+sock)
	c, err := l.Dial(context.Background(), "unix", "")
	assert.NilError(t, err)
	defer c.Close()
	_, err = c.Write([]byte("input"))
	assert.NilError(t, err)
	cw, ok := c.(interface{ CloseWrite() error })
	assert.Assert(t, ok)
	assert.NilError(t, cw.CloseWrite())
	assert.Check(t, is.Equal(string(<-got), "input"))
}

func TestEndpointDialer(t *testing.T) {
	for _, host := range []string{"ssh://admin@docker-host", "ssh://admin@docker-host:2222", "unix:///var/run/docker.sock", "tcp://10.0.0.5:2376"} {
		d, err := EndpointDialer(host)
		assert.Check(t, err, host)
		assert.Check(t, d != nil, host)
	}
	for _, host := range []string{"npipe:////./pipe/docker_engine", "fd://"} {
		d, err := EndpointDialer(host)
		assert.Check(t, err, host)
		assert.Check(t, d == nil, "%s is not watched", host)
	}
}

// A ping that hangs ends when the limit does, and the link is cut.
func TestWatchCutsTheLinkWhenAPingHangsForTheLimit(t *testing.T) {
	l := NewLink((&pipeDialer{}).dial, "ssh://admin@docker-host")
	deadlines := make(chan bool, 1)
	ping := func(ctx context.Context) error {
		_, ok := ctx.Deadline()
		select {
		case deadlines <- ok:
		default:
		}
		<-ctx.Done() // the link hangs: no answer
		return ctx.Err()
	}
	stop := l.Watch(ping, 50*time.Millisecond, time.Millisecond)
	defer stop()
	<-l.Done()
	assert.Check(t, <-deadlines, "a ping is given a deadline")
	var silent *EngineSilentError
	assert.Assert(t, errors.As(l.Err(), &silent))
	assert.Check(t, is.Equal(silent.Silence, 50*time.Millisecond))
}

// fakeClock is the watch's clock: each wait for the next ping moves it on
// by the interval at once.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	c.now = c.now.Add(d)
	now := c.now
	c.mu.Unlock()
	ch := make(chan time.Time, 1)
	ch <- now
	return ch
}

// Failed pings cut the link only once none answered for the whole limit
// since the last one that did: an answer starts the count again.
func TestWatchCountsTheSilenceFromTheLastAnswer(t *testing.T) {
	for _, tc := range []struct {
		name    string
		answers []bool // the pings' outcomes, in order; then none answers
		pings   int    // pings made until the cut
	}{
		// Limit 10 s, a ping every 2 s. From the start (0 s): no answer
		// at 0, 2, 4, 6, 8 and 10 s, the cut.
		{name: "silent from the start", pings: 6},
		// Answers at 0 and 2 s; none at 4, 6, 8, 10 and 12 s, the cut.
		{name: "answers, then silent", answers: []bool{true, true}, pings: 2 + 5},
		// None at 0, 2 and 4 s, an answer at 6 s; none at 8 to 16 s.
		{name: "an answer between failures", answers: []bool{false, false, false, true}, pings: 4 + 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := NewLink((&pipeDialer{}).dial, "tcp://docker-host:2375")
			clock := &fakeClock{now: time.Unix(0, 0)}
			n := 0
			ping := func(context.Context) error {
				n++
				if n <= len(tc.answers) && tc.answers[n-1] {
					return nil
				}
				return errors.New("no answer")
			}
			stop := watcher{now: clock.Now, after: clock.After}.run(l, ping, 10*time.Second, 2*time.Second)
			<-l.Done()
			stop()
			assert.Check(t, is.Equal(n, tc.pings))
		})
	}
}

// Pings that answer never cut the link; stopping the watch ends a ping
// under way.
func TestWatchStopEndsAPingUnderWay(t *testing.T) {
	l := NewLink((&pipeDialer{}).dial, "ssh://admin@docker-host")
	clock := &fakeClock{now: time.Unix(0, 0)}
	pinging := make(chan struct{})
	n := 0
	ping := func(ctx context.Context) error {
		n++
		if n < 100 {
			return nil
		}
		close(pinging)
		<-ctx.Done()
		return ctx.Err()
	}
	// The fake clock does not reach the limit in 100 pings; the last
	// ping hangs (its deadline is a real day away) until the stop.
	stop := watcher{now: clock.Now, after: clock.After}.run(l, ping, 24*time.Hour, time.Second)
	<-pinging
	stop()
	assert.Check(t, l.Err(), "the link was cut by a watch that was stopped")
}

// Once the link is cut, every error of an engine call is the cause: what
// failed since failed for it.
func TestEngineErrorsAfterTheLinkWasCut(t *testing.T) {
	l := NewLink((&pipeDialer{}).dial, "ssh://admin@docker-host")
	SetEngineLink(l)
	t.Cleanup(func() { SetEngineLink(nil) })
	e := &Engine{}
	other := errors.New("read |0: file already closed")
	assert.Check(t, is.Equal(e.wrap(other), other))
	cause := &EngineSilentError{Host: "ssh://admin@docker-host", Silence: 20 * time.Second}
	l.Cut(cause)
	assert.Check(t, is.Equal(e.wrap(other), error(cause)))
	assert.Check(t, is.Nil(e.wrap(nil)))
}
