package store

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"
)

// RawTx is a committed transaction as its log line (without the newline),
// with the id and time read from it. Backups, aggregation and restores move
// transactions as lines: decoding and re-encoding multi-MiB property values
// at every hop made a 1 GiB backup take minutes.
type RawTx struct {
	ID   int64
	Time time.Time
	Line []byte
}

// Raw encodes tx as its log line.
func (tx Tx) Raw() (RawTx, error) {
	line, err := json.Marshal(tx)
	return RawTx{ID: tx.ID, Time: tx.Time, Line: line}, err
}

// Decode returns the full transaction.
func (r RawTx) Decode() (Tx, error) {
	var tx Tx
	err := json.Unmarshal(r.Line, &tx)
	return tx, err
}

// ParseRawTx reads the id and time of one log line. The line is kept (not
// copied).
func ParseRawTx(line []byte) (RawTx, error) {
	var head struct {
		ID   int64     `json:"tx"`
		Time time.Time `json:"time"`
	}
	if err := json.Unmarshal(skeleton(line), &head); err != nil {
		return RawTx{}, err
	}
	return RawTx{ID: head.ID, Time: head.Time, Line: line}, nil
}

// WriteRawTxs writes txs as log lines.
func WriteRawTxs(w io.Writer, txs []RawTx) error {
	for _, tx := range txs {
		if _, err := w.Write(tx.Line); err != nil {
			return err
		}
		if _, err := w.Write([]byte{'\n'}); err != nil {
			return err
		}
	}
	return nil
}

// ParseLog reads the complete lines of a log from r until EOF; a torn last
// line is not part of the result.
func ParseLog(r io.Reader) ([]RawTx, error) {
	br := bufio.NewReaderSize(r, 1<<20)
	var txs []RawTx
	for {
		line, err := br.ReadBytes('\n')
		if len(line) == 0 || line[len(line)-1] != '\n' {
			return txs, nil
		}
		tx, perr := ParseRawTx(line[:len(line)-1])
		if perr != nil {
			last := int64(0)
			if len(txs) > 0 {
				last = txs[len(txs)-1].ID
			}
			return nil, fmt.Errorf("corrupt transaction after id %d: %w", last, perr)
		}
		txs = append(txs, tx)
		if err != nil {
			return txs, nil
		}
	}
}

// longString is the length above which skeleton drops a string's content.
const longString = 64

// skeleton returns the JSON text line with the content of every string
// longer than longString bytes removed, so that json reads the structure of
// a transaction carrying multi-MiB property values without scanning them
// byte by byte. Invalid JSON stays invalid.
func skeleton(line []byte) []byte {
	out := make([]byte, 0, 512)
	for {
		i := bytes.IndexByte(line, '"')
		if i < 0 {
			return append(out, line...)
		}
		out = append(out, line[:i+1]...)
		line = line[i+1:]
		end := closingQuote(line)
		if end < 0 {
			return append(out, line...)
		}
		if end <= longString {
			out = append(out, line[:end+1]...)
		} else {
			out = append(out, '"')
		}
		line = line[end+1:]
	}
}

// closingQuote is the index of the quote that ends the string s starts
// inside of, or -1.
func closingQuote(s []byte) int {
	off := 0
	for {
		i := bytes.IndexByte(s[off:], '"')
		if i < 0 {
			return -1
		}
		off += i
		backslashes := 0
		for j := off - 1; j >= 0 && s[j] == '\\'; j-- {
			backslashes++
		}
		if backslashes%2 == 0 {
			return off
		}
		off++
	}
}

// readRawLog reads the complete lines of a log (see ParseLog) and returns
// those after afterTx and the id of the last one.
func readRawLog(path string, afterTx int64) ([]RawTx, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	all, err := ParseLog(f)
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", path, err)
	}
	var last int64
	if len(all) > 0 {
		last = all[len(all)-1].ID
	}
	i := 0
	for i < len(all) && all[i].ID <= afterTx {
		i++
	}
	return all[i:], last, nil
}
