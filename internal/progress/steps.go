package progress

import (
	"fmt"
	"time"
)

// step is what a writer remembers about one step.
type step struct {
	n       int // 1-based, in order of first appearance
	ev      Event
	started time.Time // first Working; zero if it never worked
	ended   time.Time // when it reached a terminal status
	depth   int       // nesting under ParentID
}

// duration is how long the step worked (so far, if it still works).
func (s *step) duration(now time.Time) time.Duration {
	switch {
	case s.started.IsZero():
		return 0
	case s.ended.IsZero():
		return now.Sub(s.started)
	}
	return s.ended.Sub(s.started)
}

// steps tracks steps in order; callers hold their own lock.
type steps struct {
	now   func() time.Time
	byID  map[string]*step
	order []*step
}

func newSteps(now func() time.Time) *steps {
	return &steps{now: now, byID: map[string]*step{}}
}

// update merges e into its step and reports whether the status changed (a
// new step counts as a change).
func (ss *steps) update(e Event) (*step, bool) {
	now := ss.now()
	s, ok := ss.byID[e.ID]
	if !ok {
		s = &step{n: len(ss.order) + 1}
		if p, ok := ss.byID[e.ParentID]; ok && e.ParentID != "" {
			s.depth = p.depth + 1
		}
		ss.byID[e.ID] = s
		ss.order = append(ss.order, s)
	}
	changed := !ok || s.ev.Status != e.Status
	if e.Text == "" {
		e.Text = s.ev.Text
	}
	if e.ParentID == "" {
		e.ParentID = s.ev.ParentID
	}
	s.ev = e
	if changed {
		switch {
		case e.Status == Working:
			s.started, s.ended = now, time.Time{} // (re)started
		case !s.started.IsZero():
			s.ended = now
		}
	}
	return s, changed
}

func (ss *steps) get(id string) *step { return ss.byID[id] }

// formatDuration prints 0.3s, 4.2s, 1m05s, 1h02m.
func formatDuration(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%.1fs", d.Seconds())
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
}

// formatBytes prints sizes in binary units: 512 B, 4.0 KiB, 1.2 GiB.
func formatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// formatProgress prints "412.0 MiB / 1.2 GiB", "412.0 MiB", or "".
func formatProgress(cur, total int64) string {
	switch {
	case total > 0:
		return formatBytes(cur) + " / " + formatBytes(total)
	case cur > 0:
		return formatBytes(cur)
	}
	return ""
}
