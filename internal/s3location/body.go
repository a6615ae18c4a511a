package s3location

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
)

// unreachable says whether err is the network's rather than the server's
// answer: a connection refused, reset or timed out, or a response body
// cut short. minio-go retries those requests itself before it gives up.
func unreachable(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false // the run's own end (Ctrl-C, a timeout), not the network's
	}
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// body is an object's content as the server sends it. It fails, naming
// the object and how far it got, when the stream breaks off: Go's HTTP
// client reports a body shorter than its Content-Length as
// io.ErrUnexpectedEOF, and a body that ends early without an error (a
// server that does not announce the length) is caught by the size the
// server gave when it answered.
type body struct {
	io.ReadCloser
	l          *Location
	name       string
	read, size int64 // size < 0: not announced
}

func (b *body) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.read += int64(n)
	switch {
	case err == io.EOF && b.size >= 0 && b.read < b.size:
		err = io.ErrUnexpectedEOF
	case err == nil || err == io.EOF:
		return n, err
	}
	return n, b.l.describeErr("read", b.name, fmt.Errorf("the transfer broke off after %d of %d bytes: %w", b.read, b.size, err))
}
