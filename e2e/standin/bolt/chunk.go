package bolt

import (
	"bufio"
	"encoding/binary"
	"io"
)

// maxChunk is the largest chunk body Bolt allows.
const maxChunk = 0xffff

// readMessage reads one chunked message: chunks of <uint16 size><body>
// ended by a zero-size chunk. Zero-size chunks between messages are NOOPs
// (keep-alives) and are skipped.
func readMessage(r *bufio.Reader) ([]byte, error) {
	var msg []byte
	var hdr [2]byte
	for {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return nil, err
		}
		n := int(binary.BigEndian.Uint16(hdr[:]))
		if n == 0 {
			if len(msg) == 0 {
				continue
			}
			return msg, nil
		}
		start := len(msg)
		msg = append(msg, make([]byte, n)...)
		if _, err := io.ReadFull(r, msg[start:]); err != nil {
			return nil, err
		}
	}
}

// writeMessage writes msg as chunks of at most maxChunk bytes and the end marker.
func writeMessage(w *bufio.Writer, msg []byte) error {
	for len(msg) > 0 {
		n := min(len(msg), maxChunk)
		if _, err := w.Write(binary.BigEndian.AppendUint16(nil, uint16(n))); err != nil {
			return err
		}
		if _, err := w.Write(msg[:n]); err != nil {
			return err
		}
		msg = msg[n:]
	}
	_, err := w.Write([]byte{0, 0})
	return err
}
