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

// Terminal is what the tty mode needs of the stream it draws on: the shape
// of the docker CLI's *streams.Out (dockerCli.Err()), which knows whether it
// is a terminal and how wide it is. A writer that is not a Terminal is never
// one.
type Terminal interface {
	io.Writer
	IsTerminal() bool
	GetTtySize() (height, width uint)
}

// Option configures New.
type Option func(*options)

type options struct {
	now func() time.Time
}

// WithClock replaces time.Now, for reproducible output in tests.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// New returns a Writer that renders on out in the given mode. out is
// usually dockerCli.Err(): auto is tty when it is a Terminal that says it
// is one, else plain.
func New(mode string, out io.Writer, opts ...Option) (Writer, error) {
	o := options{now: time.Now}
	for _, opt := range opts {
		opt(&o)
	}
	term, isTerm := out.(Terminal)
	if mode == ModeAuto {
		mode = ModePlain
		if isTerm && term.IsTerminal() {
			mode = ModeTTY
		}
	}
	switch mode {
	case ModeTTY:
		width := func() int { return 80 }
		if isTerm {
			width = func() int { return terminalWidth(term) }
		}
		return newTTY(out, width, o), nil
	case ModePlain:
		return &plain{lineOutput: lineOutput{out: gate{out: out}}, steps: newSteps(o.now)}, nil
	case ModeJSON:
		return &jsonWriter{lineOutput: lineOutput{out: gate{out: out}}, steps: newSteps(o.now)}, nil
	case ModeQuiet:
		return &plain{lineOutput: lineOutput{out: gate{out: out}}, steps: newSteps(o.now), quiet: true}, nil
	}
	return nil, fmt.Errorf("unknown progress mode %q: use one of auto, tty, plain, json, quiet", mode)
}

// terminalWidth is the width of the terminal, asked at every redraw so a
// resized window is followed (as the docker CLI does for its own progress);
// 80 when it is unknown.
func terminalWidth(t Terminal) int {
	if _, w := t.GetTtySize(); w > 0 {
		return int(w)
	}
	return 80
}

// Pauser is a display that can stop drawing while the operator answers a
// question on the same terminal, and go on below the answer.
type Pauser interface {
	// Pause stops the display until resume is called; what is reported
	// meanwhile is kept and shown then. resume may be called more than once.
	Pause() (resume func())
}

// Pause pauses w if it is a Pauser; the other writers (Nop, test fakes) draw
// nothing that could fight with a question.
func Pause(w Writer) (resume func()) {
	if p, ok := w.(Pauser); ok {
		return p.Pause()
	}
	return func() {}
}
