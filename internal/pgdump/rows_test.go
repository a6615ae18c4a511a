package pgdump

import (
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

func TestParseRowCounts(t *testing.T) {
	got := parseRowCounts("flow_run=7\nlog=0\n\nnot a row\nweird=x\n")
	assert.Check(t, is.DeepEqual(got, map[string]int64{"rows:flow_run": 7, "rows:log": 0}))
}
