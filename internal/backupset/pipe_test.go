package backupset

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

func TestPipelinedCopy(t *testing.T) {
	for _, size := range []int{0, 1, pipeChunk - 1, pipeChunk, 3*pipeChunk + 17, 9 * pipeChunk} {
		data := make([]byte, size)
		_, _ = rand.Read(data)
		var out bytes.Buffer
		n, err := pipelinedCopy(&out, bytes.NewReader(data))
		assert.NilError(t, err)
		assert.Check(t, is.Equal(n, int64(size)))
		assert.Check(t, bytes.Equal(out.Bytes(), data), "size %d", size)
	}
}

type failingWriter struct{ after int }

func (w *failingWriter) Write(b []byte) (int, error) {
	if w.after <= 0 {
		return 0, errors.New("disk full")
	}
	w.after--
	return len(b), nil
}

func TestPipelinedCopyErrors(t *testing.T) {
	data := make([]byte, 5*pipeChunk)
	_, err := pipelinedCopy(&failingWriter{after: 2}, bytes.NewReader(data))
	assert.Check(t, is.ErrorContains(err, "disk full"))

	r := io.MultiReader(bytes.NewReader(data[:pipeChunk+5]), iotestErrReader{})
	n, err := pipelinedCopy(io.Discard, r)
	assert.Check(t, is.ErrorContains(err, "connection reset"))
	assert.Check(t, n <= int64(pipeChunk+5))

	// A stream cut short (an HTTP body shorter than its Content-Length)
	// fails the copy: it is not the end of the data.
	for _, cut := range []int{5, pipeChunk, pipeChunk + 5} {
		r = io.MultiReader(bytes.NewReader(data[:cut]), shortReader{})
		_, err = pipelinedCopy(io.Discard, r)
		assert.Check(t, is.ErrorIs(err, io.ErrUnexpectedEOF), "cut after %d bytes", cut)
	}
}

type shortReader struct{}

func (shortReader) Read([]byte) (int, error) { return 0, io.ErrUnexpectedEOF }

type iotestErrReader struct{}

func (iotestErrReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }
