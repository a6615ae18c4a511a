package backupport

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/opsmill/docker-infrahubdb/e2e/standin/faults"
	"github.com/opsmill/docker-infrahubdb/e2e/standin/store"
	"github.com/opsmill/docker-infrahubdb/e2e/standin/version"
)

// ServerVersion is the Neo4j version the backup server reports.
var ServerVersion = version.Current()

// Server answers backup requests from the store of a running stand-in.
type Server struct {
	Store *store.Store
	// Logf, when set, receives one line per request served.
	Logf func(format string, args ...any)
}

// Serve accepts connections on l until l is closed.
func (s *Server) Serve(l net.Listener) error {
	for {
		c, err := l.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		go s.ServeConn(c)
	}
}

// ServeConn answers the one request of a connection and closes it.
func (s *Server) ServeConn(c net.Conn) {
	defer c.Close()
	line, err := bufio.NewReader(c).ReadBytes('\n')
	if err != nil && len(line) == 0 {
		return
	}
	var req Request
	if err := json.Unmarshal(line, &req); err != nil {
		s.answer(c, Header{Error: "Invalid backup request: " + err.Error()}, nil)
		return
	}
	if req.Database == "*" { // the listing request (see Request)
		s.list(c)
		return
	}
	faults.Delay(s.Store.Dir, "backup")
	// Fault "writes <db>": an application writes to the database while its
	// backup is served, one transaction committed just before the snapshot
	// (the backup holds it) and one just after (it does not).
	writes := faults.Take(s.Store.Dir, "writes "+strings.ToLower(req.Database))
	if writes {
		s.write(req.Database)
	}
	h, txs := s.snapshot(req)
	s.answer(c, h, txs)
	if writes {
		s.write(req.Database)
	}
	s.logf("backup of %q: ok=%t full=%t tx %d..%d (%d) %s", req.Database, h.OK, h.Full, h.FromTx, h.ToTx, h.Count, h.Error)
}

// snapshot builds the answer to req: a full snapshot when asked for one or
// when the client's store id is not the current one, else every
// transaction after req.AfterTx.
func (s *Server) snapshot(req Request) (Header, []store.RawTx) {
	db := strings.ToLower(req.Database)
	info, ok, err := s.Store.Database(db)
	switch {
	case err != nil:
		return Header{Error: err.Error()}, nil
	case !ok:
		return Header{Error: fmt.Sprintf("Database '%s' not found.", req.Database)}, nil
	case info.CurrentStatus != "online":
		return Header{Error: fmt.Sprintf("Database '%s' is unavailable.", req.Database)}, nil
	}
	current, err := s.Store.StoreID(db)
	if err != nil {
		return Header{Error: err.Error()}, nil
	}
	after := req.AfterTx
	full := after <= 0 || req.StoreID == "" || req.StoreID != current
	if full {
		after = 0
	}
	txs, last, storeID, err := s.Store.ReadRaw(db, after)
	if err != nil {
		return Header{Error: fmt.Sprintf("Database '%s' is unavailable.", req.Database)}, nil
	}
	if !full && after > last { // the client is ahead of this store: start over
		full, after = true, 0
		if txs, last, storeID, err = s.Store.ReadRaw(db, 0); err != nil {
			return Header{Error: err.Error()}, nil
		}
	}
	return Header{
		OK: true, Database: db, StoreID: storeID, Full: full,
		FromTx: after + 1, ToTx: last, Count: len(txs),
		ServerVersion: ServerVersion, StoreFormat: s.Store.Format(db), Corrupt: faults.Take(s.Store.Dir, "corrupt"),
		Variants: faults.Variants(s.Store.Dir),
	}, txs
}

// write commits one transaction creating a node labelled WrittenDuringBackup.
func (s *Server) write(db string) {
	if _, err := s.Store.Append(strings.ToLower(db), []store.Op{{Kind: "create", Labels: []string{"WrittenDuringBackup"}}}); err != nil {
		s.logf("fault writes %s: %v", db, err)
	}
}

// list answers a listing request with one JSON array of database names.
func (s *Server) list(c net.Conn) {
	dbs, err := s.Store.Databases()
	if err != nil {
		s.answer(c, Header{Error: err.Error()}, nil)
		return
	}
	names := make([]string, len(dbs))
	for i, d := range dbs {
		names[i] = d.Name
	}
	_ = json.NewEncoder(c).Encode(names)
}

func (s *Server) answer(c net.Conn, h Header, txs []store.RawTx) {
	w := bufio.NewWriterSize(c, 1<<20)
	if err := json.NewEncoder(w).Encode(h); err != nil {
		return
	}
	if err := store.WriteRawTxs(w, txs); err != nil {
		return
	}
	_ = w.Flush()
}

func (s *Server) logf(format string, args ...any) {
	if s.Logf != nil {
		s.Logf(format, args...)
	}
}
