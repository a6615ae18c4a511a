package artifact

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/opsmill/docker-infrahubdb/e2e/standin/store"
)

// DumpMagic is the first line of a stand-in dump (`neo4j-admin database
// dump`): like an artifact, a header line then a gzipped body. The real
// format is a zstd (or gzip) archive of the store files [S20c]; only its
// behaviour is mimicked: file name <database>.dump, load --info fields.
const DumpMagic = "NEO4J-STANDIN-DUMP/1"

// DumpExt is the extension of dump files [S18][S20a].
const DumpExt = ".dump"

// DumpHeader is the metadata of a dump.
type DumpHeader struct {
	Database     string `json:"database"`
	StoreID      string `json:"storeId"`
	StoreFormat  string `json:"storeFormat"`  // "aligned" or "block" [S21]
	Neo4jVersion string `json:"neo4jVersion"` // of the neo4j-admin that wrote it
	Format       string `json:"format"`       // load --info "Format:" [S20b]
	Files        int    `json:"files"`
	TxCount      int    `json:"txCount"`
	BodySize     int64  `json:"bodySize"`
	BodySHA256   string `json:"bodySha256"`
}

// DumpFormat is what load --info prints for a zstd dump [S20b].
const DumpFormat = "Neo4j ZSTD Dump."

// WriteDump writes a dump of txs to w.
func WriteDump(w io.Writer, h DumpHeader, txs []store.RawTx) (DumpHeader, error) {
	body, err := encodeBody(txs, true)
	if err != nil {
		return h, err
	}
	sum := sha256.Sum256(body)
	h.TxCount, h.BodySize, h.BodySHA256 = len(txs), int64(len(body)), hex.EncodeToString(sum[:])
	if h.Format == "" {
		h.Format = DumpFormat
	}
	line, err := json.Marshal(h)
	if err != nil {
		return h, err
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	bw.WriteString(DumpMagic + "\n")
	bw.Write(line)
	bw.WriteByte('\n')
	bw.Write(body)
	return h, bw.Flush()
}

// ErrNotDump is returned for a file that does not start with DumpMagic.
var ErrNotDump = errors.New("not a Neo4j dump")

// ReadDumpFrom reads and verifies a whole dump from r.
func ReadDumpFrom(r io.Reader, name string) (DumpHeader, []store.RawTx, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return DumpHeader{}, nil, err
	}
	br := bufio.NewReader(bytes.NewReader(b))
	magic, err := br.ReadString('\n')
	if err != nil || magic != DumpMagic+"\n" {
		return DumpHeader{}, nil, fmt.Errorf("%s: %w", name, ErrNotDump)
	}
	line, err := br.ReadBytes('\n')
	if err != nil {
		return DumpHeader{}, nil, &CorruptError{Path: name, Reason: "truncated header"}
	}
	var h DumpHeader
	if err := json.Unmarshal(line, &h); err != nil {
		return DumpHeader{}, nil, &CorruptError{Path: name, Reason: "unreadable header"}
	}
	body := b[len(magic)+len(line):]
	sum := sha256.Sum256(body)
	if int64(len(body)) != h.BodySize || hex.EncodeToString(sum[:]) != h.BodySHA256 {
		return h, nil, &CorruptError{Path: name, Reason: "body checksum mismatch"}
	}
	txs, err := decodeBody(body, true)
	if err != nil || len(txs) != h.TxCount {
		return h, nil, &CorruptError{Path: name, Reason: "unreadable body"}
	}
	return h, txs, nil
}

// ReadDump reads and verifies the dump at path.
func ReadDump(path string) (DumpHeader, []store.RawTx, error) {
	f, err := os.Open(path)
	if err != nil {
		return DumpHeader{}, nil, err
	}
	defer f.Close()
	return ReadDumpFrom(f, path)
}

// ReadDumpHeader reads only a dump's header.
func ReadDumpHeader(path string) (DumpHeader, error) {
	f, err := os.Open(path)
	if err != nil {
		return DumpHeader{}, err
	}
	defer f.Close()
	br := bufio.NewReader(f)
	magic, err := br.ReadString('\n')
	if err != nil || magic != DumpMagic+"\n" {
		return DumpHeader{}, fmt.Errorf("%s: %w", path, ErrNotDump)
	}
	line, err := br.ReadBytes('\n')
	if err != nil {
		return DumpHeader{}, &CorruptError{Path: path, Reason: "truncated header"}
	}
	var h DumpHeader
	if err := json.Unmarshal(line, &h); err != nil {
		return DumpHeader{}, &CorruptError{Path: path, Reason: "unreadable header"}
	}
	return h, nil
}
