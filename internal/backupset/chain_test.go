package backupset

import (
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

// day0 is the time of the first backup in these tests; hour n of it is at(n).
var day0 = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

func at(hour int) time.Time { return day0.Add(time.Duration(hour) * time.Hour) }

// art makes an artifact of db taken at hour h; typ "" means no manifest record.
func art(db string, h int, typ string) Artifact {
	a := Artifact{Name: ArtifactName(db, at(h)), Database: db, Time: at(h), Size: 10}
	if typ != "" {
		a.Record = &FileRecord{Name: a.Name, Database: db, Type: typ, Time: at(h)}
	}
	return a
}

func withTx(a Artifact, from, to int64) Artifact {
	a.Record.FromTx, a.Record.ToTx = from, to
	return a
}

func chainNames(cs []Chain) [][]string {
	var out [][]string
	for _, c := range cs {
		out = append(out, Names(c.Files))
	}
	return out
}

func TestChains(t *testing.T) {
	tests := []struct {
		doc        string
		in         []Artifact
		names      [][]string
		complete   []bool
		unverified []bool
		problem    string
	}{
		{
			doc:      "full then diffs, then a new full",
			in:       []Artifact{art("neo4j", 3, TypeFull), art("neo4j", 1, TypeDiff), art("neo4j", 0, TypeFull), art("neo4j", 2, TypeDiff)},
			names:    [][]string{{"neo4j-2026-03-01T00-00-00.backup", "neo4j-2026-03-01T01-00-00.backup", "neo4j-2026-03-01T02-00-00.backup"}, {"neo4j-2026-03-01T03-00-00.backup"}},
			complete: []bool{true, true}, unverified: []bool{false, false},
		},
		{
			doc:      "diff without a full",
			in:       []Artifact{art("neo4j", 1, TypeDiff), art("neo4j", 2, TypeDiff), art("neo4j", 3, TypeFull)},
			names:    [][]string{{"neo4j-2026-03-01T01-00-00.backup", "neo4j-2026-03-01T02-00-00.backup"}, {"neo4j-2026-03-01T03-00-00.backup"}},
			complete: []bool{false, true}, unverified: []bool{false, false},
			problem: "differential backup neo4j-2026-03-01T01-00-00.backup has no full backup before it",
		},
		{
			doc:      "no manifest: one unverified chain per file",
			in:       []Artifact{art("neo4j", 0, ""), art("neo4j", 1, "")},
			names:    [][]string{{"neo4j-2026-03-01T00-00-00.backup"}, {"neo4j-2026-03-01T01-00-00.backup"}},
			complete: []bool{true, true}, unverified: []bool{true, true},
		},
		{
			doc:      "a recorded diff after an unknown file joins it",
			in:       []Artifact{art("neo4j", 0, ""), art("neo4j", 1, TypeDiff)},
			names:    [][]string{{"neo4j-2026-03-01T00-00-00.backup", "neo4j-2026-03-01T01-00-00.backup"}},
			complete: []bool{true}, unverified: []bool{true},
		},
		{
			doc:      "transaction gap",
			in:       []Artifact{withTx(art("neo4j", 0, TypeFull), 1, 10), withTx(art("neo4j", 1, TypeDiff), 15, 20)},
			names:    [][]string{{"neo4j-2026-03-01T00-00-00.backup", "neo4j-2026-03-01T01-00-00.backup"}},
			complete: []bool{false}, unverified: []bool{false},
			problem: "transactions missing between neo4j-2026-03-01T00-00-00.backup (up to tx 10) and neo4j-2026-03-01T01-00-00.backup (from tx 15)",
		},
		{
			doc:      "contiguous transactions",
			in:       []Artifact{withTx(art("neo4j", 0, TypeFull), 1, 10), withTx(art("neo4j", 1, TypeDiff), 11, 20)},
			names:    [][]string{{"neo4j-2026-03-01T00-00-00.backup", "neo4j-2026-03-01T01-00-00.backup"}},
			complete: []bool{true}, unverified: []bool{false},
		},
	}
	for _, tc := range tests {
		t.Run(tc.doc, func(t *testing.T) {
			got := Chains(tc.in)["neo4j"]
			assert.DeepEqual(t, chainNames(got), tc.names)
			for i, c := range got {
				assert.Equal(t, c.Database, "neo4j")
				assert.Equal(t, c.Complete, tc.complete[i], "chain %d", i)
				assert.Equal(t, c.Unverified, tc.unverified[i], "chain %d", i)
				if !c.Complete {
					assert.Equal(t, c.Problem, tc.problem)
				}
			}
		})
	}
}

func TestChainsPerDatabaseAndSameSecond(t *testing.T) {
	a := art("neo4j", 0, TypeFull)
	b := art("neo4j", 0, TypeDiff)
	b.Name, b.Seq = "neo4j-2026-03-01T00-00-00-1.backup", 1
	b.Record.Name = b.Name
	got := Chains([]Artifact{b, art("system", 0, TypeFull), a, art("my-db", 1, TypeFull)})
	assert.DeepEqual(t, chainNames(got["neo4j"]), [][]string{{a.Name, b.Name}})
	assert.DeepEqual(t, chainNames(got["system"]), [][]string{{"system-2026-03-01T00-00-00.backup"}})
	assert.DeepEqual(t, chainNames(got["my-db"]), [][]string{{"my-db-2026-03-01T01-00-00.backup"}})
	assert.Equal(t, len(got), 3)
}

func TestChooseChain(t *testing.T) {
	chains := Chains([]Artifact{
		art("neo4j", 0, TypeFull), art("neo4j", 2, TypeDiff), art("neo4j", 4, TypeDiff),
		art("neo4j", 10, TypeFull), art("neo4j", 12, TypeDiff),
	})["neo4j"]
	tests := []struct {
		doc   string
		until time.Time
		want  []int // hours of the chosen files
		err   string
	}{
		{doc: "newest", want: []int{10, 12}},
		{doc: "until after everything", until: at(20), want: []int{10, 12}},
		{doc: "until inside the newest chain, on a file", until: at(10), want: []int{10}},
		{doc: "until between files keeps the file holding the transactions", until: at(11), want: []int{10, 12}},
		{doc: "until in the older chain", until: at(3), want: []int{0, 2, 4}},
		{doc: "until between chains", until: at(7), want: []int{0, 2, 4}},
		{doc: "until exactly on a diff", until: at(2), want: []int{0, 2}},
		{doc: "until before everything", until: day0.Add(-time.Minute),
			err: "no usable backup: the oldest backup of neo4j (neo4j-2026-03-01T00-00-00.backup) was taken after 2026-02-28T23:59:00Z"},
	}
	for _, tc := range tests {
		t.Run(tc.doc, func(t *testing.T) {
			got, err := ChooseChain(chains, tc.until)
			if tc.err != "" {
				assert.Error(t, err, tc.err)
				assert.ErrorIs(t, err, ErrNoChain)
				return
			}
			assert.NilError(t, err)
			var hours []int
			for _, a := range got.Files {
				hours = append(hours, int(a.Time.Sub(day0)/time.Hour))
			}
			assert.DeepEqual(t, hours, tc.want)
		})
	}
	// Cutting returns a copy: the caller's chains are unchanged.
	assert.Equal(t, len(chains[0].Files), 3)
}

func TestChooseChainBroken(t *testing.T) {
	_, err := ChooseChain(nil, time.Time{})
	assert.ErrorIs(t, err, ErrNoChain)
	assert.ErrorContains(t, err, "no backup of this database")

	// The newest chain lost its full: no silent fall back to older data.
	missing := art("neo4j", 5, TypeFull)
	missing.Missing = true
	chains := Chains([]Artifact{art("neo4j", 0, TypeFull), missing, art("neo4j", 6, TypeDiff)})["neo4j"]
	_, err = ChooseChain(chains, time.Time{})
	assert.Error(t, err, "no usable backup: the newest backup of neo4j cannot be restored: neo4j-2026-03-01T05-00-00.backup: chain: neo4j-2026-03-01T05-00-00.backup is listed in the manifest but missing from the folder; to restore the previous backup instead, use --until 2026-03-01T00:00:00Z")

	// Its --until hint works.
	got, err := ChooseChain(chains, at(0))
	assert.NilError(t, err)
	assert.DeepEqual(t, Names(got.Files), []string{"neo4j-2026-03-01T00-00-00.backup"})

	_, err = ChooseChain(chains, at(5))
	assert.Check(t, is.ErrorContains(err, "selected by --until 2026-03-01T05:00:00Z cannot be restored"))

	// Unverified chains (no manifest) are usable.
	got, err = ChooseChain(Chains([]Artifact{art("neo4j", 0, ""), art("neo4j", 1, "")})["neo4j"], time.Time{})
	assert.NilError(t, err)
	assert.Assert(t, got.Unverified)
	assert.Equal(t, got.Last().Name, "neo4j-2026-03-01T01-00-00.backup")
}

func empty(a Artifact) Artifact {
	a.Record.Empty = true
	return a
}

// Empty backups (neo4j-admin writes one when nothing changed) join the chain
// before them, never start one, never hide a gap and are never the file
// given to restore.
func TestEmptyBackupsJoinTheirChain(t *testing.T) {
	in := []Artifact{
		withTx(art("neo4j", 0, TypeFull), 1, 10),
		empty(art("neo4j", 1, TypeDiff)),
		withTx(art("neo4j", 2, TypeDiff), 11, 12),
		empty(art("neo4j", 3, TypeDiff)),
	}
	chains := Chains(in)["neo4j"]
	assert.Assert(t, is.Len(chains, 1))
	assert.Check(t, chains[0].Complete, chains[0].Problem)
	assert.Check(t, is.Len(chains[0].Files, 4))
	assert.Check(t, is.Equal(chains[0].RestorePoint().Name, ArtifactName("neo4j", at(2))))

	only := Chains([]Artifact{withTx(art("neo4j", 0, TypeFull), 1, 10), empty(art("neo4j", 1, TypeDiff))})["neo4j"]
	assert.Assert(t, is.Len(only, 1))
	assert.Check(t, is.Equal(only[0].RestorePoint().Name, ArtifactName("neo4j", at(0))))

	gapAfterEmpty := Chains([]Artifact{withTx(art("neo4j", 0, TypeFull), 1, 10), empty(art("neo4j", 1, TypeDiff)), withTx(art("neo4j", 2, TypeDiff), 15, 16)})["neo4j"]
	assert.Check(t, !gapAfterEmpty[0].Complete)
}
