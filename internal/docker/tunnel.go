package docker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/client"
)

// relayScript connects to $INFRAHUBDB_RELAY_HOST:$INFRAHUBDB_RELAY_PORT and copies stdin to the
// socket and the socket to stdout. The address comes from the exec's environment, never spliced
// into the script. Whichever direction ends first (the client closed, or the server closed) stops
// the other one, so the exec always ends and the server sees the socket close; half-closing the
// client side therefore closes the whole connection, which Bolt never relies on. The final wait
// reaps both copies so no zombie is left under the helper's sleep. Only a connect failure writes
// to stderr: the rest is silenced so job notices are not mistaken for errors.
const relayScript = `exec 3<>"/dev/tcp/$INFRAHUBDB_RELAY_HOST/$INFRAHUBDB_RELAY_PORT" || exit 111
exec 2>/dev/null
cat <&3 & r=$!
cat <&0 >&3 & w=$!
wait -n
kill $r $w 2>/dev/null
wait
exit 0`

// connectFailedCode is the relay's exit code when it cannot connect to the target.
const connectFailedCode = 111

// relayEnv is how the target reaches the relay scripts.
func relayEnv(target string) ([]string, error) {
	host, port, err := net.SplitHostPort(target)
	if err != nil || host == "" || port == "" {
		return nil, fmt.Errorf("invalid address %q: want host:port", target)
	}
	return []string{"INFRAHUBDB_RELAY_HOST=" + host, "INFRAHUBDB_RELAY_PORT=" + port}, nil
}

// Tunnel is a local TCP listener whose connections are relayed, each by its own exec in the
// helper, to a target address that only the helper can reach (the database's Bolt port).
type Tunnel struct {
	helper *Helper
	target string
	env    []string
	ln     net.Listener
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	conns   map[io.Closer]struct{}
	lastErr error
}

// Tunnel starts relaying 127.0.0.1:<random port> to target (ip:port as seen from the helper). It
// stops when ctx is cancelled or Close is called.
func (h *Helper) Tunnel(ctx context.Context, target string) (*Tunnel, error) {
	env, err := relayEnv(target)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("tunnel to %s: %w", target, err)
	}
	t := &Tunnel{helper: h, target: target, env: env, ln: ln, conns: map[io.Closer]struct{}{}}
	t.ctx, t.cancel = context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, func() { _ = t.Close() })
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		defer stop()
		t.serve()
	}()
	return t, nil
}

// Addr is the local address to dial, e.g. 127.0.0.1:41235.
func (t *Tunnel) Addr() string {
	return t.ln.Addr().String()
}

// Err returns the last relay failure (for example the target refusing connections), to explain
// why a client's connection through the tunnel was closed.
func (t *Tunnel) Err() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.lastErr
}

// Close stops the listener and closes every relayed connection, which ends their execs.
func (t *Tunnel) Close() error {
	t.cancel()
	err := t.ln.Close()
	t.mu.Lock()
	for c := range t.conns {
		_ = c.Close()
	}
	t.mu.Unlock()
	t.wg.Wait()
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

func (t *Tunnel) serve() {
	for {
		conn, err := t.ln.Accept()
		if err != nil {
			return // closed
		}
		if !t.track(conn) {
			_ = conn.Close()
			return
		}
		t.wg.Add(1)
		go func() {
			defer t.wg.Done()
			defer t.untrack(conn)
			defer conn.Close()
			if err := t.relay(conn); err != nil && t.ctx.Err() == nil {
				t.mu.Lock()
				t.lastErr = err
				t.mu.Unlock()
			}
		}()
	}
}

// track registers a connection to close on Close; false when the tunnel is already closed.
func (t *Tunnel) track(c io.Closer) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.ctx.Err() != nil {
		return false
	}
	t.conns[c] = struct{}{}
	return true
}

func (t *Tunnel) untrack(c io.Closer) {
	t.mu.Lock()
	delete(t.conns, c)
	t.mu.Unlock()
}

// relay bridges one local connection to a new relay exec in the helper.
func (t *Tunnel) relay(local net.Conn) error {
	api := t.helper.engine.api
	created, err := api.ExecCreate(t.ctx, t.helper.id, client.ExecCreateOptions{
		Cmd:          []string{"bash", "-c", relayScript},
		Env:          t.env,
		AttachStdin:  true,
		AttachStdout: true,
		AttachStderr: true,
	})
	if err != nil {
		return fmt.Errorf("tunnel to %s: %w", t.target, t.helper.engine.wrap(err))
	}
	att, err := api.ExecAttach(t.ctx, created.ID, client.ExecAttachOptions{})
	if err != nil {
		return fmt.Errorf("tunnel to %s: %w", t.target, t.helper.engine.wrap(err))
	}
	defer att.Close()
	if !t.track(att.Conn) {
		return nil
	}
	defer t.untrack(att.Conn)

	// Client to server: when the client is done, closing the exec's stdin ends the relay.
	go func() {
		_, _ = io.Copy(att.Conn, local)
		_ = att.CloseWrite()
	}()
	// Server to client, until the relay exits.
	var stderr bytes.Buffer
	_, copyErr := stdcopy.StdCopy(local, &limitWriter{w: &stderr, n: 4096}, att.Reader)
	if stderr.Len() > 0 {
		return relayError(t.target, stderr.String(), 0)
	}
	if copyErr != nil && !errors.Is(copyErr, net.ErrClosed) {
		return fmt.Errorf("tunnel to %s: %w", t.target, copyErr)
	}
	return nil
}

// CanReach checks, from inside the helper, that target (ip:port) accepts TCP connections, giving
// up after 10 seconds. The error says whether the connection was refused or timed out.
func (h *Helper) CanReach(ctx context.Context, target string) error {
	env, err := relayEnv(target)
	if err != nil {
		return err
	}
	var stderr bytes.Buffer
	code, err := h.Exec(ctx, ExecSpec{
		Cmd:    []string{"timeout", "10", "bash", "-c", `exec 3<>"/dev/tcp/$INFRAHUBDB_RELAY_HOST/$INFRAHUBDB_RELAY_PORT"`},
		Env:    env,
		Stderr: &limitWriter{w: &stderr, n: 4096},
	})
	if err != nil {
		return err
	}
	if code == 0 {
		return nil
	}
	return relayError(target, stderr.String(), code)
}

// awaitScript tries to connect to $INFRAHUBDB_RELAY_HOST:$INFRAHUBDB_RELAY_PORT every 50 ms
// until it accepts; the caller's timeout bounds it.
const awaitScript = `until (exec 3<>"/dev/tcp/$INFRAHUBDB_RELAY_HOST/$INFRAHUBDB_RELAY_PORT") 2>/dev/null; do sleep 0.05; done`

// AwaitReachable waits, from inside the helper, until target (ip:port) accepts TCP connections,
// for up to within (whole seconds, at least one). It is one exec however long the wait: a
// restarted database is not polled by one exec per attempt while it starts (an exec beside a
// starting container slows both), and what follows learns the port is open within 50 ms.
func (h *Helper) AwaitReachable(ctx context.Context, target string, within time.Duration) error {
	env, err := relayEnv(target)
	if err != nil {
		return err
	}
	secs := max(1, int((within+time.Second-1)/time.Second))
	code, err := h.Exec(ctx, ExecSpec{Cmd: []string{"timeout", strconv.Itoa(secs), "bash", "-c", awaitScript}, Env: env})
	if err != nil {
		return err
	}
	if code != 0 {
		return &UnreachableError{Target: target, TimedOut: true, Detail: fmt.Sprintf("nothing accepted connections within %d s", secs)}
	}
	return nil
}

// UnreachableError says why the helper could not connect to an address.
type UnreachableError struct {
	Target   string
	Refused  bool   // nothing listens there (or only on another interface)
	TimedOut bool   // no answer: a firewall, a wrong IP or a network the helper is not on
	Detail   string // bash's message
}

func (e *UnreachableError) Error() string {
	switch {
	case e.Refused:
		return e.Target + " refused the connection"
	case e.TimedOut:
		return e.Target + " did not answer (timed out)"
	case e.Detail != "":
		return "cannot connect to " + e.Target + ": " + e.Detail
	default:
		return "cannot connect to " + e.Target
	}
}

// relayError classifies the failure of a /dev/tcp connection from bash's stderr and exit code.
func relayError(target, stderr string, code int) error {
	detail := strings.TrimSpace(stderr)
	if i := strings.LastIndexByte(detail, '\n'); i >= 0 {
		detail = detail[i+1:] // bash prints "connect: X" and then "/dev/tcp/...: X"
	}
	if i := strings.LastIndex(detail, ": "); i >= 0 {
		detail = detail[i+2:]
	}
	return &UnreachableError{
		Target:   target,
		Refused:  strings.Contains(stderr, "Connection refused"),
		TimedOut: code == 124 || strings.Contains(stderr, "timed out"),
		Detail:   detail,
	}
}

// limitWriter keeps the first n bytes written and discards the rest without failing.
type limitWriter struct {
	w io.Writer
	n int
}

func (l *limitWriter) Write(p []byte) (int, error) {
	if l.n > 0 {
		k := min(len(p), l.n)
		_, _ = l.w.Write(p[:k])
		l.n -= k
	}
	return len(p), nil
}
