package artifact

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/opsmill/docker-infrahubdb/e2e/standin/store"
)

func txs(from, to int64) []store.Tx {
	var out []store.Tx
	for id := from; id <= to; id++ {
		out = append(out, store.Tx{ID: id, Time: time.Date(2024, 1, 1, 0, 0, int(id), 0, time.UTC),
			Ops: []store.Op{{Kind: "create", Labels: []string{"L"}, Count: 2}}})
	}
	return out
}

var t0 = time.Date(2024, 10, 7, 16, 3, 51, 0, time.Local)

func write(t *testing.T, dir string, h Header, body []store.Tx, corrupt bool) Info {
	t.Helper()
	p := NewPath(dir, h.Database, h.BackupTime)
	h, err := WriteFile(p, h, body, corrupt)
	assert.NilError(t, err)
	return Info{Path: p, Header: h}
}

func TestRoundTrip(t *testing.T) {
	for _, compressed := range []bool{true, false} {
		dir := t.TempDir()
		h := Header{Database: "neo4j", StoreID: "s1", Full: true, LowestTx: 1, HighestTx: 5, BackupTime: t0, Compressed: compressed,
			Metadata: MetadataStatements("neo4j", "all")}
		in := write(t, dir, h, txs(1, 5), false)

		got, body, err := Read(in.Path)
		assert.NilError(t, err)
		assert.DeepEqual(t, body, txs(1, 5))
		assert.Check(t, is.Equal(got.TxCount, 5))
		assert.Check(t, is.Equal(got.Compressed, compressed))
		assert.Check(t, len(got.Metadata) > 0)

		hdr, err := ReadHeader(in.Path)
		assert.NilError(t, err)
		assert.Check(t, is.Equal(hdr.BodySHA256, got.BodySHA256))
		entries, _ := os.ReadDir(dir)
		assert.Check(t, is.Len(entries, 1), "no temp file left behind")
	}
}

func TestCorruptionIsDetectedButHeaderReads(t *testing.T) {
	dir := t.TempDir()
	in := write(t, dir, Header{Database: "neo4j", StoreID: "s1", Full: true, LowestTx: 1, HighestTx: 3, BackupTime: t0, Compressed: true}, txs(1, 3), true)

	_, err := ReadHeader(in.Path)
	assert.NilError(t, err, "a corrupted artifact looks normal from its header")
	_, err = Verify(in.Path)
	var ce *CorruptError
	assert.Assert(t, errors.As(err, &ce), "got %v", err)
	assert.Check(t, is.ErrorContains(err, "checksum mismatch"))

	// An empty body cannot have a byte flipped: its checksum is damaged instead.
	empty := write(t, dir, Header{Database: "neo4j", StoreID: "s1", BackupTime: t0.Add(time.Second)}, nil, true)
	_, err = Verify(empty.Path)
	assert.Check(t, errors.As(err, &ce))

	// A truncated file is caught too.
	b, _ := os.ReadFile(in.Path)
	assert.NilError(t, os.WriteFile(in.Path, b[:len(b)-3], 0o644))
	_, err = Verify(in.Path)
	assert.Check(t, is.ErrorContains(err, "header says"))
}

func TestNotAnArtifact(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.backup")
	assert.NilError(t, os.WriteFile(p, []byte("hello\n"), 0o644))
	_, err := ReadHeader(p)
	assert.Check(t, errors.Is(err, ErrNotArtifact))
}

func TestNaming(t *testing.T) {
	dir := t.TempDir()
	assert.Check(t, is.Equal(Name("neo4j", t0), "neo4j-2024-10-07T16-03-51.backup"))
	first := NewPath(dir, "neo4j", t0)
	assert.NilError(t, os.WriteFile(first, nil, 0o644))
	second := NewPath(dir, "neo4j", t0)
	assert.Check(t, is.Equal(filepath.Base(second), "neo4j-2024-10-07T16-03-51-1.backup"))
	assert.NilError(t, os.WriteFile(second, nil, 0o644))
	assert.Check(t, is.Equal(filepath.Base(NewPath(dir, "neo4j", t0)), "neo4j-2024-10-07T16-03-51-2.backup"))

	db, ts, seq, ok := ParseName("my-db-2024-10-07T16-03-51-1.backup")
	assert.Check(t, ok)
	assert.Check(t, is.Equal(db, "my-db"))
	assert.Check(t, ts.Equal(t0))
	assert.Check(t, is.Equal(seq, 1))
	_, _, _, ok = ParseName("neo4j.backup")
	assert.Check(t, !ok)
}

func TestChains(t *testing.T) {
	dir := t.TempDir()
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	full := write(t, dir, Header{Database: "neo4j", StoreID: "s1", Full: true, LowestTx: 1, HighestTx: 5, BackupTime: at(0)}, txs(1, 5), false)
	d1 := write(t, dir, Header{Database: "neo4j", StoreID: "s1", LowestTx: 6, HighestTx: 6, BackupTime: at(10)}, txs(6, 6), false)
	empty := write(t, dir, Header{Database: "neo4j", StoreID: "s1", BackupTime: at(20)}, nil, false)
	d2 := write(t, dir, Header{Database: "neo4j", StoreID: "s1", LowestTx: 7, HighestTx: 9, BackupTime: at(20)}, txs(7, 9), false)
	other := write(t, dir, Header{Database: "system", StoreID: "x", Full: true, LowestTx: 1, HighestTx: 2, BackupTime: at(5)}, txs(1, 2), false)

	infos, err := List(dir)
	assert.NilError(t, err)
	assert.Check(t, is.Len(infos, 5))
	assert.Check(t, is.DeepEqual(Databases(infos), []string{"neo4j", "system"}))
	assert.Check(t, empty.Empty())

	chain, err := NewestChain(infos, "neo4j")
	assert.NilError(t, err)
	assert.Check(t, is.DeepEqual(paths(chain), []string{full.Path, d1.Path, d2.Path}))

	chain, err = ChainEndingAt(infos, d1)
	assert.NilError(t, err)
	assert.Check(t, is.DeepEqual(paths(chain), []string{full.Path, d1.Path}))

	chain, err = NewestChain(infos, "system")
	assert.NilError(t, err)
	assert.Check(t, is.DeepEqual(paths(chain), []string{other.Path}))

	h, body, err := Aggregate([]Info{full, d1, d2})
	assert.NilError(t, err)
	assert.Check(t, h.Full)
	assert.Check(t, is.Equal(h.LowestTx, int64(1)))
	assert.Check(t, is.Equal(h.HighestTx, int64(9)))
	assert.Check(t, is.DeepEqual(body, txs(1, 9)))

	// A new store (restore, recreate) starts a new chain; a full backup of it is the newest chain.
	newFull := write(t, dir, Header{Database: "neo4j", StoreID: "s2", Full: true, LowestTx: 1, HighestTx: 2, BackupTime: at(30)}, txs(1, 2), false)
	infos, _ = List(dir)
	chain, err = NewestChain(infos, "neo4j")
	assert.NilError(t, err)
	assert.Check(t, is.DeepEqual(paths(chain), []string{newFull.Path}))
}

func TestBrokenChain(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, Header{Database: "neo4j", StoreID: "s1", Full: true, LowestTx: 1, HighestTx: 5, BackupTime: t0}, txs(1, 5), false)
	gap := write(t, dir, Header{Database: "neo4j", StoreID: "s1", LowestTx: 8, HighestTx: 9, BackupTime: t0.Add(time.Minute)}, txs(8, 9), false)
	infos, _ := List(dir)
	_, err := ChainEndingAt(infos, gap)
	assert.Check(t, errors.Is(err, ErrNoChain))
	assert.Check(t, is.ErrorContains(err, "transaction 7"))
	// The newest complete chain is then the full backup alone.
	chain, err := NewestChain(infos, "neo4j")
	assert.NilError(t, err)
	assert.Check(t, is.Len(chain, 1))
	_, err = NewestChain(infos, "nope")
	assert.Check(t, errors.Is(err, ErrNoChain))
}

func TestMetadataStatements(t *testing.T) {
	assert.Check(t, is.Len(MetadataStatements("system", "all"), 0))
	assert.Check(t, is.Len(MetadataStatements("neo4j", "none"), 0))
	all := MetadataScript(MetadataStatements("neo4j", "all"))
	assert.Check(t, is.Contains(all, "GRANT ACCESS ON DATABASE $database TO `admin`;"))
	assert.Check(t, is.Contains(all, "CREATE USER `neo4j` IF NOT EXISTS SET ENCRYPTED PASSWORD '1,"))
	for _, s := range MetadataStatements("neo4j", "roles") {
		assert.Check(t, !strings.Contains(s, "USER"), s)
	}
}

func paths(in []Info) []string {
	var out []string
	for _, i := range in {
		out = append(out, i.Path)
	}
	return out
}
