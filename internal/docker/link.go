package docker

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/docker/cli/cli/connhelper"
)

// DialFunc opens one connection to the Docker engine.
type DialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// Link is the plugin's connection to the Docker engine, seen from its
// dialer: every connection the API client opens goes through Dial, so
// that, once the engine is declared unreachable (Cut), every one of them
// is closed and no new one is opened. A link that hangs (an ssh:// context
// whose network drops packets, a frozen Docker host, a NAT timeout: the ssh
// process stays alive and nothing answers) then fails every engine call at
// once, as a cut one does, instead of blocking them for ever.
type Link struct {
	mu    sync.Mutex
	inner DialFunc
	host  string
	conns map[*linkConn]struct{}
	err   error         // why the engine was declared unreachable
	cut   chan struct{} // closed by Cut
}

// NewLink returns a link that dials with inner; host names the engine in
// messages (the Docker context's endpoint).
func NewLink(inner DialFunc, host string) *Link {
	return &Link{inner: inner, host: host, conns: map[*linkConn]struct{}{}, cut: make(chan struct{})}
}

// EndpointDialer returns how the docker CLI dials the engine at host (a
// Docker endpoint: ssh://, unix://, tcp://), or nil for the other kinds
// (npipe://, fd://), which are not watched. For tcp:// with TLS, the API
// client dials its streams (exec, attach) itself: only its plain requests
// go through the returned dialer.
func EndpointDialer(host string) (DialFunc, error) {
	helper, err := connhelper.GetConnectionHelper(host)
	if err != nil {
		return nil, err
	}
	if helper != nil {
		return helper.Dialer, nil
	}
	u, err := url.Parse(host)
	if err != nil {
		return nil, err
	}
	switch u.Scheme {
	case "unix":
		path := u.Path
		if path == "" {
			path = u.Host
		}
		d := &net.Dialer{Timeout: 10 * time.Second}
		return func(ctx context.Context, _, _ string) (net.Conn, error) { return d.DialContext(ctx, "unix", path) }, nil
	case "tcp":
		d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
		return func(ctx context.Context, _, _ string) (net.Conn, error) { return d.DialContext(ctx, "tcp", u.Host) }, nil
	}
	return nil, nil
}

// EngineSilentError says the Docker engine answered nothing for the link's
// limit: the run gave up on it.
type EngineSilentError struct {
	Host    string
	Silence time.Duration
}

func (e *EngineSilentError) Error() string {
	return fmt.Sprintf("the Docker engine at %s stopped answering: nothing came back for %s (the link to the Docker host hangs, or the host is frozen), so this run gave up on it and makes no more calls to it",
		e.Host, e.Silence.Round(time.Second))
}

// Unwrap: the daemon cannot be reached.
func (e *EngineSilentError) Unwrap() error { return ErrDaemonUnreachable }

// Dial opens a connection through the link's dialer, or fails at once
// once the link was cut.
func (l *Link) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	if err := l.Err(); err != nil {
		return nil, err
	}
	c, err := l.inner(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	lc := &linkConn{Conn: c, l: l}
	l.mu.Lock()
	if l.err != nil {
		err := l.err
		l.mu.Unlock()
		go c.Close()
		return nil, err
	}
	l.conns[lc] = struct{}{}
	l.mu.Unlock()
	return lc, nil
}

// Cut declares the engine unreachable: every connection of the link is
// closed (what blocks on one fails at once) and no new one is opened. It
// stays cut: the run makes no more calls to an engine it gave up on, even
// if the link comes back, and so never undoes what a guardian on the
// Docker host does meanwhile. The first cause is kept.
func (l *Link) Cut(cause error) {
	l.mu.Lock()
	if l.err != nil {
		l.mu.Unlock()
		return
	}
	l.err = cause
	conns := l.conns
	l.conns = map[*linkConn]struct{}{}
	close(l.cut)
	l.mu.Unlock()
	for c := range conns {
		// Closing an ssh connection ends its ssh process, which may take
		// a few seconds: side by side, and not waited for.
		go c.Conn.Close()
	}
}

// Err is why the link was cut, or nil.
func (l *Link) Err() error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

// The process's link to the engine of its Docker context, when the plugin
// watches it (SetEngineLink): the errors of Engine's calls then say that
// the engine stopped answering once it is cut.
var engineLink atomic.Pointer[Link]

// SetEngineLink makes l the process's link to its engine.
func SetEngineLink(l *Link) { engineLink.Store(l) }

// EngineLink is the process's link to its engine, or nil.
func EngineLink() *Link { return engineLink.Load() }

// Done is closed when the link is cut.
func (l *Link) Done() <-chan struct{} { return l.cut }

// Open is the number of connections open through the link.
func (l *Link) Open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.conns)
}

// Watch pings the engine every interval while stop is not called, and
// cuts the link once no ping has answered for limit: each ping is given
// what is left of limit since the last answer, so a ping that hangs ends
// when the limit does. The returned stop ends the watch and waits for it.
func (l *Link) Watch(ping func(context.Context) error, limit, interval time.Duration) (stop func()) {
	w := watcher{now: time.Now, after: time.After}
	return w.run(l, ping, limit, interval)
}

// watcher is Watch's loop, with its clock (a fake one in tests).
type watcher struct {
	now   func() time.Time
	after func(time.Duration) <-chan time.Time
}

func (w watcher) run(l *Link, ping func(context.Context) error, limit, interval time.Duration) func() {
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		last := w.now()
		for {
			deadline := last.Add(limit)
			ctx, cancel := context.WithTimeout(context.Background(), deadline.Sub(w.now()))
			pinged := make(chan struct{})
			go func() { // a stop ends a ping under way too
				select {
				case <-quit:
					cancel()
				case <-pinged:
				}
			}()
			err := ping(ctx)
			close(pinged)
			cancel()
			select {
			case <-quit:
				return
			default:
			}
			switch {
			case err == nil:
				last = w.now()
			case !w.now().Before(deadline):
				l.Cut(&EngineSilentError{Host: l.host, Silence: limit})
				return
			}
			select {
			case <-quit:
				return
			case <-l.Done():
				return
			case <-w.after(interval):
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() { close(quit) })
		<-done
	}
}

// linkConn is one connection of a link.
type linkConn struct {
	net.Conn
	l *Link
}

func (c *linkConn) Close() error {
	c.l.mu.Lock()
	delete(c.l.conns, c)
	c.l.mu.Unlock()
	return c.Conn.Close()
}

// CloseWrite and CloseRead pass the half-closes on (the API client's
// streams close their write side when their input ends).
func (c *linkConn) CloseWrite() error {
	if hc, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return hc.CloseWrite()
	}
	return errors.ErrUnsupported
}

func (c *linkConn) CloseRead() error {
	if hc, ok := c.Conn.(interface{ CloseRead() error }); ok {
		return hc.CloseRead()
	}
	return errors.ErrUnsupported
}
