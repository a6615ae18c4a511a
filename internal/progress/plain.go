package progress

import (
	"fmt"
	"strings"
)

// plain prints one line per state change of a step, numbered like buildx:
//
//	#3 neo4j-admin database backup
//	#3 Backup complete successful.
//	#3 neo4j-admin database backup  done 4.2s
//
// In quiet mode it prints only the lines of steps that end in a warning or
// an error.
type plain struct {
	lineOutput
	steps *steps
	quiet bool
}

func (p *plain) Event(e Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s, changed := p.steps.update(e)
	if !changed || (p.quiet && s.ev.Status != Warning && s.ev.Status != Error) {
		return
	}
	fmt.Fprintln(&p.out, plainLine(s))
}

func plainLine(s *step) string {
	e := s.ev
	var b strings.Builder
	fmt.Fprintf(&b, "#%d %s", s.n, e.Text)
	if e.Status == Working {
		if e.Detail != "" {
			fmt.Fprintf(&b, " (%s)", e.Detail)
		}
		return b.String()
	}
	fmt.Fprintf(&b, "  %s", e.Status)
	if !s.started.IsZero() {
		fmt.Fprintf(&b, " %s", formatDuration(s.duration(s.ended)))
	}
	if size := formatProgress(e.Current, 0); size != "" && e.Status == Done {
		fmt.Fprintf(&b, " (%s)", size)
	}
	if e.Detail != "" {
		fmt.Fprintf(&b, ": %s", e.Detail)
	}
	return b.String()
}

func (p *plain) Log(id, line string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.quiet {
		return
	}
	if s := p.steps.get(id); s != nil {
		fmt.Fprintf(&p.out, "#%d %s\n", s.n, line)
		return
	}
	if id != "" {
		line = id + ": " + line
	}
	fmt.Fprintln(&p.out, line)
}

func (p *plain) Info(msg string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.quiet {
		fmt.Fprintln(&p.out, msg)
	}
}
