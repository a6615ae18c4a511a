package backupset

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"testing"
	"testing/iotest"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

func TestPipelinedCopy(t *testing.T) {
	sources := map[string]func([]byte) io.Reader{
		"whole":       func(b []byte) io.Reader { return bytes.NewReader(b) },
		"one byte":    func(b []byte) io.Reader { return iotest.OneByteReader(bytes.NewReader(b)) },
		"halves":      func(b []byte) io.Reader { return iotest.HalfReader(bytes.NewReader(b)) },
		"32 KiB":      func(b []byte) io.Reader { return &cappedReader{r: bytes.NewReader(b), max: 32 << 10} },
		"empty reads": func(b []byte) io.Reader { return &emptyReads{r: bytes.NewReader(b)} },
	}
	for name, source := range sources {
		for _, size := range []int{0, 1, pipeChunk - 1, pipeChunk, 3*pipeChunk + 17, 9 * pipeChunk} {
			data := make([]byte, size)
			_, _ = rand.Read(data)
			var out bytes.Buffer
			n, err := pipelinedCopy(&out, source(data))
			assert.NilError(t, err)
			assert.Check(t, is.Equal(n, int64(size)))
			assert.Check(t, bytes.Equal(out.Bytes(), data), "%s, size %d", name, size)
		}
	}
}

// TestPipelinedCopyGathersSmallReads: reads under gatherBelow (the Docker
// API's 32 KiB) are gathered into whole chunks; bigger ones (an S3 body's)
// are written as they came (see gatherBelow).
func TestPipelinedCopyGathersSmallReads(t *testing.T) {
	data := make([]byte, 3*pipeChunk)
	w := &recordingWriter{}
	_, err := pipelinedCopy(w, &cappedReader{r: bytes.NewReader(data), max: 32 << 10})
	assert.NilError(t, err)
	assert.Check(t, is.DeepEqual(w.writes, []int{pipeChunk, pipeChunk, pipeChunk}))

	w = &recordingWriter{}
	_, err = pipelinedCopy(w, &cappedReader{r: bytes.NewReader(data), max: 60 << 10})
	assert.NilError(t, err)
	assert.Check(t, is.Equal(w.writes[0], 60<<10))
	assert.Check(t, is.Equal(w.writes[1], 60<<10))
}

type recordingWriter struct{ writes []int }

func (w *recordingWriter) Write(b []byte) (int, error) {
	w.writes = append(w.writes, len(b))
	return len(b), nil
}

// cappedReader gives at most max bytes a read.
type cappedReader struct {
	r   io.Reader
	max int
}

func (c *cappedReader) Read(p []byte) (int, error) {
	if len(p) > c.max {
		p = p[:c.max]
	}
	return c.r.Read(p)
}

// emptyReads returns 0, nil before every read that gives bytes, as an
// io.Reader may.
type emptyReads struct {
	r     io.Reader
	empty bool
}

func (e *emptyReads) Read(p []byte) (int, error) {
	e.empty = !e.empty
	if e.empty {
		return 0, nil
	}
	return e.r.Read(p)
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
