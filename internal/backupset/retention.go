package backupset

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// KeepPolicy is a retention policy with restic's `forget` semantics
// (restic/restic doc/060_forget.rst): --keep-last N keeps the N newest runs;
// --keep-hourly/daily/weekly/monthly/yearly N keep the newest run of each of
// the N newest hours, days, ISO weeks (Monday to Sunday), months and years
// that have a run (periods without a run do not count); --keep-within D keeps
// every run less than D older than the newest run. A run kept by any rule is
// kept. When a rule has counts left after the oldest run, that oldest run is
// kept too (the history stays as long as the policy allows). Runs dated after
// now are never removed (a wrong clock must not cost backups). Periods are
// those of the location's time zone (Zone, UTC when nil).
type KeepPolicy struct {
	Last, Hourly, Daily, Weekly, Monthly, Yearly int
	Within                                       time.Duration
	Zone                                         *time.Location
}

// Empty says no rule is set; such a policy removes nothing and is refused.
func (p KeepPolicy) Empty() bool {
	return p.Last == 0 && p.Hourly == 0 && p.Daily == 0 && p.Weekly == 0 && p.Monthly == 0 && p.Yearly == 0 && p.Within == 0
}

// Check refuses an empty or negative policy.
func (p KeepPolicy) Check() error {
	for _, n := range []int{p.Last, p.Hourly, p.Daily, p.Weekly, p.Monthly, p.Yearly} {
		if n < 0 {
			return fmt.Errorf("--keep-* counts must not be negative (got %d)", n)
		}
	}
	if p.Within < 0 {
		return fmt.Errorf("--keep-within must not be negative (got %s)", p.Within)
	}
	if p.Empty() {
		return errors.New("no retention rule given: set at least one of --keep-last, --keep-hourly, --keep-daily, --keep-weekly, --keep-monthly, --keep-yearly, --keep-within (prune never deletes every backup)")
	}
	return nil
}

func (p KeepPolicy) String() string {
	var parts []string
	for _, r := range []struct {
		n    int
		name string
	}{{p.Last, "last"}, {p.Hourly, "hourly"}, {p.Daily, "daily"}, {p.Weekly, "weekly"}, {p.Monthly, "monthly"}, {p.Yearly, "yearly"}} {
		if r.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", r.n, r.name))
		}
	}
	if p.Within > 0 {
		parts = append(parts, "within "+p.Within.String())
	}
	return strings.Join(parts, ", ")
}

// TimedRun is a run as retention sees it.
type TimedRun struct {
	ID   string
	Time time.Time
}

// Apply returns, for every run the policy keeps, why (e.g. "daily
// snapshot"). Runs absent from the map are the policy's to remove.
func (p KeepPolicy) Apply(runs []TimedRun, now time.Time) map[string][]string {
	zone := p.Zone
	if zone == nil {
		zone = time.UTC
	}
	list := slices.Clone(runs)
	slices.SortStableFunc(list, func(a, b TimedRun) int { return b.Time.Compare(a.Time) }) // newest first
	keep := map[string][]string{}
	if len(list) == 0 {
		return keep
	}
	type bucket struct {
		count  int
		period func(t time.Time, nr int) int
		last   int
		reason string
	}
	buckets := []bucket{
		{p.Last, func(_ time.Time, nr int) int { return nr }, -1, "last"},
		{p.Hourly, func(t time.Time, _ int) int {
			return t.Year()*1_000_000 + int(t.Month())*10_000 + t.Day()*100 + t.Hour()
		}, -1, "hourly"},
		{p.Daily, func(t time.Time, _ int) int { return t.Year()*10_000 + int(t.Month())*100 + t.Day() }, -1, "daily"},
		{p.Weekly, func(t time.Time, _ int) int { y, w := t.ISOWeek(); return y*100 + w }, -1, "weekly"},
		{p.Monthly, func(t time.Time, _ int) int { return t.Year()*100 + int(t.Month()) }, -1, "monthly"},
		{p.Yearly, func(t time.Time, _ int) int { return t.Year() }, -1, "yearly"},
	}
	newest := list[0].Time
	for nr, r := range list {
		t := r.Time.In(zone)
		if r.Time.After(now) {
			keep[r.ID] = append(keep[r.ID], "dated in the future")
		}
		if p.Within > 0 && newest.Sub(r.Time) < p.Within {
			keep[r.ID] = append(keep[r.ID], "within "+p.Within.String())
		}
		for i := range buckets {
			b := &buckets[i]
			if b.count <= 0 {
				continue
			}
			// The oldest run is kept while a rule has counts left.
			if v := b.period(t, nr); v != b.last || nr == len(list)-1 {
				b.last = v
				b.count--
				keep[r.ID] = append(keep[r.ID], b.reason)
			}
		}
	}
	return keep
}

// ParseKeepWithin parses --keep-within: a Go duration ("36h") or restic's
// forms with days, months and years ("7d", "2w", "1y6m", "1y2m3d4h"), with
// a month of 30 days and a year of 365.
func ParseKeepWithin(s string) (time.Duration, error) {
	if d, err := time.ParseDuration(s); err == nil {
		return d, nil
	}
	var total time.Duration
	units := map[byte]time.Duration{'y': 365 * 24 * time.Hour, 'm': 30 * 24 * time.Hour, 'w': 7 * 24 * time.Hour, 'd': 24 * time.Hour, 'h': time.Hour}
	num := 0
	digits := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			num = num*10 + int(c-'0')
			digits = true
			if num > 1_000_000 {
				return 0, fmt.Errorf("invalid duration %q: too large", s)
			}
		case units[c] != 0 && digits:
			total += time.Duration(num) * units[c]
			num, digits = 0, false
		default:
			return 0, fmt.Errorf("invalid duration %q: write e.g. 36h, 7d, 2w, 6m or 1y6m", s)
		}
	}
	if digits || total == 0 {
		return 0, fmt.Errorf("invalid duration %q: write e.g. 36h, 7d, 2w, 6m or 1y6m", s)
	}
	return total, nil
}
