// Package progress carries what workflows report (steps, their state and
// bytes moved, output lines of the tools they run, messages for the
// operator) and renders it on stderr in one of five modes, the way
// docker/compose and buildx do: tty (a live block of lines redrawn in place),
// plain (one line per state change), json (one object per line), quiet (only
// warnings and errors), or auto (tty on a terminal, else plain).
//
// Workflows never print; they call a Writer.
package progress

import (
	"fmt"
	"io"
	"time"
)

// Status is the state of a step.
type Status int

const (
	Working Status = iota
	Done
	Warning
	Error
	Skipped
)

var statusNames = [...]string{"working", "done", "warning", "error", "skipped"}

func (s Status) String() string {
	if s < 0 || int(s) >= len(statusNames) {
		return fmt.Sprintf("status(%d)", int(s))
	}
	return statusNames[s]
}

// MarshalText makes a Status a word in JSON.
func (s Status) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// terminal reports whether a step has finished in this status.
func (s Status) terminal() bool { return s != Working }

// Event is the state of one step. A step is known by ID; events for the same
// ID update it (an empty Text keeps the previous one).
type Event struct {
	ID       string
	ParentID string
	Text     string // what the step does: "neo4j-admin database backup"
	Detail   string // the latest news, or why it failed
	Status   Status
	Current  int64 // bytes done; 0 when unknown
	Total    int64 // bytes expected; 0 when unknown
}

// Writer receives what a workflow reports. Implementations are safe for
// concurrent use.
type Writer interface {
	// Event reports the state of a step.
	Event(e Event)
	// Log reports a line of output of a step, e.g. from neo4j-admin.
	Log(id, line string)
	// Info reports a message for the operator ("took over stale lock ...").
	Info(msg string)
	// Close finishes the display; call it once, before printing results.
	Close()
}

// Nop discards everything.
var Nop Writer = nop{}

type nop struct{}

func (nop) Event(Event)        {}
func (nop) Log(string, string) {}
func (nop) Info(string)        {}
func (nop) Close()             {}

// Modes accepted by New (the --progress flag).
const (
	ModeAuto  = "auto"
	ModeTTY   = "tty"
	ModePlain = "plain"
	ModeJSON  = "json"
	ModeQuiet = "quiet"
)

// Modes lists the modes, for flag help and completion.
var Modes = []string{ModeAuto, ModeTTY, ModePlain, ModeJSON, ModeQuiet}

// Option configures New.
type Option func(*options)

type options struct {
	now func() time.Time
}

// WithClock replaces time.Now, for reproducible output in tests.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// New returns a Writer that renders on out in the given mode.
func New(mode string, out io.Writer, opts ...Option) (Writer, error) {
	o := options{now: time.Now}
	for _, opt := range opts {
		opt(&o)
	}
	if mode == ModeAuto {
		mode = ModePlain
		if fd, ok := fileDescriptor(out); ok && isTerminal(fd) {
			mode = ModeTTY
		}
	}
	switch mode {
	case ModeTTY:
		return newTTY(out, o), nil
	case ModePlain:
		return &plain{out: out, steps: newSteps(o.now)}, nil
	case ModeJSON:
		return &jsonWriter{out: out, steps: newSteps(o.now)}, nil
	case ModeQuiet:
		return &plain{out: out, steps: newSteps(o.now), quiet: true}, nil
	}
	return nil, fmt.Errorf("unknown progress mode %q: use one of auto, tty, plain, json, quiet", mode)
}

// Run reports e as Working, runs fn, and reports the step Done, or Error with
// the error as detail.
func Run(w Writer, e Event, fn func() error) error {
	e.Status = Working
	w.Event(e)
	err := fn()
	e.Status, e.Detail = Done, ""
	if err != nil {
		e.Status, e.Detail = Error, err.Error()
	}
	w.Event(e)
	return err
}

// Bytes returns a progress callback (the shape backupset uses) that reports
// bytes moved as Working events of the step e.
func Bytes(w Writer, e Event) func(name string, done, total int64) {
	return func(_ string, done, total int64) {
		e.Status, e.Current, e.Total = Working, done, total
		w.Event(e)
	}
}

// fileDescriptor finds the descriptor behind out: an *os.File, or the
// docker CLI's streams (which have FD()).
func fileDescriptor(out io.Writer) (uintptr, bool) {
	switch f := out.(type) {
	case interface{ Fd() uintptr }:
		return f.Fd(), true
	case interface{ FD() uintptr }:
		return f.FD(), true
	}
	return 0, false
}
