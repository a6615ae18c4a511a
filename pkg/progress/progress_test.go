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

func TestRunAndBytes(t *testing.T) {
	c := newClock()
	var out bytes.Buffer
	w, err := New(ModeJSON, &out, WithClock(c.now))
	assert.NilError(t, err)
	boom := errors.New("boom")
	err = Run(w, Event{ID: "s", Text: "step"}, func() error {
		report := Bytes(w, Event{ID: "s"})
		report("f", 1, 2)
		c.advance(2 * time.Second)
		report("f", 2, 2)
		return boom
	})
	assert.Equal(t, err, boom)
	assert.Equal(t, out.String(),
		`{"time":"2026-11-25T10:31:00Z","id":"s","text":"step","status":"working"}`+"\n"+
			`{"time":"2026-11-25T10:31:02Z","id":"s","text":"step","status":"working","current":2,"total":2}`+"\n"+
			`{"time":"2026-11-25T10:31:02Z","id":"s","text":"step","status":"error","detail":"boom","duration_ms":2000}`+"\n")
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
