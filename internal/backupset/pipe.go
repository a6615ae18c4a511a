package backupset

import "io"

// pipeChunk is the unit of pipelinedCopy; pipeDepth chunks may be in flight.
// 128 KiB, not 1 MiB: each chunk is hashed, then written into the page
// cache, and a chunk that still sits in the CPU's cache when it is written
// costs one read of memory, not two. Measured with make bench on 2 cores
// (docs/performance.md, 2026-12-07): copy s3://… FOLDER of 448 MiB went
// from 0.83 of GetObject into a file to 1.06 (256 KiB: 0.94), in runs
// side by side on one machine.
//
// gatherBelow: a read that gives fewer bytes is followed by more until the
// chunk is full; a bigger one is written as it came. The Docker API's
// archive stream reads 32 KiB at a time (through tar.Reader): gathered into
// 128 KiB chunks, a 1 GiB download took 3.79 and 4.43 s (medians of two
// sets of 8 runs), written read by read 4.43 and 4.66 s. An S3 body reads
// 60-128 KiB at a time: written as they came, a 448 MiB download took
// 0.59-0.66 s (medians of five sets), where gathering them took as long
// in some sets and 0.74-1.42 s in others on the same machine (Linux 6.18,
// ext4), bimodal run by run. Measured on 2026-12-07, variants taking
// turns (docs/performance.md).
const (
	pipeChunk   = 128 << 10
	pipeDepth   = 4
	gatherBelow = 48 << 10
)

// pipelinedCopy copies r to w with reading and writing overlapped: one
// goroutine reads the next chunks (from the Docker API) while the caller's
// goroutine hashes and writes the previous ones. Memory stays bounded to
// pipeDepth+1 chunks.
func pipelinedCopy(w io.Writer, r io.Reader) (int64, error) {
	type chunk struct {
		buf []byte
		n   int
		err error
	}
	free := make(chan []byte, pipeDepth+1)
	for range pipeDepth + 1 {
		free <- make([]byte, pipeChunk)
	}
	full := make(chan chunk, pipeDepth)
	stop := make(chan struct{})
	go func() {
		defer close(full)
		for {
			var buf []byte
			select {
			case buf = <-free:
			case <-stop:
				return
			}
			n, err := readChunk(r, buf)
			select {
			case full <- chunk{buf: buf, n: n, err: err}:
			case <-stop:
				return
			}
			if err != nil {
				return
			}
		}
	}()
	defer close(stop)
	var written int64
	for c := range full {
		if c.n > 0 {
			n, err := w.Write(c.buf[:c.n])
			written += int64(n)
			if err != nil {
				return written, err
			}
		}
		if c.err == io.EOF {
			return written, nil
		}
		if c.err != nil {
			return written, c.err
		}
		free <- c.buf
	}
	return written, nil
}

// readChunk reads r into buf: one read that gave at least gatherBelow
// bytes, or until buf is full (see gatherBelow), or r fails or ends.
func readChunk(r io.Reader, buf []byte) (int, error) {
	n, err := readSome(r, buf)
	if err != nil || n >= gatherBelow {
		return n, err
	}
	m, err := Fill(r, buf[n:])
	return n + m, err
}

// readSome is one read of r that gave bytes or an error (an io.Reader may
// return 0, nil: it is asked again).
func readSome(r io.Reader, buf []byte) (int, error) {
	for {
		n, err := r.Read(buf)
		if n > 0 || err != nil {
			return n, err
		}
	}
}

// Fill reads r into buf until buf is full or r fails or ends. Unlike
// io.ReadFull it returns r's own error as it is: io.EOF is r's clean end
// (however little it filled), and io.ErrUnexpectedEOF is r's, a stream
// cut short (an HTTP body shorter than its Content-Length, when the S3
// server goes away mid-download), never taken for the end.
func Fill(r io.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := r.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}
