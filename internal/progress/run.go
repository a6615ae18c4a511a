package progress

import (
	"strings"
	"sync"
)

// Run runs fn as the step e, the way every step of a workflow reports: the
// step is Working while fn runs, then Done, or Error with the first line of
// fn's error as its detail (a step is one line; the whole message is the
// command's error). It returns fn's error.
func Run(w Writer, e Event, fn func() error) error {
	return RunStep(w, e, func(*Step) error { return fn() })
}

// RunStep is Run for a step that says more while it runs: bytes moved, a
// new detail, lines of output, or how it ended when that is not a plain
// Done.
func RunStep(w Writer, e Event, fn func(*Step) error) error {
	s := &Step{w: w, id: e.ID, ev: e, end: Done}
	s.ev.Status = Working
	w.Event(s.ev)
	err := fn(s)
	s.mu.Lock()
	final := Event{ID: e.ID, ParentID: e.ParentID, Text: e.Text, Status: s.end, Detail: s.endDetail,
		Current: s.ev.Current, Total: s.ev.Total}
	s.ended = true
	s.mu.Unlock()
	if err != nil && final.Status != Error {
		final.Status, final.Detail = Error, firstLine(err.Error())
	}
	w.Event(final)
	return err
}

// Step is a running step, as RunStep hands it to its function. Its methods
// are safe for concurrent use (a transfer reports bytes from a goroutine);
// after the step ended they do nothing.
type Step struct {
	mu        sync.Mutex
	w         Writer
	id        string
	ev        Event // the Working state: detail, bytes
	end       Status
	endDetail string
	ended     bool
}

// Update reports news while the step works: a detail ("" clears it) and
// bytes done of total (0 when unknown). The bytes stay in the final event.
func (s *Step) Update(detail string, current, total int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended {
		return
	}
	s.ev.Detail, s.ev.Current, s.ev.Total = detail, current, total
	s.w.Event(s.ev)
}

// Bytes reports bytes done of total, keeping the detail.
func (s *Step) Bytes(current, total int64) {
	s.mu.Lock()
	detail := s.ev.Detail
	s.mu.Unlock()
	s.Update(detail, current, total)
}

// Log reports a line of output of the step (from neo4j-admin, pg_dump...).
func (s *Step) Log(line string) { s.w.Log(s.id, line) }

// End sets how the step ends when its function returns nil: Done with a
// detail, Warning, Skipped, or Error for a finding that is not a failure to
// run. When the function returns an error, End(Error, detail) gives a
// detail that says more than the error's first line.
func (s *Step) End(status Status, detail string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.end, s.endDetail = status, detail
}

// firstLine is s up to its first newline.
func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
