// Package bolt owns the stand-in's Bolt server: PackStream v1 values, the
// handshake (the manifest form the Go driver v5.28 offers and the legacy
// one), chunking, and the Bolt 4.4/5.x message flow (HELLO, LOGON/LOGOFF,
// RUN/PULL/DISCARD, BEGIN/COMMIT/ROLLBACK, RESET, GOODBYE, ROUTE,
// TELEMETRY) with Neo4j's state machine: after a FAILURE every request is
// IGNORED until RESET. Statements run on a cypher.Engine.
package bolt

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/opsmill/docker-infrahubdb/e2e/standin/cypher"
	"github.com/opsmill/docker-infrahubdb/e2e/standin/faults"
	"github.com/opsmill/docker-infrahubdb/e2e/standin/store"
)

// Agent is the server agent a real Neo4j reports: "Neo4j/<version>".
var Agent = "Neo4j/" + cypher.Version

// Message tags.
const (
	msgHello     = 0x01
	msgGoodbye   = 0x02
	msgReset     = 0x0f
	msgRun       = 0x10
	msgBegin     = 0x11
	msgCommit    = 0x12
	msgRollback  = 0x13
	msgDiscard   = 0x2f
	msgPull      = 0x3f
	msgTelemetry = 0x54
	msgRoute     = 0x66
	msgLogon     = 0x6a
	msgLogoff    = 0x6b
	msgSuccess   = 0x70
	msgRecord    = 0x71
	msgIgnored   = 0x7e
	msgFailure   = 0x7f
)

// Server serves Bolt connections.
type Server struct {
	Engine *cypher.Engine
	// Authenticate checks a Bolt auth token (scheme, principal, credentials).
	Authenticate func(token map[string]any) bool
	// DataDir holds the fault knobs; "" disables them.
	DataDir string
	// Logf, when set, receives debug lines.
	Logf func(format string, args ...any)

	ids   atomic.Int64
	mu    sync.Mutex
	conns map[net.Conn]bool
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

// CloseConnections closes every open connection (at shutdown).
func (s *Server) CloseConnections() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		c.Close()
	}
}

func (s *Server) track(c net.Conn, open bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conns == nil {
		s.conns = map[net.Conn]bool{}
	}
	if open {
		s.conns[c] = true
	} else {
		delete(s.conns, c)
	}
}

func (s *Server) logf(format string, args ...any) {
	if s.Logf != nil {
		s.Logf(format, args...)
	}
}

// connection states.
type state int

const (
	stConnected      state = iota // waiting for HELLO
	stAuthentication              // waiting for LOGON (Bolt 5.1+)
	stReady
	stStreaming
	stTxReady
	stTxStreaming
	stFailed
)

// result is an open result stream.
type result struct {
	db       string
	fields   []string
	records  [][]any
	pos      int
	typ      string
	stats    map[string]int64
	bookmark string // auto-commit only
}

type conn struct {
	s            *Server
	c            net.Conn
	r            *bufio.Reader
	w            *bufio.Writer
	id           string
	major, minor byte
	state        state
	loggedIn     bool
	closing      bool

	txDB    string
	pending []store.Op
	streams map[int64]*result // open results; auto-commit uses key -1
	nextQid int64
	lastQid int64
}

// ServeConn runs one Bolt connection to completion.
func (s *Server) ServeConn(nc net.Conn) {
	s.track(nc, true)
	defer s.track(nc, false)
	defer nc.Close()
	c := &conn{s: s, c: nc, r: bufio.NewReaderSize(nc, 64<<10), w: bufio.NewWriterSize(nc, 64<<10),
		id: fmt.Sprintf("bolt-%d", s.ids.Add(1))}
	if err := c.handshake(); err != nil {
		s.logf("%s: handshake: %v", c.id, err)
		return
	}
	for !c.closing {
		raw, err := readMessage(c.r)
		if err != nil {
			if !errors.Is(err, io.EOF) {
				s.logf("%s: read: %v", c.id, err)
			}
			return
		}
		v, _, err := Decode(raw)
		msg, ok := v.(Structure)
		if err != nil || !ok {
			s.logf("%s: undecodable message: %v", c.id, err)
			return
		}
		if err := c.handle(msg); err != nil {
			s.logf("%s: %v", c.id, err)
			return
		}
		if c.r.Buffered() == 0 || c.closing {
			if err := c.w.Flush(); err != nil {
				return
			}
		}
	}
}

// handshake reads the magic and four version proposals and answers with a
// version: the manifest v1 form when the client offers it (as the Go driver
// v5.28 does), else the highest legacy 5.x (≤5.8) or 4.4 proposal.
func (c *conn) handshake() error {
	var buf [20]byte
	if _, err := io.ReadFull(c.r, buf[:]); err != nil {
		return err
	}
	if binary.BigEndian.Uint32(buf[:4]) != 0x6060b017 {
		return fmt.Errorf("bad magic %x", buf[:4])
	}
	for i := 0; i < 4; i++ {
		p := buf[4+4*i : 8+4*i]
		rng, minor, major := p[1], p[2], p[3]
		if major == 0xff && minor == 0x01 {
			return c.manifest()
		}
		if m, ok := pick(major, minor, rng); ok {
			c.major, c.minor = major, m
			_, err := c.c.Write([]byte{0, 0, m, major})
			return err
		}
	}
	_, _ = c.c.Write([]byte{0, 0, 0, 0})
	return errors.New("no supported version offered")
}

// pick chooses the highest supported minor in [minor-rng, minor] for major.
func pick(major, minor, rng byte) (byte, bool) {
	lo := int(minor) - int(rng)
	switch major {
	case 5:
		best := min(int(minor), 8)
		if best >= lo {
			return byte(best), true
		}
	case 4:
		if int(minor) >= 4 && lo <= 4 {
			return 4, true
		}
	}
	return 0, false
}

// manifest answers with the manifest v1 marker, the supported ranges
// (5.0–5.8 and 4.4) and no capabilities, then reads the client's choice.
func (c *conn) manifest() error {
	offer := []byte{0, 0, 1, 0xff, 2, 0, 8, 8, 5, 0, 0, 4, 4, 0}
	if _, err := c.c.Write(offer); err != nil {
		return err
	}
	var chosen [4]byte
	if _, err := io.ReadFull(c.r, chosen[:]); err != nil {
		return err
	}
	if _, err := binary.ReadUvarint(c.r); err != nil { // capabilities
		return err
	}
	major, minor := chosen[3], chosen[2]
	if _, ok := pick(major, minor, 0); !ok {
		return fmt.Errorf("client chose unsupported version %d.%d", major, minor)
	}
	c.major, c.minor = major, minor
	return nil
}

func (c *conn) send(tag byte, fields ...any) error {
	b, err := Encode(nil, Structure{Tag: tag, Fields: fields})
	if err != nil {
		return err
	}
	return writeMessage(c.w, b)
}

func (c *conn) success(meta map[string]any) error {
	if meta == nil {
		meta = map[string]any{}
	}
	return c.send(msgSuccess, meta)
}

// failure sends FAILURE for err and moves to the FAILED state.
func (c *conn) failure(err error) error {
	code, message := "Neo.DatabaseError.General.UnknownError", err.Error()
	var ce *cypher.Error
	if errors.As(err, &ce) {
		code, message = ce.Code, ce.Message
	}
	c.state = stFailed
	c.s.logf("%s: FAILURE %s %s", c.id, code, message)
	meta := map[string]any{"code": code, "message": message}
	if c.major == 5 && c.minor >= 7 {
		status, description := gqlStatus(code, message)
		meta = map[string]any{
			"neo4j_code": code, "message": message, "gql_status": status, "description": description,
			"diagnostic_record": map[string]any{"OPERATION": "", "OPERATION_CODE": "0", "CURRENT_SCHEMA": "/"},
		}
	}
	return c.send(msgFailure, meta)
}

// gqlStatus maps a Neo4j code to a GQLSTATUS for Bolt 5.7+.
func gqlStatus(code, message string) (string, string) {
	switch code {
	case "Neo.ClientError.Security.Unauthorized":
		return "42NFF", "error: syntax error or access rule violation - permission/access denied. " + message
	case "Neo.ClientError.Statement.SyntaxError":
		return "42001", "error: syntax error or access rule violation - invalid syntax. " + message
	}
	return "50N42", "error: general processing exception - unexpected error. " + message
}

func field(f []any, i int) any {
	if i < len(f) {
		return f[i]
	}
	return nil
}

func mapField(f []any, i int) map[string]any {
	m, _ := field(f, i).(map[string]any)
	if m == nil {
		m = map[string]any{}
	}
	return m
}

// handle processes one request.
func (c *conn) handle(m Structure) error {
	switch m.Tag {
	case msgGoodbye:
		c.closing = true
		return nil
	case msgReset:
		c.resetTx()
		if c.loggedIn {
			c.state = stReady
		}
		return c.success(nil)
	}
	if c.state == stFailed {
		return c.send(msgIgnored)
	}
	switch c.state {
	case stConnected:
		if m.Tag != msgHello {
			return fmt.Errorf("expected HELLO, got 0x%02x", m.Tag)
		}
		return c.hello(mapField(m.Fields, 0))
	case stAuthentication:
		if m.Tag != msgLogon {
			return fmt.Errorf("expected LOGON, got 0x%02x", m.Tag)
		}
		return c.logon(mapField(m.Fields, 0))
	}
	switch m.Tag {
	case msgLogoff:
		c.resetTx()
		c.loggedIn, c.state = false, stAuthentication
		return c.success(nil)
	case msgTelemetry:
		return c.success(nil)
	case msgRoute:
		return c.route(mapField(m.Fields, 2))
	case msgRun:
		query, _ := field(m.Fields, 0).(string)
		return c.run(query, mapField(m.Fields, 1), mapField(m.Fields, 2))
	case msgPull, msgDiscard:
		return c.pull(mapField(m.Fields, 0), m.Tag == msgDiscard)
	case msgBegin:
		return c.begin(mapField(m.Fields, 0))
	case msgCommit:
		return c.commit()
	case msgRollback:
		if c.state != stTxReady && c.state != stTxStreaming {
			return c.failure(&cypher.Error{Code: "Neo.ClientError.Request.Invalid", Message: "There is no transaction to roll back."})
		}
		c.resetTx()
		c.state = stReady
		return c.success(nil)
	}
	if err := c.failure(&cypher.Error{Code: "Neo.ClientError.Request.Invalid",
		Message: fmt.Sprintf("Message 0x%02X is not supported.", m.Tag)}); err != nil {
		return err
	}
	c.closing = true
	return nil
}

func (c *conn) hello(extra map[string]any) error {
	meta := map[string]any{"server": Agent, "connection_id": c.id, "hints": map[string]any{}}
	if c.major == 4 || c.minor == 0 || extra["scheme"] != nil {
		// Bolt 4.x and 5.0 carry the credentials in HELLO.
		if !c.s.Authenticate(extra) {
			return c.unauthorized()
		}
		c.loggedIn, c.state = true, stReady
		return c.success(meta)
	}
	c.state = stAuthentication
	return c.success(meta)
}

func (c *conn) logon(token map[string]any) error {
	if !c.s.Authenticate(token) {
		return c.unauthorized()
	}
	c.loggedIn, c.state = true, stReady
	return c.success(nil)
}

// unauthorized fails the login and closes the connection, like Neo4j.
func (c *conn) unauthorized() error {
	c.closing = true
	return c.failure(&cypher.Error{Code: "Neo.ClientError.Security.Unauthorized",
		Message: "The client is unauthorized due to authentication failure."})
}

func (c *conn) resetTx() {
	c.txDB, c.pending, c.streams, c.nextQid, c.lastQid = "", nil, nil, 0, -1
}

func (c *conn) inTx() bool { return c.state == stTxReady || c.state == stTxStreaming }

func (c *conn) begin(extra map[string]any) error {
	if c.state != stReady {
		return c.failure(&cypher.Error{Code: "Neo.ClientError.Request.Invalid",
			Message: "Cannot begin a transaction while another one is open or a result is streaming."})
	}
	db, _ := extra["db"].(string)
	resolved := db
	if resolved == "" {
		resolved = c.s.Engine.DefaultDatabase()
	}
	if err := c.s.Engine.CheckAvailable(resolved); err != nil {
		return c.failure(err)
	}
	c.resetTx()
	c.txDB, c.state = strings.ToLower(resolved), stTxReady
	meta := map[string]any{}
	if db == "" && c.major == 5 && c.minor >= 8 {
		meta["db"] = c.txDB
	}
	return c.success(meta)
}

func (c *conn) run(query string, params, extra map[string]any) error {
	if c.s.DataDir != "" && faults.Take(c.s.DataDir, "bolt") {
		c.s.logf("%s: fault: dropping the connection", c.id)
		c.closing = true
		return errors.New("fault: connection dropped")
	}
	tx := c.inTx()
	if !tx && c.state != stReady {
		return c.failure(&cypher.Error{Code: "Neo.ClientError.Request.Invalid",
			Message: "Cannot run a query while a result is streaming."})
	}
	db, _ := extra["db"].(string)
	if tx {
		db = c.txDB
	}
	resolved := strings.ToLower(db)
	if resolved == "" {
		resolved = c.s.Engine.DefaultDatabase()
	}
	res, err := c.s.Engine.Run(resolved, query, params, c.pending)
	if err != nil {
		return c.failure(err)
	}
	r := &result{db: resolved, fields: res.Fields, records: res.Records, typ: res.Type, stats: res.Stats}
	if r.fields == nil {
		r.fields = []string{}
	}
	meta := map[string]any{"fields": r.fields, "t_first": int64(0)}
	if tx {
		c.pending = append(c.pending, res.Ops...)
		qid := c.nextQid
		c.nextQid++
		c.lastQid = qid
		if c.streams == nil {
			c.streams = map[int64]*result{}
		}
		c.streams[qid] = r
		meta["qid"] = qid
		c.state = stTxStreaming
	} else {
		bookmark, err := c.s.Engine.Commit(resolved, res.Ops)
		if err != nil {
			return c.failure(err)
		}
		r.bookmark = bookmark
		c.streams = map[int64]*result{-1: r}
		c.state = stStreaming
	}
	if db == "" && c.major == 5 && c.minor >= 8 {
		meta["db"] = resolved
	}
	return c.success(meta)
}

// pull sends up to n records of a stream (PULL) or skips them (DISCARD).
func (c *conn) pull(extra map[string]any, discard bool) error {
	n, _ := extra["n"].(int64)
	qid := int64(-1)
	if q, ok := extra["qid"].(int64); ok {
		qid = q
	}
	key := qid
	if c.inTx() && qid == -1 {
		key = c.lastQid
	}
	r := c.streams[key]
	if r == nil {
		return c.failure(&cypher.Error{Code: "Neo.ClientError.Request.Invalid", Message: "There is no result to consume."})
	}
	end := len(r.records)
	if n >= 0 && r.pos+int(n) < end {
		end = r.pos + int(n)
	}
	if !discard {
		for _, rec := range r.records[r.pos:end] {
			if err := c.send(msgRecord, rec); err != nil {
				return err
			}
		}
	}
	r.pos = end
	if discard && n < 0 {
		r.pos = len(r.records)
	}
	if r.pos < len(r.records) {
		return c.success(map[string]any{"has_more": true})
	}
	delete(c.streams, key)
	meta := map[string]any{"type": r.typ, "t_last": int64(0), "db": r.db}
	if stats := statsMeta(r.stats); stats != nil {
		meta["stats"] = stats
	}
	if c.inTx() {
		if len(c.streams) == 0 {
			c.state = stTxReady
		}
	} else {
		meta["bookmark"] = r.bookmark
		c.state = stReady
	}
	return c.success(meta)
}

func statsMeta(stats map[string]int64) map[string]any {
	out := map[string]any{}
	for k, v := range stats {
		if v == 0 {
			continue
		}
		out[k] = v
		if k == "system-updates" {
			out["contains-system-updates"] = true
		} else {
			out["contains-updates"] = true
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func (c *conn) commit() error {
	if !c.inTx() {
		return c.failure(&cypher.Error{Code: "Neo.ClientError.Request.Invalid", Message: "There is no transaction to commit."})
	}
	bookmark, err := c.s.Engine.Commit(c.txDB, c.pending)
	if err != nil {
		return c.failure(err)
	}
	c.resetTx()
	c.state = stReady
	return c.success(map[string]any{"bookmark": bookmark})
}

// route answers ROUTE with this server in every role (a single instance).
func (c *conn) route(extra map[string]any) error {
	db, _ := extra["db"].(string)
	if db == "" {
		db = c.s.Engine.DefaultDatabase()
	}
	addr := []any{c.c.LocalAddr().String()}
	rt := map[string]any{"ttl": int64(300), "db": db, "servers": []any{
		map[string]any{"role": "WRITE", "addresses": addr},
		map[string]any{"role": "READ", "addresses": addr},
		map[string]any{"role": "ROUTE", "addresses": addr},
	}}
	return c.success(map[string]any{"rt": rt})
}
