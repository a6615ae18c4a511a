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
//
// Pause leaves the block on screen as it is and stops redrawing, so that a
// question and its answer can be written below it; after resume the block
// goes on below the answer, without the steps that had ended (they stay in
// the scrollback above the question), as buildx's printer does around its
// prompts.
type tty struct {
	mu       sync.Mutex
	out      io.Writer
	steps    *steps
	pending  []string // log lines to print above the block at the next redraw
	drawn    int      // lines of the block on screen
	width    func() int
	frame    int
	stop     chan struct{}
	stopped  chan struct{}
	closed   bool
	paused   int
	scrolled map[string]bool // steps left above a question: not in the block
}

var spinner = []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}

func newTTY(out io.Writer, width func() int, o options) *tty {
	t := &tty{out: out, steps: newSteps(o.now), width: width,
		stop: make(chan struct{}), stopped: make(chan struct{})}
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
			if t.paused == 0 {
				t.frame++
				t.render()
			}
			t.mu.Unlock()
		}
	}
}

func (t *tty) Event(e Event) {
	t.mu.Lock()
	defer t.mu.Unlock()
	_, changed := t.steps.update(e)
	delete(t.scrolled, e.ID) // a step that comes back is drawn again
	if changed && !t.closed && t.paused == 0 {
		t.render() // show state changes at once; bytes wait for the tick
	}
}

// Pause draws the block one last time and stops drawing until resume.
func (t *tty) Pause() (resume func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.paused == 0 && !t.closed {
		t.render()
		// What is on screen stays there: the next frame starts below the
		// answer, and the steps that ended are not drawn again.
		t.drawn = 0
		if t.scrolled == nil {
			t.scrolled = map[string]bool{}
		}
		for _, s := range t.steps.order {
			if s.ev.Status.terminal() {
				t.scrolled[s.ev.ID] = true
			}
		}
	}
	t.paused++
	return sync.OnceFunc(func() {
		t.mu.Lock()
		defer t.mu.Unlock()
		if t.paused == 0 { // closed meanwhile
			return
		}
		if t.paused--; t.paused == 0 && !t.closed {
			t.render()
		}
	})
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
	t.paused = 0
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
	t.drawn = 0
	for _, s := range t.steps.order {
		if t.scrolled[s.ev.ID] {
			continue
		}
		b.WriteString(truncate(t.line(s, now), width))
		b.WriteByte('\n')
		t.drawn++
	}
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
		parts = append(parts, firstLine(e.Detail)) // one line per step, or the cursor moves go wrong
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
