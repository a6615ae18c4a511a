package cli

import (
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

func TestDrillFlagsAreChecked(t *testing.T) {
	folder := backupFolder(t)
	for _, tc := range []struct {
		args []string
		err  string
	}{
		{[]string{"--run", "run-2026-01-01T00-00-00"}, "--run goes with --drill"},
		{[]string{"--drill", "--check"}, "run --check and --adopt on their own"},
		{[]string{"--drill", "--drill-memory", "lots"}, `--drill-memory "lots"`},
	} {
		_, err := runRoot(t, append(append([]string{"verify"}, tc.args...), folder.Dir)...)
		assert.Check(t, is.Equal(statusCode(t, err), ExitUsage), "%v", tc.args)
		assert.Check(t, is.ErrorContains(err, tc.err), "%v", tc.args)
	}
}

func TestFiguresShowRestoredAgainstRecorded(t *testing.T) {
	got := figures(map[string]int64{"files": 2, "bytes": 10, "rows:x": 3}, map[string]int64{"files": 2, "bytes": 11})
	assert.Check(t, is.Equal(got, "bytes=10/11 files=2/2 rows:x=3"))
	assert.Check(t, is.Equal(figures(nil, nil), "-"))
}
