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
	// Recovered: the artifact's store was recovered (2025.06+ shows it as
	// RECOVERED [S5b][S6b]). A 2025+ backup client recovers full backups by
	// default (--skip-recovery, 2025.11, false) [S2]; differential backups
	// are never recovered; aggregate recovers its result [S5b]. database
	// check refuses unrecovered full backups in 2025+ [S7b].
	Recovered bool `json:"recovered"`
	// StoreFormat is the format of the backed-up store: "block"
	// (Enterprise-only, default for new Enterprise databases from 5.22) or
	// "aligned" [S21]. Community cannot load block.
	StoreFormat string `json:"storeFormat,omitempty"`
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
	raw := make([]store.RawTx, len(txs))
	for i, tx := range txs {
		var err error
		if raw[i], err = tx.Raw(); err != nil {
			return h, err
		}
	}
	return WriteRawFile(path, h, raw, corrupt)
}

// WriteRawFile is WriteFile with the transactions as log lines.
func WriteRawFile(path string, h Header, txs []store.RawTx, corrupt bool) (Header, error) {
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

func encodeBody(txs []store.RawTx, compressed bool) ([]byte, error) {
	var buf bytes.Buffer
	var w io.Writer = &buf
	var gz *gzip.Writer
	if compressed {
		// Huffman coding only, the fastest gzip there is: the stand-in's
		// artifacts are test data, and a multi-GiB backup (make bench) must
		// not spend most of its time compressing.
		gz, _ = gzip.NewWriterLevel(&buf, gzip.HuffmanOnly)
		w = gz
	}
	if err := store.WriteRawTxs(w, txs); err != nil {
		return nil, err
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
	h, raw, err := ReadRaw(path)
	if err != nil {
		return h, nil, err
	}
	txs, err := decodeAll(raw)
	if err != nil {
		return h, nil, &CorruptError{Path: path, Reason: err.Error()}
	}
	return h, txs, nil
}

func decodeAll(raw []store.RawTx) ([]store.Tx, error) {
	txs := make([]store.Tx, len(raw))
	for i, r := range raw {
		var err error
		if txs[i], err = r.Decode(); err != nil {
			return nil, err
		}
	}
	return txs, nil
}

// ReadRaw is Read with the transactions as log lines, not decoded.
func ReadRaw(path string) (Header, []store.RawTx, error) {
	h, body, err := readBody(path)
	if err != nil {
		return h, nil, err
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

// readBody reads an artifact's header and body and checks the body's size
// and checksum.
func readBody(path string) (Header, []byte, error) {
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
	return h, body, nil
}

// Verify reads an artifact fully and returns its header, or the reason it
// cannot be trusted: a body whose size or checksum is not the header's.
// (database check also decodes the transactions, see ReadChain.)
func Verify(path string) (Header, error) {
	h, _, err := readBody(path)
	return h, err
}

func decodeBody(body []byte, compressed bool) ([]store.RawTx, error) {
	var r io.Reader = bytes.NewReader(body)
	if compressed {
		gz, err := gzip.NewReader(r)
		if err != nil {
			return nil, err
		}
		defer gz.Close()
		r = gz
	}
	// A torn last line is left out; checkRange then finds a count that is
	// not the header's.
	return store.ParseLog(r)
}

func checkRange(h Header, txs []store.RawTx) error {
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
