package store

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/assert"
)

func create(n int, label string) []Op {
	return []Op{{Kind: "create", Labels: []string{label}, Count: n}}
}

// The summary kept between calls must always agree with a fresh replay,
// whoever changed the log: this Store, another Store on the same directory
// (another process), a restore replacing the log, or a torn write.
func TestCountsFollowEveryChangeOfTheLog(t *testing.T) {
	dir := t.TempDir()
	a, err := Open(dir)
	assert.NilError(t, err)
	b, err := Open(dir)
	assert.NilError(t, err)
	assert.NilError(t, a.EnsureStore("neo4j"))

	counts := func(s *Store) (int64, int64, int64) {
		t.Helper()
		total, byLabel, err := s.Counts("neo4j")
		assert.NilError(t, err)
		last, err := s.LastTx("neo4j")
		assert.NilError(t, err)
		return total, byLabel["A"], last
	}

	tx, err := a.Append("neo4j", create(3, "A"))
	assert.NilError(t, err)
	assert.Equal(t, tx.ID, int64(1))
	_, err = a.Append("neo4j", create(2, "B"))
	assert.NilError(t, err)
	total, labelA, last := counts(a)
	assert.Equal(t, [3]int64{total, labelA, last}, [3]int64{5, 3, 2})

	// Another Store (process) appends: a sees it.
	_, err = b.Append("neo4j", create(4, "A"))
	assert.NilError(t, err)
	total, labelA, last = counts(a)
	assert.Equal(t, [3]int64{total, labelA, last}, [3]int64{9, 7, 3})
	tx, err = a.Append("neo4j", []Op{{Kind: "deleteAll"}})
	assert.NilError(t, err)
	assert.Equal(t, tx.ID, int64(4))
	total, _, last = counts(b)
	assert.Equal(t, [2]int64{total, last}, [2]int64{0, 4})

	// A restore replaces the log.
	assert.NilError(t, b.ReplaceStore("neo4j", []Tx{{ID: 1, Ops: create(7, "A")}}, NewStoreID()))
	total, labelA, last = counts(a)
	assert.Equal(t, [3]int64{total, labelA, last}, [3]int64{7, 7, 1})
	txs, last, _, err := a.ReadTxs("neo4j", 0)
	assert.NilError(t, err)
	assert.Equal(t, len(txs), 1)
	assert.Equal(t, last, int64(1))

	// A torn last line is not part of the log.
	f, err := os.OpenFile(a.LogPath("neo4j"), os.O_WRONLY|os.O_APPEND, 0)
	assert.NilError(t, err)
	_, err = f.WriteString(`{"tx":2,"ops":[{"kind":"cre`)
	assert.NilError(t, err)
	assert.NilError(t, f.Close())
	total, _, last = counts(a)
	assert.Equal(t, [2]int64{total, last}, [2]int64{7, 1})

	// An operation the stand-in does not know is a replay error.
	assert.NilError(t, a.ReplaceStore("neo4j", []Tx{{ID: 1, Ops: []Op{{Kind: "explode"}}}}, NewStoreID()))
	_, _, err = b.Counts("neo4j")
	var replayErr *ReplayError
	assert.Assert(t, errors.As(err, &replayErr), "%v", err)
}

// Lines move through backups as raw bytes: their id and time must be read
// right whatever the properties hold (long strings, escaped quotes).
func TestRawTxRoundTrip(t *testing.T) {
	long := strings.Repeat("ab\\\"c", 100) + `"\\`
	tx := Tx{ID: 42, Time: time.Date(2024, 5, 6, 7, 8, 9, 10, time.UTC), Ops: []Op{
		{Kind: "create", Labels: []string{"Blob"}, Props: map[string]any{"data": long, "k": `x"y`}},
		{Kind: "create", Count: 3},
	}}
	raw, err := tx.Raw()
	assert.NilError(t, err)
	parsed, err := ParseRawTx(raw.Line)
	assert.NilError(t, err)
	assert.Equal(t, parsed.ID, int64(42))
	assert.Assert(t, parsed.Time.Equal(tx.Time))
	back, err := parsed.Decode()
	assert.NilError(t, err)
	assert.DeepEqual(t, back, tx)

	txs, err := ParseLog(strings.NewReader(string(raw.Line) + "\n" + `{"tx":43,"ops":[`))
	assert.NilError(t, err)
	assert.Equal(t, len(txs), 1, "the torn last line is left out")
	_, err = ParseLog(strings.NewReader("{not json}\n"))
	assert.ErrorContains(t, err, "corrupt transaction after id 0")
}
