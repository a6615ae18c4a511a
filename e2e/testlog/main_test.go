package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

// stream is go test -json of two parallel subtests whose output
// interleaves; B fails with a message printed long before its verdict.
func stream(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	ev := func(action, test, output string) {
		line, err := json.Marshal(event{Action: action, Package: "p", Test: test, Output: output, Elapsed: 1.5})
		assert.NilError(t, err)
		b.Write(line)
		b.WriteByte('\n')
	}
	ev("start", "", "")
	ev("run", "T", "")
	ev("output", "T", "=== RUN   T\n")
	ev("output", "T/A", "=== CONT  T/A\n")
	ev("output", "T/B", "=== CONT  T/B\n")
	ev("output", "T/B", "    x_test.go:9: kit: \"Empty\" never appeared\n")
	ev("output", "T/A", "    x_test.go:5: A's log\n")
	ev("output", "T/A", "--- PASS: T/A (1.00s)\n")
	ev("pass", "T/A", "")
	ev("output", "T/B", "--- FAIL: T/B (1.50s)\n")
	ev("fail", "T/B", "")
	ev("output", "T", "--- FAIL: T (0.00s)\n")
	ev("fail", "T", "")
	ev("output", "", "kit: FAIL: the run left 2 volumes\n")
	ev("output", "", "FAIL\n")
	ev("fail", "", "")
	b.WriteString("# a build error\n")
	return b.String()
}

func TestTextIsTheVerboseLog(t *testing.T) {
	s := newSummary(10)
	var out bytes.Buffer
	assert.NilError(t, s.copy(&out, strings.NewReader(stream(t))))
	assert.Check(t, is.Contains(out.String(), "=== CONT  T/B\n    x_test.go:9: kit: \"Empty\" never appeared\n    x_test.go:5: A's log\n"))
	assert.Check(t, strings.HasSuffix(out.String(), "FAIL\n# a build error\n"), out.String())
}

func TestSummaryHasTheFailedTestsOwnOutput(t *testing.T) {
	s := newSummary(10)
	assert.NilError(t, s.copy(&bytes.Buffer{}, strings.NewReader(stream(t))))
	assert.Assert(t, s.failed())
	var sum bytes.Buffer
	s.write(&sum)
	got := sum.String()
	assert.Check(t, is.Contains(got, "--- FAIL: T/B (1.50s) in p; its own output:\n=== CONT  T/B\n    x_test.go:9: kit: \"Empty\" never appeared\n--- FAIL: T/B (1.50s)\n"))
	assert.Check(t, !strings.Contains(got, "A's log"), "a passing test's output is not in it")
	assert.Check(t, !strings.Contains(got, "--- FAIL: T (1.50s)"), "a parent's failure is its subtest's")
	assert.Check(t, is.Contains(got, "--- FAIL: p; what it printed outside its tests (last lines):\nkit: FAIL: the run left 2 volumes\n"))
}

func TestSummaryKeepsTheLastLines(t *testing.T) {
	s := newSummary(2)
	for _, l := range []string{"1\n", "2\n", "3\n"} {
		s.add(event{Action: "output", Package: "p", Test: "T", Output: l})
	}
	s.add(event{Action: "fail", Package: "p", Test: "T"})
	var sum bytes.Buffer
	s.write(&sum)
	assert.Check(t, is.Equal(sum.String(), "--- FAIL: T (0.00s) in p; its own output:\n    [... 1 earlier lines]\n2\n3\n"))
}

func TestAllPassedIsNoFailure(t *testing.T) {
	s := newSummary(2)
	s.add(event{Action: "output", Package: "p", Test: "T", Output: "x\n"})
	s.add(event{Action: "pass", Package: "p", Test: "T"})
	s.add(event{Action: "pass", Package: "p"})
	assert.Check(t, !s.failed())
	assert.Check(t, is.Len(s.running, 0), "a passed test's output is dropped")
}
