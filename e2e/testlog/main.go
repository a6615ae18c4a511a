// Command testlog turns `go test -json` into the text of `go test -v` and,
// at the end, a summary of what failed: each failed test's own output,
// whatever ran beside it. e2e/run.sh runs the suite's packages side by
// side into logs of thousands of lines in which parallel tests interleave;
// a failure's message is printed when it happens, far from its "--- FAIL"
// line, and a reader of the end of the output (CI shows its tail) saw the
// verdict without the cause.
//
//	go test -json ./e2e/ | testlog -failures bin/e2e.failures > bin/e2e.log
//
// Lines that are not test2json events (a build failure) pass through.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

func main() {
	failures := flag.String("failures", "", "write the summary of the failed tests to this file (none when all passed)")
	lines := flag.Int("lines", 120, "at most this many of a failed test's last output lines")
	flag.Parse()
	s := newSummary(*lines)
	if err := s.copy(os.Stdout, os.Stdin); err != nil {
		fmt.Fprintln(os.Stderr, "testlog:", err)
		os.Exit(1)
	}
	if *failures == "" {
		return
	}
	if !s.failed() {
		_ = os.Remove(*failures)
		return
	}
	f, err := os.Create(*failures)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testlog:", err)
		os.Exit(1)
	}
	s.write(f)
	if err := f.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "testlog:", err)
		os.Exit(1)
	}
}

// event is one line of test2json (go doc test2json).
type event struct {
	Action  string
	Package string
	Test    string
	Elapsed float64
	Output  string
}

// summary keeps each running test's output until its verdict: dropped when
// it passes, kept when it fails.
type summary struct {
	max     int
	running map[string][]string // package + test -> its output so far
	fails   []failure
	pkgOut  map[string][]string // package -> output no test owns (TestMain's)
	pkgFail []string            // packages that failed
}

type failure struct {
	pkg, test string
	elapsed   float64
	output    []string
}

func newSummary(max int) *summary {
	return &summary{max: max, running: map[string][]string{}, pkgOut: map[string][]string{}}
}

// copy writes the text of the events of r to w and records the failures.
func (s *summary) copy(w io.Writer, r io.Reader) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if len(line) == 0 || line[0] != '{' || json.Unmarshal(line, &e) != nil || e.Action == "" {
			if _, err := fmt.Fprintf(w, "%s\n", line); err != nil {
				return err
			}
			continue
		}
		if e.Output != "" {
			if _, err := io.WriteString(w, e.Output); err != nil {
				return err
			}
		}
		s.add(e)
	}
	return sc.Err()
}

func (s *summary) add(e event) {
	key := e.Package + "\x00" + e.Test
	switch {
	case e.Action == "output" && e.Test == "":
		s.pkgOut[e.Package] = append(s.pkgOut[e.Package], e.Output)
	case e.Action == "output":
		s.running[key] = append(s.running[key], e.Output)
	case e.Action == "fail" && e.Test == "":
		s.pkgFail = append(s.pkgFail, e.Package)
	case e.Action == "fail":
		s.fails = append(s.fails, failure{pkg: e.Package, test: e.Test, elapsed: e.Elapsed, output: s.running[key]})
		delete(s.running, key)
	case e.Action == "pass" || e.Action == "skip":
		delete(s.running, key)
	}
}

func (s *summary) failed() bool { return len(s.fails) > 0 || len(s.pkgFail) > 0 }

// write prints each failed test that has no failed subtest (a parent's
// failure is its subtests'), with the last lines of its own output, then
// what the failed packages printed outside any test.
func (s *summary) write(w io.Writer) {
	for _, f := range s.fails {
		if s.hasFailedSubtest(f) {
			continue
		}
		fmt.Fprintf(w, "--- FAIL: %s (%.2fs) in %s; its own output:\n", f.test, f.elapsed, f.pkg)
		for _, l := range keepLast(f.output, s.max) {
			io.WriteString(w, l)
		}
	}
	for _, p := range s.pkgFail {
		if out := s.pkgOut[p]; len(out) > 0 {
			fmt.Fprintf(w, "--- FAIL: %s; what it printed outside its tests (last lines):\n", p)
			for _, l := range keepLast(out, s.max) {
				io.WriteString(w, l)
			}
		}
	}
}

func (s *summary) hasFailedSubtest(f failure) bool {
	for _, g := range s.fails {
		if g.pkg == f.pkg && strings.HasPrefix(g.test, f.test+"/") {
			return true
		}
	}
	return false
}

// keepLast returns the last n lines of lines, after a line that says how
// many were left out.
func keepLast(lines []string, n int) []string {
	if len(lines) <= n {
		return lines
	}
	cut := len(lines) - n
	return append([]string{fmt.Sprintf("    [... %d earlier lines]\n", cut)}, lines[cut:]...)
}
