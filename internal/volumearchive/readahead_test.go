package volumearchive

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"runtime"
	"sync/atomic"
	"testing"
	"testing/iotest"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

// The bytes come out as they went in, whatever the reads' sizes on
// either side.
func TestReadAheadKeepsTheBytes(t *testing.T) {
	for _, size := range []int{0, 1, readAheadChunk - 1, readAheadChunk, readAheadChunk*readAheadDepth*3 + 7} {
		data := make([]byte, size)
		rng := rand.NewChaCha8([32]byte{byte(size)})
		_, _ = rng.Read(data)
		for name, src := range map[string]func() io.Reader{
			"whole":    func() io.Reader { return bytes.NewReader(data) },
			"one byte": func() io.Reader { return iotest.OneByteReader(bytes.NewReader(data)) },
			"halves":   func() io.Reader { return iotest.HalfReader(bytes.NewReader(data)) },
		} {
			if name == "one byte" && size > readAheadChunk {
				continue // slow, and no different from halves
			}
			ra := newReadAhead(src())
			assert.NilError(t, iotest.TestReader(ra, data), "%d bytes, %s", size, name)
			ra.Close()
		}
	}
}

// An error of the source comes after the bytes read before it.
func TestReadAheadError(t *testing.T) {
	boom := errors.New("boom")
	data := bytes.Repeat([]byte("x"), readAheadChunk+10)
	ra := newReadAhead(io.MultiReader(bytes.NewReader(data), iotest.ErrReader(boom)))
	defer ra.Close()
	got, err := io.ReadAll(ra)
	assert.Check(t, errors.Is(err, boom), "%v", err)
	assert.Check(t, is.Equal(len(got), len(data)))
}

// Closed early (an archive refused midway) while it waits with every
// chunk full, the goroutine ends, and the source is closed as Take does.
func TestReadAheadCloseEndsTheGoroutine(t *testing.T) {
	before := runtime.NumGoroutine()
	pr, pw := io.Pipe()
	var sent atomic.Int64
	go func() {
		for {
			n, err := pw.Write(make([]byte, readAheadChunk))
			sent.Add(int64(n))
			if err != nil {
				return
			}
		}
	}()
	ra := newReadAhead(pr)
	_, err := io.ReadFull(ra, make([]byte, 10))
	assert.NilError(t, err)
	// Every buffer filled: the reading goroutine waits for one back.
	for sent.Load() < (readAheadDepth+1)*readAheadChunk {
		time.Sleep(10 * time.Millisecond)
	}
	ra.Close()
	pr.Close()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	assert.Check(t, runtime.NumGoroutine() <= before, "goroutines: %d before, %d after", before, runtime.NumGoroutine())
}
