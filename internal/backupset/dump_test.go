package backupset

import (
	"testing"
	"time"

	"gotest.tools/v3/assert"
)

func dumpArt(db string, h int, recorded bool) Artifact {
	a := Artifact{Name: DumpName(db, at(h)), Database: db, Time: at(h), Size: 10}
	if recorded {
		a.Record = &FileRecord{Name: a.Name, Database: db, Type: TypeDump, Time: at(h)}
	}
	return a
}

func TestDumpNames(t *testing.T) {
	name := DumpName("neo4j", time.Date(2026, 11, 25, 10, 4, 5, 0, time.UTC))
	assert.Equal(t, name, "neo4j-2026-11-25T10-04-05.dump")
	db, ts, ok := ParseArtifactName(name)
	assert.Assert(t, ok)
	assert.Equal(t, db, "neo4j")
	assert.Equal(t, ts, time.Date(2026, 11, 25, 10, 4, 5, 0, time.UTC))
	assert.Assert(t, IsDump(name))
	assert.Assert(t, !IsDump(ArtifactName("neo4j", ts)))
	_, _, ok = ParseArtifactName("neo4j.dump") // neo4j-admin's own name: not ours
	assert.Assert(t, !ok)
}

func TestChainsDumpIsAChainOfItsOwn(t *testing.T) {
	chains := Chains([]Artifact{
		art("neo4j", 1, TypeFull), art("neo4j", 2, TypeDiff),
		dumpArt("neo4j", 3, true),
		dumpArt("neo4j", 4, false), // no record: still a whole dump
	})
	assert.DeepEqual(t, chainNames(chains["neo4j"]), [][]string{
		{ArtifactName("neo4j", at(1)), ArtifactName("neo4j", at(2))},
		{DumpName("neo4j", at(3))},
		{DumpName("neo4j", at(4))},
	})
	for _, c := range chains["neo4j"] {
		assert.Assert(t, c.Complete, c.Problem)
		assert.Assert(t, !c.Unverified)
	}
	c, err := ChooseChain(chains["neo4j"], time.Time{})
	assert.NilError(t, err)
	assert.Equal(t, c.Last().Name, DumpName("neo4j", at(4)))
}
