package cli

import (
	"errors"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/opsmill/docker-infrahubdb/internal/backup"
	"github.com/opsmill/docker-infrahubdb/internal/progress"
)

// --yes without a guardian is refused where the run would stop something
// (the consent point that --yes skipped), not before: a run that reaches
// no consent point (an Enterprise online backup) goes on, and never waits
// for its guardian's answer (refusal is only asked at that point).
func TestRefuseUnguardedStandsForTheSkippedQuestion(t *testing.T) {
	asks := 0
	refusal := func() error {
		asks++
		return withCode(ExitEnvironment, errors.New("no guardian can watch this run"))
	}

	ask := refuseUnguarded[*backup.DumpPlan](nil, refusal)
	assert.Check(t, is.Equal(asks, 0), "the guardian's answer is waited for before the consent point")
	ok, err := ask(&backup.DumpPlan{})
	assert.Check(t, !ok)
	assert.Check(t, is.Equal(exitCode(err), ExitEnvironment))
	assert.Check(t, is.Equal(asks, 1))

	ask = refuseUnguarded[*backup.DumpPlan](nil, func() error { return nil })
	ok, err = ask(&backup.DumpPlan{})
	assert.Check(t, ok && err == nil, "a guardian, or --no-guardian: --yes stands")

	asked := false
	question := func(*backup.DumpPlan) (bool, error) { asked = true; return true, nil }
	ask = refuseUnguarded(question, refusal)
	ok, err = ask(&backup.DumpPlan{})
	assert.Check(t, ok && err == nil && asked, "without --yes the operator answers, after the warning")
	assert.Check(t, is.Equal(asks, 1), "the operator's answer is not overruled")
}

// The warning is given right before the question, once the guardian
// answered: not before the run's first steps.
func TestWarnUnguardedAsksWhenTheQuestionComes(t *testing.T) {
	var pw infoRecorder
	waited := 0
	unguarded := func() string { waited++; return "the daemon runs rootless" }
	question := func(*backup.DumpPlan) (bool, error) { return true, nil }
	ask := warnUnguarded(question, unguarded, &pw)
	assert.Check(t, is.Equal(waited, 0))
	ok, err := ask(&backup.DumpPlan{})
	assert.Check(t, ok && err == nil)
	assert.Check(t, is.Equal(waited, 1))
	assert.Assert(t, is.Len(pw.infos, 1))
	assert.Check(t, is.Contains(pw.infos[0], "WARNING: no guardian watches this run (the daemon runs rootless)"))

	pw.infos = nil
	ask = warnUnguarded(question, func() string { return "" }, &pw)
	_, _ = ask(&backup.DumpPlan{})
	assert.Check(t, is.Len(pw.infos, 0), "a guardian watches: no warning")
	assert.Check(t, warnUnguarded[*backup.DumpPlan](nil, unguarded, &pw) == nil, "--yes: no question to warn before")
}

type infoRecorder struct {
	progress.Writer
	infos []string
}

func (r *infoRecorder) Info(msg string) { r.infos = append(r.infos, msg) }
