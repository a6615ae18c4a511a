//go:build bench

package engine_test

import (
	"context"
	"io"
	"net"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

// The tunnel's figures belong to the bench, not to the tests (timing goals
// are measured, never asserted): make bench runs this.
// TestTunnelMeasure logs the tunnel's connect latency and throughput:
//
//	go test -tags bench -count=1 -run TestTunnelMeasure -v ./e2e/engine/
func TestTunnelMeasure(t *testing.T) {
	e, api := newEngine(t)
	ip := startEchoServer(t, e, api)
	h := startHelper(t, e, helperSpec(t))
	echo, err := h.Tunnel(context.Background(), ip+":7000")
	assert.NilError(t, err)
	defer echo.Close()
	source, err := h.Tunnel(context.Background(), ip+":7002")
	assert.NilError(t, err)
	defer source.Close()

	// Connect latency: dial and one small round trip, which needs the relay connected.
	const dials = 20
	start := time.Now()
	for range dials {
		assert.NilError(t, echoRoundTrip(echo.Addr(), 1))
	}
	t.Logf("connect + first round trip: %v per connection (mean of %d)", time.Since(start)/dials, dials)

	// Download: the server writes 256 MiB and closes.
	start = time.Now()
	c, err := net.Dial("tcp", source.Addr())
	assert.NilError(t, err)
	n, err := io.Copy(io.Discard, c)
	c.Close()
	assert.NilError(t, err)
	assert.Check(t, is.Equal(n, int64(256<<20)))
	t.Logf("download: %.0f MB/s (%d MiB in %v)", float64(n)/1e6/time.Since(start).Seconds(), n>>20, time.Since(start))

	// Echo: 64 MiB up and the same back at once.
	start = time.Now()
	assert.NilError(t, echoRoundTrip(echo.Addr(), 64<<20))
	t.Logf("echo: %.0f MB/s each way (64 MiB up and down in %v)", 64*1.048576/time.Since(start).Seconds(), time.Since(start))
}
