package s3location

import (
	"bytes"
	"errors"
	"io"
	"net"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/opsmill/docker-infrahubdb/internal/backupset"
)

// brokenOff reads data, then fails with err (nil: a clean end).
type brokenOff struct {
	r   io.Reader
	err error
}

func (b *brokenOff) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err == io.EOF && b.err != nil {
		err = b.err
	}
	return n, err
}

// An object whose transfer breaks off is an unreachable location, never
// a shorter object: whether the HTTP client reports the cut
// (io.ErrUnexpectedEOF, a reset) or the body just ends before the size
// the server announced.
func TestBodyBrokenOff(t *testing.T) {
	l := &Location{url: "s3://b/p/", endpoint: "127.0.0.1:9"}
	data := bytes.Repeat([]byte("x"), 1000)
	for _, tc := range []struct {
		name string
		err  error
		size int64
	}{
		{"cut, reported", io.ErrUnexpectedEOF, 2000},
		{"reset", &net.OpError{Op: "read", Net: "tcp", Err: errors.New("connection reset by peer")}, 2000},
		{"ends early", nil, 2000},
	} {
		b := &body{ReadCloser: io.NopCloser(&brokenOff{r: bytes.NewReader(data), err: tc.err}), l: l, name: "runs/r/f", size: tc.size}
		n, err := io.Copy(io.Discard, b)
		assert.Check(t, is.Equal(n, int64(1000)), tc.name)
		assert.Check(t, is.ErrorIs(err, backupset.ErrUnreachable), tc.name)
		assert.Check(t, is.ErrorContains(err, "runs/r/f in s3://b/p/ at 127.0.0.1:9: the transfer broke off after 1000 of 2000 bytes"), tc.name)
	}
	// Whole: a clean end, with or without an announced size.
	for _, size := range []int64{1000, -1} {
		b := &body{ReadCloser: io.NopCloser(bytes.NewReader(data)), l: l, name: "runs/r/f", size: size}
		n, err := io.Copy(io.Discard, b)
		assert.Check(t, is.Equal(n, int64(1000)))
		assert.Check(t, err, "size %d", size)
	}
}
