package volumearchive

import (
	"io"
	"sync"
)

// Read-ahead chunks: up to readAheadDepth chunks of readAheadChunk bytes
// are read before the caller asks for them.
const (
	readAheadChunk = 256 << 10
	readAheadDepth = 8
)

// readAhead reads r from a goroutine of its own, ahead of its caller: the
// engine's tar stream keeps flowing while the caller re-encodes, hashes and
// writes (or sends) what came before, as the folder's copies do
// (backupset's pipelinedCopy), instead of the engine waiting for each of
// those in turn. Close stops the goroutine (the caller closes r as well,
// which ends a read in progress).
type readAhead struct {
	full chan chunk
	free chan []byte
	stop chan struct{}
	once sync.Once
	cur  chunk
	off  int
	done bool
}

type chunk struct {
	buf []byte
	n   int
	err error
}

func newReadAhead(r io.Reader) *readAhead {
	ra := &readAhead{
		full: make(chan chunk, readAheadDepth),
		free: make(chan []byte, readAheadDepth+1),
		stop: make(chan struct{}),
	}
	for range readAheadDepth + 1 {
		ra.free <- make([]byte, readAheadChunk)
	}
	go ra.fill(r)
	return ra
}

func (ra *readAhead) fill(r io.Reader) {
	defer close(ra.full)
	for {
		var buf []byte
		select {
		case buf = <-ra.free:
		case <-ra.stop:
			return
		}
		n, err := io.ReadFull(r, buf)
		if err == io.ErrUnexpectedEOF {
			err = io.EOF
		}
		select {
		case ra.full <- chunk{buf: buf, n: n, err: err}:
		case <-ra.stop:
			return
		}
		if err != nil {
			return
		}
	}
}

func (ra *readAhead) Read(p []byte) (int, error) {
	for ra.off == ra.cur.n {
		if ra.cur.err != nil {
			return 0, ra.cur.err
		}
		if ra.done {
			return 0, io.EOF
		}
		if ra.cur.buf != nil {
			ra.free <- ra.cur.buf // never blocks: depth+1 buffers in all
		}
		c, ok := <-ra.full
		if !ok {
			ra.done, ra.cur, ra.off = true, chunk{}, 0
			continue
		}
		ra.cur, ra.off = c, 0
	}
	n := copy(p, ra.cur.buf[ra.off:ra.cur.n])
	ra.off += n
	return n, nil
}

// Close stops reading ahead; the caller still closes the source.
func (ra *readAhead) Close() error {
	ra.once.Do(func() { close(ra.stop) })
	return nil
}
