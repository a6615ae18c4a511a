package progress

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// tty keeps a block of lines, one per step, at the bottom of the terminal and
// redraws it in place about ten times a second; log and info lines are
// printed above the block, so they scroll by while the block stays.
type tty struct {
	mu      sync.Mutex
	out     io.Writer
	steps   *steps
	pending []string // log lines to print above the block at the next redraw
	drawn   int      // lines of the block on screen
	width   func() int
	frame   int
	stop    chan struct{}
	stopped chan struct{}
	closed  bool
}

var spinner = []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}

func newTTY(out io.Writer, o options) *tty {
	t := &tty{out: out, steps: newSteps(o.now), width: func() int { return 80 },
		stop: make(chan struct{}), stopped: make(chan struct{})}
	if fd, ok := fileDescriptor(out); ok {
		t.width = func() int { return terminalWidth(fd) }
	}
	go t.loop()
	return t
}

func (t *tty) loop() {
	defer close(t.stopped)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-t.stop:
			return
		case <-tick.C:
			t.mu.Lock()
			t.frame++
			t.render()
			t.mu.Unlock()
		}
	}
}

func (t *tty) Event(e Event) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, changed := t.steps.update(e); changed && !t.closed {
		t.render() // show state changes at once; bytes wait for the tick
	}
}

func (t *tty) Log(id, line string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if s := t.steps.get(id); s != nil {
		line = fmt.Sprintf("#%d %s", s.n, line)
	}
	t.pending = append(t.pending, line)
}

func (t *tty) Info(msg string) { t.Log("", msg) }

// Close stops the redraws and leaves the final block on screen.
func (t *tty) Close() {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return
	}
	t.closed = true
	t.mu.Unlock()
	close(t.stop)
	<-t.stopped
	t.mu.Lock()
	defer t.mu.Unlock()
	t.render()
}

// render moves the cursor to the top of the block, clears to the end of the
// screen, prints pending log lines, then the block.
func (t *tty) render() {
	var b strings.Builder
	if t.drawn > 0 {
		fmt.Fprintf(&b, "\x1b[%dA", t.drawn)
	}
	b.WriteString("\r\x1b[J")
	for _, l := range t.pending {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	t.pending = t.pending[:0]
	width := t.width()
	now := t.steps.now()
	for _, s := range t.steps.order {
		b.WriteString(truncate(t.line(s, now), width))
		b.WriteByte('\n')
	}
	t.drawn = len(t.steps.order)
	io.WriteString(t.out, b.String())
}

func (t *tty) line(s *step, now time.Time) string {
	e := s.ev
	icon := map[Status]string{Done: "✔", Warning: "!", Error: "✘", Skipped: "-"}[e.Status]
	if e.Status == Working {
		icon = spinner[t.frame%len(spinner)]
	}
	parts := []string{strings.Repeat("  ", s.depth) + icon + " " + e.Text}
	if e.Status == Skipped || e.Status == Warning || e.Status == Error {
		parts = append(parts, e.Status.String())
	}
	if e.Detail != "" {
		parts = append(parts, e.Detail)
	}
	if p := formatProgress(e.Current, e.Total); p != "" {
		parts = append(parts, p)
	}
	if !s.started.IsZero() {
		parts = append(parts, formatDuration(s.duration(now)))
	}
	return strings.Join(parts, "  ")
}

// truncate cuts a line to the terminal width, so that a long line does not
// wrap and throw off the cursor movements.
func truncate(s string, width int) string {
	if width <= 1 {
		return s
	}
	r := []rune(s)
	if len(r) < width {
		return s
	}
	return string(r[:width-2]) + "…"
}
