package backupset

import (
	"slices"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

func policyCatalog(t *testing.T, hours map[int]string) *Catalog {
	runs := map[string]int{}
	var files []runFile
	for h, typ := range hours {
		runs[runID(h)] = h
		files = append(files, fullRun(h, typ)...)
	}
	return runCatalog(t, runs, nil, files...)
}

func TestSelectPruneRunsPolicyCalendar(t *testing.T) {
	// Day 0 hour 1, day 1 hours 25 and 26, day 2 hour 49: three days kept
	// by their newest run, a hole where the older run of day 1 was.
	c := policyCatalog(t, map[int]string{1: TypeFull, 25: TypeFull, 26: TypeFull, 49: TypeFull})
	p, reasons, err := SelectPruneRunsPolicy(c, KeepPolicy{Daily: 3}, at(100))
	assert.NilError(t, err)
	assert.Check(t, is.DeepEqual(p.DeleteRuns, []string{runID(25)}))
	assert.Check(t, is.DeepEqual(p.KeepRuns, []string{runID(1), runID(26), runID(49)}))
	assert.Check(t, is.DeepEqual(reasons[runID(49)], []string{"daily"}))
	assert.Check(t, slices.ContainsFunc(p.DeleteComponents, func(c ComponentFile) bool { return c.Record.RunID == runID(25) }))
}

func TestSelectPruneRunsPolicyKeepsTheFullOfAKeptDiff(t *testing.T) {
	c := policyCatalog(t, map[int]string{1: TypeFull, 2: TypeDiff, 3: TypeFull, 4: TypeDiff})
	p, _, err := SelectPruneRunsPolicy(c, KeepPolicy{Last: 1}, at(100))
	assert.NilError(t, err)
	assert.Check(t, is.DeepEqual(p.KeepRuns, []string{runID(3), runID(4)}), "r3 holds the full backup r4's diff needs")
	assert.Check(t, is.DeepEqual(p.DeleteRuns, []string{runID(1), runID(2)}))
}

func TestSelectPruneRunsPolicyGuards(t *testing.T) {
	c := policyCatalog(t, map[int]string{1: TypeFull, 2: TypeFull})
	_, _, err := SelectPruneRunsPolicy(c, KeepPolicy{}, at(100))
	assert.Check(t, is.ErrorContains(err, "no retention rule"))
	// A rule that keeps nothing by itself still keeps the newest run.
	p, reasons, err := SelectPruneRunsPolicy(c, KeepPolicy{Within: time.Nanosecond}, at(100))
	assert.NilError(t, err)
	assert.Check(t, is.Contains(p.KeepRuns, runID(2)))
	assert.Check(t, len(reasons[runID(2)]) > 0)
}
