package neo4j

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

func TestConnectRefused(t *testing.T) {
	// A port that was just free: nothing listens there.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	assert.NilError(t, err)
	address := l.Addr().String()
	assert.NilError(t, l.Close())

	_, err = Connect(context.Background(), address, Credentials{User: "neo4j", Password: "secret-pw"})
	var unreachable *UnreachableError
	assert.Assert(t, errors.As(err, &unreachable), "got %T: %v", err, err)
	assert.Equal(t, unreachable.Address, address)
	assert.Check(t, is.ErrorContains(err, "cannot reach Neo4j over Bolt at "+address))
	assert.Check(t, is.ErrorContains(err, "connection refused"))
	assert.Check(t, !IsUnauthorized(err))
	assert.Check(t, IsTransient(err))
}

// A tunnel whose far end is dead accepts the connection and never answers
// the Bolt handshake; Connect must give up instead of hanging.
func TestConnectSilentPeer(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	assert.NilError(t, err)
	defer l.Close()
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			defer conn.Close()
		}
	}()

	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_, err = Connect(ctx, l.Addr().String(), Credentials{User: "neo4j", Password: "secret-pw"})
	var unreachable *UnreachableError
	assert.Assert(t, errors.As(err, &unreachable), "got %T: %v", err, err)
}

func TestConnectBadAddress(t *testing.T) {
	_, err := Connect(context.Background(), "localhost", Credentials{None: true})
	assert.ErrorContains(t, err, `invalid Bolt address "localhost": want host:port`)
}
