package progress

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/golden"
)

// clock is a fake time source that tests advance by hand.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

func newClock() *clock { return &clock{t: time.Date(2026, 11, 25, 10, 31, 0, 0, time.UTC)} }

// scenario reports a small backup: steps, nested steps, bytes, logs, an info,
// a warning, a skip and an error.
func scenario(w Writer, c *clock) {
	w.Event(Event{ID: "helper", Text: "start helper container infrahubdb-backup-1a2b"})
	c.advance(1200 * time.Millisecond)
	w.Event(Event{ID: "helper", Status: Done})
	w.Info("took over stale lock from pid 4242")

	w.Event(Event{ID: "backup", Text: "neo4j-admin database backup"})
	c.advance(300 * time.Millisecond)
	w.Log("backup", "Starting backup of database 'neo4j'")
	w.Event(Event{ID: "backup", Detail: "neo4j"}) // a new detail while working
	c.advance(3900 * time.Millisecond)
	w.Log("backup", "Backup complete successful.")
	w.Event(Event{ID: "backup", Status: Done})

	w.Event(Event{ID: "download", Text: "download files"})
	w.Event(Event{ID: "dl1", ParentID: "download", Text: "neo4j-2026-11-25T10-31-02.backup", Total: 3 << 30})
	for i := int64(1); i <= 3; i++ {
		c.advance(400 * time.Millisecond)
		w.Event(Event{ID: "dl1", Current: i << 30, Total: 3 << 30})
	}
	w.Event(Event{ID: "dl1", Status: Done, Current: 3 << 30, Total: 3 << 30})
	w.Event(Event{ID: "download", Status: Done})

	w.Event(Event{ID: "system", Text: "restore system", Status: Skipped, Detail: "the system database is never restored"})
	w.Event(Event{ID: "aggregate", Text: "aggregate-backup"})
	c.advance(2 * time.Second)
	w.Event(Event{ID: "aggregate", Status: Warning, Detail: "nothing to aggregate"})
	w.Event(Event{ID: "manifest", Text: "write manifest"})
	c.advance(75 * time.Minute)
	w.Event(Event{ID: "manifest", Status: Error, Detail: "disk full"})
	w.Log("unknown", "a line of a step never announced")
	w.Close()
}

func render(t *testing.T, mode string) string {
	t.Helper()
	c := newClock()
	var out bytes.Buffer
	w, err := New(mode, &out, WithClock(c.now))
	assert.NilError(t, err)
	scenario(w, c)
	return out.String()
}

func TestPlainGolden(t *testing.T) {
	golden.Assert(t, render(t, ModePlain), "plain.golden")
}

func TestJSONGolden(t *testing.T) {
	out := render(t, ModeJSON)
	golden.Assert(t, out, "json.golden")
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var v map[string]any
		assert.NilError(t, json.Unmarshal([]byte(line), &v), line)
	}
}

func TestQuiet(t *testing.T) {
	assert.Equal(t, render(t, ModeQuiet),
		"#6 aggregate-backup  warning 2.0s: nothing to aggregate\n"+
			"#7 write manifest  error 1h15m: disk full\n")
}

func TestAutoIsPlainWhenNotATerminal(t *testing.T) {
	assert.Equal(t, render(t, ModeAuto), render(t, ModePlain))
}

func TestUnknownMode(t *testing.T) {
	_, err := New("fancy", &bytes.Buffer{})
	assert.Error(t, err, `unknown progress mode "fancy": use one of auto, tty, plain, json, quiet`)
}

// The tty block, drawn without the redraw loop so the output is exact.
func TestTTY(t *testing.T) {
	c := newClock()
	var out bytes.Buffer
	stopped := make(chan struct{})
	close(stopped)
	w := &tty{out: &out, steps: newSteps(c.now), width: func() int { return 60 }, stop: make(chan struct{}), stopped: stopped}

	w.Event(Event{ID: "a", Text: "start helper"})
	c.advance(time.Second)
	w.Event(Event{ID: "a", Status: Done})
	w.Event(Event{ID: "b", Text: "download neo4j-2026-11-25T10-31-02.backup with a very long name indeed"})
	w.Event(Event{ID: "c", ParentID: "b", Text: "part", Current: 412 << 20, Total: 1 << 30})
	w.Log("a", "a log line")
	c.advance(2 * time.Second)
	w.Close()
	w.Close()

	frames := strings.Split(out.String(), "\r\x1b[J")
	last := frames[len(frames)-1]
	assert.Equal(t, last, "#1 a log line\n"+
		"✔ start helper  1.0s\n"+
		"⠋ download neo4j-2026-11-25T10-31-02.backup with a very lo…\n"+
		"  ⠋ part  412.0 MiB / 1.0 GiB  2.0s\n")
	assert.Check(t, is.Contains(frames[len(frames)-2], "\x1b[3A")) // moved up over the old block
}

func TestDurationIsFromFirstWorking(t *testing.T) {
	c := newClock()
	var out bytes.Buffer
	w, err := New(ModePlain, &out, WithClock(c.now))
	assert.NilError(t, err)
	w.Event(Event{ID: "x", Text: "wait", Status: Working})
	c.advance(time.Second)
	w.Event(Event{ID: "x", Status: Working, Current: 5}) // no new line, no restart
	c.advance(time.Second)
	w.Event(Event{ID: "x", Status: Error, Detail: "refused"})
	c.advance(time.Second)
	w.Event(Event{ID: "x", Status: Working}) // a retry starts the clock again
	c.advance(500 * time.Millisecond)
	w.Event(Event{ID: "x", Status: Done})
	assert.Equal(t, out.String(), "#1 wait\n#1 wait  error 2.0s: refused\n#1 wait\n#1 wait  done 0.5s\n")
}

func TestRunReportsTheStep(t *testing.T) {
	c := newClock()
	var out bytes.Buffer
	w, err := New(ModeJSON, &out, WithClock(c.now))
	assert.NilError(t, err)
	boom := errors.New("boom\nthe second line is the command's business")
	err = RunStep(w, Event{ID: "s", Text: "step"}, func(s *Step) error {
		s.Bytes(1, 2)
		c.advance(2 * time.Second)
		s.Update("a.backup", 2, 2)
		s.Log("a line")
		return boom
	})
	assert.Equal(t, err, boom)
	assert.NilError(t, Run(w, Event{ID: "t", Text: "quick"}, func() error { return nil }))
	assert.Equal(t, out.String(),
		`{"time":"2026-11-25T10:31:00Z","id":"s","text":"step","status":"working"}`+"\n"+
			`{"time":"2026-11-25T10:31:02Z","id":"s","text":"step","status":"working","detail":"a.backup","current":2,"total":2}`+"\n"+
			`{"time":"2026-11-25T10:31:02Z","id":"s","log":"a line"}`+"\n"+
			`{"time":"2026-11-25T10:31:02Z","id":"s","text":"step","status":"error","detail":"boom","current":2,"total":2,"duration_ms":2000}`+"\n"+
			`{"time":"2026-11-25T10:31:02Z","id":"t","text":"quick","status":"working"}`+"\n"+
			`{"time":"2026-11-25T10:31:02Z","id":"t","text":"quick","status":"done","duration_ms":0}`+"\n")
}

func TestRunStepOutcomes(t *testing.T) {
	for _, tc := range []struct {
		name string
		fn   func(*Step) error
		want string
	}{
		{"done with a detail", func(s *Step) error { s.End(Done, "helper-1, bind transfer"); return nil }, "#1 x  done 0.0s: helper-1, bind transfer"},
		{"warning", func(s *Step) error { s.End(Warning, "nothing to aggregate"); return nil }, "#1 x  warning 0.0s: nothing to aggregate"},
		{"skipped", func(s *Step) error { s.End(Skipped, "not asked for"); return nil }, "#1 x  skipped 0.0s: not asked for"},
		{"a finding", func(s *Step) error { s.End(Error, "2 problems"); return nil }, "#1 x  error 0.0s: 2 problems"},
		{"an error said better", func(s *Step) error {
			s.End(Error, "neo4j.backup: truncated")
			return errors.New("the folder failed verification:\n  neo4j.backup: truncated")
		}, "#1 x  error 0.0s: neo4j.backup: truncated"},
		{"an error", func(s *Step) error { s.End(Warning, "ignored"); return errors.New("refused") }, "#1 x  error 0.0s: refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newClock()
			var out bytes.Buffer
			w, err := New(ModePlain, &out, WithClock(c.now))
			assert.NilError(t, err)
			_ = RunStep(w, Event{ID: "x", Text: "x"}, tc.fn)
			assert.Equal(t, out.String(), "#1 x\n"+tc.want+"\n")
		})
	}
}

// A report from a goroutine that outlives its step changes nothing.
func TestStepIgnoresReportsAfterItEnded(t *testing.T) {
	var out bytes.Buffer
	w, err := New(ModePlain, &out, WithClock(newClock().now))
	assert.NilError(t, err)
	var late *Step
	assert.NilError(t, RunStep(w, Event{ID: "x", Text: "upload"}, func(s *Step) error { late = s; return nil }))
	late.Update("late", 1, 2)
	assert.Equal(t, out.String(), "#1 upload\n#1 upload  done 0.0s\n")
}

func TestErrorLine(t *testing.T) {
	line := ErrorLine(`helper image neo4j:<version>-enterprise "x" could not be pulled`, 3)
	assert.Check(t, !strings.Contains(line, "\n"))
	assert.Check(t, is.Contains(line, `neo4j:<version>-enterprise`), "readable, not HTML-escaped")
	var v struct {
		Time     time.Time `json:"time"`
		Error    string    `json:"error"`
		ExitCode int       `json:"exit_code"`
	}
	assert.NilError(t, json.Unmarshal([]byte(line), &v))
	assert.Check(t, is.Equal(v.Error, `helper image neo4j:<version>-enterprise "x" could not be pulled`))
	assert.Check(t, is.Equal(v.ExitCode, 3))
	assert.Check(t, !v.Time.IsZero())
}

// fakeTerminal is the docker CLI's stderr stream, as New sees it.
type fakeTerminal struct {
	syncBuffer
	terminal bool
	mu       sync.Mutex
	width    uint
}

func (f *fakeTerminal) IsTerminal() bool { return f.terminal }
func (f *fakeTerminal) GetTtySize() (uint, uint) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return 24, f.width
}
func (f *fakeTerminal) resize(width uint) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.width = width
}

func TestAutoFollowsTheTerminal(t *testing.T) {
	long := strings.Repeat("x", 50)
	// Not a terminal (stderr redirected): plain.
	notTerm := &fakeTerminal{width: 80}
	w, err := New(ModeAuto, notTerm)
	assert.NilError(t, err)
	w.Event(Event{ID: "a", Text: long})
	w.Close()
	assert.Equal(t, notTerm.String(), "#1 "+long+"\n")

	// A terminal: the live block, cut to the width it has at each redraw.
	term := &fakeTerminal{terminal: true, width: 30}
	w, err = New(ModeAuto, term)
	assert.NilError(t, err)
	w.Event(Event{ID: "a", Text: long})
	assert.Check(t, is.Contains(term.String(), "\r\x1b[J"))
	assert.Check(t, is.Contains(term.String(), " "+strings.Repeat("x", 26)+"…\n"))
	term.resize(40) // SIGWINCH: the next frame follows
	w.Event(Event{ID: "a", Status: Done})
	w.Close()
	frames := strings.Split(term.String(), "\r\x1b[J")
	assert.Check(t, is.Equal(frames[len(frames)-1], "✔ "+strings.Repeat("x", 36)+"…\n"))
}

// Pausing for a question: nothing is drawn over it, what happened
// meanwhile shows after the answer, and the steps that ended before it are
// not drawn again below it.
func TestTTYPause(t *testing.T) {
	c := newClock()
	var out syncBuffer
	stopped := make(chan struct{})
	close(stopped)
	w := &tty{out: &out, steps: newSteps(c.now), width: func() int { return 60 }, stop: make(chan struct{}), stopped: stopped}

	w.Event(Event{ID: "plan", Text: "Check the folder"})
	w.Event(Event{ID: "plan", Status: Done})
	w.Event(Event{ID: "login", Text: "Log in"})
	resume := Pause(w)
	before := out.String()
	out.Write([]byte("Continue? [y/N] y\n")) // the question and its answer
	w.Event(Event{ID: "login", Status: Done})
	w.Event(Event{ID: "stop", Text: "Stop database"})
	w.Log("stop", "stopping")
	assert.Check(t, is.Equal(out.String(), before+"Continue? [y/N] y\n"), "nothing drawn while paused")
	resume()
	resume() // a second call changes nothing

	after := strings.TrimPrefix(out.String(), before+"Continue? [y/N] y\n")
	assert.Check(t, !strings.Contains(after, "\x1b[1A") && !strings.Contains(after, "\x1b[2A"), "the cursor never moves up over the question: %q", after)
	assert.Check(t, is.Equal(after, "\r\x1b[J#3 stopping\n✔ Log in  0.0s\n⠋ Stop database  0.0s\n"))
	assert.Check(t, !strings.Contains(after, "Check the folder"))

	// The block goes on below the answer, moving up over itself only.
	w.Event(Event{ID: "stop", Status: Done})
	assert.Check(t, is.Contains(out.String(), "\x1b[2A\r\x1b[J✔ Log in"))
	w.Close()
}

func TestLineWritersHoldLinesWhilePaused(t *testing.T) {
	for _, mode := range []string{ModePlain, ModeJSON} {
		t.Run(mode, func(t *testing.T) {
			var out bytes.Buffer
			w, err := New(mode, &out, WithClock(newClock().now))
			assert.NilError(t, err)
			w.Event(Event{ID: "a", Text: "before"})
			n := out.Len()
			resume := Pause(w)
			w.Event(Event{ID: "b", Text: "during"})
			w.Info("meanwhile")
			assert.Check(t, is.Equal(out.Len(), n), "held back")
			resume()
			assert.Check(t, is.Contains(out.String()[n:], "during"))
			assert.Check(t, is.Contains(out.String()[n:], "meanwhile"))

			_ = Pause(w) // never resumed: Close prints what was held
			w.Info("last words")
			w.Close()
			assert.Check(t, is.Contains(out.String(), "last words"))
		})
	}
	assert.Check(t, Pause(Nop) != nil, "writers that draw nothing pause as a no-op")
}

func TestConcurrentUse(t *testing.T) {
	for _, mode := range []string{ModePlain, ModeJSON, ModeQuiet, ModeTTY} {
		t.Run(mode, func(t *testing.T) {
			var out syncBuffer
			w, err := New(mode, &out)
			assert.NilError(t, err)
			var wg sync.WaitGroup
			for i := range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					id := fmt.Sprint(i)
					for j := range 50 {
						w.Event(Event{ID: id, Text: "step", Current: int64(j)})
						w.Log(id, "line")
					}
					w.Event(Event{ID: id, Status: Done})
				}()
			}
			wg.Wait()
			w.Close()
			if mode == ModePlain {
				assert.Equal(t, strings.Count(out.String(), "  done "), 8)
			}
		})
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestFormat(t *testing.T) {
	for _, tc := range []struct {
		n    int64
		want string
	}{{0, "0 B"}, {1023, "1023 B"}, {1024, "1.0 KiB"}, {412 << 20, "412.0 MiB"}, {3 << 30, "3.0 GiB"}, {5 << 40, "5.0 TiB"}} {
		assert.Equal(t, formatBytes(tc.n), tc.want)
	}
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{{0, "0.0s"}, {4200 * time.Millisecond, "4.2s"}, {65 * time.Second, "1m05s"}, {62 * time.Minute, "1h02m"}} {
		assert.Equal(t, formatDuration(tc.d), tc.want)
	}
	assert.Equal(t, Status(9).String(), "status(9)")
	Nop.Event(Event{})
	Nop.Close()
}
