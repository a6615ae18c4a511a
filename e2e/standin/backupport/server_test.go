package backupport

import (
	"bufio"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"testing"

	"gotest.tools/v3/assert"

	"github.com/opsmill/docker-infrahubdb/e2e/standin/faults"
	"github.com/opsmill/docker-infrahubdb/e2e/standin/store"
)

// serverAsk sends req to a Server over a pipe and reads the raw answer.
func serverAsk(t *testing.T, st *store.Store, req Request) (Header, []store.Tx) {
	t.Helper()
	client, server := net.Pipe()
	defer client.Close()
	go (&Server{Store: st}).ServeConn(server)
	b, _ := json.Marshal(req)
	_, err := client.Write(append(b, '\n'))
	assert.NilError(t, err)
	sc := bufio.NewScanner(client)
	sc.Buffer(nil, 1<<24)
	assert.Assert(t, sc.Scan())
	var h Header
	assert.NilError(t, json.Unmarshal(sc.Bytes(), &h))
	var txs []store.Tx
	for sc.Scan() {
		var tx store.Tx
		assert.NilError(t, json.Unmarshal(sc.Bytes(), &tx))
		txs = append(txs, tx)
	}
	assert.Equal(t, len(txs), h.Count)
	return h, txs
}

func TestServerSnapshots(t *testing.T) {
	st, err := store.Open(t.TempDir())
	assert.NilError(t, err)
	assert.NilError(t, st.EnsureStore("neo4j"))
	assert.NilError(t, st.UpdateDatabase("neo4j", func(d *store.DatabaseInfo) bool {
		d.RequestedStatus, d.CurrentStatus = "online", "online"
		return true
	}))
	for i := 0; i < 3; i++ {
		_, err := st.Append("neo4j", []store.Op{{Kind: "create"}})
		assert.NilError(t, err)
	}

	full, txs := serverAsk(t, st, Request{Database: "neo4j"})
	assert.Assert(t, full.OK && full.Full)
	assert.Equal(t, full.FromTx, int64(1))
	assert.Equal(t, full.ToTx, int64(3))
	assert.Equal(t, txs[2].ID, int64(3))
	assert.Equal(t, full.ServerVersion, "5.26.0")

	_, err = st.Append("neo4j", []store.Op{{Kind: "create"}})
	assert.NilError(t, err)
	diff, txs := serverAsk(t, st, Request{Database: "neo4j", AfterTx: 3, StoreID: full.StoreID})
	assert.Assert(t, diff.OK && !diff.Full)
	assert.Equal(t, diff.FromTx, int64(4))
	assert.Equal(t, diff.Count, 1)
	assert.Equal(t, txs[0].ID, int64(4))

	other, _ := serverAsk(t, st, Request{Database: "neo4j", AfterTx: 3, StoreID: "other"})
	assert.Assert(t, other.Full)
	assert.Equal(t, other.Count, 4)

	unknown, _ := serverAsk(t, st, Request{Database: "nope"})
	assert.DeepEqual(t, unknown, Header{Error: "Database 'nope' not found."})

	assert.NilError(t, st.UpdateDatabase("neo4j", func(d *store.DatabaseInfo) bool { d.CurrentStatus = "offline"; return true }))
	offline, _ := serverAsk(t, st, Request{Database: "neo4j"})
	assert.Equal(t, offline.Error, "Database 'neo4j' is unavailable.")
}

// Fault "writes <db>": the backup holds the transaction committed just
// before its snapshot, not the one just after.
func TestServerWritesAroundABackup(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(dir)
	assert.NilError(t, err)
	assert.NilError(t, st.EnsureStore("neo4j"))
	assert.NilError(t, st.UpdateDatabase("neo4j", func(d *store.DatabaseInfo) bool {
		d.RequestedStatus, d.CurrentStatus = "online", "online"
		return true
	}))
	_, err = st.Append("neo4j", []store.Op{{Kind: "create"}})
	assert.NilError(t, err)
	assert.NilError(t, os.WriteFile(filepath.Join(dir, faults.File), []byte(`{"fail":{"writes neo4j":1}}`), 0o644))

	h, _ := serverAsk(t, st, Request{Database: "neo4j"})
	assert.Equal(t, h.ToTx, int64(2), "the write before the snapshot is in the backup")
	last, err := st.LastTx("neo4j")
	assert.NilError(t, err)
	assert.Equal(t, last, int64(3), "the write after it is not")

	again, _ := serverAsk(t, st, Request{Database: "neo4j"})
	assert.Equal(t, again.ToTx, int64(3), "once only")
}
