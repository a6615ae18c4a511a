package backupset

import (
	"testing"
	"time"

	"gotest.tools/v3/assert"
)

func TestParseArtifactName(t *testing.T) {
	ts := time.Date(2026, 11, 25, 10, 31, 7, 0, time.UTC)
	tests := []struct {
		name string
		db   string
		seq  int
		ok   bool
	}{
		{name: "neo4j-2026-11-25T10-31-07.backup", db: "neo4j", ok: true},
		{name: "system-2026-11-25T10-31-07.backup", db: "system", ok: true},
		{name: "my-db.v2-2026-11-25T10-31-07.backup", db: "my-db.v2", ok: true},
		{name: "neo4j-2026-11-25T10-31-07-1.backup", db: "neo4j", seq: 1, ok: true},
		{name: "a-b-2026-11-25T10-31-07-12.backup", db: "a-b", seq: 12, ok: true},
		{name: "neo4j-2026-11-25T10-31-07.backup.partial"},
		{name: "neo4j-2026-11-25T10-31-07"},
		{name: "-2026-11-25T10-31-07.backup"},
		{name: "2026-11-25T10-31-07.backup"},
		{name: "neo4j-2026-13-25T10-31-07.backup"},
		{name: "neo4j-2026-11-25T10:31:07.backup"},
		{name: "neo4j-2026-11-25T10-31-07-+1.backup"},
		{name: "neo4j-2026-11-25T10-31-07-x.backup"},
		{name: "neo4j-2026-11-25T10-31-07-.backup"},
		{name: "dir/neo4j-2026-11-25T10-31-07.backup"},
		{name: "neo4j.backup"},
		{name: ManifestName},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db, got, seq, ok := parseArtifactName(tc.name)
			assert.Equal(t, ok, tc.ok)
			if !tc.ok {
				return
			}
			assert.Equal(t, db, tc.db)
			assert.Equal(t, seq, tc.seq)
			assert.Assert(t, got.Equal(ts), got)
		})
	}
}

func TestArtifactNameRoundTrip(t *testing.T) {
	ts := time.Date(2026, 1, 2, 3, 4, 5, 999, time.FixedZone("CET", 3600))
	name := ArtifactName("infra-hub.db", ts)
	assert.Equal(t, name, "infra-hub.db-2026-01-02T02-04-05.backup")
	db, got, ok := ParseArtifactName(name)
	assert.Assert(t, ok)
	assert.Equal(t, db, "infra-hub.db")
	assert.Assert(t, got.Equal(ts.Truncate(time.Second)))
}

func TestSafetyDirName(t *testing.T) {
	name := SafetyDirName(time.Date(2026, 11, 25, 10, 31, 0, 0, time.UTC))
	assert.Equal(t, name, "safety-2026-11-25T10-31-00")
	assert.Assert(t, IsSafetyDirName(name))
	assert.Assert(t, !IsSafetyDirName("safety-today"))
	assert.Assert(t, !IsSafetyDirName("backups"))
}
