package catalog

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
		want map[string]InspectInfo
	}{
		{
			name: "stand-in array",
			out:  `[{"file":"file:///backups/inspect/neo4j-2026-11-20T10-00-00.backup","database":"neo4j","databaseId":"abc","time":"2026-11-20T10:00:00","full":true,"compressed":false,"lowestTx":1,"highestTx":10}]` + "\n",
			want: map[string]InspectInfo{"neo4j-2026-11-20T10-00-00.backup": {Database: "neo4j", DatabaseID: "abc", Time: "2026-11-20T10:00:00", Full: &yes, Compressed: &no, LowestTx: 1, HighestTx: 10}},
		},
		{
			name: "log lines, one object a line, other key names",
			out: "2026-11-20 10:00:00.000+0000 INFO reading\n" +
				`{"path":"/b/system-2026-11-20T10-00-00.backup","Full":"false","Lowest Transaction ID":"11","Highest Transaction ID":12}` + "\n",
			want: map[string]InspectInfo{"system-2026-11-20T10-00-00.backup": {Full: &no, LowestTx: 11, HighestTx: 12}},
		},
		{
			name: "files only (no --show-metadata)",
			out:  `[{"file":"file:///b/neo4j-2026-11-20T10-00-00.backup"}]`,
			want: map[string]InspectInfo{"neo4j-2026-11-20T10-00-00.backup": {}},
		},
		{name: "garbage", out: "Unknown option", want: map[string]InspectInfo{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Check(t, is.DeepEqual(parseInspect(tc.out), tc.want))
		})
	}
}

func TestInspectType(t *testing.T) {
	yes, no := true, false
	assert.Check(t, is.Equal(InspectInfo{Full: &yes}.Type(), "full"))
	assert.Check(t, is.Equal(InspectInfo{Full: &no}.Type(), "diff"))
	assert.Check(t, is.Equal(InspectInfo{}.Type(), ""))
}
