package backupport

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/opsmill/docker-infrahubdb/e2e/standin/store"
)

// dialTimeout bounds connecting to a backup port: an address nobody listens
// on must fail quickly, like the real client giving up on a server.
const dialTimeout = 10 * time.Second

// ServerError is an error the server reported in its header
// (`{"ok":false,"error":...}`), as opposed to a network failure.
type ServerError struct{ Message string }

func (e *ServerError) Error() string { return e.Message }

// Fetch asks the backup port at addr for the transactions req describes
// and returns the server's header and the transactions, in order.
func Fetch(ctx context.Context, addr string, req Request) (Header, []store.Tx, error) {
	h, raw, err := FetchRaw(ctx, addr, req)
	if err != nil {
		return h, nil, err
	}
	txs := make([]store.Tx, len(raw))
	for i, r := range raw {
		if txs[i], err = r.Decode(); err != nil {
			return h, nil, fmt.Errorf("backup port %s: transaction %d of %d: %w", addr, i+1, h.Count, err)
		}
	}
	return h, txs, nil
}

// FetchRaw is Fetch with the transactions as log lines, not decoded.
func FetchRaw(ctx context.Context, addr string, req Request) (Header, []store.RawTx, error) {
	conn, r, err := send(ctx, addr, req)
	if err != nil {
		return Header{}, nil, err
	}
	defer conn.Close()
	line, err := r.ReadBytes('\n')
	if err != nil {
		return Header{}, nil, fmt.Errorf("backup port %s closed the connection before answering: %w", addr, err)
	}
	var h Header
	if err := json.Unmarshal(line, &h); err != nil {
		return Header{}, nil, fmt.Errorf("backup port %s: unreadable header: %w", addr, err)
	}
	if !h.OK {
		return h, nil, &ServerError{Message: h.Error}
	}
	txs := make([]store.RawTx, 0, h.Count)
	for i := 0; i < h.Count; i++ {
		line, err := r.ReadBytes('\n')
		if err != nil {
			return h, nil, fmt.Errorf("backup port %s: connection closed after %d of %d transactions: %w", addr, i, h.Count, err)
		}
		tx, err := store.ParseRawTx(line[:len(line)-1])
		if err != nil {
			return h, nil, fmt.Errorf("backup port %s: transaction %d of %d: %w", addr, i+1, h.Count, err)
		}
		txs = append(txs, tx)
	}
	return h, txs, nil
}

// ListDatabases asks the backup port at addr for the names of all its
// databases (a Request with Database "*", answered by one JSON array line).
func ListDatabases(ctx context.Context, addr string) ([]string, error) {
	conn, r, err := send(ctx, addr, Request{Database: "*"})
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	line, err := r.ReadBytes('\n')
	if err != nil {
		return nil, fmt.Errorf("backup port %s closed the connection before answering: %w", addr, err)
	}
	var names []string
	if err := json.Unmarshal(line, &names); err != nil {
		var h Header
		if json.Unmarshal(line, &h) == nil && !h.OK && h.Error != "" {
			return nil, &ServerError{Message: h.Error}
		}
		return nil, fmt.Errorf("backup port %s: unreadable database list: %w", addr, err)
	}
	return names, nil
}

func send(ctx context.Context, addr string, req Request) (net.Conn, *bufio.Reader, error) {
	d := net.Dialer{Timeout: dialTimeout}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	line, err := json.Marshal(req)
	if err == nil {
		_, err = conn.Write(append(line, '\n'))
	}
	if err != nil {
		stop()
		conn.Close()
		return nil, nil, errors.Join(fmt.Errorf("backup port %s: sending the request", addr), err)
	}
	return &stopConn{Conn: conn, stop: stop}, bufio.NewReaderSize(conn, 1<<20), nil
}

// stopConn releases the context watcher when the connection is closed.
type stopConn struct {
	net.Conn
	stop func() bool
}

func (c *stopConn) Close() error {
	c.stop()
	return c.Conn.Close()
}
