package backupset

import (
	"slices"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

func clock(s string) time.Time {
	t, err := time.Parse("2006-01-02 15:04", s)
	if err != nil {
		panic(err)
	}
	return t
}

func timed(times ...string) []TimedRun {
	var out []TimedRun
	for _, s := range times {
		out = append(out, TimedRun{ID: s, Time: clock(s)})
	}
	return out
}

func kept(p KeepPolicy, runs []TimedRun, now time.Time) []string {
	var ids []string
	for id := range p.Apply(runs, now) {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

func TestKeepPolicy(t *testing.T) {
	now := clock("2026-12-31 00:00")
	runs := timed(
		"2026-11-30 23:00", // Monday of ISO week 49... (2026-11-30 is a Monday)
		"2026-12-05 10:00", // Saturday, week 49
		"2026-12-06 09:00", // Sunday, week 49
		"2026-12-06 21:00", // Sunday, week 49
		"2026-12-07 08:00", // Monday, week 50
		"2026-12-07 08:30",
		"2026-12-07 20:00",
	)
	for _, tc := range []struct {
		name string
		p    KeepPolicy
		want []string
	}{
		{"last", KeepPolicy{Last: 2}, []string{"2026-12-07 08:30", "2026-12-07 20:00"}},
		{"hourly", KeepPolicy{Hourly: 2}, []string{"2026-12-07 08:30", "2026-12-07 20:00"}},
		{"daily: newest of each day with a run", KeepPolicy{Daily: 3}, []string{"2026-12-05 10:00", "2026-12-06 21:00", "2026-12-07 20:00"}},
		{"weekly: Monday starts a week", KeepPolicy{Weekly: 2}, []string{"2026-12-06 21:00", "2026-12-07 20:00"}},
		{"monthly", KeepPolicy{Monthly: 2}, []string{"2026-11-30 23:00", "2026-12-07 20:00"}},
		{"counts left: the oldest run is kept too", KeepPolicy{Monthly: 5}, []string{"2026-11-30 23:00", "2026-12-07 20:00"}},
		{"yearly with counts left", KeepPolicy{Yearly: 3}, []string{"2026-11-30 23:00", "2026-12-07 20:00"}},
		{"within is relative to the newest run, and strict", KeepPolicy{Within: 12 * time.Hour}, []string{"2026-12-07 08:30", "2026-12-07 20:00"}},
		{"rules add up", KeepPolicy{Last: 1, Weekly: 2}, []string{"2026-12-06 21:00", "2026-12-07 20:00"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.DeepEqual(t, kept(tc.p, runs, now), tc.want)
		})
	}
}

func TestKeepPolicyZoneAndFuture(t *testing.T) {
	// 23:30 UTC on the 6th is the 7th in Berlin: days are the zone's.
	runs := timed("2026-12-05 12:00", "2026-12-06 23:30", "2026-12-07 10:00")
	berlin := time.FixedZone("CET", 3600)
	now := clock("2026-12-31 00:00")
	assert.Check(t, is.DeepEqual(kept(KeepPolicy{Daily: 2}, runs, now), []string{"2026-12-06 23:30", "2026-12-07 10:00"}))
	assert.Check(t, is.DeepEqual(kept(KeepPolicy{Daily: 2, Zone: berlin}, runs, now), []string{"2026-12-05 12:00", "2026-12-07 10:00"}))

	// Counts left at the oldest run: it is kept too, though not the newest
	// of its day (restic keeps the longest history the policy allows).
	assert.Check(t, is.DeepEqual(kept(KeepPolicy{Daily: 5}, timed("2026-12-06 09:00", "2026-12-06 21:00", "2026-12-07 08:00"), now),
		[]string{"2026-12-06 09:00", "2026-12-06 21:00", "2026-12-07 08:00"}))

	// A run dated after now is never removed.
	got := KeepPolicy{Last: 1}.Apply(timed("2026-12-01 00:00", "2027-06-01 00:00"), clock("2026-12-02 00:00"))
	assert.Check(t, is.Contains(got["2027-06-01 00:00"], "dated in the future"))
}

func TestKeepPolicyCheck(t *testing.T) {
	assert.Check(t, is.ErrorContains(KeepPolicy{}.Check(), "no retention rule"))
	assert.Check(t, is.ErrorContains(KeepPolicy{Daily: -1}.Check(), "negative"))
	assert.NilError(t, KeepPolicy{Daily: 7}.Check())
	assert.Equal(t, KeepPolicy{Last: 3, Daily: 7, Within: 48 * time.Hour}.String(), "3 last, 7 daily, within 48h0m0s")
}

func TestParseKeepWithin(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"36h": 36 * time.Hour, "7d": 7 * 24 * time.Hour, "2w": 14 * 24 * time.Hour,
		"1y6m": (365 + 180) * 24 * time.Hour, "1d12h": 36 * time.Hour,
	} {
		got, err := ParseKeepWithin(in)
		assert.NilError(t, err, in)
		assert.Check(t, is.Equal(got, want), in)
	}
	for _, bad := range []string{"", "d", "7", "7x", "-1d"} {
		_, err := ParseKeepWithin(bad)
		assert.Check(t, err != nil, bad)
	}
}

func manifests(runs ...TimedRun) *RunListing {
	l := &RunListing{}
	for _, r := range runs {
		l.Runs = append(l.Runs, &RunManifest{Run: RunRecord{ID: r.ID, Started: r.Time}})
	}
	return l
}

func TestPlanLocationPruneGuards(t *testing.T) {
	l := manifests(timed("2026-12-01 00:00", "2026-12-02 00:00", "2026-12-03 00:00", "2026-12-04 00:00")...)
	// 12-04 extends 12-02 (a differential chain): its base stays.
	l.Runs[3].Base = "2026-12-02 00:00"
	plan, err := PlanLocationPrune(l, KeepPolicy{Last: 1}, clock("2026-12-31 00:00"))
	assert.NilError(t, err)
	var keep, remove []string
	for _, k := range plan.Keep {
		keep = append(keep, k.Run.Run.ID)
	}
	for _, r := range plan.Remove {
		remove = append(remove, r.Run.ID)
	}
	assert.Check(t, is.DeepEqual(keep, []string{"2026-12-02 00:00", "2026-12-04 00:00"}))
	assert.Check(t, is.DeepEqual(remove, []string{"2026-12-01 00:00", "2026-12-03 00:00"}))
	assert.Check(t, is.DeepEqual(plan.Keep[0].Reasons, []string{"base of 2026-12-04 00:00"}))

	// The newest run is kept whatever the policy says (here: every run is
	// dated in the future of a policy that keeps only a far older hour).
	plan, err = PlanLocationPrune(manifests(timed("2026-12-01 00:00", "2026-12-02 00:00")...), KeepPolicy{Within: time.Minute}, clock("2026-12-31 00:00"))
	assert.NilError(t, err)
	assert.Check(t, is.Len(plan.Keep, 1))
	assert.Check(t, is.Equal(plan.Keep[0].Run.Run.ID, "2026-12-02 00:00"))

	_, err = PlanLocationPrune(l, KeepPolicy{}, clock("2026-12-31 00:00"))
	assert.Check(t, is.ErrorContains(err, "no retention rule"))

	l.Runs[3].Base = "gone"
	_, err = PlanLocationPrune(l, KeepPolicy{Last: 1}, clock("2026-12-31 00:00"))
	assert.Check(t, is.ErrorContains(err, "cannot be restored"))
}
