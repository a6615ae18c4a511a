package backupset

import (
	"errors"
	"time"
)

// SelectPruneRunsPolicy plans a prune of a folder whose manifest records runs
// by calendar rules (KeepPolicy) instead of a count: the policy picks among
// the restorable runs, the newest restorable run always stays, and the rest
// follows SelectPruneRuns: whole runs only, a run stays when a kept
// differential backup needs its full backup or when it holds the newest file
// of a component; runs that are not restorable go when they are older than
// the oldest kept run; graph files without a run go when they are older
// than it too. Reasons says why each kept run stays.
func SelectPruneRunsPolicy(c *Catalog, p KeepPolicy, now time.Time) (plan *RunPrunePlan, reasons map[string][]string, err error) {
	if err := p.Check(); err != nil {
		return nil, nil, err
	}
	runs, restorable := sortedRuns(c)
	var timed []TimedRun
	for _, r := range runs {
		if restorable(r) {
			timed = append(timed, TimedRun{ID: r.ID, Time: r.Started})
		}
	}
	if len(timed) == 0 {
		return nil, nil, errors.New("no restorable run: prune never deletes every backup")
	}
	reasons = p.Apply(timed, now)
	newest := timed[len(timed)-1].ID
	if len(reasons[newest]) == 0 {
		reasons[newest] = append(reasons[newest], "newest run")
	}
	var oldestKept time.Time
	for _, r := range runs {
		if _, ok := reasons[r.ID]; ok {
			oldestKept = r.Started
			break
		}
	}
	deleted := map[string]bool{}
	for _, r := range runs {
		_, kept := reasons[r.ID]
		if !kept && (restorable(r) || r.Started.Before(oldestKept)) {
			deleted[r.ID] = true
		}
	}
	plan, err = planRunDeletion(c, runs, deleted, oldestKept)
	if err != nil {
		return nil, nil, err
	}
	for _, id := range plan.KeepRuns {
		if len(reasons[id]) == 0 {
			reasons[id] = []string{"needed by a kept run, or newer than the oldest kept run"}
		}
	}
	return plan, reasons, nil
}
