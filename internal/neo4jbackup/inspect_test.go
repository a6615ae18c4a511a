package neo4jbackup

import (
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

func TestParseInspect(t *testing.T) {
	yes, no := true, false
	tests := []struct {
		name string
		out  string
		want map[string]Info
	}{
		{
			name: "stand-in array",
			out:  `[{"file":"file:///backups/inspect/neo4j-2026-11-20T10-00-00.backup","database":"neo4j","databaseId":"abc","time":"2026-11-20T10:00:00","full":true,"compressed":false,"lowestTx":1,"highestTx":10}]` + "\n",
			want: map[string]Info{"neo4j-2026-11-20T10-00-00.backup": {Database: "neo4j", DatabaseID: "abc", Time: "2026-11-20T10:00:00", Full: &yes, Compressed: &no, LowestTx: 1, HighestTx: 10, TxKnown: true}},
		},
		{
			name: "log lines, one object a line, other key names",
			out: "2026-11-20 10:00:00.000+0000 INFO reading\n" +
				`{"path":"/b/system-2026-11-20T10-00-00.backup","Full":"false","Lowest Transaction ID":"11","Highest Transaction ID":12}` + "\n",
			want: map[string]Info{"system-2026-11-20T10-00-00.backup": {Full: &no, LowestTx: 11, HighestTx: 12, TxKnown: true}},
		},
		{
			name: "files only (no --show-metadata)",
			out:  `[{"file":"file:///b/neo4j-2026-11-20T10-00-00.backup"}]`,
			want: map[string]Info{"neo4j-2026-11-20T10-00-00.backup": {}},
		},
		{
			name: "the manual's table (2025.06+, with RECOVERED), an empty backup",
			out: "|                                              FILE | DATABASE |                          DATABASE ID |          TIME (UTC) |  FULL | COMPRESSED | LOWEST TX | HIGHEST TX | RECOVERED |\n" +
				"|  file:///backups/malmo-2024-10-07T16-01-08.backup |    malmo | 62d1820c-3ac6-4b15-a0b3-bf7e7becc8d0 | 2024-10-07T16:01:08 |  true |       true |         1 |          7 |     false |\n" +
				"|  file:///backups/malmo-2024-10-07T16-00-50.backup |    malmo | 62d1820c-3ac6-4b15-a0b3-bf7e7becc8d0 | 2024-10-07T16:00:50 | false |       true |         0 |          0 |     false |\n",
			want: map[string]Info{
				"malmo-2024-10-07T16-01-08.backup": {Database: "malmo", DatabaseID: "62d1820c-3ac6-4b15-a0b3-bf7e7becc8d0", Time: "2024-10-07T16:01:08", Full: &yes, Compressed: &yes, LowestTx: 1, HighestTx: 7, TxKnown: true, Recovered: &no},
				"malmo-2024-10-07T16-00-50.backup": {Database: "malmo", DatabaseID: "62d1820c-3ac6-4b15-a0b3-bf7e7becc8d0", Time: "2024-10-07T16:00:50", Full: &no, Compressed: &yes, LowestTx: 0, HighestTx: 0, TxKnown: true, Recovered: &no},
			},
		},
		{
			name: "5.26 table without RECOVERED, after a warning line",
			out: "WARNING: something\n| FILE | DATABASE | DATABASE ID | TIME (UTC) | FULL | COMPRESSED | LOWEST TX | HIGHEST TX |\n" +
				"| file:///b/neo4j-2026-11-20T10-00-00.backup | neo4j | x | 2026-11-20T10:00:00 | false | true | 11 | 12 |\n",
			want: map[string]Info{"neo4j-2026-11-20T10-00-00.backup": {Database: "neo4j", DatabaseID: "x", Time: "2026-11-20T10:00:00", Full: &no, Compressed: &yes, LowestTx: 11, HighestTx: 12, TxKnown: true}},
		},
		{
			name: "JSON with every value a string",
			out:  `[{"FILE":"file:///b/neo4j-2026-11-20T10-00-00.backup","DATABASE":"neo4j","FULL":"true","LOWEST TX":"1","HIGHEST TX":"9","RECOVERED":"true"}]`,
			want: map[string]Info{"neo4j-2026-11-20T10-00-00.backup": {Database: "neo4j", Full: &yes, LowestTx: 1, HighestTx: 9, TxKnown: true, Recovered: &yes}},
		},
		{
			name: "the table without its transaction columns: the range is not known",
			out: "| FILE | DATABASE | FULL |\n" +
				"| file:///b/neo4j-2026-11-20T10-00-00.backup | neo4j | true |\n" +
				"| file:///b/neo4j-2026-11-20T11-00-00.backup | neo4j | false |\n",
			want: map[string]Info{
				"neo4j-2026-11-20T10-00-00.backup": {Database: "neo4j", Full: &yes},
				"neo4j-2026-11-20T11-00-00.backup": {Database: "neo4j", Full: &no},
			},
		},
		{
			name: "transaction cells that are not numbers, or one column only",
			out: "| FILE | FULL | LOWEST TX | HIGHEST TX |\n" +
				"| file:///b/neo4j-2026-11-20T11-00-00.backup | false | n/a | |\n" +
				`{"file":"file:///b/system-2026-11-20T11-00-00.backup","full":false,"highestTx":0}` + "\n",
			want: map[string]Info{
				"neo4j-2026-11-20T11-00-00.backup":  {Full: &no},
				"system-2026-11-20T11-00-00.backup": {Full: &no},
			},
		},
		{name: "garbage", out: "Unknown option", want: map[string]Info{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Check(t, is.DeepEqual(ParseInspect(tc.out), tc.want))
		})
	}
}

func TestInspectType(t *testing.T) {
	yes, no := true, false
	assert.Check(t, is.Equal(Info{Full: &yes}.Type(), "full"))
	assert.Check(t, is.Equal(Info{Full: &no}.Type(), "diff"))
	assert.Check(t, is.Equal(Info{}.Type(), ""))
	assert.Check(t, Info{Full: &no, TxKnown: true}.Empty())
	assert.Check(t, !Info{Full: &no, LowestTx: 5, HighestTx: 5, TxKnown: true}.Empty())
	assert.Check(t, !Info{Full: &yes, TxKnown: true}.Empty())
	assert.Check(t, !Info{}.Empty())
}

// A differential backup whose transaction range inspect does not print is
// not an empty one: restore would skip it and lose its transactions.
func TestUnknownRangeIsNotEmpty(t *testing.T) {
	no := false
	assert.Check(t, !Info{Full: &no}.Empty())
	for _, out := range []string{
		"| FILE | DATABASE | FULL |\n| file:///b/neo4j-2026-11-20T11-00-00.backup | neo4j | false |\n",
		`[{"FILE":"file:///b/neo4j-2026-11-20T11-00-00.backup","FULL":"false"}]`,
		`[{"path":"/b/neo4j-2026-11-20T11-00-00.backup","full":false,"lowestTxId":null,"highestTxId":null}]`,
		"| FILE | FULL | LOWEST TX | HIGHEST TX |\n| file:///b/neo4j-2026-11-20T11-00-00.backup | false | | |\n",
	} {
		i, ok := ParseInspect(out)["neo4j-2026-11-20T11-00-00.backup"]
		assert.Assert(t, ok, out)
		assert.Check(t, is.Equal(i.Type(), "diff"), out)
		assert.Check(t, !i.TxKnown, out)
		assert.Check(t, !i.Empty(), out)
	}
	// The manual's empty backup (FULL false, LOWEST TX and HIGHEST TX 0) stays empty.
	i := ParseInspect(fixture(t, "inspect-5.26-empty.txt"))["malmo-2024-10-07T16-00-50.backup"]
	assert.Check(t, i.TxKnown && i.Empty(), "%+v", i)
}
