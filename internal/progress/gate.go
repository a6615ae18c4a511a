package progress

import (
	"bytes"
	"io"
	"sync"
)

// gate is the output of the line writers (plain, json, quiet): while the
// display is paused for a question, lines are held back and printed after
// the answer, so they do not land in the middle of the question. Callers
// hold their writer's lock.
type gate struct {
	out    io.Writer
	paused int
	held   bytes.Buffer
}

func (g *gate) Write(p []byte) (int, error) {
	if g.paused > 0 {
		return g.held.Write(p)
	}
	return g.out.Write(p)
}

// pause holds lines back until the returned resume is called (once; more
// calls do nothing). mu is the writer's lock.
func (g *gate) pause(mu *sync.Mutex) (resume func()) {
	g.paused++
	return sync.OnceFunc(func() {
		mu.Lock()
		defer mu.Unlock()
		g.paused--
		if g.paused == 0 && g.held.Len() > 0 {
			g.out.Write(g.held.Bytes())
			g.held.Reset()
		}
	})
}

// flush prints what is held, for Close: a display that ends is not paused.
func (g *gate) flush() {
	g.paused = 0
	if g.held.Len() > 0 {
		g.out.Write(g.held.Bytes())
		g.held.Reset()
	}
}

// lineOutput is what the line writers share: their lock, their gated
// output, and so how they pause and close.
type lineOutput struct {
	mu  sync.Mutex
	out gate
}

// Pause holds lines back while the operator answers a question.
func (l *lineOutput) Pause() (resume func()) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.out.pause(&l.mu)
}

// Close prints what a pause still held.
func (l *lineOutput) Close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.out.flush()
}
