package backupset

import "io"

// pipeChunk is the most pipelinedCopy reads at once; pipeDepth chunks may
// be in flight. Each chunk is written as the source gave it, never filled
// first: on Linux 6.18 (ext4 with large folios, this VM), writing whole
// 128 KiB chunks at 128 KiB-aligned offsets made copying into the page
// cache bimodal, 0.55 s or 1.3-1.8 s for the same 448 MiB, where writing
// each read as it came (mostly 128 KiB, the rest 60-64 KiB, so the
// offsets drift off alignment) took 0.56-0.62 s in 10 of 10 runs, against
// 0.71-0.84 s for io.Copy into a file (32 KiB writes, no hash); filled
// 1 MiB chunks were worse still. Measured on 2026-12-07 (docs/performance.md)
// downloading one object from versitygw on 127.0.0.1 with each variant
// taking turns. 128 KiB, not 1 MiB, also keeps each chunk in the CPU's
// cache between its hash and its write.
const (
	pipeChunk = 128 << 10
	pipeDepth = 4
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
			n, err := readSome(r, buf)
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

// readSome is one Read of r into buf that returned bytes or an error
// (an io.Reader may return 0, nil: it is asked again).
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
