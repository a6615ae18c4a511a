package kit

// An ssh:// Docker context on this machine with nothing installed by hand:
// a small SSH server (golang.org/x/crypto/ssh) on 127.0.0.1 stands for the
// remote Docker host, and the real OpenSSH client reaches it. The docker
// CLI's ssh transport (github.com/docker/cli/cli/connhelper) runs
//
//	ssh -l USER -p PORT -o ConnectTimeout=30 -T -- HOST docker system dial-stdio
//
// and reads no ssh options from anywhere but ssh's own configuration, which
// OpenSSH takes from the passwd entry's home, not from $HOME. So the kit
// puts an `ssh` first on the plugin's PATH that is the real client with a
// configuration file of the test (-F): the throwaway key, the server's host
// key as the only known host, no agent, batch mode.

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"golang.org/x/crypto/ssh"
	"gotest.tools/v3/icmd"
)

// SSHUser is the user name of the kit's ssh:// contexts.
const SSHUser = "e2e"

// SSHContext is a Docker context `ssh://e2e@127.0.0.1:PORT` in a plugin's
// Docker config, served by an SSH server of the test that runs each exec
// request with /bin/sh -c on this machine (so `docker system dial-stdio`
// reaches the local engine with the test process's own environment), as
// sshd runs it on a remote Docker host.
type SSHContext struct {
	// Name is the context's name, for `docker --context Name …`.
	Name string
	// Host is the context's Docker endpoint, ssh://e2e@127.0.0.1:PORT.
	Host string

	p   *Plugin
	bin string // the directory of the ssh wrapper, first on PATH
	ln  net.Listener
	cfg *ssh.ServerConfig
	wg  sync.WaitGroup
	mu  sync.Mutex
	cut bool
	// thawed is closed while the link carries bytes; Freeze replaces it
	// with an open channel, Thaw closes it.
	thawed chan struct{}
	nets   map[net.Conn]bool
	cmds   map[*exec.Cmd]bool
	seen   []string
}

// NewSSHContext starts an SSH server on 127.0.0.1 (a random port, a
// throwaway host key, public-key auth with a throwaway client key) and
// creates a Docker context for it in p's config. The server, its sessions
// and the commands they run are stopped in t.Cleanup.
func NewSSHContext(t testing.TB, p *Plugin) *SSHContext {
	t.Helper()
	client := lookPath(t, "ssh")
	dir := t.TempDir()

	_, hostKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	hostSigner, err := ssh.NewSignerFromKey(hostKey)
	if err != nil {
		t.Fatal(err)
	}
	userPub, userKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	authorized, err := ssh.NewPublicKey(userPub)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(userKey, "infrahubdb e2e")
	if err != nil {
		t.Fatal(err)
	}

	s := &SSHContext{Name: UniqueName(t, "ssh"), p: p, bin: filepath.Join(dir, "bin"), nets: map[net.Conn]bool{}, cmds: map[*exec.Cmd]bool{}, thawed: make(chan struct{})}
	close(s.thawed)
	s.cfg = &ssh.ServerConfig{
		PublicKeyCallback: func(md ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			if md.User() == SSHUser && bytes.Equal(key.Marshal(), authorized.Marshal()) {
				return nil, nil
			}
			return nil, fmt.Errorf("kit: ssh: unknown user %q or key", md.User())
		},
	}
	s.cfg.AddHostKey(hostSigner)
	s.ln, err = net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := s.ln.Addr().(*net.TCPAddr).Port
	s.Host = fmt.Sprintf("ssh://%s@127.0.0.1:%d", SSHUser, port)
	t.Cleanup(s.stop)
	s.wg.Add(1)
	go s.serve()

	key := filepath.Join(dir, "id_ed25519")
	known := filepath.Join(dir, "known_hosts")
	config := filepath.Join(dir, "ssh_config")
	files := map[string][]byte{
		key:   pem.EncodeToMemory(block),
		known: fmt.Appendf(nil, "[127.0.0.1]:%d %s", port, ssh.MarshalAuthorizedKey(hostSigner.PublicKey())),
		config: fmt.Appendf(nil, "Host *\n  IdentityFile %s\n  IdentitiesOnly yes\n  IdentityAgent none\n  UserKnownHostsFile %s\n"+
			"  GlobalKnownHostsFile /dev/null\n  StrictHostKeyChecking yes\n  BatchMode yes\n  ControlMaster no\n  ControlPath none\n  LogLevel ERROR\n", key, known),
		filepath.Join(s.bin, "ssh"): fmt.Appendf(nil, "#!/bin/sh\nexec %s -F %s \"$@\"\n", client, config),
	}
	if err := os.MkdirAll(s.bin, 0o755); err != nil {
		t.Fatal(err)
	}
	for path, content := range files {
		mode := os.FileMode(0o600)
		if filepath.Base(path) == "ssh" {
			mode = 0o755
		}
		if err := os.WriteFile(path, content, mode); err != nil {
			t.Fatal(err)
		}
	}
	p.Docker("context", "create", s.Name, "--docker", "host="+s.Host).Assert(t, icmd.Success)
	return s
}

// Env is the plugin's environment with the test's ssh first on PATH.
func (s *SSHContext) Env(extra ...string) []string {
	return append(s.p.Env("PATH="+s.bin+string(os.PathListSeparator)+os.Getenv("PATH")), extra...)
}

// Cmd returns `docker --context Name <args>` with the plugin installed and
// the test's ssh on PATH.
func (s *SSHContext) Cmd(args ...string) icmd.Cmd {
	return icmd.Cmd{Command: append([]string{"docker", "--context", s.Name}, args...), Env: s.Env(), Timeout: PluginTimeout}
}

// Docker runs `docker --context Name <args>` and returns the result.
func (s *SSHContext) Docker(args ...string) *icmd.Result {
	return icmd.RunCmd(s.Cmd(args...))
}

// Commands lists the commands the server ran for exec requests, in order.
func (s *SSHContext) Commands() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.seen...)
}

// Cut drops the link in the middle of r: the server stops accepting
// connections (the host is unreachable from now on: new ones are refused),
// and every `ssh` process under r (the plugin's transport) is killed with
// SIGKILL. The server's side then sees its connections close, as sshd does
// when a client vanishes: the commands' stdin ends and their output has
// nowhere to go. Returns how many ssh processes were killed; the test fails
// when there is none (r did not go through ssh).
func (s *SSHContext) Cut(t testing.TB, r *Running) int {
	t.Helper()
	s.mu.Lock()
	s.cut = true
	s.mu.Unlock()
	_ = s.ln.Close()
	n := 0
	for _, pid := range descendants(r.Result.Cmd.Process.Pid) {
		if comm, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "comm")); strings.TrimSpace(string(comm)) == "ssh" {
			if syscall.Kill(pid, syscall.SIGKILL) == nil {
				n++
			}
		}
	}
	if n == 0 {
		t.Fatalf("kit: no ssh process under %v (pid %d)", r.Result.Cmd.Args, r.Result.Cmd.Process.Pid)
	}
	return n
}

// Freeze makes the link hang, as a frozen network or Docker host does: from
// now on the server neither reads from nor writes to any connection, the
// ones open and the ones it accepts (the TCP connections stay open, and
// the client's ssh processes alive, waiting). Nothing is closed or killed:
// Thaw lets the bytes through again, as they were.
func (s *SSHContext) Freeze() {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-s.thawed:
		s.thawed = make(chan struct{})
	default: // frozen already
	}
}

// Thaw ends Freeze: the link carries bytes again.
func (s *SSHContext) Thaw() {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-s.thawed:
	default:
		close(s.thawed)
	}
}

// gate blocks while the link is frozen.
func (s *SSHContext) gate() {
	s.mu.Lock()
	ch := s.thawed
	s.mu.Unlock()
	<-ch
}

// frozenConn is a server connection that Freeze holds: what it read is
// kept until Thaw, and nothing is written until then.
type frozenConn struct {
	net.Conn
	s *SSHContext
}

func (c frozenConn) Read(p []byte) (int, error) {
	c.s.gate()
	n, err := c.Conn.Read(p)
	c.s.gate()
	return n, err
}

func (c frozenConn) Write(p []byte) (int, error) {
	c.s.gate()
	return c.Conn.Write(p)
}

// descendants lists pid's child processes, theirs, and so on.
func descendants(pid int) []int {
	var out []int
	for _, c := range children(pid) {
		out = append(append(out, c), descendants(c)...)
	}
	return out
}

func (s *SSHContext) serve() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		if s.cut {
			s.mu.Unlock()
			_ = c.Close()
			continue
		}
		s.nets[c] = true
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.conn(frozenConn{Conn: c, s: s})
			s.mu.Lock()
			delete(s.nets, c)
			s.mu.Unlock()
		}()
	}
}

// conn serves one client: "session" channels only, "exec" requests only.
func (s *SSHContext) conn(c net.Conn) {
	defer c.Close()
	sc, chans, reqs, err := ssh.NewServerConn(c, s.cfg)
	if err != nil {
		return
	}
	defer sc.Close()
	go ssh.DiscardRequests(reqs)
	var sessions sync.WaitGroup
	for nc := range chans {
		if nc.ChannelType() != "session" {
			_ = nc.Reject(ssh.UnknownChannelType, "only sessions")
			continue
		}
		ch, creqs, err := nc.Accept()
		if err != nil {
			continue
		}
		sessions.Add(1)
		go func() {
			defer sessions.Done()
			s.session(ch, creqs)
		}()
	}
	sessions.Wait()
}

func (s *SSHContext) session(ch ssh.Channel, reqs <-chan *ssh.Request) {
	defer ch.Close()
	for req := range reqs {
		if req.Type != "exec" {
			// env, pty-req, shell, subsystem: not offered.
			_ = req.Reply(false, nil)
			continue
		}
		var payload struct{ Command string }
		if err := ssh.Unmarshal(req.Payload, &payload); err != nil {
			_ = req.Reply(false, nil)
			continue
		}
		_ = req.Reply(true, nil)
		go ssh.DiscardRequests(reqs)
		status := s.run(ch, payload.Command)
		_, _ = ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{status}))
		return
	}
}

// run runs command as sshd does without a terminal: /bin/sh -c, its stdin,
// stdout and stderr the channel's. When the client goes, its stdin ends
// and its output pipes are closed; it is not killed (a `docker system
// dial-stdio` ends when its daemon connection does).
func (s *SSHContext) run(ch ssh.Channel, command string) uint32 {
	cmd := exec.Command("/bin/sh", "-c", command)
	cmd.Env = os.Environ()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // stop kills the whole group
	stdin, err1 := cmd.StdinPipe()
	stdout, err2 := cmd.StdoutPipe()
	stderr, err3 := cmd.StderrPipe()
	if err := errors.Join(err1, err2, err3); err != nil {
		fmt.Fprintf(ch.Stderr(), "kit: ssh: %v\n", err)
		return 255
	}
	s.mu.Lock()
	s.seen = append(s.seen, command)
	if s.cut {
		s.mu.Unlock()
		return 255
	}
	if err := cmd.Start(); err != nil {
		s.mu.Unlock()
		fmt.Fprintf(ch.Stderr(), "kit: ssh: %v\n", err)
		return 127
	}
	s.cmds[cmd] = true
	s.mu.Unlock()
	go func() {
		_, _ = io.Copy(stdin, ch)
		_ = stdin.Close()
	}()
	var out sync.WaitGroup
	for _, p := range []struct {
		w io.Writer
		r io.ReadCloser
	}{{ch, stdout}, {ch.Stderr(), stderr}} {
		out.Add(1)
		go func() {
			defer out.Done()
			if _, err := io.Copy(p.w, p.r); err != nil {
				_ = p.r.Close() // the client is gone: later writes fail (EPIPE)
			}
		}()
	}
	out.Wait()
	err := cmd.Wait()
	s.mu.Lock()
	delete(s.cmds, cmd)
	s.mu.Unlock()
	if exit, ok := err.(*exec.ExitError); ok && exit.ExitCode() >= 0 {
		return uint32(exit.ExitCode())
	}
	if err != nil {
		return 255
	}
	return 0
}

// stop closes the server and its connections and kills the commands still
// running, then waits for them all.
func (s *SSHContext) stop() {
	s.Thaw()
	s.mu.Lock()
	s.cut = true
	_ = s.ln.Close()
	for c := range s.nets {
		_ = c.Close()
	}
	for cmd := range s.cmds {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	s.mu.Unlock()
	s.wg.Wait()
}
