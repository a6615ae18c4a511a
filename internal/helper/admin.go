package helper

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/opsmill/docker-infrahubdb/internal/docker"
	"github.com/opsmill/docker-infrahubdb/internal/progress"
)

// AdminError is a neo4j-admin run that exited non-zero.
type AdminError struct {
	Command  string // e.g. "neo4j-admin database backup"
	ExitCode int
	Output   string // the last lines it printed
	Hint     string // what to do, when the output says
	// Stderr is all it wrote to stderr (bounded): a summary printed early
	// (check's "Inconsistencies found") may be long gone from Output.
	Stderr string
}

func (e *AdminError) Error() string {
	msg := fmt.Sprintf("%s failed with exit code %d", e.Command, e.ExitCode)
	if e.Output != "" {
		lines := strings.Split(e.Output, "\n")
		msg += ": " + lines[len(lines)-1]
		if len(lines) > 1 {
			msg += "\n" + indent(e.Output)
		}
	}
	if e.Hint != "" {
		msg += "\n" + e.Hint
	}
	return msg
}

// AdminRun is one neo4j-admin invocation in the helper.
type AdminRun struct {
	ID, Text string   // progress step
	Args     []string // after "neo4j-admin"
	User     string   // "" runs as the image's user
	Started  func()   // docker.ExecSpec.Started
}

// Admin runs neo4j-admin in the helper. Its output goes line by line to the
// progress display; stdout is also returned (for --format=JSON commands).
func (s *Session) Admin(ctx context.Context, run AdminRun) (string, error) {
	return On(s.Helper, s.pw).Admin(ctx, run)
}

func (o *onHelper) Admin(ctx context.Context, run AdminRun) (string, error) {
	var stdout, stderr bytes.Buffer
	err := progress.Run(o.pw, progress.Event{ID: run.ID, Text: run.Text}, func() error {
		tail := &tailLines{max: 15}
		out := &lineLogger{pw: o.pw, id: run.ID, also: io.MultiWriter(&Limited{W: &stdout, N: 8 << 20}, tail)}
		errOut := &lineLogger{pw: o.pw, id: run.ID, also: io.MultiWriter(&Limited{W: &stderr, N: 8 << 20}, tail)}
		code, err := o.h.Exec(ctx, docker.ExecSpec{
			Cmd:     append([]string{"neo4j-admin"}, run.Args...),
			User:    run.User,
			Stdout:  out,
			Stderr:  errOut,
			Started: run.Started,
		})
		out.flush()
		errOut.flush()
		if err == nil && code != 0 {
			err = &AdminError{Command: "neo4j-admin " + commandName(run.Args), ExitCode: code, Output: tail.String(), Hint: adminHint(tail.String()), Stderr: stderr.String()}
		}
		if err != nil && ctx.Err() == nil {
			err = lostCause(ctx, o.h, "neo4j-admin "+commandName(run.Args), err)
		}
		return err
	})
	return stdout.String(), err
}

// adminHint turns messages operators hit into the next step.
func adminHint(out string) string {
	lower := strings.ToLower(out)
	switch {
	case strings.Contains(lower, "connection refused"), strings.Contains(lower, "unable to connect"), strings.Contains(lower, "no route to host"):
		return "the backup port refused the connection: set NEO4J_server_backup_enabled=true and NEO4J_server_backup_listen__address=0.0.0.0:6362 on the database container"
	case strings.Contains(lower, "no space left"):
		return "the disk is full: free space and try again"
	case strings.Contains(lower, "community"), strings.Contains(lower, "enterprise edition"):
		return "online backup needs Neo4j Enterprise: run the database (and --helper-image) on a neo4j:<version>-enterprise image"
	case strings.Contains(lower, "in use"):
		return "the database is still running: it must be stopped before a restore"
	}
	return ""
}

func commandName(args []string) string {
	var words []string
	for _, a := range args {
		if strings.HasPrefix(a, "-") || len(words) == 2 {
			break
		}
		words = append(words, a)
	}
	return strings.Join(words, " ")
}

// lineLogger forwards complete lines to the progress display.
type lineLogger struct {
	pw   progress.Writer
	id   string
	also io.Writer
	mu   sync.Mutex
	buf  []byte
}

func (l *lineLogger) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.also != nil {
		_, _ = l.also.Write(p)
	}
	l.buf = append(l.buf, p...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			break
		}
		if line := strings.TrimRight(string(l.buf[:i]), "\r"); line != "" {
			l.pw.Log(l.id, line)
		}
		l.buf = l.buf[i+1:]
	}
	return len(p), nil
}

func (l *lineLogger) flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.buf) > 0 {
		l.pw.Log(l.id, string(l.buf))
		l.buf = nil
	}
}

// tailLines keeps the last max lines written to it.
type tailLines struct {
	mu    sync.Mutex
	max   int
	lines []string
	part  string
}

func (t *tailLines) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	sc := bufio.NewScanner(strings.NewReader(t.part + string(p)))
	t.part = ""
	complete := bytes.HasSuffix(p, []byte("\n"))
	var got []string
	for sc.Scan() {
		got = append(got, sc.Text())
	}
	if !complete && len(got) > 0 {
		t.part, got = got[len(got)-1], got[:len(got)-1]
	}
	for _, l := range got {
		if strings.TrimSpace(l) != "" {
			t.lines = append(t.lines, l)
		}
	}
	if len(t.lines) > t.max {
		t.lines = t.lines[len(t.lines)-t.max:]
	}
	return len(p), nil
}

func (t *tailLines) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	lines := t.lines
	if t.part != "" {
		lines = append(lines, t.part)
	}
	return strings.Join(lines, "\n")
}

// Limited writes at most N bytes to W and discards the rest.
type Limited struct {
	W io.Writer
	N int64
}

func (l *Limited) Write(p []byte) (int, error) {
	if l.N > 0 {
		q := p
		if int64(len(q)) > l.N {
			q = q[:l.N]
		}
		n, _ := l.W.Write(q)
		l.N -= int64(n)
	}
	return len(p), nil
}

func indent(s string) string { return "  " + strings.ReplaceAll(s, "\n", "\n  ") }
