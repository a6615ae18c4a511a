// Package artifact owns the stand-in's backup artifact files: one immutable
// file per backup, named like real Neo4j 5 artifacts
// (<db>-YYYY-MM-DDTHH-MM-SS.backup), that holds a header with the metadata
// `neo4j-admin backup inspect` shows and the backed-up transactions.
//
// File layout:
//
//	NEO4J-STANDIN-BACKUP/1\n        magic line
//	{"database":"neo4j",...}\n      Header as one JSON line
//	<body>                          Header.TxCount store.Tx JSON lines, gzipped when Compressed
//
// The header carries the size and SHA-256 of the body as stored, so a
// flipped byte anywhere in the body is detected (Read, Verify) while the
// file still looks normal to anything that only reads the header.
package artifact

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/opsmill/docker-infrahubdb/e2e/standin/store"
)

// Magic is the first line of every artifact.
const Magic = "NEO4J-STANDIN-BACKUP/1"

// Ext is the extension of artifact files.
const Ext = ".backup"

// Header is the metadata of one artifact.
type Header struct {
	Database   string `json:"database"`
	DatabaseID string `json:"databaseId"` // UUID-shaped, derived from the store id
	StoreID    string `json:"storeId"`
	Full       bool   `json:"full"`
	// LowestTx and HighestTx are the range of transactions in the body. A
	// full backup always has LowestTx 1; an empty differential backup (no
	// new transactions) has 0 and 0, like real Neo4j.
	LowestTx     int64     `json:"lowestTx"`
	HighestTx    int64     `json:"highestTx"`
	BackupTime   time.Time `json:"backupTime"`
	Neo4jVersion string    `json:"neo4jVersion"`
	Compressed   bool      `json:"compressed"`
	TxCount      int       `json:"txCount"`
	BodySize     int64     `json:"bodySize"`
	BodySHA256   string    `json:"bodySha256"`
	// IncludeMetadata is the --include-metadata value the backup was taken
	// with; Metadata the statements restore writes to restore_metadata.cypher.
	IncludeMetadata string   `json:"includeMetadata,omitempty"`
	Metadata        []string `json:"metadata,omitempty"`
}

// Empty reports whether the artifact is a differential backup without
// transactions (real Neo4j writes those to record the backup history).
func (h Header) Empty() bool { return !h.Full && h.TxCount == 0 }

// DatabaseIDFor returns the UUID-shaped database id shown for a store id.
func DatabaseIDFor(db, storeID string) string {
	s := sha256.Sum256([]byte(db + "/" + storeID))
	x := hex.EncodeToString(s[:16])
	return x[0:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:32]
}

// WriteFile writes an artifact atomically: a temp file in the same
// directory, fsynced, then renamed to path. h's body fields are filled in.
// corrupt flips one byte of the body after its checksum was computed (the
// "corrupt" fault knob); with an empty body the checksum itself is damaged.
func WriteFile(path string, h Header, txs []store.Tx, corrupt bool) (Header, error) {
	body, err := encodeBody(txs, h.Compressed)
	if err != nil {
		return h, err
	}
	sum := sha256.Sum256(body)
	h.TxCount = len(txs)
	h.BodySize = int64(len(body))
	h.BodySHA256 = hex.EncodeToString(sum[:])
	if corrupt {
		if len(body) > 0 {
			body[len(body)/2] ^= 0x01
		} else {
			h.BodySHA256 = "0" + h.BodySHA256[1:]
			if h.BodySHA256 == hex.EncodeToString(sum[:]) {
				h.BodySHA256 = "1" + h.BodySHA256[1:]
			}
		}
	}
	line, err := json.Marshal(h)
	if err != nil {
		return h, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return h, err
	}
	defer os.Remove(tmp.Name())              // no-op after the rename
	if err := tmp.Chmod(0o644); err != nil { // CreateTemp makes it private
		tmp.Close()
		return h, err
	}
	w := bufio.NewWriterSize(tmp, 1<<20)
	w.WriteString(Magic + "\n")
	w.Write(line)
	w.WriteByte('\n')
	w.Write(body)
	if err := w.Flush(); err != nil {
		tmp.Close()
		return h, err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return h, err
	}
	if err := tmp.Close(); err != nil {
		return h, err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return h, err
	}
	return h, syncDir(filepath.Dir(path))
}

func encodeBody(txs []store.Tx, compressed bool) ([]byte, error) {
	var buf bytes.Buffer
	var w io.Writer = &buf
	var gz *gzip.Writer
	if compressed {
		gz = gzip.NewWriter(&buf)
		w = gz
	}
	enc := json.NewEncoder(w)
	for _, tx := range txs {
		if err := enc.Encode(tx); err != nil {
			return nil, err
		}
	}
	if gz != nil {
		if err := gz.Close(); err != nil {
			return nil, err
		}
	}
	return buf.Bytes(), nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	_ = d.Sync() // not supported everywhere; best effort
	return nil
}

// ErrNotArtifact is returned for a file that does not start with Magic.
var ErrNotArtifact = errors.New("not a backup artifact")

// CorruptError reports an artifact whose body does not match its header.
type CorruptError struct {
	Path   string
	Reason string
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("backup artifact %s is corrupt: %s", e.Path, e.Reason)
}

// ReadHeader reads only the header of an artifact, like `backup inspect`
// does; it does not look at the body.
func ReadHeader(path string) (Header, error) {
	f, err := os.Open(path)
	if err != nil {
		return Header{}, err
	}
	defer f.Close()
	h, _, err := readHeader(bufio.NewReader(f), path)
	return h, err
}

func readHeader(r *bufio.Reader, path string) (Header, int64, error) {
	magic, err := r.ReadString('\n')
	if err != nil || magic != Magic+"\n" {
		return Header{}, 0, fmt.Errorf("%s: %w", path, ErrNotArtifact)
	}
	line, err := r.ReadBytes('\n')
	if err != nil {
		return Header{}, 0, &CorruptError{Path: path, Reason: "truncated header"}
	}
	var h Header
	if err := json.Unmarshal(line, &h); err != nil {
		return Header{}, 0, &CorruptError{Path: path, Reason: "unreadable header: " + err.Error()}
	}
	return h, int64(len(magic) + len(line)), nil
}

// Read reads an artifact and verifies it: body size and checksum, then the
// transactions themselves (count and contiguous ids).
func Read(path string) (Header, []store.Tx, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Header{}, nil, err
	}
	h, off, err := readHeader(bufio.NewReader(bytes.NewReader(b)), path)
	if err != nil {
		return Header{}, nil, err
	}
	body := b[off:]
	if int64(len(body)) != h.BodySize {
		return h, nil, &CorruptError{Path: path, Reason: fmt.Sprintf("body is %d bytes, header says %d", len(body), h.BodySize)}
	}
	sum := sha256.Sum256(body)
	if hex.EncodeToString(sum[:]) != h.BodySHA256 {
		return h, nil, &CorruptError{Path: path, Reason: "body checksum mismatch"}
	}
	txs, err := decodeBody(body, h.Compressed)
	if err != nil {
		return h, nil, &CorruptError{Path: path, Reason: err.Error()}
	}
	if err := checkRange(h, txs); err != nil {
		return h, nil, &CorruptError{Path: path, Reason: err.Error()}
	}
	return h, txs, nil
}

// Verify reads an artifact fully and returns its header, or the reason it
// cannot be trusted.
func Verify(path string) (Header, error) {
	h, _, err := Read(path)
	return h, err
}

func decodeBody(body []byte, compressed bool) ([]store.Tx, error) {
	var r io.Reader = bytes.NewReader(body)
	if compressed {
		gz, err := gzip.NewReader(r)
		if err != nil {
			return nil, err
		}
		defer gz.Close()
		r = gz
	}
	dec := json.NewDecoder(r)
	var txs []store.Tx
	for {
		var tx store.Tx
		err := dec.Decode(&tx)
		if errors.Is(err, io.EOF) {
			return txs, nil
		}
		if err != nil {
			return nil, err
		}
		txs = append(txs, tx)
	}
}

func checkRange(h Header, txs []store.Tx) error {
	if len(txs) != h.TxCount {
		return fmt.Errorf("%d transactions, header says %d", len(txs), h.TxCount)
	}
	for i, tx := range txs {
		if want := h.LowestTx + int64(i); tx.ID != want {
			return fmt.Errorf("transaction %d where %d was expected", tx.ID, want)
		}
	}
	if len(txs) > 0 && txs[len(txs)-1].ID != h.HighestTx {
		return fmt.Errorf("last transaction %d, header says %d", txs[len(txs)-1].ID, h.HighestTx)
	}
	return nil
}
