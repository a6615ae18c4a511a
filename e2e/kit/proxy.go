package kit

import (
	"errors"
	"net"
	"net/url"
	"sync"
	"testing"
)

// CuttingProxy stands between the plugin and a TCP server (the kit's S3
// server) and makes that server go away in the middle of a transfer: it
// forwards connections until limit bytes have gone through it, both ways
// and all connections counted (a download or an upload), then closes every
// connection, the ones it forwards and the ones to the server, and stops
// listening, so that new connections are refused, as when the server's
// host fails or the network to it is cut.
type CuttingProxy struct {
	// Endpoint is the proxy's address with the scheme of the target,
	// http://127.0.0.1:PORT: give it to the plugin (--s3-endpoint).
	Endpoint string

	ln     net.Listener
	target string
	limit  int64

	mu    sync.Mutex
	sent  int64
	cut   bool
	conns []net.Conn
}

// NewCuttingProxy proxies endpoint (scheme://host:port) until limit bytes
// have gone through. The test's cleanup closes what is left.
func NewCuttingProxy(t testing.TB, endpoint string, limit int64) *CuttingProxy {
	t.Helper()
	u, err := url.Parse(endpoint)
	if err != nil {
		t.Fatalf("kit: proxy of %q: %v", endpoint, err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("kit: proxy: %v", err)
	}
	p := &CuttingProxy{Endpoint: u.Scheme + "://" + ln.Addr().String(), ln: ln, target: u.Host, limit: limit}
	go p.serve()
	t.Cleanup(p.Cut)
	return p
}

// WasCut says whether the limit was reached (or Cut called).
func (p *CuttingProxy) WasCut() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cut
}

// Sent is how many bytes went through the proxy, both ways.
func (p *CuttingProxy) Sent() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.sent
}

// Cut closes every connection and the listener now.
func (p *CuttingProxy) Cut() {
	p.mu.Lock()
	p.cut = true
	conns := p.conns
	p.conns = nil
	p.mu.Unlock()
	_ = p.ln.Close()
	for _, c := range conns {
		_ = c.Close()
	}
}

func (p *CuttingProxy) serve() {
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		server, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = client.Close()
			continue
		}
		if !p.track(client, server) {
			return
		}
		go p.forward(client, server)
		go p.forward(server, client)
	}
}

// track records a pair of connections, or closes it when the proxy is cut.
func (p *CuttingProxy) track(conns ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cut {
		for _, c := range conns {
			_ = c.Close()
		}
		return false
	}
	p.conns = append(p.conns, conns...)
	return true
}

// forward copies from one side to the other, up to the proxy's limit.
func (p *CuttingProxy) forward(from, to net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := from.Read(buf)
		if n > 0 {
			p.mu.Lock()
			allowed := min(int64(n), max(p.limit-p.sent, 0))
			p.sent += allowed
			over := p.sent >= p.limit
			p.mu.Unlock()
			if _, werr := to.Write(buf[:allowed]); werr != nil {
				return
			}
			if over {
				p.Cut()
				return
			}
		}
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				_ = to.Close()
			}
			return
		}
	}
}
