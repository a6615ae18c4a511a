package bolt

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"io"
	"math"
	"net"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
)

func TestPackStreamRoundTrip(t *testing.T) {
	values := []any{
		nil, true, false,
		int64(0), int64(-16), int64(-17), int64(127), int64(128), int64(-128), int64(-129),
		int64(32767), int64(-32768), int64(32768), int64(math.MaxInt32), int64(math.MinInt32),
		int64(math.MaxInt32) + 1, int64(math.MaxInt64), int64(math.MinInt64),
		1.5, -0.0, math.Inf(1),
		"", "é", strings.Repeat("x", 15), strings.Repeat("x", 16), strings.Repeat("x", 256), strings.Repeat("x", 70000),
		[]byte{}, []byte{1, 2, 3}, bytes.Repeat([]byte{7}, 300),
		[]any{}, []any{int64(1), "two", []any{nil}}, make([]any, 20),
		map[string]any{}, map[string]any{"a": int64(1), "b": map[string]any{"c": []any{true}}},
		Structure{Tag: 0x4e, Fields: []any{int64(1), []any{"L"}, map[string]any{}}},
	}
	for _, v := range values {
		b, err := Encode(nil, v)
		assert.NilError(t, err, "%#v", v)
		got, rest, err := Decode(b)
		assert.NilError(t, err, "%#v", v)
		assert.Equal(t, len(rest), 0)
		if f, ok := v.(float64); ok && math.IsNaN(f) {
			continue
		}
		if l, ok := v.([]any); ok && len(l) == 20 {
			assert.Equal(t, len(got.([]any)), 20)
			continue
		}
		assert.DeepEqual(t, got, v)
	}
}

func TestPackStreamEncodings(t *testing.T) {
	for _, tc := range []struct {
		v    any
		want []byte
	}{
		{int64(1), []byte{0x01}},
		{int64(-16), []byte{0xf0}},
		{int64(-17), []byte{0xc8, 0xef}},
		{int64(200), []byte{0xc9, 0x00, 0xc8}},
		{"a", []byte{0x81, 'a'}},
		{map[string]any{"n": int64(-1)}, []byte{0xa1, 0x81, 'n', 0xff}},
		{Structure{Tag: 0x70, Fields: []any{map[string]any{}}}, []byte{0xb1, 0x70, 0xa0}},
	} {
		got, err := Encode(nil, tc.v)
		assert.NilError(t, err)
		assert.DeepEqual(t, got, tc.want)
	}
}

func TestDecodeTruncated(t *testing.T) {
	_, _, err := Decode([]byte{0xd0, 10, 'a'})
	assert.Assert(t, err != nil)
	_, _, err = Decode([]byte{0xd4, 0xff})
	assert.Assert(t, err != nil)
}

func TestChunking(t *testing.T) {
	msg := bytes.Repeat([]byte("abc"), 70000) // > 64 KiB: three chunks
	var buf bytes.Buffer
	w := bufio.NewWriter(&buf)
	assert.NilError(t, writeMessage(w, msg))
	assert.NilError(t, w.Flush())
	assert.Equal(t, int(binary.BigEndian.Uint16(buf.Bytes())), maxChunk)

	// a NOOP chunk before the message is skipped
	in := append([]byte{0, 0}, buf.Bytes()...)
	got, err := readMessage(bufio.NewReader(bytes.NewReader(in)))
	assert.NilError(t, err)
	assert.DeepEqual(t, got, msg)
}

// TestLegacyHandshake offers only 4.x versions, like an older driver.
func TestLegacyHandshake(t *testing.T) {
	client, server := net.Pipe()
	defer client.Close()
	s := &Server{Authenticate: func(map[string]any) bool { return true }}
	go s.ServeConn(server)
	_, err := client.Write([]byte{0x60, 0x60, 0xb0, 0x17, 0, 2, 4, 4, 0, 0, 1, 4, 0, 0, 0, 3, 0, 0, 0, 0})
	assert.NilError(t, err)
	var answer [4]byte
	_, err = io.ReadFull(client, answer[:])
	assert.NilError(t, err)
	assert.DeepEqual(t, answer[:], []byte{0, 0, 4, 4})

	// HELLO with credentials (Bolt 4.4), then GOODBYE
	hello, _ := Encode(nil, Structure{Tag: msgHello, Fields: []any{map[string]any{"scheme": "basic", "principal": "neo4j", "credentials": "x"}}})
	w := bufio.NewWriter(client)
	go func() { _ = writeMessage(w, hello); _ = w.Flush() }()
	reply, err := readMessage(bufio.NewReader(client))
	assert.NilError(t, err)
	v, _, err := Decode(reply)
	assert.NilError(t, err)
	m := v.(Structure)
	assert.Equal(t, m.Tag, byte(msgSuccess))
	assert.Equal(t, m.Fields[0].(map[string]any)["server"], "Neo4j/5.26.0")
}

func TestHandshakeRefusesUnknownVersions(t *testing.T) {
	client, server := net.Pipe()
	defer client.Close()
	go (&Server{}).ServeConn(server)
	_, err := client.Write([]byte{0x60, 0x60, 0xb0, 0x17, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0})
	assert.NilError(t, err)
	var answer [4]byte
	_, err = io.ReadFull(client, answer[:])
	assert.NilError(t, err)
	assert.DeepEqual(t, answer[:], []byte{0, 0, 0, 0})
}
