package backupset

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// LocationPrunePlan says what a prune of a location keeps and removes.
type LocationPrunePlan struct {
	Keep    []KeptRun // oldest first
	Remove  []*RunManifest
	Orphans []ObjectInfo // objects of runs without a manifest
	Stray   []ObjectInfo // objects of kept runs their manifest does not list
}

// KeptRun is a run the plan keeps, and why.
type KeptRun struct {
	Run     *RunManifest
	Reasons []string
}

// PlanLocationPrune applies the policy to the committed runs of a listing,
// with the guards every prune has: the newest run is always kept (so never
// all of them), and so is every base a kept run depends on (RunManifest.Base,
// transitively). Runs whose manifest cannot be read are neither kept nor
// removed: a prune does not delete what it cannot understand.
func PlanLocationPrune(l *RunListing, p KeepPolicy, now time.Time) (*LocationPrunePlan, error) {
	if err := p.Check(); err != nil {
		return nil, err
	}
	var timed []TimedRun
	byID := map[string]*RunManifest{}
	for _, m := range l.Runs {
		timed = append(timed, TimedRun{ID: m.Run.ID, Time: m.Run.Started})
		byID[m.Run.ID] = m
	}
	reasons := p.Apply(timed, now)
	if n := len(l.Runs); n > 0 {
		newest := l.Runs[n-1].Run.ID
		if len(reasons[newest]) == 0 {
			reasons[newest] = append(reasons[newest], "newest run")
		}
	}
	// Bases of kept runs stay, however old.
	for changed := true; changed; {
		changed = false
		for id := range reasons {
			base := byID[id].Base
			if base == "" {
				continue
			}
			if _, ok := byID[base]; !ok {
				return nil, fmt.Errorf("run %s depends on run %s, which is not in the location: it cannot be restored; run verify", id, base)
			}
			why := "base of " + id
			if !slices.Contains(reasons[base], why) {
				reasons[base] = append(reasons[base], why)
				changed = true
			}
		}
	}
	plan := &LocationPrunePlan{Orphans: l.Orphans, Stray: l.Stray}
	for _, m := range l.Runs {
		if r, ok := reasons[m.Run.ID]; ok {
			plan.Keep = append(plan.Keep, KeptRun{Run: m, Reasons: r})
		} else {
			plan.Remove = append(plan.Remove, m)
		}
	}
	return plan, nil
}

// PruneResult reports what a prune removed.
type PruneResult struct {
	Plan      *LocationPrunePlan
	Removed   []string   // run IDs
	Leftovers []Leftover // interrupted writes removed
}

// PruneLocation takes the location's lock, plans with the policy and, unless
// dryRun, removes the runs the plan drops, the orphans of runs that died
// before their manifest, and the leftovers of interrupted writes. The lease
// is refreshed before every removal: a broken lock stops the prune.
func PruneLocation(ctx context.Context, loc Location, p KeepPolicy, now time.Time, dryRun bool) (*PruneResult, error) {
	lease, err := loc.Lock(ctx, "prune")
	if err != nil {
		return nil, err
	}
	defer lease.Release(context.WithoutCancel(ctx))
	listing, err := ListRuns(ctx, loc)
	if err != nil {
		return nil, err
	}
	plan, err := PlanLocationPrune(listing, p, now)
	if err != nil {
		return nil, err
	}
	res := &PruneResult{Plan: plan}
	if dryRun {
		return res, nil
	}
	for _, m := range plan.Remove {
		if err := lease.Refresh(ctx); err != nil {
			return res, err
		}
		if err := DeleteRun(ctx, loc, m.Run.ID); err != nil {
			return res, fmt.Errorf("remove run %s: %w", m.Run.ID, err)
		}
		res.Removed = append(res.Removed, m.Run.ID)
	}
	// Under the lock no run is being written, so every orphan and leftover
	// is what a dead run left.
	for _, o := range plan.Orphans {
		if err := lease.Refresh(ctx); err != nil {
			return res, err
		}
		if err := loc.Delete(ctx, o.Name); err != nil {
			return res, err
		}
	}
	leftovers, err := loc.Leftovers(ctx)
	if err != nil {
		return res, err
	}
	for _, lo := range leftovers {
		if err := loc.RemoveLeftover(ctx, lo); err != nil {
			return res, err
		}
		res.Leftovers = append(res.Leftovers, lo)
	}
	return res, nil
}
