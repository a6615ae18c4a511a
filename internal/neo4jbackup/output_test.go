package neo4jbackup

import (
	"os"
	"path/filepath"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/opsmill/docker-infrahubdb/internal/backupset"
)

func fixture(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	assert.NilError(t, err)
	return string(b)
}

// Every real sample of backup inspect (testdata/README.md) parses into one
// described artifact per row: a type, a database and transactions, by
// header names whatever the columns around them.
func TestParseInspectFixtures(t *testing.T) {
	yes, no := true, false
	for _, tc := range []struct {
		file      string
		rows      int
		recovered bool // the RECOVERED column is there
		check     string
		want      Info
	}{
		{file: "inspect-5.26-empty.txt", rows: 10, check: "malmo-2024-10-07T16-00-50.backup",
			want: Info{Database: "malmo", DatabaseID: "62d1820c-3ac6-4b15-a0b3-bf7e7becc8d0", Time: "2024-10-07T16:00:50", Full: &no, Compressed: &yes, TxKnown: true}},
		{file: "inspect-5.26-latest-backup.txt", rows: 3, check: "london-2024-10-07T16-04-05.backup",
			want: Info{Database: "london", DatabaseID: "d4dae73c-dfef-4d28-88cd-fe6cc88ddca1", Time: "2024-10-07T16:04:05", Full: &no, Compressed: &yes, LowestTx: 6, HighestTx: 6, TxKnown: true}},
		{file: "inspect-5.26-latest-chain-db.txt", rows: 2},
		{file: "inspect-5.26-latest-chain-file.txt", rows: 2},
		{file: "inspect-2025.06-empty.txt", rows: 10, recovered: true, check: "malmo-2024-10-07T16-01-08.backup",
			want: Info{Database: "malmo", DatabaseID: "62d1820c-3ac6-4b15-a0b3-bf7e7becc8d0", Time: "2024-10-07T16:01:08", Full: &yes, Compressed: &yes, LowestTx: 1, HighestTx: 7, TxKnown: true, Recovered: &no}},
		{file: "inspect-2025.06-latest-backup.txt", rows: 3, recovered: true},
		{file: "inspect-2025.06-latest-chain-db.txt", rows: 2, recovered: true},
		{file: "inspect-2025.06-latest-chain-file.txt", rows: 2, recovered: true},
		{file: "inspect-2025.09-store-id-hash.txt", rows: 1, recovered: true, check: "neo4j-2025-09-10T08-14-56.backup",
			want: Info{Database: "neo4j", DatabaseID: "4e98fab8-6ae6-46cc-84c0-61ee8a8db60a", Time: "2025-09-10T08:14:56", Full: &yes, Compressed: &yes, LowestTx: 1, HighestTx: 3, TxKnown: true, Recovered: &no}},
		{file: "backup-inspect-path-5.10.txt", rows: 3, check: "neo4j-2023-06-29T14-50-45.backup",
			want: Info{Database: "neo4j", DatabaseID: "c8368b24-55e2-474d-bb41-75657f5bfcde", Time: "2023-06-29T13:50:45", Full: &no, Compressed: &yes, LowestTx: 12, HighestTx: 14, TxKnown: true}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			infos := ParseInspect(fixture(t, tc.file))
			assert.Check(t, is.Len(infos, tc.rows))
			for name, i := range infos {
				db, _, ok := backupset.ParseArtifactName(name)
				assert.Check(t, ok, name)
				assert.Check(t, is.Equal(i.Database, db), name)
				assert.Check(t, i.Type() != "", "%s has a type", name)
				assert.Check(t, i.TxKnown, "%s has a transaction range", name)
				assert.Check(t, is.Equal(i.Recovered != nil, tc.recovered), name)
				if i.Empty() {
					assert.Check(t, is.Equal(i.HighestTx, int64(0)), name)
				} else {
					assert.Check(t, i.LowestTx > 0 && i.HighestTx >= i.LowestTx, "%s: %d-%d", name, i.LowestTx, i.HighestTx)
				}
			}
			if tc.check != "" {
				assert.Check(t, is.DeepEqual(infos[tc.check], tc.want))
			}
		})
	}
}

// The only JSON shape claimed anywhere names files and nothing else: the
// files are found, and their type is unknown (so a backup fails on it).
func TestParseInspectURIOnly(t *testing.T) {
	infos := ParseInspect(fixture(t, "inspect-json-uri-only-3rd-party.txt"))
	assert.Check(t, is.Len(infos, 2))
	assert.Check(t, is.Equal(infos["neo4j-2026-10-06T07-36-03.backup"].Type(), ""))
}

func TestParseAggregateOutput(t *testing.T) {
	assert.Check(t, is.DeepEqual(ParseAggregateOutput(fixture(t, "aggregate-5.2x.txt")),
		map[string]string{"neo4j2": "neo4j2-2024-06-13T12-43-43.backup"}))
	// The third-party lines keep their shell variables: the names are what
	// follows the quote, whatever they are.
	got := ParseAggregateOutput(fixture(t, "aggregate-3rd-party.txt"))
	assert.Check(t, is.Equal(got["neo4j"], "$from"), "the later line (no aggregation needed) wins")
	assert.Check(t, is.Len(ParseAggregateOutput(fixture(t, "backup-5.11.txt")), 0))
}

func TestFoundInconsistencies(t *testing.T) {
	assert.Check(t, !FoundInconsistencies(fixture(t, "check-consistent.txt")))
	assert.Check(t, FoundInconsistencies(fixture(t, "check-inconsistent-3.x.txt")))
	assert.Check(t, FoundInconsistencies("Inconsistencies found. See '/backups/check-neo4j/inconsistencies-2026-01-01.10.00.00.report' for details."))
	for _, notRun := range []string{
		"The database is in use. Stop database 'neo4j' and try again.",
		"Active logical log detected, this might be a source of inconsistencies.\nPlease recover database before running the consistency check.",
		"You do not have permission to check database consistency.",
		"Consistency checking failed. java.lang.OutOfMemoryError",
	} {
		assert.Check(t, !FoundInconsistencies(notRun), notRun)
	}
}

func TestNothingToAggregate(t *testing.T) {
	assert.Check(t, NothingToAggregate(fixture(t, "aggregate-3rd-party.txt")))
	assert.Check(t, NothingToAggregate("ERROR: No need to aggregate backup chain of database 'neo4j'"))
	assert.Check(t, !NothingToAggregate(fixture(t, "aggregate-5.2x.txt")))
}
